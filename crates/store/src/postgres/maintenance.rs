//! Readiness, shutdown, settings, cleanup and revocation markers: the `MaintenanceStore` role for PgStore.

use super::events::insert_events_in;
use super::grants::revoke_in;
use super::rows::{get, grant_id};
use super::PgStore;
use crate::codec;
use baton_core::error::StoreError;
use baton_core::model::GrantId;
use baton_core::store::{
    marker_scopes, BootstrapLock, BoxFuture, GrantFilter, MaintenanceStore, PurgedGrants,
    Revocation, RevocationMarker, Settings, StoreResult,
};
use baton_core::time::Timestamp;

/// The bootstrap lock's key: fixed per schema (the first on the search path), like the
/// migration lock's, so that nodes sharing a schema take turns and different schemas
/// do not wait for each other.
const BOOTSTRAP_LOCK_KEY: &str =
    "SELECT hashtextextended('baton bootstrap ' || COALESCE(current_schema(), ''), 0)";

/// How long a node waits for another to finish seeding before it gives up starting.
/// Seeding hashes the configured users' passwords and may generate RSA keys: seconds,
/// not minutes.
const BOOTSTRAP_WAIT_SECS: u64 = 120;

/// The cleanup job's statements, named so that the query-plan test checks these very
/// ones (`plans.rs`): each finds its rows through an index. Rows another node is
/// deleting are skipped (`SKIP LOCKED`).
pub(super) const PURGE_EXPIRED: [&str; 3] = [
    "DELETE FROM codes WHERE digest IN (SELECT digest FROM codes
     WHERE expires_at <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED)",
    "DELETE FROM revoked_jtis WHERE jti IN (SELECT jti FROM revoked_jtis
     WHERE expires_at <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED)",
    "DELETE FROM reference_tokens WHERE digest IN (SELECT digest FROM reference_tokens
     WHERE expires_at <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED)",
];

pub(super) fn purge_grants_sql() -> String {
    format!(
        "DELETE FROM grants WHERE id IN (SELECT id FROM grants WHERE {}
         LIMIT $2 FOR UPDATE SKIP LOCKED)
         RETURNING id, client_id, subject, revoked_at, expires_at, sliding_ms, last_used_at",
        codec::PURGE_GRANTS_WHERE
    )
}

pub(super) fn recheck_idle_sql() -> String {
    format!(
        "UPDATE grants SET idle_check_at = last_used_at + sliding_ms
         WHERE id IN (SELECT id FROM grants WHERE {} LIMIT $2 FOR UPDATE SKIP LOCKED)",
        codec::RECHECK_IDLE_WHERE
    )
}

/// One statement: the sessions and their session_clients rows go together.
pub(super) const PURGE_SESSIONS: &str = "WITH gone AS (
       DELETE FROM sessions WHERE id IN (SELECT id FROM sessions
         WHERE ended_at <= $1 OR expires_at <= $1
         LIMIT $2 FOR UPDATE SKIP LOCKED)
       RETURNING id),
     clients AS (
       DELETE FROM session_clients WHERE session_id IN (SELECT id FROM gone))
     SELECT COUNT(*) FROM gone";

pub(super) const PURGE_EVENTS: &str =
    "DELETE FROM events WHERE id IN (SELECT id FROM events WHERE id < $1
     ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED)";

pub(super) const PURGE_MARKERS: &str =
    "DELETE FROM revocation_markers WHERE scope IN (SELECT scope FROM revocation_markers
     WHERE marked_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)";

impl MaintenanceStore for PgStore {
    fn close(&self) {
        PgStore::close(self);
    }

