//! What spans the roles: readiness, shutdown, settings, cleanup, revocation markers.

use super::{
    BoxFuture, GrantFilter, GrantStore, PurgedGrants, Revocation, RevocationMarker, Settings,
    StoreResult,
};
use crate::model::GrantId;
use crate::time::Timestamp;

/// Held while a node seeds the store ([`MaintenanceStore::lock_bootstrap`]); dropping
/// it lets the next node in. What it holds is the backend's (e.g. the database session
/// that owns a lock); `none` holds nothing.
pub struct BootstrapLock {
    _held: Option<Box<dyn std::any::Any + Send>>,
}

impl BootstrapLock {
    /// A guard that holds nothing (a store no other node shares).
    pub fn none() -> BootstrapLock {
        BootstrapLock { _held: None }
    }

    /// A guard that holds `held` until it is dropped.
    pub fn holding(held: Box<dyn std::any::Any + Send>) -> BootstrapLock {
        BootstrapLock { _held: Some(held) }
    }
}

/// What belongs to the store as a whole rather than to one kind of record: readiness
/// and shutdown, the server-wide settings (one record of their own), the cleanup
/// purges across roles, the active-grants count, and the revocation markers. The
/// markers extend [`GrantStore::revoke`] but are kept by the main store only, so they
/// live here and not in [`GrantStore`], which the cache implements too.
pub trait MaintenanceStore: GrantStore {
    /// Checks the store answers (readiness).
    fn ping(&self) -> BoxFuture<'_, StoreResult<()>>;

    /// Stops accepting writes once those under way are done (shutdown).
    fn close(&self) {}

    /// Waits until no other node is seeding this store at start-up (configured clients
    /// and users, the first signing keys) and answers a guard that keeps the others
    /// waiting until it is dropped. Seeding is read-then-write (a configured user
    /// without a fixed `sub` gets a random one, a missing signing key is generated), so
    /// nodes starting at once on one database must take turns: the first seeds, the
    /// others find everything in place. The default (a store one node owns) waits for
    /// nothing.
    fn lock_bootstrap(&self) -> BoxFuture<'_, StoreResult<BootstrapLock>> {
        Box::pin(std::future::ready(Ok(BootstrapLock::none())))
    }

    /// The server-wide settings stored through the admin API (SPEC §2.9, §4): only the
    /// keys an operator set, laid over the configuration file's. `None` when never set.
    fn get_settings(&self) -> BoxFuture<'_, StoreResult<Option<Settings>>>;
    /// Replaces the stored server-wide settings.
    fn put_settings<'a>(
        &'a self,
        settings: &'a Settings,
        now: Timestamp,
    ) -> BoxFuture<'a, StoreResult<()>>;

    /// Deletes what has outlived its use: expired authorization codes, revoked JWT ids
    /// and reference tokens past their expiry. At most `limit` rows of each; answers
    /// how many rows were deleted.
    fn purge_expired(&self, now: Timestamp, limit: usize) -> BoxFuture<'_, StoreResult<u64>>;

    /// Cleanup (SPEC §2.8): deletes at most `limit` grants that stopped being live at or
    /// before `cutoff`: revoked then, or (never revoked) expired then, by absolute expiry
    /// or by sliding idle time (`last_used_at + sliding`). Records `grant.expired` (at
    /// `now`; client, subject, grant id) for each deleted grant that had expired, in the
    /// same transaction as the delete. Safe to run on several nodes at once: a row
    /// another node is deleting is skipped, never deleted (or reported) twice.
    ///
    /// Idle grants are found by the time their idle deadline was last known (a refresh
    /// does not write it, so that rotating changes no indexed column): grants found that
    /// were used since are not deleted but rechecked (their next check moved to their
    /// real deadline), as many as the `limit` leaves after the deletions.
    fn purge_grants(
        &self,
        now: Timestamp,
        cutoff: Timestamp,
        limit: usize,
    ) -> BoxFuture<'_, StoreResult<PurgedGrants>>;

    /// Cleanup: deletes at most `limit` sessions that ended, or expired, at or before
    /// `cutoff`, with their `session_clients` rows. Answers how many sessions.
    fn purge_sessions(&self, cutoff: Timestamp, limit: usize) -> BoxFuture<'_, StoreResult<u64>>;

    /// Deletes at most `limit` of the oldest events recorded before `before`
    /// (`cleanup.retain_events`); answers how many.
    fn purge_events(&self, before: Timestamp, limit: usize) -> BoxFuture<'_, StoreResult<u64>>;

    /// How many grants are active at `now` (not revoked, not expired), for the
    /// `baton_active_grants` gauge. The default pages through `list_grants`; backends
    /// answer with one count query.
    fn count_active_grants(&self, now: Timestamp) -> BoxFuture<'_, StoreResult<u64>> {
        Box::pin(async move {
            let mut n = 0u64;
            let mut after = None;
            loop {
                let page = self.list_grants(None, after, 1000).await?;
                n += page
                    .iter()
                    .filter(|g| g.is_active() && g.expiry().is_none_or(|e| e > now))
                    .count() as u64;
                match page.last() {
                    Some(g) if page.len() == 1000 => after = Some(g.id),
                    _ => return Ok(n),
                }
            }
        })
    }

    /// [`GrantStore::revoke`] that also records, in the same transaction, the
    /// revocation markers of `filter` ([`super::marker_scopes`]) at `why.now` with
    /// `why.reason`: the cache's grants the filter covers that were created before then
    /// count as revoked from the moment this commits, even those the cache cannot
    /// find or reach now. The default writes no marker (a store without them).
    fn revoke_marking<'a>(
        &'a self,
        filter: &'a GrantFilter,
        why: &'a Revocation,
    ) -> BoxFuture<'a, StoreResult<Vec<GrantId>>> {
        self.revoke(filter, why)
    }

    /// Cleanup: deletes at most `limit` revocation markers made before `before` (no
    /// cached grant they cover can still be presented then); answers how many. The
    /// default has none to delete.
    fn purge_revocation_markers(
        &self,
        _before: Timestamp,
        _limit: usize,
    ) -> BoxFuture<'_, StoreResult<u64>> {
        Box::pin(std::future::ready(Ok(0)))
    }

    /// The latest revocation marker among `scopes` (see [`super::grant_marker_scopes`]):
    /// its time and reason. The default knows none.
    fn revocation_marker<'a>(
        &'a self,
        _scopes: &'a [String],
    ) -> BoxFuture<'a, StoreResult<Option<RevocationMarker>>> {
        Box::pin(std::future::ready(Ok(None)))
    }
}
