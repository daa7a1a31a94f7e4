//! The outbox worker: every node runs one. It claims due deliveries from the main
//! store's outbox ([`baton_core::store::OutboxStore`]), makes them, and records how each
//! try ended: delivered, due again after an exponential back-off, or given up after
//! `outbox.max_attempts` tries (or at once, when another try cannot help).
//!
//! Deliveries survive restarts and nodes: an item is in the store from its enqueue (a
//! back-channel logout: when the session ends; a webhook: in the transaction that
//! records its event) until it is done. A claim is a lease of [`LEASE`]: if the node
//! holding it dies, the item is due again when the lease ends and another node (or
//! this one, restarted) delivers it. Delivery is therefore at least once; a receiver
//! that must not act twice deduplicates (a logout token's `jti` changes per try;
//! a webhook's `webhook-id` does not).
//!
//! The worker polls every [`POLL`] and is woken at once by a local enqueue
//! ([`Outbox::wake`]); after a try it sleeps no longer than until the earliest retry it
//! scheduled.

use crate::state::{AppState, Shared};
use baton_core::store::{OutboxFinish, OutboxItem, BACKCHANNEL_LOGOUT, WEBHOOK};
use baton_core::time::{Dur, Timestamp};
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// How often the worker looks for due items when nothing wakes it.
pub const POLL: Duration = Duration::from_secs(1);
/// How long a claim holds an item: longer than a try can take
/// ([`crate::outbound::ATTEMPT_TIMEOUT`], plus the store round trips).
pub const LEASE: Dur = Dur::secs(30);
/// Items claimed (and tried concurrently) at once.
const BATCH: usize = 16;

/// This node's side of the outbox: its owner name in claims and the worker's wake-up.
pub struct Outbox {
    owner: String,
    wake: Arc<Notify>,
}

impl Default for Outbox {
    fn default() -> Self {
        Outbox {
            owner: baton_core::random_id("node_"),
            wake: Arc::new(Notify::new()),
        }
    }
}

impl Outbox {
    /// Something was enqueued here: look now rather than at the next poll.
    pub fn wake(&self) {
        self.wake.notify_one();
    }
}

/// How one try went; the details (the status or the error, the URI's host) go into
/// the records of the item's end.
#[derive(Clone, Debug, PartialEq)]
pub enum Attempt {
    Delivered(Value),
    /// Another try may succeed (5xx, 408, 429, no connection, timeout).
    Retry(Value),
    /// Another try cannot help (4xx, 3xx, a refused address, the client gone).
    Fail(Value),
}

/// The wait before try `attempts + 1`: `first_retry` doubled per try made since the
/// first, at most `max_retry`.
pub fn backoff(first: Dur, max: Dur, attempts: u32) -> Dur {
    let shift = attempts.saturating_sub(1).min(40);
    let d = first.0.saturating_mul(1i64 << shift);
    Dur(d.min(max.0).max(0))
}

/// Starts this node's worker. It holds the state weakly: it stops when the server does.
pub fn spawn(state: &Shared) {
    let weak = Arc::downgrade(state);
    let wake = state.outbox.wake.clone();
    tokio::spawn(async move {
        loop {
            let Some(st) = weak.upgrade() else { break };
            let pause = run_once(&st).await;
            drop(st);
            if pause.is_zero() {
                continue;
            }
            tokio::select! {
                _ = wake.notified() => {}
                _ = tokio::time::sleep(pause) => {}
            }
        }
    });
}

/// Claims and tries one batch; answers how long to wait before looking again.
pub async fn run_once(st: &Shared) -> Duration {
    let now = st.clock.now();
    let items = match st
        .store
        .claim_outbox(&st.outbox.owner, now, LEASE, BATCH)
        .await
    {
        Ok(items) => items,
        Err(e) => {
            tracing::warn!(error = %e, "outbox: cannot claim due deliveries; will retry");
            return POLL;
        }
    };
    let full = items.len() == BATCH;
    let mut tries = tokio::task::JoinSet::new();
    for item in items {
        let st = st.clone();
        tries.spawn(async move { one(&st, item).await });
    }
    let mut pause = POLL;
    while let Some(r) = tries.join_next().await {
        if let Ok(Some(next)) = r {
            let wait = next.since(st.clock.now()).0.max(0).unsigned_abs();
            pause = pause.min(Duration::from_millis(wait));
        }
    }
    if full {
        Duration::ZERO
    } else {
        pause.max(Duration::from_millis(10))
    }
}