    /// A session advisory lock on a connection of its own, outside the pool (the
    /// seeding it guards runs on pooled connections): dropping the guard closes the
    /// connection, which releases the lock, also when start-up fails half-way.
    fn lock_bootstrap(&self) -> BoxFuture<'_, StoreResult<BootstrapLock>> {
        Box::pin(async move {
            let conn = self.connect().await?;
            let failed = |step: &str, e: tokio_postgres::Error| {
                if e.code() == Some(&tokio_postgres::error::SqlState::LOCK_NOT_AVAILABLE) {
                    return StoreError::Unavailable(format!(
                        "another node has been seeding the database for {BOOTSTRAP_WAIT_SECS} s; \
                         gave up waiting for it"
                    ));
                }
                StoreError::Unavailable(format!("{step}: {}", super::describe(&e)))
            };
            conn.client
                .batch_execute(&format!("SET lock_timeout = '{BOOTSTRAP_WAIT_SECS}s'"))
                .await
                .map_err(|e| failed("cannot set the lock timeout", e))?;
            let key: i64 = conn
                .client
                .query_one(BOOTSTRAP_LOCK_KEY, &[])
                .await
                .and_then(|r| r.try_get(0))
                .map_err(|e| failed("cannot read the current schema", e))?;
            conn.client
                .execute("SELECT pg_advisory_lock($1)", &[&key])
                .await
                .map_err(|e| failed("cannot take the bootstrap lock", e))?;
            Ok(BootstrapLock::holding(Box::new(conn)))
        })
    }

    fn ping(&self) -> BoxFuture<'_, StoreResult<()>> {
        Box::pin(async move {
            let mut c = self.conn().await?;
            c.query("SELECT version FROM schema_migrations LIMIT 1", &[])
                .await
                .map(|_| ())
        })
    }

    fn get_settings(&self) -> BoxFuture<'_, StoreResult<Option<Settings>>> {
        Box::pin(async move {
            let mut c = self.conn().await?;
            let Some(r) = c
                .query_opt("SELECT value FROM settings WHERE key = 'server'", &[])
                .await?
            else {
                return Ok(None);
            };
            let v: String = get(&r, 0, "settings")?;
            serde_json::from_str(&v)
                .map(Some)
                .map_err(|_| StoreError::Corrupt("stored settings".into()))
        })
    }

    fn put_settings<'a>(
        &'a self,
        settings: &'a Settings,
        now: Timestamp,
    ) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(async move {
            let v = serde_json::to_string(settings).unwrap_or_default();
            let mut c = self.conn().await?;
            c.execute(
                "INSERT INTO settings (key, value, updated_at) VALUES ('server', $1, $2)
                 ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = EXCLUDED.updated_at",
                &[&v, &now.0],
            )
            .await
            .map(|_| ())
        })
    }

    /// Bounded batches; rows another node is deleting at the same moment are skipped
    /// (`SKIP LOCKED`), so several nodes may purge at once without waiting on each other.
    fn purge_expired(&self, now: Timestamp, limit: usize) -> BoxFuture<'_, StoreResult<u64>> {
        Box::pin(async move {
            let limit = limit as i64;
            let mut c = self.conn().await?;
            let mut n = 0u64;
            // Used codes are kept 10 minutes past expiry so that a late replay still
            // revokes what the first use issued (RFC 6749 §4.1.2).
            let cutoffs = [now.0 - 600_000, now.0, now.0];
            for (sql, cutoff) in PURGE_EXPIRED.iter().zip(cutoffs) {
                n += c.execute(sql, &[&cutoff, &limit]).await?;
            }
            Ok(n)
        })
    }

    fn purge_grants(
        &self,
        now: Timestamp,
        cutoff: Timestamp,
        limit: usize,
    ) -> BoxFuture<'_, StoreResult<PurgedGrants>> {
        Box::pin(async move {
            // SKIP LOCKED: rows another node is deleting (or a token request is
            // rotating) are left for a later batch; the delete and its events commit
            // together.
            let sql = purge_grants_sql();
            let mut c = self.conn().await?;
            c.begin().await?;
            let body = async {
                let rows = c.query(&sql, &[&cutoff.0, &(limit as i64)]).await?;
                let w = "grant";
                let mut purged = Vec::with_capacity(rows.len());
                for r in &rows {
                    purged.push(codec::PurgedGrant {
                        id: grant_id(get(r, 0, w)?)?,
                        client_id: get(r, 1, w)?,
                        subject: get(r, 2, w)?,
                        revoked_at: get(r, 3, w)?,
                        expires_at: get(r, 4, w)?,
                        sliding_ms: get(r, 5, w)?,
                        last_used_at: get(r, 6, w)?,
                    });
                }
                let room = limit.saturating_sub(purged.len());
                let mut purged = codec::purge_events(&purged, now);
                insert_events_in(&mut c, &purged.expired).await?;
                if room > 0 {
                    let recheck = recheck_idle_sql();
                    purged.rechecked = c.execute(&recheck, &[&cutoff.0, &(room as i64)]).await?;
                }
                Ok(purged)
            }
            .await;
            c.finish(body).await
        })
    }

    fn purge_sessions(&self, cutoff: Timestamp, limit: usize) -> BoxFuture<'_, StoreResult<u64>> {
        Box::pin(async move {
            let mut c = self.conn().await?;
            // One statement: the sessions and their session_clients rows go together.
            let row = c
                .query_opt(PURGE_SESSIONS, &[&cutoff.0, &(limit as i64)])
                .await?;
            match row {
                Some(r) => get::<i64>(&r, 0, "count").map(|n| n.max(0) as u64),
                None => Ok(0),
            }
        })
    }

    fn purge_events(&self, before: Timestamp, limit: usize) -> BoxFuture<'_, StoreResult<u64>> {
        // Event ids sort by time (`evt_` + milliseconds in hex): the primary key finds them.
        let bound = format!("evt_{:012x}", before.0.max(0));
        Box::pin(async move {
            let mut c = self.conn().await?;
            c.execute(PURGE_EVENTS, &[&bound, &(limit as i64)]).await
        })
    }

    fn count_active_grants(&self, now: Timestamp) -> BoxFuture<'_, StoreResult<u64>> {
        Box::pin(async move {
            let mut c = self.conn().await?;
            let row = c
                .query_opt(
                    "SELECT COUNT(*) FROM grants WHERE revoked_at IS NULL \
                     AND (expires_at IS NULL OR expires_at > $1) \
                     AND (sliding_ms IS NULL OR last_used_at + sliding_ms > $1)",
                    &[&now.0],
                )
                .await?;
            let n = match &row {
                Some(r) => get::<i64>(r, 0, "active grant count")?,
                None => 0,
            };
            Ok(u64::try_from(n).unwrap_or(0))
        })
    }

    fn revoke_marking<'a>(
        &'a self,
        filter: &'a GrantFilter,
        why: &'a Revocation,
    ) -> BoxFuture<'a, StoreResult<Vec<GrantId>>> {
        Box::pin(async move {
            let mut c = self.conn().await?;
            c.begin().await?;
            let body = async {
                let ids = revoke_in(&mut c, filter, why).await?;
                for scope in marker_scopes(filter) {
                    c.execute(
                        "INSERT INTO revocation_markers (scope, marked_at, reason) \
                         VALUES ($1, $2, $3) ON CONFLICT (scope) DO UPDATE \
                         SET marked_at = EXCLUDED.marked_at, reason = EXCLUDED.reason \
                         WHERE EXCLUDED.marked_at > revocation_markers.marked_at",
                        &[&scope, &why.now.0, &why.reason],
                    )
                    .await?;
                }
                Ok(ids)
            }
            .await;
            c.finish(body).await
        })
    }

    fn purge_revocation_markers(
        &self,
        before: Timestamp,
        limit: usize,
    ) -> BoxFuture<'_, StoreResult<u64>> {
        Box::pin(async move {
            let mut c = self.conn().await?;
            c.execute(PURGE_MARKERS, &[&before.0, &(limit as i64)])
                .await
        })
    }

    fn revocation_marker<'a>(
        &'a self,
        scopes: &'a [String],
    ) -> BoxFuture<'a, StoreResult<Option<RevocationMarker>>> {
        Box::pin(async move {
            if scopes.is_empty() {
                return Ok(None);
            }
            let scopes: Vec<&str> = scopes.iter().map(String::as_str).collect();
            let mut c = self.conn().await?;
            let row = c
                .query_opt(
                    "SELECT marked_at, reason FROM revocation_markers WHERE scope = ANY($1) \
                     ORDER BY marked_at DESC LIMIT 1",
                    &[&scopes],
                )
                .await?;
            match row {
                None => Ok(None),
                Some(r) => Ok(Some(RevocationMarker {
                    at: Timestamp(get(&r, 0, "revocation marker")?),
                    reason: get(&r, 1, "revocation marker")?,
                })),
            }
        })
    }
}
