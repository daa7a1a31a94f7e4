//! Reuse answers `invalid_grant` and applies `reuse_reaction`
//! (`revoke_session` is in `sessions.rs`: it needs a browser session).

use super::*;

/// Rotates `t1` once and replays it after the grace period: reuse. Answers the
/// current token (generation 2).
async fn cause_reuse(s: &TestServer, cl: Cl, t1: &str) -> String {
    let t2 = rt(&refresh_ok(s, cl, t1).await);
    s.advance(secs(31));
    let (st, v) = refresh(s, cl, t1).await;
    assert_invalid_grant(st, &v, "reused");
    t2
}

fn reaction(r: &str) -> String {
    format!(
        "[refresh_tokens]\nreuse_reaction = \"{r}\"\n{}",
        user_toml("bob")
    )
}

#[tokio::test]
async fn revoke_grant_revokes_only_that_grant() {
    let s = TestServer::start(&reaction("revoke_grant")).await;
    let a = login_as(&s, SPA_C, "alice", "openid offline_access").await;
    let other = login(&s, SPA_C).await; // same user and client, another grant
    let web = login(&s, WEB_C).await;
    let current = cause_reuse(&s, SPA_C, &rt(&a)).await;
    let (st, v) = refresh(&s, SPA_C, &current).await;
    assert_invalid_grant(st, &v, "revoked");
    assert_eq!(userinfo(&s, &at(&a)).await, StatusCode::UNAUTHORIZED);
    let g = grant(&s, &current).await;
    assert!(
        matches!(&g.status, baton_core::model::GrantStatus::Revoked { reason, .. } if reason.contains("reuse")),
        "{g:?}"
    );
    // Untouched: the user's other grant of the same client, and their grant elsewhere.
    refresh_ok(&s, SPA_C, &other).await;
    refresh_ok(&s, WEB_C, &web).await;
}

#[tokio::test]
async fn revoke_client_user_revokes_every_grant_of_that_client_and_user() {
    let s = TestServer::start(&reaction("revoke_client_user")).await;
    let a1 = login(&s, SPA_C).await;
    let a2 = login(&s, SPA_C).await;
    let bob = rt(&login_as(&s, SPA_C, "bob", "openid offline_access").await);
    let web = login(&s, WEB_C).await;
    let current = cause_reuse(&s, SPA_C, &a1).await;
    for t in [&current, &a2] {
        let (st, v) = refresh(&s, SPA_C, t).await;
        assert_invalid_grant(st, &v, "revoked");
    }
    // Another user of that client, and the same user at another client, keep theirs.
    refresh_ok(&s, SPA_C, &bob).await;
    refresh_ok(&s, WEB_C, &web).await;
    let revoked = s.events("grant.revoked").await;
    assert_eq!(revoked.len(), 2, "{revoked:?}");
}

#[tokio::test]
async fn log_only_records_and_revokes_nothing() {
    let s = TestServer::start(&reaction("log_only")).await;
    let a1 = login(&s, SPA_C).await;
    let a2 = login(&s, SPA_C).await;
    let current = cause_reuse(&s, SPA_C, &a1).await;
    assert!(grant(&s, &current).await.is_active());
    let next = rt(&refresh_ok(&s, SPA_C, &current).await);
    refresh_ok(&s, SPA_C, &a2).await;
    assert!(s.events("grant.revoked").await.is_empty());
    let ev = s.events("token.reuse_detected").await;
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].details["reaction"], "log_only");
    // Every replay is recorded, each time.
    let (st, v) = refresh(&s, SPA_C, &a1).await;
    assert_invalid_grant(st, &v, "reused");
    assert_eq!(s.events("token.reuse_detected").await.len(), 2);
    assert_eq!(grant(&s, &next).await.generation, 3);
}

#[tokio::test]
async fn replays_of_a_revoked_grant_are_still_recorded() {
    let s = TestServer::start("").await;
    let t1 = login(&s, SPA_C).await;
    let current = cause_reuse(&s, SPA_C, &t1).await;
    for _ in 0..2 {
        let (st, v) = refresh(&s, SPA_C, &t1).await;
        assert_invalid_grant(st, &v, "reused");
    }
    let ev = s.events("token.reuse_detected").await;
    assert_eq!(ev.len(), 3);
    assert_eq!(ev[0].details["grant_status"], "revoked");
    // The grant was revoked once, not once per replay.
    assert_eq!(s.events("grant.revoked").await.len(), 1);
    assert!(!grant(&s, &current).await.is_active());
}

