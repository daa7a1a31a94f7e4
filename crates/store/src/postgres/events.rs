//! The event log: the `EventStore` role for PgStore.

use super::rows::get;
use super::{param_refs, Lease, Param, PgStore};
use baton_core::error::StoreError;
use baton_core::model::{Event, GrantId};
use baton_core::store::{BoxFuture, EventQuery, EventStore, StoreResult};
use baton_core::time::Timestamp;
use tokio_postgres::Row;

const EVENT_COLS: &str =
    "id, \"type\", \"time\", client_id, subject, grant_id, ip, user_agent, details::text";

fn event_from_row(r: &Row) -> Result<Event, StoreError> {
    let w = "event";
    let details: String = get(r, 8, w)?;
    Ok(Event {
        id: get(r, 0, w)?,
        kind: get(r, 1, w)?,
        time: Timestamp(get(r, 2, w)?),
        client_id: get(r, 3, w)?,
        subject: get(r, 4, w)?,
        grant_id: get::<Option<String>>(r, 5, w)?.and_then(|g| GrantId::parse(&g)),
        ip: get(r, 6, w)?,
        user_agent: get(r, 7, w)?,
        details: serde_json::from_str(&details).unwrap_or(serde_json::Value::Null),
    })
}

/// Inserts events in one statement (arrays unnested into rows).
pub(super) async fn insert_events_in(
    c: &mut Lease<'_>,
    events: &[Event],
) -> Result<(), StoreError> {
    if events.is_empty() {
        return Ok(());
    }
    let ids: Vec<&str> = events.iter().map(|e| e.id.as_str()).collect();
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    let times: Vec<i64> = events.iter().map(|e| e.time.0).collect();
    let clients: Vec<Option<&str>> = events.iter().map(|e| e.client_id.as_deref()).collect();
    let subjects: Vec<Option<&str>> = events.iter().map(|e| e.subject.as_deref()).collect();
    let grants: Vec<Option<String>> = events
        .iter()
        .map(|e| e.grant_id.map(|g| g.to_hex()))
        .collect();
    let ips: Vec<Option<&str>> = events.iter().map(|e| e.ip.as_deref()).collect();
    let agents: Vec<Option<&str>> = events.iter().map(|e| e.user_agent.as_deref()).collect();
    let details: Vec<String> = events.iter().map(|e| e.details.to_string()).collect();
    c.execute(
        "INSERT INTO events (id, \"type\", \"time\", client_id, subject, grant_id, ip, user_agent, details)
         SELECT id, k, t, c, s, g, ip, ua, d::jsonb
         FROM UNNEST($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[],
                     $7::text[], $8::text[], $9::text[]) AS e(id, k, t, c, s, g, ip, ua, d)",
        &[
            &ids, &kinds, &times, &clients, &subjects, &grants, &ips, &agents, &details,
        ],
    )
    .await
    .map(|_| ())
}

/// The statement listing the events `q` asks for, newest first, and its parameters
/// (the plans test checks that a grant's events are found through an index).
pub(super) fn list_sql(q: &EventQuery) -> (String, Vec<Param>) {
    let mut wh = vec!["TRUE".to_string()];
    let mut params: Vec<Param> = Vec::new();
    let mut add = |cond: &str, v: Param| {
        params.push(v);
        wh.push(format!("{cond} ${}", params.len()));
    };
    if let Some(k) = &q.kind {
        add("\"type\" =", Box::new(k.clone()));
    }
    if let Some(cid) = &q.client_id {
        add("client_id =", Box::new(cid.clone()));
    }
    if let Some(s) = &q.subject {
        add("subject =", Box::new(s.clone()));
    }
    if let Some(g) = q.grant_id {
        add("grant_id =", Box::new(g.to_hex()));
    }
    if let Some(t) = q.since {
        add("\"time\" >=", Box::new(t.0));
    }
    if let Some(t) = q.until {
        add("\"time\" <", Box::new(t.0));
    }
    if let Some(b) = &q.before_id {
        add("id <", Box::new(b.clone()));
    }
    params.push(Box::new(q.limit as i64));
    let sql = format!(
        "SELECT {EVENT_COLS} FROM events WHERE {} ORDER BY id DESC LIMIT ${}",
        wh.join(" AND "),
        params.len()
    );
    (sql, params)
}

impl EventStore for PgStore {
    fn insert_events(&self, events: Vec<Event>) -> BoxFuture<'_, StoreResult<()>> {
        Box::pin(async move {
            let mut c = self.conn().await?;
            insert_events_in(&mut c, &events).await
        })
    }

    fn list_events<'a>(&'a self, q: &'a EventQuery) -> BoxFuture<'a, StoreResult<Vec<Event>>> {
        Box::pin(async move {
            let (sql, params) = list_sql(q);
            let mut c = self.conn().await?;
            let rows = c.query(&sql, &param_refs(&params)).await?;
            rows.iter().map(event_from_row).collect()
        })
    }
}
