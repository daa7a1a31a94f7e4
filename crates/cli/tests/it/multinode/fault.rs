//! The node's PostgreSQL connections are killed server-side while refresh load runs:
//! requests succeed or answer 503, never a wrong answer; nothing acknowledged is lost;
//! the node recovers by itself.

use super::*;
use baton_testkit::pg::{self, PgSchema};
use baton_testkit::ChildServer;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_database_connections_answer_503_and_lose_nothing() {
    let schema = PgSchema::create().await;
    // Its own application name, so that only this node's connections are terminated
    // (other tests share the database).
    let app = format!("baton_fault_{}", schema.name);
    let url = format!("{}&application_name={app}", schema.url);
    let dir = tempfile::tempdir().unwrap();
    let http = baton_testkit::client();
    let node = ChildServer::spawn_on(bin(), dir.path(), Some(&url), "").await;
    let chains = new_chains(&http, &node.url, "spa", 6).await;
    let stop = Arc::new(AtomicBool::new(false));
    let tasks = drive(&http, &node.url, "spa", &chains, &stop, false);

    let kill = format!(
        "SELECT COUNT(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity
         WHERE application_name = '{app}' AND datname = current_database()
           AND pid <> pg_backend_pid()"
    );
    // The connections are killed on a schedule, under load: the pauses are the test's
    // load pattern, not waits for a condition.
    let mut killed = 0;
    for _ in 0..8 {
        tokio::time::sleep(Duration::from_millis(300)).await;
        killed += pg::query_i64(&pg::base_url(), &kill).await.unwrap();
    }
    // Load goes on after the last kill: the node recovers by itself.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    stop.store(true, Ordering::Relaxed);
    let (mut ok, mut unavailable) = (0, 0);
    for t in tasks {
        let seen = t.await.unwrap();
        assert!(seen.wrong.is_empty(), "wrong answers: {:?}", seen.wrong);
        assert_eq!(seen.transport_errors, 0, "the node kept answering");
        ok += seen.ok;
        unavailable += seen.unavailable;
    }
    assert!(killed >= 1, "no connection of this node was found to kill");
    assert!(ok >= 6, "refreshes succeeded ({ok} ok, {unavailable} 503)");
    eprintln!(
        "fault test: {killed} connections killed, {ok} refreshes ok, {unavailable} answered 503"
    );
    // Every chain continues from what its client last received.
    check_chains(&http, &node.url, "spa", &url, &chains).await;
    node.kill().await;
}
