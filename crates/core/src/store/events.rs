//! The event log.

use super::{BoxFuture, EventQuery, StoreResult};
use crate::model::Event;

/// The event log (writes that must commit with their event record it themselves).
/// Retention is [`super::MaintenanceStore::purge_events`].
pub trait EventStore: Send + Sync {
    fn insert_events(&self, events: Vec<Event>) -> BoxFuture<'_, StoreResult<()>>;
    fn list_events<'a>(&'a self, q: &'a EventQuery) -> BoxFuture<'a, StoreResult<Vec<Event>>>;
}
