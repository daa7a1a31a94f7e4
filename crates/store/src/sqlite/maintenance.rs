//! Readiness, shutdown, settings, cleanup and revocation markers: the `MaintenanceStore` role for SqliteStore.

use super::events::insert_event;
use super::grants::revoke_in;
use super::{unavailable, SqliteStore};
use crate::codec;
use baton_core::error::StoreError;
use baton_core::model::GrantId;
use baton_core::store::{
    marker_scopes, BoxFuture, GrantFilter, MaintenanceStore, PurgedGrants, Revocation,
    RevocationMarker, Settings, StoreResult,
};
use baton_core::time::Timestamp;
use rusqlite::{params, params_from_iter, OptionalExtension};
use std::future::ready;

/// The cleanup job's statements, named so that the query-plan test checks these very
/// ones (`plans.rs`): each finds its rows through an index.
pub(super) fn purge_expired_sql(table: &str, key: &str) -> String {
    format!("DELETE FROM {table} WHERE {key} IN (SELECT {key} FROM {table} WHERE expires_at <= ?1 LIMIT ?2)")
}

pub(super) fn purge_grants_sql() -> String {
    format!(
        "DELETE FROM grants WHERE id IN (SELECT id FROM grants WHERE {} LIMIT ?2)
         RETURNING id, client_id, subject, revoked_at, expires_at, sliding_ms, last_used_at",
        codec::PURGE_GRANTS_WHERE.replace('$', "?")
    )
}

pub(super) fn recheck_idle_sql() -> String {
    format!(
        "UPDATE grants SET idle_check_at = last_used_at + sliding_ms
         WHERE id IN (SELECT id FROM grants WHERE {} LIMIT ?2)",
        codec::RECHECK_IDLE_WHERE.replace('$', "?")
    )
}

pub(super) const PURGE_SESSIONS: &str = "DELETE FROM sessions WHERE id IN (SELECT id FROM sessions
     WHERE ended_at <= ?1 OR expires_at <= ?1 LIMIT ?2) RETURNING id";

pub(super) const PURGE_EVENTS: &str =
    "DELETE FROM events WHERE id IN (SELECT id FROM events WHERE id < ?1 ORDER BY id LIMIT ?2)";

pub(super) const PURGE_MARKERS: &str = "DELETE FROM revocation_markers WHERE scope IN \
     (SELECT scope FROM revocation_markers WHERE marked_at < ?1 LIMIT ?2)";

/// The tables `purge_expired` clears, by key.
pub(super) const EXPIRING: [(&str, &str); 3] = [
    ("codes", "digest"),
    ("revoked_jtis", "jti"),
    ("reference_tokens", "digest"),
];

impl MaintenanceStore for SqliteStore {
    fn close(&self) {
        SqliteStore::close(self);
    }

