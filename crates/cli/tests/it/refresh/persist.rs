//! `persist = false` grants live in the cache: the same rules, not durable.

use super::*;

fn volatile() -> String {
    public_toml("volatile", "persist = false")
}

#[tokio::test]
async fn unpersisted_grants_rotate_replay_and_detect_reuse() {
    let s = TestServer::start(&volatile()).await;
    let cl = public("volatile");
    let t1 = login(&s, cl).await;
    let c = claims(&s, &t1);
    assert!(!c.persist());
    let main = s.state().grants(true).get_grant(c.grant_id).await.unwrap();
    assert!(main.is_none(), "not in the main store");
    let t2 = rt(&refresh_ok(&s, cl, &t1).await);
    assert_eq!(rt(&refresh_ok(&s, cl, &t1).await), t2, "grace replay");
    let t3 = rt(&refresh_ok(&s, cl, &t2).await);
    assert_eq!(grant(&s, &t3).await.generation, 3);
    let (st, v) = refresh(&s, cl, &t1).await;
    assert_invalid_grant(st, &v, "reused");
    let (st, v) = refresh(&s, cl, &t3).await;
    assert_invalid_grant(st, &v, "revoked");
    // Its events are in the main store all the same.
    for kind in ["grant.created", "token.reuse_detected", "grant.revoked"] {
        let ev = s.events(kind).await;
        assert_eq!(ev.len(), 1, "{kind}: {ev:?}");
        assert_eq!(ev[0].grant_id, Some(c.grant_id));
    }
}

#[tokio::test]
async fn unpersisted_grants_are_gone_after_a_restart_and_persisted_ones_survive() {
    let s = TestServer::start(&volatile()).await;
    let v1 = login(&s, public("volatile")).await;
    let p1 = login(&s, SPA_C).await;
    let v2 = rt(&refresh_ok(&s, public("volatile"), &v1).await);
    let p2 = rt(&refresh_ok(&s, SPA_C, &p1).await);
    let dir = s.stop().await;
    let s = TestServer::start_in(
        dir,
        &format!("{}\n{}", baton_testkit::BASE_CLIENTS, volatile()),
    )
    .await;
    // Documented: not durable.
    let (st, v) = refresh(&s, public("volatile"), &v2).await;
    assert_invalid_grant(st, &v, "");
    let p3 = rt(&refresh_ok(&s, SPA_C, &p2).await);
    assert_eq!(grant(&s, &p3).await.generation, 3);
}
