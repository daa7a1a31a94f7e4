//! Session expiry: the maintenance task (every `sessions.expiry_check_interval`) ends
//! sessions past their idle or absolute lifetime, like a logout: bound grants die,
//! `session.ended` (reason `expired`) is recorded and clients are told.

use super::*;
use baton_core::time::Dur;

/// What a maintenance tick does to sessions, run now rather than waited for: answers
/// how many sessions it ended.
async fn tick(s: &TestServer) -> usize {
    baton_server::end_expired_sessions(s.state(), s.clock.now()).await
}

const FAST: &str = "[sessions]\nidle_lifetime = \"10m\"\nabsolute_lifetime = \"1h\"\nexpiry_check_interval = \"1s\"\n";

#[tokio::test]
async fn an_idle_session_is_ended_by_the_maintenance_task() {
    let bc = Listener::start(200).await;
    let s = TestServer::start(&clients(Some(&bc.url("/bc")), FAST)).await;
    let online = flow(&s, RP, "openid online_access").await;
    let kept = flow(&s, KEEPER, "openid offline_access").await;
    let sid = sid_of(&online.tokens);

    // Not yet: nine idle minutes.
    s.advance(Dur::secs(9 * 60));
    assert_eq!(tick(&s).await, 0);
    assert!(s.events("session.ended").await.is_empty());
    assert!(session(&s, &sid).await.ended_at.is_none());

    // Past the idle lifetime: the next tick ends it.
    s.advance(Dur::secs(2 * 60));
    let ended = wait_events(&s, "session.ended", 1, Duration::from_secs(5)).await;
    assert_eq!(ended.len(), 1, "the session was ended within a few ticks");
    assert_eq!(ended[0].details["reason"], "expired");
    assert_eq!(ended[0].details["session_id"], sid.as_str());
    assert!(session(&s, &sid).await.ended_at.is_some());
    // Its online grant died; keeper's offline grant (revoke_on_logout = false) lives.
    assert_invalid_grant(refresh_as(&s, RP, str_of(&online.tokens, "refresh_token")).await);
    let (st, v) = refresh_as(&s, KEEPER, str_of(&kept.tokens, "refresh_token")).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let revoked = s.events("grant.revoked").await;
    assert!(
        revoked.iter().any(|e| e.details["reason"]
            .as_str()
            .is_some_and(|r| r.contains("expired"))),
        "{revoked:?}"
    );
    // And rp was told.
    assert_eq!(bc.wait_hits(1, Duration::from_secs(5)).await.len(), 1);
    // Once only.
    assert_eq!(tick(&s).await, 0);
    assert_eq!(s.events("session.ended").await.len(), 1);
    assert!(!signed_in(&s).await);
}

#[tokio::test]
async fn use_slides_the_idle_lifetime_but_not_past_the_absolute_one() {
    let s = TestServer::start(&clients(None, FAST)).await;
    let f = flow(&s, RP, "openid").await;
    let sid = sid_of(&f.tokens);
    // Used every 8 minutes through /authorize: the idle clock restarts each time.
    for _ in 0..5 {
        s.advance(Dur::secs(8 * 60));
        assert!(signed_in(&s).await);
    }
    assert_eq!(tick(&s).await, 0);
    assert!(
        session(&s, &sid).await.ended_at.is_none(),
        "40 minutes, never idle for 10"
    );
    // The absolute lifetime (1 h) ends it however busy it is.
    for _ in 0..3 {
        s.advance(Dur::secs(8 * 60));
        let _ = signed_in(&s).await;
    }
    let ended = wait_events(&s, "session.ended", 1, Duration::from_secs(5)).await;
    assert_eq!(ended.len(), 1);
    assert_eq!(ended[0].details["reason"], "expired");
    assert!(!signed_in(&s).await);
}
