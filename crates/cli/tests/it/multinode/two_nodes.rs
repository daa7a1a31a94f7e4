//! Two `baton` processes on one PostgreSQL schema behave as one server.

use super::*;
use baton_testkit::pg::{self, PgSchema};
use baton_testkit::ChildServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_on_one_postgres_behave_as_one_server() {
    let schema = PgSchema::create().await;
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    // Same secret file contents (testkit writes SECRET_B64) and the keys in the database.
    let a = ChildServer::spawn_on(bin(), da.path(), Some(&schema.url), SPA1).await;
    let b = ChildServer::spawn_on(bin(), db.path(), Some(&schema.url), SPA1).await;
    let http = baton_testkit::client();

    // Rotated on A, the token is rotated for B: B takes the successor and rotates it.
    let t1 = login(&http, &a.url, "spa1").await;
    let (st, v) = refresh(&http, &a.url, "spa1", &t1).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let t2 = rt(&v);
    let (st, v) = refresh(&http, &b.url, "spa1", &t2).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let t3 = rt(&v);
    assert_eq!(claims(&t3).generation, 3);
    // Inside the grace period, A answers a retry of t2 with B's successor.
    let (st, v) = refresh(&http, &a.url, "spa1", &t2).await;
    assert_eq!((st, rt(&v)), (StatusCode::OK, t3.clone()));
    // Past it, t2 replayed at B is reuse, and the grant is revoked for both nodes.
    // A real wait: the nodes are other processes, whose clocks a test cannot move.
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    let (st, v) = refresh(&http, &b.url, "spa1", &t2).await;
    assert_invalid_grant(st, &v, "reused");
    for n in [&a, &b] {
        let (st, v) = refresh(&http, &n.url, "spa1", &t3).await;
        assert_invalid_grant(st, &v, "revoked");
    }
    let reuse = pg::query_i64(
        &schema.url,
        "SELECT COUNT(*) FROM events WHERE \"type\" = 'token.reuse_detected'",
    )
    .await
    .unwrap();
    assert_eq!(reuse, 1);

    // 50 concurrent refreshes of one token, split across both nodes: the chain advances
    // once and every request gets the same successor.
    let t1 = login(&http, &b.url, "spa").await;
    let mut tasks = Vec::new();
    for i in 0..50 {
        let url = if i % 2 == 0 {
            a.url.clone()
        } else {
            b.url.clone()
        };
        let (http, t1) = (http.clone(), t1.clone());
        tasks.push(tokio::spawn(async move {
            refresh(&http, &url, "spa", &t1).await
        }));
    }
    let mut successors = std::collections::HashSet::new();
    for t in tasks {
        let (st, v) = t.await.unwrap();
        assert_eq!(st, StatusCode::OK, "{v}");
        successors.insert(rt(&v));
    }
    assert_eq!(successors.len(), 1, "every request got the same successor");
    let t2 = successors.into_iter().next().unwrap();
    assert_eq!(claims(&t2).generation, 2);
    assert_eq!(stored_generation(&schema.url, &t2).await, (2, true));
    a.kill().await;
    b.kill().await;
}