/// The `token.reuse_detected` events: (reaction applied, reaction not applied).
async fn reuse_events_by_application(s: &TestServer) -> (usize, usize) {
    let ev = s.events("token.reuse_detected").await;
    let applied = ev
        .iter()
        .filter(|e| e.details["reaction_applied"] == true)
        .count();
    let not = ev
        .iter()
        .filter(|e| e.details["reaction_applied"] == false)
        .count();
    assert_eq!(applied + not, ev.len(), "{ev:?}");
    (applied, not)
}

#[tokio::test]
async fn replaying_a_revoked_grants_token_never_revokes_the_users_new_grants() {
    let s = TestServer::start(&reaction("revoke_client_user")).await;
    let old = login(&s, SPA_C).await;
    cause_reuse(&s, SPA_C, &old).await;
    assert_eq!(s.events("grant.revoked").await.len(), 1);
    // The user signs in again at the same client; whoever holds the old token keeps
    // replaying it.
    let fresh = login(&s, SPA_C).await;
    for _ in 0..3 {
        let (st, v) = refresh(&s, SPA_C, &old).await;
        assert_invalid_grant(st, &v, "reused");
    }
    let fresh = rt(&refresh_ok(&s, SPA_C, &fresh).await);
    refresh_ok(&s, SPA_C, &fresh).await;
    assert_eq!(
        s.events("grant.revoked").await.len(),
        1,
        "nothing new revoked"
    );
    // Every replay is recorded, saying that the reaction was not applied again.
    assert_eq!(reuse_events_by_application(&s).await, (1, 3));
}

#[tokio::test]
async fn replaying_an_expired_grants_token_revokes_nothing() {
    let s = TestServer::start(
        "[refresh_tokens]\nreuse_reaction = \"revoke_client_user\"\nsliding_lifetime = \"1h\"\n",
    )
    .await;
    let old = login(&s, SPA_C).await;
    refresh_ok(&s, SPA_C, &old).await;
    // The grant dies of age (not revoked); the user signs in again.
    s.advance(secs(2 * 3600));
    let fresh = login(&s, SPA_C).await;
    let (st, v) = refresh(&s, SPA_C, &old).await;
    assert_invalid_grant(st, &v, "reused");
    refresh_ok(&s, SPA_C, &fresh).await;
    assert!(s.events("grant.revoked").await.is_empty());
    assert_eq!(reuse_events_by_application(&s).await, (0, 1));
}

#[tokio::test]
async fn revoke_session_without_a_session_acts_as_revoke_client_user() {
    // A password grant has no browser session: the client+user grants are revoked and
    // no session ends.
    let s = TestServer::start(&reaction("revoke_session")).await;
    let a1 = login(&s, SPA_C).await;
    let a2 = login(&s, SPA_C).await;
    let web = login(&s, WEB_C).await;
    let current = cause_reuse(&s, SPA_C, &a1).await;
    for t in [&current, &a2] {
        let (st, v) = refresh(&s, SPA_C, t).await;
        assert_invalid_grant(st, &v, "revoked");
    }
    refresh_ok(&s, WEB_C, &web).await;
    assert!(s.events("session.ended").await.is_empty());
}

/// `POST /introspect` as the confidential test client `cl`.
async fn introspect(s: &TestServer, cl: Cl, token: &str) -> Value {
    let resp = s
        .http
        .post(format!("{}/introspect", s.url))
        .basic_auth(cl.id, cl.secret)
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    resp.json().await.unwrap()
}

#[tokio::test]
async fn after_reuse_introspection_says_every_token_of_the_grant_is_inactive() {
    let s = TestServer::start(&conf_toml("rot", "usage = \"one_time\"")).await;
    let cl = conf("rot");
    let r1 = login_as(&s, cl, "alice", "openid offline_access").await;
    let r2 = refresh_ok(&s, cl, &rt(&r1)).await;
    for t in [rt(&r2), at(&r1), at(&r2)] {
        assert_eq!(introspect(&s, cl, &t).await["active"], true, "{t}");
    }
    s.advance(secs(31));
    let (st, v) = refresh(&s, cl, &rt(&r1)).await;
    assert_invalid_grant(st, &v, "reused");
    for t in [rt(&r2), rt(&r1), at(&r1), at(&r2)] {
        let v = introspect(&s, cl, &t).await;
        assert_eq!(v, serde_json::json!({"active": false}), "{t}");
    }
}
