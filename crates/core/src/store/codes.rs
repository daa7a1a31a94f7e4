//! Authorization codes.

use super::{BoxFuture, StoreResult};
use crate::model::{AuthCode, CodeUse};

/// Authorization codes, by the digest of the code. Deleting expired ones is
/// [`super::MaintenanceStore::purge_expired`].
pub trait CodeStore: Send + Sync {
    fn insert_code<'a>(&'a self, code: &'a AuthCode) -> BoxFuture<'a, StoreResult<()>>;
    fn get_code<'a>(&'a self, digest: &'a [u8; 32])
        -> BoxFuture<'a, StoreResult<Option<AuthCode>>>;
    /// Marks the code used with `use_` and answers the code as it was before: a code
    /// whose `used` is already `Some` is a replay. Atomic: of two concurrent exchanges
    /// exactly one sees `used == None`.
    fn consume_code<'a>(
        &'a self,
        digest: &'a [u8; 32],
        use_: &'a CodeUse,
    ) -> BoxFuture<'a, StoreResult<Option<AuthCode>>>;
}
