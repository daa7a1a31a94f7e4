//! Registered clients.

use super::{BoxFuture, StoreResult};
use crate::model::Client;

/// Registered clients (configuration file and admin API).
pub trait ClientStore: Send + Sync {
    fn get_client<'a>(&'a self, client_id: &'a str) -> BoxFuture<'a, StoreResult<Option<Client>>>;
    /// Adds a new client; `Conflict` if the id is taken (of two concurrent creates of
    /// one id, exactly one succeeds).
    fn insert_client<'a>(&'a self, client: &'a Client) -> BoxFuture<'a, StoreResult<()>>;
    /// Inserts the client, or replaces the one with its id, `managed_by` included
    /// (start-up loads the configured clients this way).
    fn upsert_client<'a>(&'a self, client: &'a Client) -> BoxFuture<'a, StoreResult<()>>;
    /// Replaces an existing client (its `created_at` and `managed_by` stay); answers `false`, writing
    /// nothing, when no client has its id. Unlike [`ClientStore::upsert_client`] it
    /// never re-creates a client deleted meanwhile (an admin PATCH racing a DELETE).
    fn update_client<'a>(&'a self, client: &'a Client) -> BoxFuture<'a, StoreResult<bool>>;
    /// Every client, by `client_id`.
    fn list_clients(&self) -> BoxFuture<'_, StoreResult<Vec<Client>>>;
    /// At most `limit` clients whose `client_id` sorts after `after` (bytewise), in
    /// that order: one page of a list that is stable under inserts and deletes.
    fn list_clients_page<'a>(
        &'a self,
        after: Option<&'a str>,
        limit: usize,
    ) -> BoxFuture<'a, StoreResult<Vec<Client>>>;
    fn delete_client<'a>(&'a self, client_id: &'a str) -> BoxFuture<'a, StoreResult<bool>>;
}
