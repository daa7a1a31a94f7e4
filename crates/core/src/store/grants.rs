//! Grants: the hot path.

use super::{BoxFuture, GrantFilter, Revocation, StoreResult};
use crate::model::{Event, Grant, GrantId};
use crate::time::Timestamp;

/// Grants: the hot path. Implemented by the main store and by the cache that keeps
/// `persist = false` grants.
pub trait GrantStore: Send + Sync {
    /// Inserts a new grant and its `grant.created` event.
    fn insert_grant<'a>(&'a self, grant: &'a Grant, event: Event)
        -> BoxFuture<'a, StoreResult<()>>;

    fn get_grant(&self, id: GrantId) -> BoxFuture<'_, StoreResult<Option<Grant>>>;

    /// The compare-and-swap of rotation: if the grant is active and still at
    /// `expected`, set it to `expected + 1`, with `generation_started_at` and
    /// `last_used_at` = `now`. Exactly one of any number of concurrent callers with the
    /// same `expected` gets `true`.
    fn advance(
        &self,
        id: GrantId,
        expected: u64,
        now: Timestamp,
    ) -> BoxFuture<'_, StoreResult<bool>>;

    /// Records use of a `reuse` grant (sliding lifetime).
    fn touch(&self, id: GrantId, now: Timestamp) -> BoxFuture<'_, StoreResult<()>>;

    /// Binds an unbound grant to the DPoP key `jkt` (RFC 9449 §5: a public client's
    /// first refresh with a proof). Answers whether this call bound it: `false` when
    /// the grant is gone or already bound (to any key), which it then stays.
    fn bind_key<'a>(&'a self, id: GrantId, jkt: &'a str) -> BoxFuture<'a, StoreResult<bool>>;

    /// Revokes every active grant matching `filter`; answers the ids revoked. The
    /// revocation and its events commit together, or not at all.
    fn revoke<'a>(
        &'a self,
        filter: &'a GrantFilter,
        why: &'a Revocation,
    ) -> BoxFuture<'a, StoreResult<Vec<GrantId>>>;

    /// Grants matching a filter (all statuses), newest first, at most `limit`, starting
    /// after the grant `after` in that order.
    fn list_grants<'a>(
        &'a self,
        filter: Option<&'a GrantFilter>,
        after: Option<GrantId>,
        limit: usize,
    ) -> BoxFuture<'a, StoreResult<Vec<Grant>>>;
}
