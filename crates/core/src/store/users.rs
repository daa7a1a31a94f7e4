//! Users.

use super::{BoxFuture, StoreResult};
use crate::model::User;

/// Users, by username or by their stable `sub`.
pub trait UserStore: Send + Sync {
    fn get_user<'a>(&'a self, username: &'a str) -> BoxFuture<'a, StoreResult<Option<User>>>;
    fn get_user_by_sub<'a>(&'a self, sub: &'a str) -> BoxFuture<'a, StoreResult<Option<User>>>;
    /// Inserts or replaces the user with this `sub` (a rename keeps the `sub`).
    fn upsert_user<'a>(&'a self, user: &'a User) -> BoxFuture<'a, StoreResult<()>>;
    fn list_users(&self) -> BoxFuture<'_, StoreResult<Vec<User>>>;
    fn delete_user<'a>(&'a self, username: &'a str) -> BoxFuture<'a, StoreResult<bool>>;
}
