//! Browser sessions and the clients each reached: the `SessionStore` role for SqliteStore.

use super::{unavailable, SqliteStore};
use baton_core::model::Session;
use baton_core::store::{BoxFuture, SessionStore, StoreResult};
use baton_core::time::Timestamp;
use rusqlite::{params, OptionalExtension, Row};
use std::future::ready;

fn session_from_row(r: &Row<'_>) -> rusqlite::Result<Session> {
    Ok(Session {
        id: r.get(0)?,
        subject: r.get(1)?,
        auth_time: Timestamp(r.get(2)?),
        created_at: Timestamp(r.get(3)?),
        last_seen_at: Timestamp(r.get(4)?),
        expires_at: Timestamp(r.get(5)?),
        ended_at: r.get::<_, Option<i64>>(6)?.map(Timestamp),
    })
}

const SESSION_COLS: &str = "id, subject, auth_time, created_at, last_seen_at, expires_at, ended_at";

impl SessionStore for SqliteStore {
    fn insert_session<'a>(&'a self, s: &'a Session) -> BoxFuture<'a, StoreResult<()>> {
        let s = s.clone();
        Box::pin(self.write(move |c| {
            c.execute(
                &format!(
                    "INSERT INTO sessions ({SESSION_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
                ),
                params![
                    s.id,
                    s.subject,
                    s.auth_time.0,
                    s.created_at.0,
                    s.last_seen_at.0,
                    s.expires_at.0,
                    s.ended_at.map(|t| t.0)
                ],
            )
            .map(|_| ())
            .map_err(unavailable)
        }))
    }

    fn get_session<'a>(&'a self, id: &'a str) -> BoxFuture<'a, StoreResult<Option<Session>>> {
        Box::pin(ready(self.read(|c| {
            c.prepare_cached(&format!(
                "SELECT {SESSION_COLS} FROM sessions WHERE id = ?1"
            ))
            .and_then(|mut s| s.query_row([id], session_from_row).optional())
            .map_err(unavailable)
        })))
    }

    fn touch_session<'a>(
        &'a self,
        id: &'a str,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> BoxFuture<'a, StoreResult<()>> {
        let id = id.to_string();
        Box::pin(self.write(move |c| {
            c.execute(
                "UPDATE sessions SET last_seen_at = ?2, expires_at = ?3 WHERE id = ?1 AND ended_at IS NULL",
                params![id, now.0, expires_at.0],
            )
            .map(|_| ())
            .map_err(unavailable)
        }))
    }

    fn reauthenticate_session<'a>(
        &'a self,
        id: &'a str,
        at: Timestamp,
    ) -> BoxFuture<'a, StoreResult<()>> {
        let id = id.to_string();
        Box::pin(self.write(move |c| {
            c.execute(
                "UPDATE sessions SET auth_time = ?2, last_seen_at = MAX(last_seen_at, ?2) WHERE id = ?1 AND ended_at IS NULL",
                params![id, at.0],
            )
            .map(|_| ())
            .map_err(unavailable)
        }))
    }

    fn end_session<'a>(
        &'a self,
        id: &'a str,
        now: Timestamp,
    ) -> BoxFuture<'a, StoreResult<Option<Session>>> {
        let id = id.to_string();
        Box::pin(self.write(move |c| {
            c.query_row(
                &format!("UPDATE sessions SET ended_at = ?2 WHERE id = ?1 AND ended_at IS NULL RETURNING {SESSION_COLS}"),
                params![id, now.0],
                session_from_row,
            )
            .optional()
            .map_err(unavailable)
        }))
    }

    fn add_session_client<'a>(
        &'a self,
        session_id: &'a str,
        client_id: &'a str,
    ) -> BoxFuture<'a, StoreResult<()>> {
        // Most authorizations repeat a pair already recorded: read first (WAL reader,
        // no writer lock), write only what is new.
        let known = self.read(|c| {
            c.prepare_cached(
                "SELECT 1 FROM session_clients WHERE session_id = ?1 AND client_id = ?2",
            )
            .and_then(|mut s| s.exists([session_id, client_id]))
            .map_err(unavailable)
        });
        let (sid, cid) = (session_id.to_string(), client_id.to_string());
        Box::pin(async move {
            if known? {
                return Ok(());
            }
            self.write(move |c| {
                c.prepare_cached(
                    "INSERT OR IGNORE INTO session_clients (session_id, client_id) VALUES (?1, ?2)",
                )
                .and_then(|mut s| s.execute(params![sid, cid]))
                .map(|_| ())
                .map_err(unavailable)
            })
            .await
        })
    }

    fn list_session_clients<'a>(
        &'a self,
        session_id: &'a str,
    ) -> BoxFuture<'a, StoreResult<Vec<String>>> {
        Box::pin(ready(self.read(|c| {
            c.prepare_cached(
                "SELECT client_id FROM session_clients WHERE session_id = ?1 ORDER BY client_id",
            )
            .and_then(|mut s| s.query_map([session_id], |r| r.get(0))?.collect())
            .map_err(unavailable)
        })))
    }

    fn list_live_sessions<'a>(
        &'a self,
        subject: &'a str,
        now: Timestamp,
    ) -> BoxFuture<'a, StoreResult<Vec<Session>>> {
        Box::pin(ready(self.read(|c| {
            c.prepare_cached(&format!(
                "SELECT {SESSION_COLS} FROM sessions WHERE subject = ?1 AND ended_at IS NULL AND expires_at > ?2"
            ))
            .and_then(|mut s| s.query_map(params![subject, now.0], session_from_row)?.collect())
            .map_err(unavailable)
        })))
    }

    fn list_expired_sessions(
        &self,
        now: Timestamp,
        limit: usize,
    ) -> BoxFuture<'_, StoreResult<Vec<Session>>> {
        Box::pin(ready(self.read(|c| {
            c.prepare_cached(&format!(
                "SELECT {SESSION_COLS} FROM sessions WHERE ended_at IS NULL AND expires_at <= ?1 ORDER BY expires_at LIMIT ?2"
            ))
            .and_then(|mut s| s.query_map(params![now.0, limit as i64], session_from_row)?.collect())
            .map_err(unavailable)
        })))
    }
}
