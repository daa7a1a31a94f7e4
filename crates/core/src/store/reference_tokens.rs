//! Access tokens the server can take back.

use super::{BoxFuture, StoreResult};
use crate::model::ReferenceToken;
use crate::time::Timestamp;

/// Access tokens the server can take back: reference tokens (by digest), and the JWT
/// ids of revoked JWT access tokens, which also record used client-assertion ids.
/// Deleting expired ones is [`super::MaintenanceStore::purge_expired`].
pub trait ReferenceTokenStore: Send + Sync {
    fn insert_reference_token<'a>(
        &'a self,
        t: &'a ReferenceToken,
    ) -> BoxFuture<'a, StoreResult<()>>;
    fn get_reference_token<'a>(
        &'a self,
        digest: &'a [u8; 32],
    ) -> BoxFuture<'a, StoreResult<Option<ReferenceToken>>>;
    /// Marks a reference token revoked; answers whether it existed.
    fn revoke_reference_token<'a>(
        &'a self,
        digest: &'a [u8; 32],
    ) -> BoxFuture<'a, StoreResult<bool>>;

    /// Marks a JWT id revoked (or, for client assertions, used) until it expires.
    /// Answers `true` if this call recorded it and `false` if it was already there:
    /// of two concurrent calls with the same id, exactly one gets `true`.
    fn revoke_jti<'a>(
        &'a self,
        jti: &'a str,
        expires_at: Timestamp,
    ) -> BoxFuture<'a, StoreResult<bool>>;
    fn is_jti_revoked<'a>(&'a self, jti: &'a str) -> BoxFuture<'a, StoreResult<bool>>;
}
