//! Deliveries kept until done: the `OutboxStore` role for PgStore. A claim takes due
//! rows `FOR UPDATE SKIP LOCKED`, so nodes claiming at once never share an item.

use super::events::insert_events_in;
use super::rows::get;
use super::PgStore;
use baton_core::error::StoreError;
use baton_core::model::Event;
use baton_core::store::{
    BoxFuture, NewOutboxItem, OutboxFinish, OutboxItem, OutboxStore, StoreResult,
    WebhookSubscription,
};
use baton_core::time::{Dur, Timestamp};
use tokio_postgres::Row;

fn item_from_row(r: &Row) -> Result<OutboxItem, StoreError> {
    let w = "outbox item";
    let payload: String = get(r, 3, w)?;
    Ok(OutboxItem {
        id: get(r, 0, w)?,
        kind: get(r, 1, w)?,
        target: get(r, 2, w)?,
        payload: serde_json::from_str(&payload).unwrap_or(serde_json::Value::Null),
        created_at: Timestamp(get(r, 4, w)?),
        attempts: get::<i32>(r, 5, w)?.max(0).unsigned_abs(),
        claimed_by: get::<Option<String>>(r, 6, w)?.unwrap_or_default(),
    })
}

/// Deliveries done before `$1`, at most `$2` of them (checked by `plans.rs`).
pub(super) const PURGE_OUTBOX: &str = "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox
     WHERE done_at IS NOT NULL AND done_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)";

impl OutboxStore for PgStore {
    fn enqueue_outbox(
        &self,
        items: Vec<NewOutboxItem>,
        now: Timestamp,
    ) -> BoxFuture<'_, StoreResult<()>> {
        Box::pin(async move {
            if items.is_empty() {
                return Ok(());
            }
            let kinds: Vec<&str> = items.iter().map(|i| i.kind.as_str()).collect();
            let targets: Vec<&str> = items.iter().map(|i| i.target.as_str()).collect();
            let payloads: Vec<String> = items.iter().map(|i| i.payload.to_string()).collect();
            let dues: Vec<i64> = items.iter().map(|i| i.due_at.0).collect();
            let mut c = self.conn().await?;
            c.execute(
                "INSERT INTO outbox (kind, target, payload, created_at, due_at)
                 SELECT k, t, p, $4::bigint, d FROM UNNEST($1::text[], $2::text[], $3::text[], $5::bigint[])
                   AS i(k, t, p, d)",
                &[&kinds, &targets, &payloads, &now.0, &dues],
            )
            .await
            .map(|_| ())
        })
    }

    fn claim_outbox<'a>(
        &'a self,
        owner: &'a str,
        now: Timestamp,
        lease: Dur,
        limit: usize,
    ) -> BoxFuture<'a, StoreResult<Vec<OutboxItem>>> {
        Box::pin(async move {
            let until = now.plus(lease).0;
            let mut c = self.conn().await?;
            let rows = c
                .query(
                    "UPDATE outbox SET due_at = $1, claimed_by = $2, attempts = attempts + 1
                     WHERE id IN (SELECT id FROM outbox WHERE done_at IS NULL AND due_at <= $3
                                  ORDER BY due_at, id LIMIT $4 FOR UPDATE SKIP LOCKED)
                     RETURNING id, kind, target, payload, created_at, attempts, claimed_by",
                    &[&until, &owner, &now.0, &(limit as i64)],
                )
                .await?;
            rows.iter().map(item_from_row).collect()
        })
    }

    fn finish_outbox<'a>(
        &'a self,
        item: &'a OutboxItem,
        finish: &'a OutboxFinish,
        now: Timestamp,
        event: Option<Event>,
    ) -> BoxFuture<'a, StoreResult<bool>> {
        Box::pin(async move {
            let (due, error, done, outcome): (
                Option<i64>,
                Option<&str>,
                Option<i64>,
                Option<&str>,
            ) = match finish {
                OutboxFinish::Delivered => (None, None, Some(now.0), Some("delivered")),
                OutboxFinish::Retry { at, error } => (Some(at.0), Some(error), None, None),
                OutboxFinish::GiveUp { error } => (None, Some(error), Some(now.0), Some("failed")),
            };
            let attempts = i32::try_from(item.attempts).unwrap_or(i32::MAX);
            let mut c = self.conn().await?;
            c.begin().await?;
            let body = async {
                let n = c
                    .execute(
                        "UPDATE outbox SET due_at = COALESCE($1, due_at), last_error = COALESCE($2, last_error),
                                done_at = $3, outcome = $4
                         WHERE id = $5 AND claimed_by = $6 AND attempts = $7 AND done_at IS NULL",
                        &[&due, &error, &done, &outcome, &item.id, &item.claimed_by, &attempts],
                    )
                    .await?;
                if n != 1 {
                    return Ok(false);
                }
                if let Some(ev) = &event {
                    insert_events_in(&mut c, std::slice::from_ref(ev)).await?;
                }
                Ok(true)
            }
            .await;
            c.finish(body).await
        })
    }

    fn purge_outbox(&self, before: Timestamp, limit: usize) -> BoxFuture<'_, StoreResult<u64>> {
        Box::pin(async move {
            let mut c = self.conn().await?;
            c.execute(PURGE_OUTBOX, &[&before.0, &(limit as i64)]).await
        })
    }

    fn set_webhook_subscriptions(
        &self,
        subs: Vec<WebhookSubscription>,
    ) -> BoxFuture<'_, StoreResult<()>> {
        Box::pin(async move {
            let sinks: Vec<&str> = subs.iter().map(|s| s.sink.as_str()).collect();
            let kinds: Vec<&str> = subs.iter().map(|s| s.kind.as_str()).collect();
            let mut c = self.conn().await?;
            c.begin().await?;
            let body = async {
                // Nodes starting at once replace the set one after the other.
                c.execute(
                    "SELECT pg_advisory_xact_lock(hashtextextended('baton webhook_subscriptions', 0))",
                    &[],
                )
                .await?;
                c.execute("DELETE FROM webhook_subscriptions", &[]).await?;
                c.execute(
                    "INSERT INTO webhook_subscriptions (sink, kind)
                     SELECT DISTINCT s, k FROM UNNEST($1::text[], $2::text[]) AS w(s, k)
                     ON CONFLICT DO NOTHING",
                    &[&sinks, &kinds],
                )
                .await?;
                Ok(())
            }
            .await;
            c.finish(body).await
        })
    }

    fn count_pending_outbox(&self) -> BoxFuture<'_, StoreResult<u64>> {
        Box::pin(async move {
            let mut c = self.conn().await?;
            let row = c
                .query_opt("SELECT COUNT(*) FROM outbox WHERE done_at IS NULL", &[])
                .await?;
            match row {
                Some(r) => get::<i64>(&r, 0, "count").map(|n| n.max(0) as u64),
                None => Ok(0),
            }
        })
    }
}
