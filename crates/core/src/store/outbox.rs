//! The outbox: deliveries to other servers (back-channel logout tokens, webhooks) kept
//! in the main store until they are done, so that a restart or a node's death loses none.

use super::{BoxFuture, StoreResult};
use crate::model::Event;
use crate::time::{Dur, Timestamp};
use serde_json::Value;

/// What kind of delivery an item is: back-channel logout.
pub const BACKCHANNEL_LOGOUT: &str = "backchannel_logout";
/// What kind of delivery an item is: a webhook (written by the store itself, for each
/// event a subscription of [`OutboxStore::set_webhook_subscriptions`] matches).
pub const WEBHOOK: &str = "webhook";

/// A delivery to make.
#[derive(Clone, Debug, PartialEq)]
pub struct NewOutboxItem {
    /// [`BACKCHANNEL_LOGOUT`] or [`WEBHOOK`].
    pub kind: String,
    /// Whom it goes to: a client id (back-channel logout), a webhook's name.
    pub target: String,
    /// What the deliverer needs to build the request; never a token value.
    pub payload: Value,
    /// When it is first due.
    pub due_at: Timestamp,
}

/// An item this node claimed: until its lease ends (`due_at` at the claim), no other
/// claim returns it.
#[derive(Clone, Debug, PartialEq)]
pub struct OutboxItem {
    pub id: i64,
    pub kind: String,
    pub target: String,
    pub payload: Value,
    pub created_at: Timestamp,
    /// Tries so far, this one included.
    pub attempts: u32,
    /// Who claimed it (the owner passed to [`OutboxStore::claim_outbox`]).
    pub claimed_by: String,
}

/// How a claimed item's attempt ended.
#[derive(Clone, Debug, PartialEq)]
pub enum OutboxFinish {
    Delivered,
    /// Try again at `at`.
    Retry {
        at: Timestamp,
        error: String,
    },
    /// No more tries.
    GiveUp {
        error: String,
    },
}

/// A webhook subscription: events of `kind` (or every kind, `*`) go to `sink`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookSubscription {
    pub sink: String,
    pub kind: String,
}

/// The outbox. Claims are leases: an item claimed by a node that dies before it
/// finishes is due again when the lease ends, so every item is delivered at least once
/// while tries remain, and never by two nodes at once while a lease holds.
pub trait OutboxStore: Send + Sync {
    /// Adds items, pending from their `due_at`.
    fn enqueue_outbox(
        &self,
        items: Vec<NewOutboxItem>,
        now: Timestamp,
    ) -> BoxFuture<'_, StoreResult<()>>;

    /// Claims at most `limit` pending items due at `now` (oldest due first) for
    /// `owner`: each one's try count goes up by one and it is not due again before
    /// `now + lease`. Several nodes claiming at once never get the same item.
    fn claim_outbox<'a>(
        &'a self,
        owner: &'a str,
        now: Timestamp,
        lease: Dur,
        limit: usize,
    ) -> BoxFuture<'a, StoreResult<Vec<OutboxItem>>>;

    /// Ends a claimed item's try: delivered, due again at a later time, or given up,
    /// recording `event` (the delivery's outcome) in the same transaction. Answers
    /// `false` (and changes and records nothing) when the claim is no longer the item's
    /// latest (its lease ran out and another claim took it over) or the item is done.
    fn finish_outbox<'a>(
        &'a self,
        item: &'a OutboxItem,
        finish: &'a OutboxFinish,
        now: Timestamp,
        event: Option<Event>,
    ) -> BoxFuture<'a, StoreResult<bool>>;

    /// Cleanup: deletes at most `limit` items delivered or given up before `before`;
    /// answers how many.
    fn purge_outbox(&self, before: Timestamp, limit: usize) -> BoxFuture<'_, StoreResult<u64>>;

    /// Replaces the webhook subscriptions: from the commit on, every event recorded
    /// (in whichever write records it) enqueues, in that same transaction, one
    /// [`WEBHOOK`] item per subscribed sink, with the event as its payload (the
    /// [`crate::model::Event`] fields, `grant_id` in hex) and the event's time as due.
    fn set_webhook_subscriptions(
        &self,
        subs: Vec<WebhookSubscription>,
    ) -> BoxFuture<'_, StoreResult<()>>;

    /// Pending items (not delivered nor given up), for operators and tests.
    fn count_pending_outbox(&self) -> BoxFuture<'_, StoreResult<u64>>;
}
