//! Grants, the hot path: the `GrantStore` role for SqliteStore.

use super::events::insert_event;
use super::{unavailable, SqliteStore};
use baton_core::error::StoreError;
use baton_core::events::EventKind;
use baton_core::model::{Event, Grant, GrantId, GrantStatus};
use baton_core::scope::Scope;
use baton_core::store::{BoxFuture, GrantFilter, GrantStore, Revocation, StoreResult};
use baton_core::time::{Dur, Timestamp};
use rusqlite::types::Value as SqlValue;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, Row};
use std::future::ready;

pub(super) const GRANT_COLS: &str =
    "id, client_id, subject, scope, session_id, online, auth_time, created_at, \
     expires_at, sliding_ms, last_used_at, generation, generation_started_at, rotate, grace_ms, \
     update_claims, revoked_at, revoked_reason, claims, dpop_jkt, resources";

pub(super) fn grant_from_row(r: &Row<'_>) -> rusqlite::Result<Grant> {
    grant_at(r, 0)
}

/// A grant from the [`GRANT_COLS`] of a row, starting at column `o`.
pub(super) fn grant_at(r: &Row<'_>, o: usize) -> rusqlite::Result<Grant> {
    let revoked_at: Option<i64> = r.get(o + 16)?;
    Ok(Grant {
        id: GrantId(r.get::<_, [u8; 16]>(o)?),
        client_id: r.get(o + 1)?,
        subject: r.get(o + 2)?,
        scope: Scope::from_stored(r.get(o + 3)?),
        session_id: r.get(o + 4)?,
        online: r.get(o + 5)?,
        auth_time: Timestamp(r.get(o + 6)?),
        created_at: Timestamp(r.get(o + 7)?),
        expires_at: r.get::<_, Option<i64>>(o + 8)?.map(Timestamp),
        sliding: r.get::<_, Option<i64>>(o + 9)?.map(Dur),
        last_used_at: Timestamp(r.get(o + 10)?),
        generation: r.get::<_, i64>(o + 11)? as u64,
        generation_started_at: Timestamp(r.get(o + 12)?),
        rotate: r.get(o + 13)?,
        grace: Dur(r.get(o + 14)?),
        update_claims: r.get(o + 15)?,
        claims_snapshot: r.get(o + 18)?,
        dpop_jkt: r.get(o + 19)?,
        resources: crate::codec::resources_from_column(r.get(o + 20)?),
        persist: true,
        status: match revoked_at {
            None => GrantStatus::Active,
            Some(at) => GrantStatus::Revoked {
                at: Timestamp(at),
                reason: r.get::<_, Option<String>>(o + 17)?.unwrap_or_default(),
            },
        },
    })
}

fn filter_sql(f: &GrantFilter) -> (String, Vec<SqlValue>) {
    let t = |s: &str| SqlValue::Text(s.to_string());
    match f {
        GrantFilter::Grant(id) => ("id = ?".into(), vec![SqlValue::Blob(id.0.to_vec())]),
        GrantFilter::Client(c) => ("client_id = ?".into(), vec![t(c)]),
        GrantFilter::Subject(s) => ("subject = ?".into(), vec![t(s)]),
        GrantFilter::ClientSubject { client_id, subject } => (
            "client_id = ? AND subject = ?".into(),
            vec![t(client_id), t(subject)],
        ),
        GrantFilter::Session(s) => ("session_id = ?".into(), vec![t(s)]),
        GrantFilter::SessionOnline(s) => ("session_id = ? AND online = 1".into(), vec![t(s)]),
        GrantFilter::SessionClients {
            session_id,
            client_ids,
        } => {
            let marks = vec!["?"; client_ids.len().max(1)].join(", ");
            let mut v = vec![t(session_id)];
            if client_ids.is_empty() {
                v.push(SqlValue::Null);
            }
            v.extend(client_ids.iter().map(|c| t(c)));
            (format!("session_id = ? AND client_id IN ({marks})"), v)
        }
    }
}

pub(super) fn revoke_in(
    c: &Connection,
    filter: &GrantFilter,
    why: &Revocation,
) -> Result<Vec<GrantId>, StoreError> {
    let (wh, mut args) = filter_sql(filter);
    let sql = format!(
        "UPDATE grants SET revoked_at = ?, revoked_reason = ? WHERE revoked_at IS NULL AND {wh} \
         RETURNING id, client_id, subject"
    );
    let mut all = vec![
        SqlValue::Integer(why.now.0),
        SqlValue::Text(why.reason.clone()),
    ];
    all.append(&mut args);
    let mut stmt = c.prepare_cached(&sql).map_err(unavailable)?;
    let rows: Vec<(GrantId, String, String)> = stmt
        .query_map(params_from_iter(all), |r| {
            Ok((GrantId(r.get(0)?), r.get(1)?, r.get(2)?))
        })
        .and_then(|it| it.collect())
        .map_err(unavailable)?;
    for (id, client_id, subject) in &rows {
        insert_event(
            c,
            &Event {
                id: baton_core::event_id(why.now),
                kind: EventKind::GrantRevoked.as_str().into(),
                time: why.now,
                client_id: Some(client_id.clone()),
                subject: Some(subject.clone()),
                grant_id: Some(*id),
                ip: why.ip.clone(),
                user_agent: why.user_agent.clone(),
                details: why.details(),
            },
        )?;
    }
    for e in &why.extra_events {
        insert_event(c, e)?;
    }
    Ok(rows.into_iter().map(|r| r.0).collect())
}

