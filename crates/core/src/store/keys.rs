//! Signing keys.

use super::{BoxFuture, StoreResult};
use crate::model::SigningKey;
use crate::time::Timestamp;

/// The signing keys (current, next and retiring).
pub trait KeyStore: Send + Sync {
    fn list_keys(&self) -> BoxFuture<'_, StoreResult<Vec<SigningKey>>>;
    fn insert_key<'a>(&'a self, key: &'a SigningKey) -> BoxFuture<'a, StoreResult<()>>;
    /// Sets the key's `retired_at` to `at`, unless it retires (or retired) earlier.
    fn retire_key<'a>(&'a self, kid: &'a str, at: Timestamp) -> BoxFuture<'a, StoreResult<()>>;
}
