//! Deliveries kept until done: the `OutboxStore` role for SqliteStore. Claims run in
//! the single writer, so two claims never see the same due item.

use super::events::insert_event;
use super::{unavailable, SqliteStore};
use baton_core::model::Event;
use baton_core::store::{
    BoxFuture, NewOutboxItem, OutboxFinish, OutboxItem, OutboxStore, StoreResult,
    WebhookSubscription,
};
use baton_core::time::{Dur, Timestamp};
use rusqlite::{params, Row};
use std::future::ready;

fn item_from_row(r: &Row<'_>) -> rusqlite::Result<OutboxItem> {
    let payload: String = r.get(3)?;
    Ok(OutboxItem {
        id: r.get(0)?,
        kind: r.get(1)?,
        target: r.get(2)?,
        payload: serde_json::from_str(&payload).unwrap_or(serde_json::Value::Null),
        created_at: Timestamp(r.get(4)?),
        attempts: r.get::<_, i64>(5)?.clamp(0, i64::from(u32::MAX)) as u32,
        claimed_by: r.get::<_, Option<String>>(6)?.unwrap_or_default(),
    })
}

/// Deliveries done before `?1`, at most `?2` of them (checked by `plans.rs`).
pub(super) const PURGE_OUTBOX: &str = "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox
     WHERE done_at IS NOT NULL AND done_at < ?1 LIMIT ?2)";

impl OutboxStore for SqliteStore {
    fn enqueue_outbox(
        &self,
        items: Vec<NewOutboxItem>,
        now: Timestamp,
    ) -> BoxFuture<'_, StoreResult<()>> {
        Box::pin(self.write(move |c| {
            let mut s = c
                .prepare_cached(
                    "INSERT INTO outbox (kind, target, payload, created_at, due_at)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .map_err(unavailable)?;
            for i in &items {
                s.execute(params![
                    i.kind,
                    i.target,
                    i.payload.to_string(),
                    now.0,
                    i.due_at.0
                ])
                .map_err(unavailable)?;
            }
            Ok(())
        }))
    }

    fn claim_outbox<'a>(
        &'a self,
        owner: &'a str,
        now: Timestamp,
        lease: Dur,
        limit: usize,
    ) -> BoxFuture<'a, StoreResult<Vec<OutboxItem>>> {
        let owner = owner.to_string();
        let until = now.plus(lease).0;
        Box::pin(async move {
            // Every node polls each second: a reader answers "nothing due" without
            // taking the writer.
            let due = self.read(|c| {
                c.prepare_cached(
                    "SELECT EXISTS (SELECT 1 FROM outbox WHERE done_at IS NULL AND due_at <= ?1)",
                )
                .and_then(|mut s| s.query_row(params![now.0], |r| r.get::<_, bool>(0)))
                .map_err(unavailable)
            })?;
            if !due {
                return Ok(Vec::new());
            }
            self.write(move |c| {
                c.prepare_cached(
                    "UPDATE outbox SET due_at = ?1, claimed_by = ?2, attempts = attempts + 1
                     WHERE id IN (SELECT id FROM outbox WHERE done_at IS NULL AND due_at <= ?3
                                  ORDER BY due_at, id LIMIT ?4)
                     RETURNING id, kind, target, payload, created_at, attempts, claimed_by",
                )
                .and_then(|mut s| {
                    s.query_map(params![until, owner, now.0, limit as i64], item_from_row)?
                        .collect::<rusqlite::Result<Vec<_>>>()
                })
                .map_err(unavailable)
            })
            .await
        })
    }

    fn finish_outbox<'a>(
        &'a self,
        item: &'a OutboxItem,
        finish: &'a OutboxFinish,
        now: Timestamp,
        event: Option<Event>,
    ) -> BoxFuture<'a, StoreResult<bool>> {
        let (id, owner, attempts) = (item.id, item.claimed_by.clone(), i64::from(item.attempts));
        let finish = finish.clone();
        Box::pin(self.write(move |c| {
            let (due, error, done, outcome): (Option<i64>, Option<String>, Option<i64>, Option<&str>) =
                match finish {
                    OutboxFinish::Delivered => (None, None, Some(now.0), Some("delivered")),
                    OutboxFinish::Retry { at, error } => (Some(at.0), Some(error), None, None),
                    OutboxFinish::GiveUp { error } => (None, Some(error), Some(now.0), Some("failed")),
                };
            let n = c.prepare_cached(
                "UPDATE outbox SET due_at = COALESCE(?1, due_at), last_error = COALESCE(?2, last_error),
                        done_at = ?3, outcome = ?4
                 WHERE id = ?5 AND claimed_by = ?6 AND attempts = ?7 AND done_at IS NULL",
            )
            .and_then(|mut s| s.execute(params![due, error, done, outcome, id, owner, attempts]))
            .map_err(unavailable)?;
            if n != 1 {
                return Ok(false);
            }
            if let Some(ev) = &event {
                insert_event(c, ev)?;
            }
            Ok(true)
        }))
    }

    fn purge_outbox(&self, before: Timestamp, limit: usize) -> BoxFuture<'_, StoreResult<u64>> {
        Box::pin(self.write(move |c| {
            c.prepare_cached(PURGE_OUTBOX)
                .and_then(|mut s| s.execute(params![before.0, limit as i64]))
                .map(|n| n as u64)
                .map_err(unavailable)
        }))
    }

    fn set_webhook_subscriptions(
        &self,
        subs: Vec<WebhookSubscription>,
    ) -> BoxFuture<'_, StoreResult<()>> {
        Box::pin(self.write(move |c| {
            c.execute("DELETE FROM webhook_subscriptions", [])
                .map_err(unavailable)?;
            for s in &subs {
                c.execute(
                    "INSERT OR IGNORE INTO webhook_subscriptions (sink, kind) VALUES (?1, ?2)",
                    params![s.sink, s.kind],
                )
                .map_err(unavailable)?;
            }
            Ok(())
        }))
    }

    fn count_pending_outbox(&self) -> BoxFuture<'_, StoreResult<u64>> {
        Box::pin(ready(self.read(|c| {
            c.query_row(
                "SELECT COUNT(*) FROM outbox WHERE done_at IS NULL",
                [],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n.max(0) as u64)
            .map_err(unavailable)
        })))
    }
}
