//! The full authorization-code flow through the HTML forms, for both kinds of client.

use baton_testkit::flow::{code_flow, code_flow_full, jwt_claims};
use baton_testkit::TestServer;

#[tokio::test]
async fn confidential_client_completes_the_code_flow() {
    let s = TestServer::start("").await;
    let f = code_flow_full(&s, "web", "openid email offline_access").await;
    assert!(f.tokens["access_token"].is_string(), "{}", f.tokens);
    assert!(f.tokens["refresh_token"].is_string(), "{}", f.tokens);
    assert_eq!(f.tokens["scope"], "openid email offline_access");
    assert_eq!(
        jwt_claims(f.tokens["id_token"].as_str().unwrap())["aud"],
        "web"
    );
    let (st, r) = s.refresh(f.tokens["refresh_token"].as_str().unwrap()).await;
    assert_eq!(st, 200, "{r}");
    let created = s.events("grant.created").await;
    assert_eq!(created.len(), 1);
    assert_eq!(created[0].client_id.as_deref(), Some("web"));
}

#[tokio::test]
async fn public_client_completes_the_code_flow_with_pkce() {
    let s = TestServer::start("").await;
    let t = code_flow(&s, "spa", "openid offline_access").await;
    let rt = t["refresh_token"].as_str().unwrap();
    assert_eq!(jwt_claims(t["id_token"].as_str().unwrap())["aud"], "spa");
    let (st, r) = s.refresh_public(rt).await;
    assert_eq!(st, 200, "{r}");
    assert_ne!(
        r["refresh_token"].as_str().unwrap(),
        rt,
        "public clients rotate"
    );
}

#[tokio::test]
async fn without_offline_access_no_refresh_token() {
    let s = TestServer::start("").await;
    let t = code_flow(&s, "web", "openid").await;
    assert!(t.get("refresh_token").is_none(), "{t}");
    assert!(s.events("grant.created").await.is_empty());
}

/// An administrator changed the client while the user was on the login or consent page:
/// the code is issued only if the client still allows it (active, the redirect URI
/// still registered, the code flow and every requested scope still allowed). Otherwise
/// an error page, never a redirect: the URI may no longer be the client's.
#[tokio::test]
async fn no_code_when_the_client_changed_before_it_was_issued() {
    use super::html_page;
    use baton_core::model::{Client, GrantType};
    use baton_testkit::flow::{location, AuthParams, Browser, Callback};
    use baton_testkit::ALICE;

    let s = TestServer::start("").await;
    let store = s.state().store.clone();
    let original = store.get_client("web").await.unwrap().unwrap();
    // Alice has consented to `openid email` for web.
    let cb = Browser::fresh(&s)
        .authorize_and_allow(&AuthParams::new("web", "openid email"))
        .await;
    assert!(cb.get("code").is_some(), "{}", cb.url);

    type Change = fn(&mut Client);
    let changes: &[(&str, Change)] = &[
        ("redirect URI removed", |c| {
            c.redirect_uris = vec!["http://127.0.0.1:9/other".into()]
        }),
        ("disabled", |c| c.active = false),
        ("code flow removed", |c| {
            c.grant_types.retain(|g| *g != GrantType::AuthorizationCode)
        }),
        ("scope removed", |c| c.scopes.retain(|x| x != "email")),
        ("deleted", |_| {}),
    ];
    for (what, change) in changes {
        // Through the login page (consent already given: the code follows sign-in),
        // and through the consent page (a scope not yet consented to).
        for scope in ["openid email", "openid email profile"] {
            store.upsert_client(&original).await.unwrap();
            let b = Browser::fresh(&s);
            let p = AuthParams::new("web", scope);
            let login = location(&b.authorize(&p).await).unwrap();
            assert!(login.starts_with("/login"), "{login}");
            let consent = if scope.ends_with("profile") {
                let next = location(&b.login(&login, ALICE.0, ALICE.1).await).unwrap();
                assert!(next.starts_with("/consent"), "{next}");
                Some(next)
            } else {
                None
            };
            let mut c = original.clone();
            change(&mut c);
            if *what == "deleted" {
                assert!(store.delete_client("web").await.unwrap());
            } else {
                store.upsert_client(&c).await.unwrap();
            }
            let granted = s.events("consent.granted").await.len();
            let resp = match &consent {
                None => b.login(&login, ALICE.0, ALICE.1).await,
                Some(at) => b.consent(at, "allow").await,
            };
            let status = resp.status().as_u16();
            assert!(
                location(&resp).is_none(),
                "{what} ({scope}): no redirect, got {:?}",
                location(&resp).map(|l| Callback::parse(&l).url)
            );
            html_page(resp, status).await;
            assert_eq!(status, 400, "{what} ({scope})");
            assert_eq!(
                s.events("consent.granted").await.len(),
                granted,
                "{what} ({scope}): no consent recorded"
            );
        }
    }
    // Restored, the same flow works again.
    store.upsert_client(&original).await.unwrap();
    let cb = Browser::fresh(&s)
        .authorize_and_allow(&AuthParams::new("web", "openid email"))
        .await;
    assert!(cb.get("code").is_some(), "{}", cb.url);
}
