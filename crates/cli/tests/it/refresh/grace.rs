//! The grace period: generation g−1 inside the grace period answers the byte-identical
//! generation-g token; anything else rotated is reuse.

use super::*;

#[tokio::test]
async fn previous_token_inside_grace_returns_the_identical_successor() {
    let s = TestServer::start("").await; // grace_period defaults to 30s
    let t1 = login(&s, SPA_C).await;
    let r2 = refresh_ok(&s, SPA_C, &t1).await;
    let t2 = rt(&r2);
    let before = grant(&s, &t2).await;
    // A retry after a lost response, 10 s and then 25 s later.
    for step in [10, 15] {
        s.advance(secs(step));
        let r = refresh_ok(&s, SPA_C, &t1).await;
        assert_eq!(rt(&r), t2, "byte-identical generation-2 token");
        assert_ne!(at(&r), at(&r2), "a fresh access token");
        assert_eq!(jwt(&at(&r))["sub"], jwt(&at(&r2))["sub"]);
    }
    // A grace replay writes nothing: the grant did not move.
    assert_eq!(grant(&s, &t2).await, before);
    // The chain continues from the successor.
    let t3 = rt(&refresh_ok(&s, SPA_C, &t2).await);
    assert_eq!(grant(&s, &t3).await.generation, 3);
}

#[tokio::test]
async fn previous_token_after_grace_is_reuse_and_revokes_the_grant() {
    let s = TestServer::start("[refresh_tokens]\ngrace_period = \"5s\"").await;
    let t1 = login(&s, SPA_C).await;
    let r2 = refresh_ok(&s, SPA_C, &t1).await;
    let t2 = rt(&r2);
    // Replays inside the window do not extend it (it runs from the rotation).
    s.advance(secs(4));
    assert_eq!(rt(&refresh_ok(&s, SPA_C, &t1).await), t2);
    s.advance(secs(2));
    let (st, v) = refresh(&s, SPA_C, &t1).await;
    assert_invalid_grant(st, &v, "reused");
    // The default reaction (revoke_grant) was applied and committed.
    let (st, v) = refresh(&s, SPA_C, &t2).await;
    assert_invalid_grant(st, &v, "revoked");
    assert!(!grant(&s, &t2).await.is_active());
    assert_eq!(userinfo(&s, &at(&r2)).await, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn older_generation_inside_grace_time_is_reuse() {
    // No time passes: only the generation tells g−2 from g−1.
    let s = TestServer::start("").await;
    let t1 = login(&s, SPA_C).await;
    let t2 = rt(&refresh_ok(&s, SPA_C, &t1).await);
    let t3 = rt(&refresh_ok(&s, SPA_C, &t2).await);
    assert_eq!(grant(&s, &t3).await.generation, 3);
    let (st, v) = refresh(&s, SPA_C, &t1).await;
    assert_invalid_grant(st, &v, "reused");
    let (st, v) = refresh(&s, SPA_C, &t3).await;
    assert_invalid_grant(st, &v, "revoked");
}

#[tokio::test]
async fn zero_grace_period_means_no_grace() {
    let s = TestServer::start("[refresh_tokens]\ngrace_period = \"0s\"").await;
    let t1 = login(&s, SPA_C).await;
    let t2 = rt(&refresh_ok(&s, SPA_C, &t1).await);
    assert_eq!(grant(&s, &t2).await.grace, secs(0));
    let (st, v) = refresh(&s, SPA_C, &t1).await;
    assert_invalid_grant(st, &v, "reused");
    let (st, v) = refresh(&s, SPA_C, &t2).await;
    assert_invalid_grant(st, &v, "revoked");
}

#[tokio::test]
async fn grace_replay_of_a_revoked_grant_is_refused() {
    // A grace replay is only a retry of a live chain: once the grant is revoked (here by
    // reuse of an older token), the previous token gets nothing either.
    let s = TestServer::start("").await;
    let t1 = login(&s, SPA_C).await;
    let t2 = rt(&refresh_ok(&s, SPA_C, &t1).await);
    let t3 = rt(&refresh_ok(&s, SPA_C, &t2).await);
    let (st, v) = refresh(&s, SPA_C, &t1).await;
    assert_invalid_grant(st, &v, "reused");
    for t in [&t2, &t3] {
        let (st, v) = refresh(&s, SPA_C, t).await;
        assert_invalid_grant(st, &v, "revoked");
        assert!(v.get("refresh_token").is_none());
    }
}
