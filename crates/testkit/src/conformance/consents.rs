//! Consent: the `ConsentStore` role.

use baton_core::store::{Consent, Store};
use std::sync::Arc;

fn scopes(s: &[&str]) -> Consent {
    Consent {
        scopes: s.iter().map(|x| x.to_string()).collect(),
        resources: vec![],
    }
}

fn strings(s: &[&str]) -> Vec<String> {
    s.iter().map(|x| x.to_string()).collect()
}

/// Consents accumulate: scopes and resources, each in the order first consented to.
pub(super) async fn consent_records(s: Arc<dyn Store>) {
    s.add_consent("u_1", "web", &scopes(&["openid"]))
        .await
        .unwrap();
    s.add_consent("u_1", "web", &scopes(&["email", "openid"]))
        .await
        .unwrap();
    assert_eq!(
        s.get_consent("u_1", "web").await.unwrap(),
        scopes(&["openid", "email"])
    );
    assert_eq!(
        s.get_consent("u_1", "other").await.unwrap(),
        Consent::default()
    );
    let api = Consent {
        scopes: strings(&["invoices.read"]),
        resources: strings(&["https://api.example/invoices", "urn:example:orders"]),
    };
    s.add_consent("u_1", "web", &api).await.unwrap();
    s.add_consent(
        "u_1",
        "web",
        &Consent {
            scopes: vec![],
            resources: strings(&["urn:example:orders", "urn:example:third"]),
        },
    )
    .await
    .unwrap();
    assert_eq!(
        s.get_consent("u_1", "web").await.unwrap(),
        Consent {
            scopes: strings(&["openid", "email", "invoices.read"]),
            resources: strings(&[
                "https://api.example/invoices",
                "urn:example:orders",
                "urn:example:third"
            ]),
        }
    );
}

/// Concurrent consent additions for one user and client all land, none twice.
pub(super) async fn consent_race(s: Arc<dyn Store>) {
    let mut tasks = Vec::new();
    for i in 0..12 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let add = Consent {
                scopes: vec![format!("scope{}", i % 6), "openid".to_string()],
                resources: vec![format!("urn:api:{}", i % 4)],
            };
            s.add_consent("u_race", "web", &add).await.unwrap();
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let mut got = s.get_consent("u_race", "web").await.unwrap();
    got.scopes.sort();
    got.resources.sort();
    let mut want: Vec<String> = (0..6).map(|i| format!("scope{i}")).collect();
    want.push("openid".into());
    want.sort();
    assert_eq!(got.scopes, want);
    assert_eq!(
        got.resources,
        (0..4).map(|i| format!("urn:api:{i}")).collect::<Vec<_>>()
    );
}

/// Withdrawing consent: one user's for one client (the account page), or every user's
/// for a client (the client is deleted). Nothing else is touched; withdrawing what is
/// not there is no error; consent given afterwards starts from nothing.
pub(super) async fn consent_withdrawal(s: Arc<dyn Store>) {
    let openid = Consent {
        scopes: strings(&["openid", "email"]),
        resources: strings(&["urn:example:api"]),
    };
    for (sub, client) in [
        ("u_1", "web"),
        ("u_2", "web"),
        ("u_1", "app"),
        ("u_2", "app"),
    ] {
        s.add_consent(sub, client, &openid).await.unwrap();
    }
    let none = Consent::default();
    assert_eq!(s.delete_consents("web", Some("u_1")).await.unwrap(), 1);
    assert_eq!(s.get_consent("u_1", "web").await.unwrap(), none);
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
        assert_eq!(s.get_consent(sub, "app").await.unwrap(), none);
    }
    assert_eq!(s.get_consent("u_2", "web").await.unwrap(), openid);

    // Consent given again starts from nothing, not from the withdrawn scopes.
    s.add_consent("u_1", "app", &scopes(&["profile"]))
        .await
        .unwrap();
    assert_eq!(
        s.get_consent("u_1", "app").await.unwrap(),
        scopes(&["profile"])
    );
}

/// A user's consents, per client in `client_id` order; other users' are not listed.
pub(super) async fn consent_list(s: Arc<dyn Store>) {
    assert!(s.list_consents("u_1").await.unwrap().is_empty());
    s.add_consent("u_1", "web", &scopes(&["openid", "email"]))
        .await
        .unwrap();
    s.add_consent("u_1", "app", &scopes(&["profile"]))
        .await
        .unwrap();
    s.add_consent("u_2", "web", &scopes(&["openid"]))
        .await
        .unwrap();
    assert_eq!(
        s.list_consents("u_1").await.unwrap(),
        vec![
            ("app".to_string(), scopes(&["profile"])),
            ("web".to_string(), scopes(&["openid", "email"])),
        ]
    );
    s.delete_consents("app", Some("u_1")).await.unwrap();
    assert_eq!(
        s.list_consents("u_1").await.unwrap(),
        vec![("web".to_string(), scopes(&["openid", "email"]))]
    );
}
