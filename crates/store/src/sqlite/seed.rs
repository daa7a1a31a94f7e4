//! Bulk seeding of grants for benchmarks (`baton seed-grants`): not a storage role.

use super::grants::insert_row;
use super::{unavailable, SqliteStore};
use baton_core::error::StoreError;
use baton_core::model::Grant;

/// The page cache the writer connection keeps while seeding (KiB, as SQLite's negative
/// `cache_size` reads): the indexes of ten million grants are inserted in random order,
/// and a small cache would read most of their pages again for every batch.
const SEED_CACHE_KIB: i64 = 1 << 20;

impl SqliteStore {
    /// Inserts `grants` as they are, in one transaction of the writer (its prepared
    /// INSERT, rows in id order so that each index is walked once per batch). No event
    /// is recorded: seeded grants have no `grant.created`. Callers pass batches of some
    /// tens of thousands; the writer takes no other write meanwhile, so this is for a
    /// store no server is serving from at the time, or one that can wait.
    pub async fn seed_grants(&self, mut grants: Vec<Grant>) -> Result<(), StoreError> {
        grants.sort_unstable_by_key(|g| g.id.0);
        self.write(move |c| {
            c.execute_batch(&format!("PRAGMA cache_size = -{SEED_CACHE_KIB}"))
                .map_err(unavailable)?;
            for g in &grants {
                insert_row(c, g).map_err(unavailable)?;
            }
            Ok(())
        })
        .await
    }
}
