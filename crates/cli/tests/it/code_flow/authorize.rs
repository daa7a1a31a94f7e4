//! `/authorize` validation: untrusted client or redirect URI → an HTML error page, never
//! a redirect; after that, errors go back to the client with `error`, `state` and `iss`.

use crate::support::html_page;
use baton_testkit::flow::{location, AuthParams, Browser, Callback, REDIRECT_URI};
use baton_testkit::TestServer;

/// Authorizes with the shared browser and answers the error redirect to the client.
async fn error_redirect(s: &TestServer, p: &AuthParams) -> Callback {
    let resp = Browser::shared(s).authorize(p).await;
    assert_eq!(resp.status(), 303);
    let loc = location(&resp).unwrap();
    assert!(loc.starts_with(REDIRECT_URI), "to the client: {loc}");
    let cb = Callback::parse(&loc);
    assert_eq!(cb.get("state"), p.state.as_deref(), "state in {loc}");
    assert_eq!(cb.get("iss"), Some(s.url.as_str()), "iss in {loc}");
    assert!(cb.get("code").is_none(), "no code in {loc}");
    cb
}

#[tokio::test]
async fn unknown_client_and_unregistered_redirect_uri_get_a_page_not_a_redirect() {
    let s = TestServer::start("").await;
    let b = Browser::shared(&s);
    let text = html_page(b.authorize(&AuthParams::new("nobody", "openid")).await, 400).await;
    assert!(text.contains("unknown client"), "{text}");

    for bad in [
        "http://127.0.0.1:9/other",
        "http://127.0.0.1:9/cb/",
        "http://127.0.0.1:9/cb?x=1",
        "https://evil.example/cb",
    ] {
        let mut p = AuthParams::new("web", "openid");
        p.redirect_uri = Some(bad.into());
        let text = html_page(b.authorize(&p).await, 400).await;
        assert!(text.contains("redirect_uri"), "{bad}: {text}");
    }
    let mut p = AuthParams::new("web", "openid");
    p.extra.push(("client_id".into(), "web".into()));
    html_page(b.authorize(&p).await, 400).await;
    let no_client: Vec<(String, String)> = AuthParams::new("web", "openid")
        .query()
        .into_iter()
        .filter(|(k, _)| k != "client_id")
        .collect();
    html_page(b.authorize_query(&no_client).await, 400).await;
}

#[tokio::test]
async fn errors_after_a_valid_redirect_uri_go_back_to_the_client() {
    let s = TestServer::start("").await;
    let mut p = AuthParams::new("web", "openid");
    p.response_type = "token".into();
    assert_eq!(
        error_redirect(&s, &p).await.error(),
        Some("unsupported_response_type")
    );

    let p = AuthParams::new("web", "openid admin");
    assert_eq!(error_redirect(&s, &p).await.error(), Some("invalid_scope"));

    let mut p = AuthParams::new("spa", "openid");
    let verifier = p.pkce.take().unwrap().verifier;
    p.extra = vec![
        ("code_challenge".into(), verifier),
        ("code_challenge_method".into(), "plain".into()),
    ];
    let cb = error_redirect(&s, &p).await;
    assert_eq!(cb.error(), Some("invalid_request"));
    assert!(cb.get("error_description").unwrap().contains("plain"));

    let mut p = AuthParams::new("spa", "openid");
    p.pkce = None;
    let cb = error_redirect(&s, &p).await;
    assert_eq!(cb.error(), Some("invalid_request"));
    assert!(cb.get("error_description").unwrap().contains("PKCE"));

    for bad in ["select_account", "none login"] {
        let mut p = AuthParams::new("web", "openid");
        p.prompt = Some(bad.into());
        assert_eq!(
            error_redirect(&s, &p).await.error(),
            Some("invalid_request"),
            "prompt={bad}"
        );
    }
    let mut p = AuthParams::new("web", "openid");
    p.max_age = Some(-1);
    assert_eq!(
        error_redirect(&s, &p).await.error(),
        Some("invalid_request")
    );

    // Nothing of this signed anyone in.
    assert!(s.events("login.succeeded").await.is_empty());
}

#[tokio::test]
async fn prompt_none_answers_login_required_then_consent_required() {
    let s = TestServer::start("").await;
    let mut p = AuthParams::new("web", "openid");
    p.prompt = Some("none".into());
    assert_eq!(error_redirect(&s, &p).await.error(), Some("login_required"));

    // Sign in (consenting for `spa` only), then ask for `web` silently.
    let b = Browser::shared(&s);
    let cb = b
        .authorize_and_allow(&AuthParams::new("spa", "openid"))
        .await;
    assert!(cb.get("code").is_some(), "{}", cb.url);
    assert_eq!(
        error_redirect(&s, &p).await.error(),
        Some("consent_required")
    );

    // With consent given, prompt=none answers a code straight away.
    let mut q = AuthParams::new("spa", "openid");
    q.prompt = Some("none".into());
    let resp = b.authorize(&q).await;
    let cb = Callback::parse(&location(&resp).unwrap());
    assert!(cb.get("code").is_some(), "{}", cb.url);
    assert_eq!(cb.get("state"), q.state.as_deref());
}