    fn ping(&self) -> BoxFuture<'_, StoreResult<()>> {
        Box::pin(async move {
            self.read(|c| {
                c.query_row("SELECT COUNT(*) FROM schema_migrations", [], |r| {
                    r.get::<_, i64>(0)
                })
                .map(|_| ())
                .map_err(unavailable)
            })?;
            // The writer thread must answer too: reads alone would stay ready while no
            // write can be made.
            self.write(|_| Ok(())).await
        })
    }

    fn get_settings(&self) -> BoxFuture<'_, StoreResult<Option<Settings>>> {
        Box::pin(ready(self.read(|c| {
            let v: Option<String> = c
                .prepare_cached("SELECT value FROM settings WHERE key = 'server'")
                .and_then(|mut s| s.query_row([], |r| r.get(0)).optional())
                .map_err(unavailable)?;
            v.map(|v| {
                serde_json::from_str(&v).map_err(|_| StoreError::Corrupt("stored settings".into()))
            })
            .transpose()
        })))
    }

    fn put_settings<'a>(
        &'a self,
        settings: &'a Settings,
        now: Timestamp,
    ) -> BoxFuture<'a, StoreResult<()>> {
        let v = serde_json::to_string(settings).unwrap_or_default();
        Box::pin(self.write(move |c| {
            c.execute(
                "INSERT INTO settings (key, value, updated_at) VALUES ('server', ?1, ?2)
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                params![v, now.0],
            )
            .map(|_| ())
            .map_err(unavailable)
        }))
    }

    fn purge_expired(&self, now: Timestamp, limit: usize) -> BoxFuture<'_, StoreResult<u64>> {
        Box::pin(self.write(move |c| {
            let mut n = 0u64;
            // Used codes are kept 10 minutes past expiry so that a late replay still
            // revokes what the first use issued (RFC 6749 §4.1.2).
            let cutoffs = [now.0 - 600_000, now.0, now.0];
            for ((table, key), cutoff) in EXPIRING.iter().zip(cutoffs) {
                n += c
                    .execute(
                        &purge_expired_sql(table, key),
                        params![cutoff, limit as i64],
                    )
                    .map_err(unavailable)? as u64;
            }
            Ok(n)
        }))
    }

    fn purge_grants(
        &self,
        now: Timestamp,
        cutoff: Timestamp,
        limit: usize,
    ) -> BoxFuture<'_, StoreResult<PurgedGrants>> {
        // Runs in the single writer, so no other node or task deletes the same rows.
        Box::pin(self.write(move |c| {
            let rows: Vec<codec::PurgedGrant> = c
                .prepare_cached(&purge_grants_sql())
                .and_then(|mut s| {
                    s.query_map(params![cutoff.0, limit as i64], |r| {
                        Ok(codec::PurgedGrant {
                            id: GrantId(r.get(0)?),
                            client_id: r.get(1)?,
                            subject: r.get(2)?,
                            revoked_at: r.get(3)?,
                            expires_at: r.get(4)?,
                            sliding_ms: r.get(5)?,
                            last_used_at: r.get(6)?,
                        })
                    })?
                    .collect()
                })
                .map_err(unavailable)?;
            let mut purged = codec::purge_events(&rows, now);
            for e in &purged.expired {
                insert_event(c, e)?;
            }
            let room = limit.saturating_sub(rows.len());
            if room > 0 {
                purged.rechecked = c
                    .prepare_cached(&recheck_idle_sql())
                    .and_then(|mut s| s.execute(params![cutoff.0, room as i64]))
                    .map_err(unavailable)? as u64;
            }
            Ok(purged)
        }))
    }

    fn purge_sessions(&self, cutoff: Timestamp, limit: usize) -> BoxFuture<'_, StoreResult<u64>> {
        Box::pin(self.write(move |c| {
            let ids: Vec<String> = c
                .prepare_cached(PURGE_SESSIONS)
                .and_then(|mut s| {
                    s.query_map(params![cutoff.0, limit as i64], |r| r.get(0))?
                        .collect()
                })
                .map_err(unavailable)?;
            let mut del = c
                .prepare_cached("DELETE FROM session_clients WHERE session_id = ?1")
                .map_err(unavailable)?;
            for id in &ids {
                del.execute([id]).map_err(unavailable)?;
            }
            Ok(ids.len() as u64)
        }))
    }

    fn purge_events(&self, before: Timestamp, limit: usize) -> BoxFuture<'_, StoreResult<u64>> {
        // Event ids sort by time (`evt_` + milliseconds in hex): the primary key finds them.
        let bound = format!("evt_{:012x}", before.0.max(0));
        Box::pin(self.write(move |c| {
            c.execute(PURGE_EVENTS, params![bound, limit as i64])
                .map(|n| n as u64)
                .map_err(unavailable)
        }))
    }

    fn count_active_grants(&self, now: Timestamp) -> BoxFuture<'_, StoreResult<u64>> {
        Box::pin(ready(self.read(|c| {
            c.prepare_cached(
                "SELECT COUNT(*) FROM grants WHERE revoked_at IS NULL \
                 AND (expires_at IS NULL OR expires_at > ?1) \
                 AND (sliding_ms IS NULL OR last_used_at + sliding_ms > ?1)",
            )
            .and_then(|mut s| s.query_row([now.0], |r| r.get::<_, i64>(0)))
            .map(|n| u64::try_from(n).unwrap_or(0))
            .map_err(unavailable)
        })))
    }

    fn revoke_marking<'a>(
        &'a self,
        filter: &'a GrantFilter,
        why: &'a Revocation,
    ) -> BoxFuture<'a, StoreResult<Vec<GrantId>>> {
        let (filter, why) = (filter.clone(), why.clone());
        Box::pin(self.write(move |c| {
            let ids = revoke_in(c, &filter, &why)?;
            let mut up = c
                .prepare_cached(
                    "INSERT INTO revocation_markers (scope, marked_at, reason) VALUES (?1, ?2, ?3) \
                     ON CONFLICT(scope) DO UPDATE SET marked_at = excluded.marked_at, \
                     reason = excluded.reason WHERE excluded.marked_at > revocation_markers.marked_at",
                )
                .map_err(unavailable)?;
            for scope in marker_scopes(&filter) {
                up.execute(params![scope, why.now.0, why.reason])
                    .map_err(unavailable)?;
            }
            Ok(ids)
        }))
    }

    fn purge_revocation_markers(
        &self,
        before: Timestamp,
        limit: usize,
    ) -> BoxFuture<'_, StoreResult<u64>> {
        Box::pin(self.write(move |c| {
            c.execute(PURGE_MARKERS, params![before.0, limit as i64])
                .map(|n| n as u64)
                .map_err(unavailable)
        }))
    }

    fn revocation_marker<'a>(
        &'a self,
        scopes: &'a [String],
    ) -> BoxFuture<'a, StoreResult<Option<RevocationMarker>>> {
        Box::pin(ready(self.read(|c| {
            if scopes.is_empty() {
                return Ok(None);
            }
            let marks = vec!["?"; scopes.len()].join(", ");
            let sql = format!(
                "SELECT marked_at, reason FROM revocation_markers WHERE scope IN ({marks}) \
                 ORDER BY marked_at DESC LIMIT 1"
            );
            c.prepare_cached(&sql)
                .and_then(|mut s| {
                    s.query_row(params_from_iter(scopes), |r| {
                        Ok(RevocationMarker {
                            at: Timestamp(r.get(0)?),
                            reason: r.get(1)?,
                        })
                    })
                    .optional()
                })
                .map_err(unavailable)
        })))
    }
}
