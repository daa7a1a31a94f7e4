//! The store conformance suite (baton_testkit::conformance) run against every backend
//! available here: SQLite on a real file, PostgreSQL (the machine's, one fresh schema
//! per test; see postgres.rs), the in-process grant cache and Redis (redis.rs).

mod postgres;
pub(crate) mod redis;
mod redis_revocation;
mod redis_revocation_admin;

use baton_core::store::{GrantStore, Store};
use baton_store::{MemoryGrants, SqliteStore};
use baton_testkit::conformance as suite;
use std::sync::Arc;

fn sqlite() -> (tempfile::TempDir, Arc<SqliteStore>) {
    let dir = tempfile::tempdir().unwrap();
    let s = SqliteStore::open(&dir.path().join("c.db").display().to_string()).unwrap();
    (dir, Arc::new(s))
}

fn memory() -> Arc<MemoryGrants> {
    Arc::new(MemoryGrants::new(7 * 86_400_000))
}

#[tokio::test]
async fn sqlite_grant_lifecycle() {
    let (_d, s) = sqlite();
    suite::grant_lifecycle(s.as_ref()).await;
}

#[tokio::test]
async fn sqlite_advance_race() {
    let (_d, s) = sqlite();
    suite::advance_race(s as Arc<dyn GrantStore>).await;
}

#[tokio::test]
async fn sqlite_revocation_markers() {
    let (_d, s) = sqlite();
    suite::revocation_markers(s.as_ref() as &dyn Store).await;
}

#[tokio::test]
async fn sqlite_revoke_filters() {
    let (_d, s) = sqlite();
    suite::revoke_filters(s.as_ref()).await;
}

#[tokio::test]
async fn sqlite_list_grants() {
    let (_d, s) = sqlite();
    suite::list_grants(s.as_ref()).await;
}

#[tokio::test]
async fn sqlite_records() {
    let (_d, s) = sqlite();
    suite::records(s.as_ref() as &dyn Store).await;
}

#[tokio::test]
async fn sqlite_revocation_events() {
    let (_d, s) = sqlite();
    suite::revocation_events(s.as_ref() as &dyn Store).await;
}

#[tokio::test]
async fn sqlite_event_retention() {
    let (_d, s) = sqlite();
    suite::event_retention(s.as_ref() as &dyn Store).await;
}

#[tokio::test]
async fn sqlite_code_race() {
    let (_d, s) = sqlite();
    suite::code_race(s as Arc<dyn Store>).await;
}

#[tokio::test]
async fn sqlite_consent_race() {
    let (_d, s) = sqlite();
    suite::consent_race(s as Arc<dyn Store>).await;
}

#[tokio::test]
async fn sqlite_consent_withdrawal() {
    let (_d, s) = sqlite();
    suite::consent_withdrawal(s.as_ref() as &dyn Store).await;
}

#[tokio::test]
async fn memory_grant_lifecycle() {
    suite::grant_lifecycle(memory().as_ref()).await;
}

#[tokio::test]
async fn memory_advance_race() {
    suite::advance_race(memory() as Arc<dyn GrantStore>).await;
}

#[tokio::test]
async fn memory_revoke_filters() {
    suite::revoke_filters(memory().as_ref()).await;
}

#[tokio::test]
async fn memory_list_grants() {
    suite::list_grants(memory().as_ref()).await;
}

#[tokio::test]
async fn sqlite_cleanup() {
    let (_d, s) = sqlite();
    suite::cleanup(s.as_ref() as &dyn Store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_cleanup_race() {
    let (_d, s) = sqlite();
    suite::cleanup_race(s as Arc<dyn Store>).await;
}
