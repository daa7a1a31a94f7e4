//! The store conformance suite (baton_testkit::conformance) run against every backend
//! available here: SQLite on a real file, PostgreSQL (the machine's, one fresh schema
//! per check; see postgres.rs), the in-process grant cache and Redis (redis.rs). Each
//! backend has one test that runs every check of the suite's list that applies to it.

mod postgres;
pub(crate) mod redis;
mod redis_revocation;
mod redis_revocation_admin;

use baton_core::store::prelude::*;
use baton_store::{MemoryGrants, SqliteStore};
use baton_testkit::conformance as suite;
use std::sync::Arc;

fn sqlite_store() -> (tempfile::TempDir, Arc<SqliteStore>) {
    let dir = tempfile::tempdir().unwrap();
    let s = SqliteStore::open(&dir.path().join("c.db").display().to_string()).unwrap();
    (dir, Arc::new(s))
}

/// Every conformance check on SQLite, each on a fresh database file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite() {
    suite::run_on_store(
        "sqlite",
        || async {
            let (dir, s) = sqlite_store();
            (dir, s as Arc<dyn Store>)
        },
        |_dir| async {},
    )
    .await;
}

/// The grant checks on the in-process grant cache.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory() {
    suite::run_on_grants(
        "memory",
        || async {
            let s = Arc::new(MemoryGrants::new(7 * 86_400_000));
            ((), s as Arc<dyn GrantStore>)
        },
        |()| async {},
    )
    .await;
}
