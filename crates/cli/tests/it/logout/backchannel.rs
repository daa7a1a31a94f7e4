//! OIDC Back-Channel Logout 1.0: a logout token POSTed to each affected client's
//! `backchannel_logout_uri` (a real listener here), validated against `/jwks`; retries
//! then `backchannel_logout.failed`; the `revoke_session` reuse reaction.

use super::*;
use baton_core::model::SigAlg;

const WAIT: Duration = Duration::from_secs(10);

/// Checks a received back-channel request and answers the logout token's claims.
async fn check_logout_request(s: &TestServer, hit: &Hit, sid: &str, sub: &str) -> Value {
    assert!(
        hit.request_line.starts_with("POST /bc "),
        "{}",
        hit.request_line
    );
    assert_eq!(
        hit.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    let token = hit.field("logout_token").expect("logout_token in the body");
    let jwks = get_json(s, "/jwks").await;
    let v = baton_server::jwt::verify(&token, &jwks, &SigAlg::ALL)
        .expect("the logout token verifies against /jwks");
    assert_eq!(v.header["typ"], "logout+jwt");
    assert_eq!(v.header["alg"], "RS256", "the client's ID-token algorithm");
    let c = v.claims;
    assert_eq!(c["iss"], s.url.as_str());
    assert_eq!(c["aud"], "rp");
    assert_eq!(c["sid"], sid);
    assert_eq!(c["sub"], sub);
    assert!(c.get("nonce").is_none(), "a logout token has no nonce: {c}");
    assert_eq!(
        c["events"],
        serde_json::json!({"http://schemas.openid.net/event/backchannel-logout": {}})
    );
    let (iat, exp) = (c["iat"].as_i64().unwrap(), c["exp"].as_i64().unwrap());
    assert_eq!(exp - iat, 120, "valid for two minutes");
    let now = s.clock.now().unix_secs();
    assert!((iat - now).abs() <= 5, "iat is now: {iat} vs {now}");
    assert!(c["jti"].as_str().is_some_and(|j| j.len() >= 16), "{c}");
    c
}

#[tokio::test]
async fn logout_sends_a_logout_token_to_each_client_of_the_session() {
    let bc = Listener::start(200).await;
    let s = TestServer::start(&clients(Some(&bc.url("/bc")), "")).await;
    let f = flow(&s, RP, "openid offline_access").await;
    // keeper has no backchannel_logout_uri; web neither.
    flow(&s, KEEPER, "openid offline_access").await;
    let sid = sid_of(&f.tokens);
    let sub = baton_testkit::flow::jwt_claims(str_of(&f.tokens, "id_token"))["sub"]
        .as_str()
        .unwrap()
        .to_string();

    let started = std::time::Instant::now();
    let r = logout(&s, &[("id_token_hint", str_of(&f.tokens, "id_token"))]).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "logout is not held up"
    );

    let hits = bc.wait_hits(1, WAIT).await;
    assert_eq!(hits.len(), 1, "one logout token for rp");
    check_logout_request(&s, &hits[0], &sid, &sub).await;

    let sent = wait_events(&s, "backchannel_logout.sent", 1, WAIT).await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    let e = &sent[0];
    assert_eq!(e.client_id.as_deref(), Some("rp"));
    assert_eq!(e.subject.as_deref(), Some(sub.as_str()));
    assert_eq!(e.details["host"], "127.0.0.1");
    assert_eq!(e.details["status"], 200);
    assert_eq!(e.details["session_id"], sid.as_str());
    let token = hits[0].field("logout_token").unwrap();
    let all = serde_json::to_string(&s.events("backchannel_logout.sent").await[0].details).unwrap();
    assert!(!all.contains(&token), "the token is never recorded");
    // A quiet period: what is checked next is that nothing more arrives, an absence
    // no condition can be polled for.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(bc.hits().len(), 1, "sent once");
    assert!(s.events("backchannel_logout.failed").await.is_empty());
}

#[tokio::test]
async fn a_failing_endpoint_is_retried_then_recorded_as_failed() {
    let bc = Listener::start(500).await;
    let s = TestServer::start(&clients(Some(&bc.url("/bc")), "")).await;
    let f = flow(&s, RP, "openid").await;
    let r = logout(&s, &[("id_token_hint", str_of(&f.tokens, "id_token"))]).await;
    assert_eq!(
        r.status(),
        StatusCode::OK,
        "the user's logout does not wait"
    );
    let failed = wait_events(&s, "backchannel_logout.failed", 1, WAIT).await;
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(bc.hits().len(), 3, "three attempts");
    let d = &failed[0].details;
    assert_eq!(d["status"], 500);
    assert_eq!(d["attempts"], 3);
    assert_eq!(d["host"], "127.0.0.1");
    assert_eq!(failed[0].client_id.as_deref(), Some("rp"));
    assert!(s.events("backchannel_logout.sent").await.is_empty());
    // The session ended all the same.
    assert!(!is_live(&s, &sid_of(&f.tokens)).await);
}