/// Tries one claimed item and records the outcome; answers when it is due again, if
/// it is.
async fn one(st: &AppState, item: OutboxItem) -> Option<Timestamp> {
    // Each claim counts a try. More claims than tries allowed means tries that never
    // recorded an end (a node that died or a try that panicked mid-way): give up
    // rather than claim the item every lease forever.
    let attempt = if item.attempts > st.cfg.outbox.max_attempts {
        Attempt::Fail(
            serde_json::json!({"error": "no try recorded an end within outbox.max_attempts"}),
        )
    } else {
        match item.kind.as_str() {
            BACKCHANNEL_LOGOUT => crate::backchannel::attempt(st, &item).await,
            WEBHOOK => crate::webhooks::attempt(st, &item).await,
            other => Attempt::Fail(
                serde_json::json!({"error": format!("unknown delivery kind `{other}`")}),
            ),
        }
    };
    let cfg = &st.cfg.outbox;
    let now = st.clock.now();
    let error = |d: &Value| match (d.get("status"), d.get("error")) {
        (Some(s), _) => format!("status {s}"),
        (None, Some(Value::String(e))) => e.clone(),
        _ => "failed".to_string(),
    };
    let finish = match &attempt {
        Attempt::Delivered(_) => OutboxFinish::Delivered,
        Attempt::Retry(d) if item.attempts < cfg.max_attempts => OutboxFinish::Retry {
            at: now.plus(backoff(cfg.first_retry, cfg.max_retry, item.attempts)),
            error: error(d),
        },
        Attempt::Retry(d) | Attempt::Fail(d) => OutboxFinish::GiveUp { error: error(d) },
    };
    let done = !matches!(finish, OutboxFinish::Retry { .. });
    // The delivery's outcome event commits with its end: exactly one per delivery.
    let event = match item.kind.as_str() {
        BACKCHANNEL_LOGOUT if done => Some(crate::backchannel::outcome_event(&item, &attempt, now)),
        _ => None,
    };
    match st
        .store
        .finish_outbox(&item, &finish, now, event.clone())
        .await
    {
        Ok(true) => {}
        Ok(false) => {
            // The lease ran out first and another claim holds the item: it reports.
            tracing::warn!(id = item.id, kind = %item.kind, "outbox: a try outlived its lease");
            return None;
        }
        Err(e) => {
            // The item stays claimed until its lease ends, then is tried again.
            tracing::warn!(id = item.id, kind = %item.kind, error = %e, "outbox: cannot record a try's outcome");
            return None;
        }
    }
    if let Some(ev) = &event {
        crate::grants::log_event(ev);
    }
    if done {
        match item.kind.as_str() {
            BACKCHANNEL_LOGOUT => {}
            WEBHOOK => crate::webhooks::finished(&item, &attempt),
            _ => {
                tracing::warn!(id = item.id, kind = %item.kind, "outbox: gave up an item of an unknown kind")
            }
        }
    }
    match finish {
        OutboxFinish::Retry { at, error } => {
            tracing::debug!(id = item.id, kind = %item.kind, target = %item.target, attempts = item.attempts, error = %error, "outbox: try failed; will retry");
            Some(at)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let (f, m) = (Dur::secs(1), Dur::secs(60));
        let waits: Vec<i64> = (1..=8).map(|a| backoff(f, m, a).as_secs()).collect();
        assert_eq!(waits, vec![1, 2, 4, 8, 16, 32, 60, 60]);
        assert_eq!(backoff(f, Dur::secs(3600), 1000), Dur::secs(3600));
    }
}
