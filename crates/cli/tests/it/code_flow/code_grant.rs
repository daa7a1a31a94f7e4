//! The authorization_code grant at `/token`: single use (and a replay revokes what the
//! first use issued), 60 s lifetime, exact redirect_uri (and omitted only where it was
//! omitted at `/authorize`, RFC 6749 §4.1.3), PKCE, client binding.

use crate::support::{assert_oauth_error, snapshot, userinfo_status};
use baton_core::time::Dur;
use baton_testkit::flow::{
    exchange, token_request, AuthParams, Browser, Callback, ClientAuth, REDIRECT_URI,
};
use baton_testkit::{TestServer, WEB};

const WEB_AUTH: ClientAuth<'static> = ClientAuth::Basic(WEB.0, WEB.1);

/// A code for `client` (signed in and consented as needed), not yet exchanged.
async fn code_for(s: &TestServer, client: &str, scope: &str) -> (AuthParams, Callback) {
    let p = AuthParams::new(client, scope);
    let cb = Browser::shared(s).authorize_and_allow(&p).await;
    assert!(cb.get("code").is_some(), "{}", cb.url);
    (p, cb)
}

fn verifier(p: &AuthParams) -> Option<&str> {
    p.pkce.as_ref().map(|k| k.verifier.as_str())
}

#[tokio::test]
async fn a_replayed_code_fails_and_revokes_what_the_first_use_issued() {
    let s = TestServer::start("").await;
    let (p, cb) = code_for(&s, "web", "openid offline_access").await;
    let (st, first) = exchange(&s, WEB_AUTH, cb.code(), REDIRECT_URI, verifier(&p)).await;
    assert_eq!(st, 200, "{first}");
    let rt = first["refresh_token"].as_str().unwrap();
    let at = first["access_token"].as_str().unwrap();
    assert_eq!(
        userinfo_status(&s, at).await,
        200,
        "usable before the replay"
    );

    let (st, again) = exchange(&s, WEB_AUTH, cb.code(), REDIRECT_URI, verifier(&p)).await;
    assert_oauth_error((st, &again), 400, "invalid_grant");
    assert!(again.get("access_token").is_none());

    let (st, r) = s.refresh(rt).await;
    assert_oauth_error((st, &r), 400, "invalid_grant");
    assert_eq!(
        userinfo_status(&s, at).await,
        401,
        "first access token revoked"
    );
    let revoked = s.events("grant.revoked").await;
    assert_eq!(revoked.len(), 1);
    assert_eq!(revoked[0].details["reason"], "authorization_code_reused");
}

#[tokio::test]
async fn concurrent_exchanges_of_one_code_issue_nothing_usable_twice() {
    let s = TestServer::start("").await;
    let (p, cb) = code_for(&s, "web", "openid offline_access").await;
    let (a, b) = tokio::join!(
        exchange(&s, WEB_AUTH, cb.code(), REDIRECT_URI, verifier(&p)),
        exchange(&s, WEB_AUTH, cb.code(), REDIRECT_URI, verifier(&p)),
    );
    let wins: Vec<_> = [&a, &b].into_iter().filter(|(st, _)| *st == 200).collect();
    assert_eq!(wins.len(), 1, "exactly one exchange wins: {a:?} {b:?}");
    let loser = if a.0 == 200 { &b } else { &a };
    assert_oauth_error((loser.0, &loser.1), 400, "invalid_grant");
    // The replay revoked the winner's refresh token, whatever the interleaving.
    let rt = wins[0].1["refresh_token"].as_str().unwrap();
    let (st, r) = s.refresh(rt).await;
    assert_oauth_error((st, &r), 400, "invalid_grant");
    let at = wins[0].1["access_token"].as_str().unwrap();
    assert_eq!(userinfo_status(&s, at).await, 401);
    let grants = s.state().store.list_grants(None, None, 100).await.unwrap();
    assert!(grants.iter().all(|g| !g.is_active()), "no grant survives");
}

#[tokio::test]
async fn an_expired_code_is_refused() {
    let s = TestServer::start("").await;
    let (p, cb) = code_for(&s, "web", "openid offline_access").await;
    s.advance(Dur::secs(61));
    let before = snapshot(&s).await;
    let (st, r) = exchange(&s, WEB_AUTH, cb.code(), REDIRECT_URI, verifier(&p)).await;
    assert_oauth_error((st, &r), 400, "invalid_grant");
    assert!(r["error_description"].as_str().unwrap().contains("expired"));
    assert_eq!(snapshot(&s).await, before);
}

