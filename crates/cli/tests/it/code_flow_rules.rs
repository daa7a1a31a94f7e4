//! RFC 6749 §4.1.3 redirect_uri rules at the token endpoint, and consent re-checking a
//! client that changed while the user was on the page.

use baton_testkit::flow::{self, AuthParams, Browser, ClientAuth};
use baton_testkit::{TestServer, WEB};

#[tokio::test]
async fn redirect_uri_may_be_omitted_at_token_only_if_omitted_at_authorize() {
    let s = TestServer::start("").await;
    // Omitted in the authorization request (the client has one registered URI).
    let mut p = AuthParams::new("web", "openid");
    p.redirect_uri = None;
    let cb = Browser::shared(&s).authorize_and_allow(&p).await;
    let verifier = p.pkce.as_ref().map(|k| k.verifier.clone()).unwrap();
    let (st, v) = flow::token_request(
        &s,
        ClientAuth::Basic(WEB.0, WEB.1),
        &[
            ("grant_type", "authorization_code"),
            ("code", cb.code()),
            ("code_verifier", &verifier),
        ],
    )
    .await;
    assert_eq!(st, 200, "{v}");
    // Included in the authorization request: then required at the token endpoint.
    let p = AuthParams::new("web", "openid");
    let cb = Browser::shared(&s).authorize_and_allow(&p).await;
    let verifier = p.pkce.as_ref().map(|k| k.verifier.clone()).unwrap();
    let (st, v) = flow::token_request(
        &s,
        ClientAuth::Basic(WEB.0, WEB.1),
        &[
            ("grant_type", "authorization_code"),
            ("code", cb.code()),
            ("code_verifier", &verifier),
        ],
    )
    .await;
    assert_eq!(
        (st.as_u16(), v["error"].as_str()),
        (400, Some("invalid_grant")),
        "{v}"
    );
}

#[tokio::test]
async fn consent_refuses_a_client_that_was_disabled_meanwhile() {
    let s = TestServer::start("").await;
    let b = Browser::shared(&s);
    let p = AuthParams::new("web", "openid email");
    let resp = b.authorize(&p).await;
    let login_at = flow::location(&resp).unwrap();
    let resp = b.login(&login_at, "alice", "alice-password").await;
    let consent_at = flow::location(&resp).unwrap();
    assert!(consent_at.starts_with("/consent"), "{consent_at}");
    let mut c = s.state().store.get_client("web").await.unwrap().unwrap();
    c.active = false;
    s.state().store.upsert_client(&c).await.unwrap();
    let r = b.consent(&consent_at, "allow").await;
    assert_eq!(r.status(), 400);
    assert!(s.events("consent.granted").await.is_empty());
}
