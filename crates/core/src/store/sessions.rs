//! Browser sessions and the clients each one reached.

use super::{BoxFuture, StoreResult};
use crate::model::Session;
use crate::time::Timestamp;

/// Browser sessions, and the clients issued a code in each (for back-channel logout).
/// Deleting old sessions is [`super::MaintenanceStore::purge_sessions`].
pub trait SessionStore: Send + Sync {
    fn insert_session<'a>(&'a self, s: &'a Session) -> BoxFuture<'a, StoreResult<()>>;
    fn get_session<'a>(&'a self, id: &'a str) -> BoxFuture<'a, StoreResult<Option<Session>>>;
    fn touch_session<'a>(
        &'a self,
        id: &'a str,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> BoxFuture<'a, StoreResult<()>>;
    /// Records a fresh sign-in on a live session (same user, `prompt=login` or
    /// `max_age`): its `auth_time` becomes `at`; its id and grants stay.
    fn reauthenticate_session<'a>(
        &'a self,
        id: &'a str,
        at: Timestamp,
    ) -> BoxFuture<'a, StoreResult<()>>;
    /// Ends a live session; answers it if it was live.
    fn end_session<'a>(
        &'a self,
        id: &'a str,
        now: Timestamp,
    ) -> BoxFuture<'a, StoreResult<Option<Session>>>;

    /// Records that `client_id` was issued an authorization code in session `session_id`,
    /// so that back-channel logout reaches it when the session ends, even when it holds
    /// no grant (an ID token alone). Idempotent. The default records nothing (then only
    /// the clients holding a grant of the session are told).
    fn add_session_client<'a>(
        &'a self,
        _session_id: &'a str,
        _client_id: &'a str,
    ) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(std::future::ready(Ok(())))
    }

    /// The clients recorded by [`SessionStore::add_session_client`] for a session.
    fn list_session_clients<'a>(
        &'a self,
        _session_id: &'a str,
    ) -> BoxFuture<'a, StoreResult<Vec<String>>> {
        Box::pin(std::future::ready(Ok(Vec::new())))
    }

    /// The live (not ended, not expired) sessions of a user.
    fn list_live_sessions<'a>(
        &'a self,
        subject: &'a str,
        now: Timestamp,
    ) -> BoxFuture<'a, StoreResult<Vec<Session>>>;

    /// Live sessions whose expiry has passed (the maintenance task ends them).
    fn list_expired_sessions(
        &self,
        now: Timestamp,
        limit: usize,
    ) -> BoxFuture<'_, StoreResult<Vec<Session>>>;
}