#[tokio::test]
async fn redirect_uri_and_pkce_must_match() {
    let s = TestServer::start("").await;
    let (p, cb) = code_for(&s, "spa", "openid offline_access").await;
    let spa = ClientAuth::None("spa");
    let before = snapshot(&s).await;
    for wrong in ["http://127.0.0.1:9/cb/", "http://127.0.0.1:9/other"] {
        let (st, r) = exchange(&s, spa, cb.code(), wrong, verifier(&p)).await;
        assert_oauth_error((st, &r), 400, "invalid_grant");
        assert!(r["error_description"]
            .as_str()
            .unwrap()
            .contains("redirect_uri"));
    }
    let other = baton_testkit::flow::Pkce::new();
    let (st, r) = exchange(&s, spa, cb.code(), REDIRECT_URI, Some(&other.verifier)).await;
    assert_oauth_error((st, &r), 400, "invalid_grant");
    assert!(r["error_description"].as_str().unwrap().contains("PKCE"));
    let challenge_as_verifier = p.pkce.as_ref().unwrap().challenge.clone();
    let (st, r) = exchange(
        &s,
        spa,
        cb.code(),
        REDIRECT_URI,
        Some(&challenge_as_verifier),
    )
    .await;
    assert_oauth_error((st, &r), 400, "invalid_grant");
    let (st, r) = exchange(&s, spa, cb.code(), REDIRECT_URI, None).await;
    assert_oauth_error((st, &r), 400, "invalid_request");
    assert_eq!(snapshot(&s).await, before, "failed exchanges store nothing");

    // A code issued without a challenge refuses a verifier.
    let mut q = AuthParams::new("web", "openid");
    q.pkce = None;
    let cb = Browser::shared(&s).authorize_and_allow(&q).await;
    let v = baton_testkit::flow::Pkce::new().verifier;
    let (st, r) = exchange(&s, WEB_AUTH, cb.code(), REDIRECT_URI, Some(&v)).await;
    assert_oauth_error((st, &r), 400, "invalid_grant");
}

#[tokio::test]
async fn a_code_issued_to_another_client_is_refused() {
    let s = TestServer::start("").await;
    let (p, cb) = code_for(&s, "web", "openid offline_access").await;
    let before = snapshot(&s).await;
    let (st, r) = exchange(
        &s,
        ClientAuth::None("spa"),
        cb.code(),
        REDIRECT_URI,
        verifier(&p),
    )
    .await;
    assert_oauth_error((st, &r), 400, "invalid_grant");
    assert_eq!(snapshot(&s).await, before);
    // An unknown code too.
    let (st, r) = exchange(&s, WEB_AUTH, "bm90LWEtY29kZQ", REDIRECT_URI, verifier(&p)).await;
    assert_oauth_error((st, &r), 400, "invalid_grant");
}

/// Exchanges the code `p` was answered with, as web, without a `redirect_uri`.
async fn exchange_without_redirect_uri(
    s: &TestServer,
    p: &AuthParams,
    cb: &Callback,
) -> (reqwest::StatusCode, serde_json::Value) {
    let verifier = verifier(p).unwrap();
    token_request(
        s,
        WEB_AUTH,
        &[
            ("grant_type", "authorization_code"),
            ("code", cb.code()),
            ("code_verifier", verifier),
        ],
    )
    .await
}

#[tokio::test]
async fn redirect_uri_may_be_omitted_at_token_only_if_omitted_at_authorize() {
    let s = TestServer::start("").await;
    // Omitted in the authorization request (the client has one registered URI).
    let mut p = AuthParams::new("web", "openid");
    p.redirect_uri = None;
    let cb = Browser::shared(&s).authorize_and_allow(&p).await;
    let (st, v) = exchange_without_redirect_uri(&s, &p, &cb).await;
    assert_eq!(st, 200, "{v}");
    // Included in the authorization request: then required at the token endpoint.
    let p = AuthParams::new("web", "openid");
    let cb = Browser::shared(&s).authorize_and_allow(&p).await;
    let (st, v) = exchange_without_redirect_uri(&s, &p, &cb).await;
    assert_eq!(
        (st.as_u16(), v["error"].as_str()),
        (400, Some("invalid_grant")),
        "{v}"
    );
}
