//! Concurrent refreshes of one token never fork the chain.

use super::*;
use std::collections::BTreeSet;
use std::sync::Arc;

/// Refreshes each of `tokens` `n` times at once (interleaved), answering for each task
/// the token it presented, the status and the response.
async fn storm(
    s: &Arc<TestServer>,
    cl: Cl,
    tokens: &[String],
    n: usize,
) -> Vec<(String, StatusCode, Value)> {
    let start = Arc::new(tokio::sync::Barrier::new(n * tokens.len()));
    let mut tasks = Vec::new();
    for _ in 0..n {
        for t in tokens {
            let (s, t, start) = (s.clone(), t.clone(), start.clone());
            tasks.push(tokio::spawn(async move {
                start.wait().await;
                let (st, v) = refresh(&s, cl, &t).await;
                (t, st, v)
            }));
        }
    }
    let mut out = Vec::new();
    for task in tasks {
        out.push(task.await.unwrap());
    }
    out
}

/// Checks every refresh of `presented` succeeded with one and the same new token, and
/// that the grant advanced exactly once; answers that token.
async fn one_successor(
    s: &TestServer,
    presented: &str,
    results: &[(String, StatusCode, Value)],
) -> String {
    let mine: Vec<_> = results.iter().filter(|(t, ..)| t == presented).collect();
    let mut successors = BTreeSet::new();
    for (_, st, v) in &mine {
        assert_eq!(*st, StatusCode::OK, "{v}");
        successors.insert(rt(v));
    }
    assert_eq!(successors.len(), 1, "the chain forked: {successors:?}");
    let next = successors.into_iter().next().unwrap();
    assert_ne!(next, presented);
    let before = claims(s, presented).generation;
    assert_eq!(
        grant(s, &next).await.generation,
        before + 1,
        "exactly one advance"
    );
    assert_eq!(claims(s, &next).generation, before + 1);
    next
}

/// 50 refreshes of one token at once, twice along the chain, as `cl`.
async fn fifty_at_once(s: Arc<TestServer>, cl: Cl) {
    let t1 = login(&s, cl).await;
    let results = storm(&s, cl, std::slice::from_ref(&t1), 50).await;
    assert_eq!(results.len(), 50);
    let t2 = one_successor(&s, &t1, &results).await;
    let access: BTreeSet<_> = results.iter().map(|(_, _, v)| at(v)).collect();
    assert_eq!(access.len(), 50, "each caller gets its own access token");
    assert!(s.events("token.reuse_detected").await.is_empty());
    // The chain continues from the one successor; and does so again under a storm.
    let t3 = rt(&refresh_ok(&s, cl, &t2).await);
    let results = storm(&s, cl, std::slice::from_ref(&t3), 50).await;
    let t4 = one_successor(&s, &t3, &results).await;
    refresh_ok(&s, cl, &t4).await;
    assert!(s.events("token.reuse_detected").await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_refreshes_of_one_token_advance_it_once() {
    fifty_at_once(Arc::new(TestServer::start("").await), SPA_C).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_same_holds_for_an_unpersisted_grant() {
    let s = TestServer::start(&public_toml("volatile", "persist = false")).await;
    fifty_at_once(Arc::new(s), public("volatile")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_grants_interleaved_each_advance_once() {
    let s = Arc::new(TestServer::start("").await);
    let a = login(&s, SPA_C).await;
    let b = login(&s, SPA_C).await;
    let results = storm(&s, SPA_C, &[a.clone(), b.clone()], 25).await;
    assert_eq!(results.len(), 50);
    let a2 = one_successor(&s, &a, &results).await;
    let b2 = one_successor(&s, &b, &results).await;
    assert_ne!(claims(&s, &a2).grant_id, claims(&s, &b2).grant_id);
    for t in [&a2, &b2] {
        let next = rt(&refresh_ok(&s, SPA_C, t).await);
        assert_eq!(grant(&s, &next).await.generation, 3);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_refreshes_of_a_reused_token_all_answer_it() {
    let s = Arc::new(TestServer::start("").await);
    let w = login(&s, WEB_C).await;
    s.advance(secs(3600)); // so that the first use writes last_used_at
    let results = storm(&s, WEB_C, std::slice::from_ref(&w), 50).await;
    for (_, st, v) in &results {
        assert_eq!(*st, StatusCode::OK, "{v}");
        assert_eq!(rt(v), w);
    }
    let g = grant(&s, &w).await;
    assert_eq!(g.generation, 1);
    assert!(g.last_used_at > g.created_at, "use was recorded");
}

/// Twenty refreshes of one token that arrive together with `grace_period = "0s"`: they
/// are concurrent with the one rotation, not replays of it. All of them get the one
/// successor; nothing is revoked, no reuse is recorded.
async fn twenty_at_grace_zero(s: TestServer) {
    let t1 = login(&s, SPA_C).await;
    let results: Vec<_> = arrive_together(&s, SPA_C, &t1, 20)
        .await
        .into_iter()
        .map(|(st, v)| (t1.clone(), st, v))
        .collect();
    let t2 = one_successor(&s, &t1, &results).await;
    assert!(grant(&s, &t2).await.is_active());
    assert!(s.events("token.reuse_detected").await.is_empty());
    assert!(s.events("grant.revoked").await.is_empty());
    // After the rotation committed, the old token is a replay again: reuse.
    refresh_ok(&s, SPA_C, &t2).await;
}

const NO_GRACE: &str = "[refresh_tokens]\ngrace_period = \"0s\"";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_refreshes_at_grace_period_zero_are_not_reuse() {
    twenty_at_grace_zero(TestServer::start(NO_GRACE).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_refreshes_at_grace_period_zero_are_not_reuse_on_postgres() {
    let pg = baton_testkit::pg::PgSchema::create().await;
    twenty_at_grace_zero(TestServer::start_with_storage(&pg.url, NO_GRACE).await).await;
}

#[tokio::test]
async fn a_token_held_back_until_after_the_rotation_is_a_replay_at_grace_period_zero() {
    let s = TestServer::start(NO_GRACE).await;
    let t1 = login(&s, SPA_C).await;
    // The request's head goes first, its body (the token) only after the rotation.
    let (conn, last) = half_sent(&s, SPA_C, &t1).await;
    let t2 = rt(&refresh_ok(&s, SPA_C, &t1).await);
    // The body arrives late, after the rotation: the lateness is what is tested.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let (st, v) = finish(conn, last).await;
    assert_invalid_grant(st, &v, "reused");
    let (st, v) = refresh(&s, SPA_C, &t2).await;
    assert_invalid_grant(st, &v, "revoked");
}
