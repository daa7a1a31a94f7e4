//! Consent: the `ConsentStore` role.

use baton_core::store::Store;
use std::sync::Arc;

/// Consents accumulate.
pub(super) async fn consent_records(s: Arc<dyn Store>) {
    s.add_consent("u_1", "web", &["openid".into()])
        .await
        .unwrap();
    s.add_consent("u_1", "web", &["email".into(), "openid".into()])
        .await
        .unwrap();
    assert_eq!(
        s.get_consent("u_1", "web").await.unwrap(),
        vec!["openid".to_string(), "email".to_string()]
    );
    assert!(s.get_consent("u_1", "other").await.unwrap().is_empty());
}

/// Concurrent consent additions for one user and client all land, none twice.
pub(super) async fn consent_race(s: Arc<dyn Store>) {
    let mut tasks = Vec::new();
    for i in 0..12 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let scopes = vec![format!("scope{}", i % 6), "openid".to_string()];
            s.add_consent("u_race", "web", &scopes).await.unwrap();
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let mut got = s.get_consent("u_race", "web").await.unwrap();
    got.sort();
    let mut want: Vec<String> = (0..6).map(|i| format!("scope{i}")).collect();
    want.push("openid".into());
    want.sort();
    assert_eq!(got, want);
}

/// Withdrawing consent: one user's for one client (the account page), or every user's
/// for a client (the client is deleted). Nothing else is touched; withdrawing what is
/// not there is no error; consent given afterwards starts from nothing.
pub(super) async fn consent_withdrawal(s: Arc<dyn Store>) {
    let openid = ["openid".to_string(), "email".to_string()];
    for (sub, client) in [
        ("u_1", "web"),
        ("u_2", "web"),
        ("u_1", "app"),
        ("u_2", "app"),
    ] {
        s.add_consent(sub, client, &openid).await.unwrap();
    }
    assert_eq!(s.delete_consents("web", Some("u_1")).await.unwrap(), 1);
    assert!(s.get_consent("u_1", "web").await.unwrap().is_empty());
    assert_eq!(s.get_consent("u_2", "web").await.unwrap(), openid);
    assert_eq!(s.get_consent("u_1", "app").await.unwrap(), openid);
    assert_eq!(
        s.delete_consents("web", Some("u_1")).await.unwrap(),
        0,
        "withdrawn once"
    );
    assert_eq!(s.delete_consents("nope", None).await.unwrap(), 0);

    // Every user's consent for `app` goes; `web`'s remaining one stays.
    assert_eq!(s.delete_consents("app", None).await.unwrap(), 2);
    for sub in ["u_1", "u_2"] {
        assert!(s.get_consent(sub, "app").await.unwrap().is_empty());
    }
    assert_eq!(s.get_consent("u_2", "web").await.unwrap(), openid);

    // Consent given again starts from nothing, not from the withdrawn scopes.
    s.add_consent("u_1", "app", &["profile".to_string()])
        .await
        .unwrap();
    assert_eq!(
        s.get_consent("u_1", "app").await.unwrap(),
        vec!["profile".to_string()]
    );
}