/// Inserts one grant row (no event): `insert_grant`, and the bulk seeding of
/// `seed.rs`, which repeats it on the writer's prepared statement. The first idle check
/// is due at the grant's idle deadline (`codec::PURGE_GRANTS_WHERE`).
pub(super) fn insert_row(c: &Connection, g: &Grant) -> rusqlite::Result<usize> {
    let (revoked_at, reason) = match &g.status {
        GrantStatus::Active => (None, None),
        GrantStatus::Revoked { at, reason } => (Some(at.0), Some(reason.as_str())),
    };
    c.prepare_cached(&format!(
        "INSERT INTO grants ({GRANT_COLS}, idle_check_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22)"
    ))?
    .execute(params![
        &g.id.0[..],
        g.client_id,
        g.subject,
        g.scope.as_str(),
        g.session_id,
        g.online,
        g.auth_time.0,
        g.created_at.0,
        g.expires_at.map(|t| t.0),
        g.sliding.map(|d| d.0),
        g.last_used_at.0,
        g.generation as i64,
        g.generation_started_at.0,
        g.rotate,
        g.grace.0,
        g.update_claims,
        revoked_at,
        reason,
        g.claims_snapshot,
        g.dpop_jkt,
        crate::codec::resources_to_column(&g.resources),
        g.idle_until().map(|t| t.0)
    ])
}

impl GrantStore for SqliteStore {
    fn insert_grant<'a>(&'a self, g: &'a Grant, event: Event) -> BoxFuture<'a, StoreResult<()>> {
        let g = g.clone();
        Box::pin(self.write(move |c| {
            insert_row(c, &g).map_err(unavailable)?;
            insert_event(c, &event)
        }))
    }

    fn get_grant(&self, id: GrantId) -> BoxFuture<'_, StoreResult<Option<Grant>>> {
        Box::pin(ready(self.read(|c| {
            c.prepare_cached(&format!("SELECT {GRANT_COLS} FROM grants WHERE id = ?1"))
                .and_then(|mut s| s.query_row([&id.0[..]], grant_from_row).optional())
                .map_err(unavailable)
        })))
    }

    fn advance(
        &self,
        id: GrantId,
        expected: u64,
        now: Timestamp,
    ) -> BoxFuture<'_, StoreResult<bool>> {
        Box::pin(self.write_statement(move |c| {
            c.prepare_cached(
                "UPDATE grants SET generation = generation + 1, generation_started_at = ?3, last_used_at = ?3
                 WHERE id = ?1 AND generation = ?2 AND revoked_at IS NULL",
            )
            .and_then(|mut s| s.execute(params![&id.0[..], expected as i64, now.0]))
            .map(|n| n == 1)
            .map_err(unavailable)
        }))
    }

    fn touch(&self, id: GrantId, now: Timestamp) -> BoxFuture<'_, StoreResult<()>> {
        Box::pin(self.write_statement(move |c| {
            c.prepare_cached("UPDATE grants SET last_used_at = MAX(last_used_at, ?2) WHERE id = ?1")
                .and_then(|mut s| s.execute(params![&id.0[..], now.0]))
                .map(|_| ())
                .map_err(unavailable)
        }))
    }

    fn bind_key<'a>(&'a self, id: GrantId, jkt: &'a str) -> BoxFuture<'a, StoreResult<bool>> {
        let jkt = jkt.to_string();
        Box::pin(self.write_statement(move |c| {
            c.prepare_cached("UPDATE grants SET dpop_jkt = ?2 WHERE id = ?1 AND dpop_jkt IS NULL")
                .and_then(|mut s| s.execute(params![&id.0[..], jkt]))
                .map(|n| n == 1)
                .map_err(unavailable)
        }))
    }

    fn revoke<'a>(
        &'a self,
        filter: &'a GrantFilter,
        why: &'a Revocation,
    ) -> BoxFuture<'a, StoreResult<Vec<GrantId>>> {
        let (filter, why) = (filter.clone(), why.clone());
        Box::pin(self.write(move |c| revoke_in(c, &filter, &why)))
    }

    fn list_grants<'a>(
        &'a self,
        filter: Option<&'a GrantFilter>,
        after: Option<GrantId>,
        limit: usize,
    ) -> BoxFuture<'a, StoreResult<Vec<Grant>>> {
        Box::pin(ready(self.read(|c| {
            let (mut wh, mut args) = filter.map(filter_sql).unwrap_or(("1 = 1".into(), vec![]));
            if let Some(a) = after {
                wh.push_str(" AND (created_at, id) < (SELECT created_at, id FROM grants WHERE id = ?)");
                args.push(SqlValue::Blob(a.0.to_vec()));
            }
            args.push(SqlValue::Integer(limit as i64));
            let sql = format!("SELECT {GRANT_COLS} FROM grants WHERE {wh} ORDER BY created_at DESC, id DESC LIMIT ?");
            c.prepare_cached(&sql)
                .and_then(|mut s| s.query_map(params_from_iter(args), grant_from_row)?.collect())
                .map_err(unavailable)
        })))
    }
}
