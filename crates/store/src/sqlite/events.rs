//! The event log: the `EventStore` role for SqliteStore.

use super::{unavailable, SqliteStore};
use baton_core::error::StoreError;
use baton_core::model::{Event, GrantId};
use baton_core::store::{BoxFuture, EventQuery, EventStore, StoreResult};
use baton_core::time::Timestamp;
use rusqlite::types::Value as SqlValue;
use rusqlite::{params, params_from_iter, Connection, Row};
use std::future::ready;

pub(crate) fn insert_event(c: &Connection, e: &Event) -> Result<(), StoreError> {
    c.prepare_cached(
        "INSERT INTO events (id, type, time, client_id, subject, grant_id, ip, user_agent, details)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )
    .and_then(|mut s| {
        s.execute(params![
            e.id,
            e.kind,
            e.time.0,
            e.client_id,
            e.subject,
            e.grant_id.map(|g| g.to_hex()),
            e.ip,
            e.user_agent,
            e.details.to_string()
        ])
    })
    .map(|_| ())
    .map_err(unavailable)
}

fn event_from_row(r: &Row<'_>) -> rusqlite::Result<Event> {
    let details: String = r.get(8)?;
    Ok(Event {
        id: r.get(0)?,
        kind: r.get(1)?,
        time: Timestamp(r.get(2)?),
        client_id: r.get(3)?,
        subject: r.get(4)?,
        grant_id: r
            .get::<_, Option<String>>(5)?
            .and_then(|g| GrantId::parse(&g)),
        ip: r.get(6)?,
        user_agent: r.get(7)?,
        details: serde_json::from_str(&details).unwrap_or(serde_json::Value::Null),
    })
}

/// The statement listing the events `q` asks for, newest first, and its parameters
/// (the plans test checks that a grant's events are found through an index).
pub(super) fn list_sql(q: &EventQuery) -> (String, Vec<SqlValue>) {
    let mut wh = vec!["1 = 1".to_string()];
    let mut args: Vec<SqlValue> = Vec::new();
    let mut add = |cond: &str, v: SqlValue| {
        wh.push(cond.to_string());
        args.push(v);
    };
    if let Some(k) = &q.kind {
        add("type = ?", SqlValue::Text(k.clone()));
    }
    if let Some(cid) = &q.client_id {
        add("client_id = ?", SqlValue::Text(cid.clone()));
    }
    if let Some(s) = &q.subject {
        add("subject = ?", SqlValue::Text(s.clone()));
    }
    if let Some(g) = q.grant_id {
        add("grant_id = ?", SqlValue::Text(g.to_hex()));
    }
    if let Some(t) = q.since {
        add("time >= ?", SqlValue::Integer(t.0));
    }
    if let Some(t) = q.until {
        add("time < ?", SqlValue::Integer(t.0));
    }
    if let Some(b) = &q.before_id {
        add("id < ?", SqlValue::Text(b.clone()));
    }
    args.push(SqlValue::Integer(q.limit as i64));
    let sql = format!(
        "SELECT id, type, time, client_id, subject, grant_id, ip, user_agent, details FROM events
         WHERE {} ORDER BY id DESC LIMIT ?",
        wh.join(" AND ")
    );
    (sql, args)
}

impl EventStore for SqliteStore {
    fn insert_events(&self, events: Vec<Event>) -> BoxFuture<'_, StoreResult<()>> {
        Box::pin(self.write(move |c| events.iter().try_for_each(|e| insert_event(c, e))))
    }

    fn list_events<'a>(&'a self, q: &'a EventQuery) -> BoxFuture<'a, StoreResult<Vec<Event>>> {
        Box::pin(ready(self.read(|c| {
            let (sql, args) = list_sql(q);
            c.prepare_cached(&sql)
                .and_then(|mut s| {
                    s.query_map(params_from_iter(args), event_from_row)?
                        .collect()
                })
                .map_err(unavailable)
        })))
    }
}
