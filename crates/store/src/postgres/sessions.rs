//! Browser sessions and the clients each reached: the `SessionStore` role for PgStore.

use super::rows::get;
use super::PgStore;
use baton_core::error::StoreError;
use baton_core::model::Session;
use baton_core::store::{BoxFuture, SessionStore, StoreResult};
use baton_core::time::Timestamp;
use tokio_postgres::Row;

const SESSION_COLS: &str = "id, subject, auth_time, created_at, last_seen_at, expires_at, ended_at";

fn session_from_row(r: &Row) -> Result<Session, StoreError> {
    let w = "session";
    Ok(Session {
        id: get(r, 0, w)?,
        subject: get(r, 1, w)?,
        auth_time: Timestamp(get(r, 2, w)?),
        created_at: Timestamp(get(r, 3, w)?),
        last_seen_at: Timestamp(get(r, 4, w)?),
        expires_at: Timestamp(get(r, 5, w)?),
        ended_at: get::<Option<i64>>(r, 6, w)?.map(Timestamp),
    })
}

impl SessionStore for PgStore {
    fn insert_session<'a>(&'a self, s: &'a Session) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(async move {
            let ended = s.ended_at.map(|t| t.0);
            let sql = format!(
                "INSERT INTO sessions ({SESSION_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"
            );
            let mut c = self.conn().await?;
            c.execute(
                &sql,
                &[
                    &s.id,
                    &s.subject,
                    &s.auth_time.0,
                    &s.created_at.0,
                    &s.last_seen_at.0,
                    &s.expires_at.0,
                    &ended,
                ],
            )
            .await
            .map(|_| ())
        })
    }

    fn get_session<'a>(&'a self, id: &'a str) -> BoxFuture<'a, StoreResult<Option<Session>>> {
        Box::pin(async move {
            let sql = format!("SELECT {SESSION_COLS} FROM sessions WHERE id = $1");
            let mut c = self.conn().await?;
            let row = c.query_opt(&sql, &[&id]).await?;
            row.as_ref().map(session_from_row).transpose()
        })
    }

    fn touch_session<'a>(
        &'a self,
        id: &'a str,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(async move {
            let mut c = self.conn().await?;
            c.execute(
                "UPDATE sessions SET last_seen_at = $2, expires_at = $3 WHERE id = $1 AND ended_at IS NULL",
                &[&id, &now.0, &expires_at.0],
            )
            .await
            .map(|_| ())
        })
    }

    fn reauthenticate_session<'a>(
        &'a self,
        id: &'a str,
        at: Timestamp,
    ) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(async move {
            let mut c = self.conn().await?;
            c.execute(
                "UPDATE sessions SET auth_time = $2, last_seen_at = GREATEST(last_seen_at, $2) WHERE id = $1 AND ended_at IS NULL",
                &[&id, &at.0],
            )
            .await
            .map(|_| ())
        })
    }

    fn end_session<'a>(
        &'a self,
        id: &'a str,
        now: Timestamp,
    ) -> BoxFuture<'a, StoreResult<Option<Session>>> {
        Box::pin(async move {
            let sql = format!(
                "UPDATE sessions SET ended_at = $2 WHERE id = $1 AND ended_at IS NULL RETURNING {SESSION_COLS}"
            );
            let mut c = self.conn().await?;
            let row = c.query_opt(&sql, &[&id, &now.0]).await?;
            row.as_ref().map(session_from_row).transpose()
        })
    }

    fn add_session_client<'a>(
        &'a self,
        session_id: &'a str,
        client_id: &'a str,
    ) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(async move {
            let mut c = self.conn().await?;
            c.execute(
                "INSERT INTO session_clients (session_id, client_id) VALUES ($1, $2)
                 ON CONFLICT (session_id, client_id) DO NOTHING",
                &[&session_id, &client_id],
            )
            .await
            .map(|_| ())
        })
    }

    fn list_session_clients<'a>(
        &'a self,
        session_id: &'a str,
    ) -> BoxFuture<'a, StoreResult<Vec<String>>> {
        Box::pin(async move {
            let mut c = self.conn().await?;
            let rows = c
                .query(
                    "SELECT client_id FROM session_clients WHERE session_id = $1 ORDER BY client_id",
                    &[&session_id],
                )
                .await?;
            rows.iter().map(|r| get(r, 0, "session client")).collect()
        })
    }

    fn list_live_sessions<'a>(
        &'a self,
        subject: &'a str,
        now: Timestamp,
    ) -> BoxFuture<'a, StoreResult<Vec<Session>>> {
        Box::pin(async move {
            let sql = format!(
                "SELECT {SESSION_COLS} FROM sessions WHERE subject = $1 AND ended_at IS NULL AND expires_at > $2"
            );
            let mut c = self.conn().await?;
            let rows = c.query(&sql, &[&subject, &now.0]).await?;
            rows.iter().map(session_from_row).collect()
        })
    }

    fn list_expired_sessions(
        &self,
        now: Timestamp,
        limit: usize,
    ) -> BoxFuture<'_, StoreResult<Vec<Session>>> {
        Box::pin(async move {
            let sql = format!(
                "SELECT {SESSION_COLS} FROM sessions WHERE ended_at IS NULL AND expires_at <= $1
                 ORDER BY expires_at LIMIT $2"
            );
            let mut c = self.conn().await?;
            let rows = c.query(&sql, &[&now.0, &(limit as i64)]).await?;
            rows.iter().map(session_from_row).collect()
        })
    }
}
