//! Users.

use super::{BoxFuture, StoreResult};
use crate::model::User;

/// Users, by username or by their stable `sub`.
pub trait UserStore: Send + Sync {
    fn get_user<'a>(&'a self, username: &'a str) -> BoxFuture<'a, StoreResult<Option<User>>>;
    fn get_user_by_sub<'a>(&'a self, sub: &'a str) -> BoxFuture<'a, StoreResult<Option<User>>>;
    /// Inserts or replaces the user with this `sub`, `managed_by` included (a rename
    /// keeps the `sub`).
    fn upsert_user<'a>(&'a self, user: &'a User) -> BoxFuture<'a, StoreResult<()>>;
    /// Every user, by username.
    fn list_users(&self) -> BoxFuture<'_, StoreResult<Vec<User>>>;
    /// At most `limit` users whose username sorts after `after` (bytewise), in that
    /// order: one page of a list.
    fn list_users_page<'a>(
        &'a self,
        after: Option<&'a str>,
        limit: usize,
    ) -> BoxFuture<'a, StoreResult<Vec<User>>>;
    fn delete_user<'a>(&'a self, username: &'a str) -> BoxFuture<'a, StoreResult<bool>>;
    /// Whether some user (active or not) has `admin` set: the operator console is
    /// offered only then. An index lookup, not a scan.
    fn any_admin(&self) -> BoxFuture<'_, StoreResult<bool>>;
}
