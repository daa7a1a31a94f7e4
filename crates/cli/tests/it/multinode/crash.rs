//! SIGKILL a node under refresh load and restart it on the same database.

use super::*;
use baton_testkit::pg::PgSchema;
use baton_testkit::ChildServer;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

const CHAINS: usize = 6;

async fn crash_under_load(dir: &Path, storage: &str) {
    let http = baton_testkit::client();
    let node = ChildServer::spawn_on(bin(), dir, Some(storage), "").await;
    let chains = new_chains(&http, &node.url, "spa", CHAINS).await;
    let stop = Arc::new(AtomicBool::new(false));
    let tasks = drive(&http, &node.url, "spa", &chains, &stop, true);
    // Let the chains advance, then kill the node in the middle of it (how long the load
    // runs before the kill is the test's exposure, not a wait for a condition).
    tokio::time::sleep(Duration::from_millis(1500)).await;
    node.kill().await;
    stop.store(true, Ordering::Relaxed);
    let mut ok = 0;
    for t in tasks {
        let seen = t.await.unwrap();
        assert!(seen.wrong.is_empty(), "wrong answers: {:?}", seen.wrong);
        ok += seen.ok;
    }
    assert!(
        ok >= CHAINS,
        "the chains advanced before the kill ({ok} refreshes)"
    );
    // Restarted on the same database (the default 30 s grace covers the restart).
    let node = ChildServer::spawn_on(bin(), dir, Some(storage), "").await;
    check_chains(&http, &node.url, "spa", storage, &chains).await;
    node.kill().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_node_killed_under_refresh_load_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let storage = baton_testkit::sqlite_url(dir.path());
    crash_under_load(dir.path(), &storage).await;
    // After SIGKILLs, the database file is intact.
    let db = rusqlite::Connection::open(dir.path().join("baton.db")).unwrap();
    let check: String = db
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_node_killed_under_refresh_load_loses_nothing() {
    let schema = PgSchema::create().await;
    let dir = tempfile::tempdir().unwrap();
    crash_under_load(dir.path(), &schema.url).await;
}
