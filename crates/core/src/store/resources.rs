//! Resources (APIs).

use super::{BoxFuture, StoreResult};
use crate::model::Resource;

/// Resources (configuration file and admin API), by identifier.
pub trait ResourceStore: Send + Sync {
    fn get_resource<'a>(
        &'a self,
        identifier: &'a str,
    ) -> BoxFuture<'a, StoreResult<Option<Resource>>>;
    /// Adds a new resource; `Conflict` if the identifier is taken.
    fn insert_resource<'a>(&'a self, r: &'a Resource) -> BoxFuture<'a, StoreResult<()>>;
    /// Inserts the resource, or replaces the one with its identifier, `managed_by`
    /// included (start-up loads the configured resources this way).
    fn upsert_resource<'a>(&'a self, r: &'a Resource) -> BoxFuture<'a, StoreResult<()>>;
    /// Replaces an existing resource (its `created_at` and `managed_by` stay); `false`,
    /// writing nothing, when none has its identifier.
    fn update_resource<'a>(&'a self, r: &'a Resource) -> BoxFuture<'a, StoreResult<bool>>;
    /// At most `limit` resources whose identifier sorts after `after` (bytewise), in
    /// that order.
    fn list_resources_page<'a>(
        &'a self,
        after: Option<&'a str>,
        limit: usize,
    ) -> BoxFuture<'a, StoreResult<Vec<Resource>>>;
    fn delete_resource<'a>(&'a self, identifier: &'a str) -> BoxFuture<'a, StoreResult<bool>>;
}