#[tokio::test]
async fn a_client_error_is_not_retried() {
    let bc = Listener::start(400).await;
    let s = TestServer::start(&clients(Some(&bc.url("/bc")), "")).await;
    let f = flow(&s, RP, "openid").await;
    logout(&s, &[("id_token_hint", str_of(&f.tokens, "id_token"))]).await;
    let failed = wait_events(&s, "backchannel_logout.failed", 1, WAIT).await;
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].details["status"], 400);
    assert_eq!(failed[0].details["attempts"], 1);
    assert_eq!(bc.hits().len(), 1);
}

#[tokio::test]
async fn unreachable_and_tls_failures_are_recorded_with_the_reason() {
    // Accepts and closes at once: plain HTTP sees no answer, TLS no handshake.
    let closer = Listener::start(0).await;
    for scheme in ["http", "https"] {
        let uri = format!("{scheme}://127.0.0.1:{}/bc", closer.port);
        let s = TestServer::start(&clients(Some(&uri), "")).await;
        let f = flow(&s, RP, "openid").await;
        let before = closer.connections();
        logout(&s, &[("id_token_hint", str_of(&f.tokens, "id_token"))]).await;
        let failed = wait_events(&s, "backchannel_logout.failed", 1, WAIT).await;
        assert_eq!(failed.len(), 1, "{scheme}");
        let d = &failed[0].details;
        assert_eq!(d["attempts"], 3, "{scheme}: {d}");
        let err = d["error"]
            .as_str()
            .unwrap_or_else(|| panic!("{scheme}: an error: {d}"));
        if scheme == "https" {
            assert!(err.contains("TLS"), "{err}");
        }
        assert_eq!(closer.connections() - before, 3, "{scheme}: three attempts");
    }
}

#[tokio::test]
async fn reuse_with_revoke_session_ends_the_session_with_back_channel_logout() {
    let bc = Listener::start(200).await;
    let rt_settings = "usage = \"one_time\"\nreuse_reaction = \"revoke_session\"\n";
    let s = TestServer::start(&clients(Some(&bc.url("/bc")), rt_settings)).await;
    let f = flow(&s, RP, "openid offline_access").await;
    let sid = sid_of(&f.tokens);
    let sub = baton_testkit::flow::jwt_claims(str_of(&f.tokens, "id_token"))["sub"]
        .as_str()
        .unwrap()
        .to_string();
    let t1 = str_of(&f.tokens, "refresh_token").to_string();
    let (st, v) = refresh_as(&s, RP, &t1).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    s.advance(baton_core::time::Dur::secs(31)); // past the grace period
    assert_invalid_grant(refresh_as(&s, RP, &t1).await);

    assert!(!is_live(&s, &sid).await, "the session ended");
    let ended = s.events("session.ended").await;
    assert_eq!(ended.len(), 1);
    assert_eq!(ended[0].details["reason"], "reuse_detected");
    let hits = bc.wait_hits(1, WAIT).await;
    assert_eq!(hits.len(), 1, "back-channel logout on reuse");
    check_logout_request(&s, &hits[0], &sid, &sub).await;
    assert_eq!(
        wait_events(&s, "backchannel_logout.sent", 1, WAIT)
            .await
            .len(),
        1
    );
}

#[tokio::test]
async fn a_loopback_receiver_is_not_called_unless_the_operator_allows_it() {
    let bc = Listener::start(200).await;
    // A configured client whose URI is on loopback; allow_private_outbound is off.
    let s = TestServer::start(&clients_strict(Some(&bc.url("/bc")), "")).await;
    let f = flow(&s, RP, "openid").await;
    let r = logout(&s, &[("id_token_hint", str_of(&f.tokens, "id_token"))]).await;
    assert_eq!(r.status(), StatusCode::OK);
    let failed = wait_events(&s, "backchannel_logout.failed", 1, WAIT).await;
    assert_eq!(failed.len(), 1, "{failed:?}");
    let d = &failed[0].details;
    assert_eq!(d["host"], "127.0.0.1");
    assert_eq!(d["attempts"], 1, "a refusal is not retried: {d}");
    let err = d["error"].as_str().unwrap_or_default();
    assert!(err.contains("loopback"), "{err}");
    assert!(err.contains("allow_private_outbound"), "{err}");
    // A quiet period: what is checked next is that nothing more arrives, an absence
    // no condition can be polled for.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(bc.connections(), 0, "the receiver saw nothing");
    assert!(bc.hits().is_empty());
    assert!(s.events("backchannel_logout.sent").await.is_empty());
}

#[tokio::test]
async fn a_redirect_from_the_receiver_is_not_followed() {
    let bc = Listener::start(307).await;
    let s = TestServer::start(&clients(Some(&bc.url("/bc")), "")).await;
    let f = flow(&s, RP, "openid").await;
    logout(&s, &[("id_token_hint", str_of(&f.tokens, "id_token"))]).await;
    let failed = wait_events(&s, "backchannel_logout.failed", 1, WAIT).await;
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0].details["status"], 307);
    assert_eq!(failed[0].details["attempts"], 1);
    // A quiet period: what is checked next is that nothing more arrives, an absence
    // no condition can be polled for.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(bc.hits().len(), 1, "one request, no redirect followed");
}
