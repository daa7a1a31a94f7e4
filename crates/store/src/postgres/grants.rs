//! Grants, the hot path: the `GrantStore` role for PgStore.

use super::events::insert_events_in;
use super::rows::{get, grant_id};
use super::{param_refs, Lease, Param, PgStore};
use baton_core::error::StoreError;
use baton_core::events::EventKind;
use baton_core::model::{Event, Grant, GrantId, GrantStatus};
use baton_core::scope::Scope;
use baton_core::store::{BoxFuture, GrantFilter, GrantStore, Revocation, StoreResult};
use baton_core::time::{Dur, Timestamp};
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

pub(super) const GRANT_COLS: &str =
    "id, client_id, subject, scope, session_id, online, auth_time, created_at, \
     expires_at, sliding_ms, last_used_at, generation, generation_started_at, rotate, grace_ms, \
     update_claims, revoked_at, revoked_reason, claims, dpop_jkt, resources";

pub(super) fn grant_from_row(r: &Row) -> Result<Grant, StoreError> {
    grant_at(r, 0)
}

/// A grant from the [`GRANT_COLS`] of a row, starting at column `o`.
pub(super) fn grant_at(r: &Row, o: usize) -> Result<Grant, StoreError> {
    let w = "grant";
    let revoked_at: Option<i64> = get(r, o + 16, w)?;
    Ok(Grant {
        id: grant_id(get(r, o, w)?)?,
        client_id: get(r, o + 1, w)?,
        subject: get(r, o + 2, w)?,
        scope: Scope::from_stored(get(r, o + 3, w)?),
        session_id: get(r, o + 4, w)?,
        online: get(r, o + 5, w)?,
        auth_time: Timestamp(get(r, o + 6, w)?),
        created_at: Timestamp(get(r, o + 7, w)?),
        expires_at: get::<Option<i64>>(r, o + 8, w)?.map(Timestamp),
        sliding: get::<Option<i64>>(r, o + 9, w)?.map(Dur),
        last_used_at: Timestamp(get(r, o + 10, w)?),
        generation: get::<i64>(r, o + 11, w)? as u64,
        generation_started_at: Timestamp(get(r, o + 12, w)?),
        rotate: get(r, o + 13, w)?,
        grace: Dur(get(r, o + 14, w)?),
        update_claims: get(r, o + 15, w)?,
        claims_snapshot: get(r, o + 18, w)?,
        dpop_jkt: get(r, o + 19, w)?,
        resources: get::<Option<Vec<String>>>(r, o + 20, w)?.unwrap_or_default(),
        persist: true,
        status: match revoked_at {
            None => GrantStatus::Active,
            Some(at) => GrantStatus::Revoked {
                at: Timestamp(at),
                reason: get::<Option<String>>(r, o + 17, w)?.unwrap_or_default(),
            },
        },
    })
}

/// The WHERE condition of a grant filter, its parameters numbered from `first`.
fn filter_sql(f: &GrantFilter, first: usize) -> (String, Vec<Param>) {
    let (a, b) = (first, first + 1);
    match f {
        GrantFilter::Grant(id) => (format!("id = ${a}"), vec![Box::new(id.0.to_vec())]),
        GrantFilter::Client(c) => (format!("client_id = ${a}"), vec![Box::new(c.clone())]),
        GrantFilter::Subject(s) => (format!("subject = ${a}"), vec![Box::new(s.clone())]),
        GrantFilter::ClientSubject { client_id, subject } => (
            format!("client_id = ${a} AND subject = ${b}"),
            vec![Box::new(client_id.clone()), Box::new(subject.clone())],
        ),
        GrantFilter::Session(s) => (format!("session_id = ${a}"), vec![Box::new(s.clone())]),
        GrantFilter::SessionOnline(s) => (
            format!("session_id = ${a} AND online"),
            vec![Box::new(s.clone())],
        ),
        GrantFilter::SessionClients {
            session_id,
            client_ids,
        } => (
            format!("session_id = ${a} AND client_id = ANY(${b})"),
            vec![Box::new(session_id.clone()), Box::new(client_ids.clone())],
        ),
    }
}

pub(super) async fn revoke_in(
    c: &mut Lease<'_>,
    filter: &GrantFilter,
    why: &Revocation,
) -> Result<Vec<GrantId>, StoreError> {
    let (wh, params) = filter_sql(filter, 3);
    let sql = format!(
        "UPDATE grants SET revoked_at = $1, revoked_reason = $2 WHERE revoked_at IS NULL AND {wh} \
         RETURNING id, client_id, subject"
    );
    let mut all: Vec<&(dyn ToSql + Sync)> = vec![&why.now.0, &why.reason];
    all.extend(param_refs(&params));
    let rows = c.query(&sql, &all).await?;
    let mut ids = Vec::with_capacity(rows.len());
    let mut events = Vec::with_capacity(rows.len() + why.extra_events.len());
    for r in &rows {
        let id = grant_id(get(r, 0, "grant")?)?;
        ids.push(id);
        events.push(Event {
            id: baton_core::event_id(why.now),
            kind: EventKind::GrantRevoked.as_str().into(),
            time: why.now,
            client_id: Some(get(r, 1, "grant")?),
            subject: Some(get(r, 2, "grant")?),
            grant_id: Some(id),
            ip: why.ip.clone(),
            user_agent: why.user_agent.clone(),
            details: why.details(),
        });
    }
    events.extend(why.extra_events.iter().cloned());
    insert_events_in(c, &events).await?;
    Ok(ids)
}

impl GrantStore for PgStore {
    fn insert_grant<'a>(&'a self, g: &'a Grant, event: Event) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(async move {
            let (revoked_at, reason) = match &g.status {
                GrantStatus::Active => (None, None),
                GrantStatus::Revoked { at, reason } => (Some(at.0), Some(reason.as_str())),
            };
            let id = &g.id.0[..];
            let expires_at = g.expires_at.map(|t| t.0);
            let sliding = g.sliding.map(|d| d.0);
            let generation = g.generation as i64;
            let ev_grant = event.grant_id.map(|x| x.to_hex());
            let details = event.details.to_string();
            let resources = (!g.resources.is_empty()).then_some(&g.resources);
            // The first idle check is due at the grant's idle deadline (codec::PURGE_GRANTS_WHERE).
            let idle_check_at = g.idle_until().map(|t| t.0);
            let sql = format!(
                "WITH g AS (
                    INSERT INTO grants ({GRANT_COLS}, idle_check_at)
                    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $31)
                    RETURNING id
                 )
                 INSERT INTO events (id, \"type\", \"time\", client_id, subject, grant_id, ip, user_agent, details)
                 SELECT $22::text, $23::text, $24::bigint, $25::text, $26::text, $27::text, $28::text,
                        $29::text, $30::text::jsonb FROM g"
            );
            let mut c = self.conn().await?;
            c.execute(
                &sql,
                &[
                    &id,
                    &g.client_id,
                    &g.subject,
                    &g.scope.as_str(),
                    &g.session_id,
                    &g.online,
                    &g.auth_time.0,
                    &g.created_at.0,
                    &expires_at,
                    &sliding,
                    &g.last_used_at.0,
                    &generation,
                    &g.generation_started_at.0,
                    &g.rotate,
                    &g.grace.0,
                    &g.update_claims,
                    &revoked_at,
                    &reason,
                    &g.claims_snapshot,
                    &g.dpop_jkt,
                    &resources,
                    &event.id,
                    &event.kind,
                    &event.time.0,
                    &event.client_id,
                    &event.subject,
                    &ev_grant,
                    &event.ip,
                    &event.user_agent,
                    &details,
                    &idle_check_at,
                ],
            )
            .await
            .map(|_| ())
        })
    }

    fn get_grant(&self, id: GrantId) -> BoxFuture<'_, StoreResult<Option<Grant>>> {
        Box::pin(async move {
            let sql = format!("SELECT {GRANT_COLS} FROM grants WHERE id = $1");
            let mut c = self.conn().await?;
            let row = c.query_opt(&sql, &[&&id.0[..]]).await?;
            row.as_ref().map(grant_from_row).transpose()
        })
    }

    /// One conditional UPDATE: of any number of concurrent callers with the same
    /// `expected`, PostgreSQL's row lock lets exactly one match `generation = expected`;
    /// the others re-check the updated row, no longer match, and update nothing.
    fn advance(
        &self,
        id: GrantId,
        expected: u64,
        now: Timestamp,
    ) -> BoxFuture<'_, StoreResult<bool>> {
        Box::pin(async move {
            let mut c = self.conn().await?;
            let n = c
                .execute(
                    "UPDATE grants SET generation = generation + 1, generation_started_at = $3, last_used_at = $3
                     WHERE id = $1 AND generation = $2 AND revoked_at IS NULL",
                    &[&&id.0[..], &(expected as i64), &now.0],
                )
                .await?;
            Ok(n == 1)
        })
    }

    fn touch(&self, id: GrantId, now: Timestamp) -> BoxFuture<'_, StoreResult<()>> {
        Box::pin(async move {
            let mut c = self.conn().await?;
            c.execute(
                "UPDATE grants SET last_used_at = GREATEST(last_used_at, $2) WHERE id = $1",
                &[&&id.0[..], &now.0],
            )
            .await
            .map(|_| ())
        })
    }

    fn bind_key<'a>(&'a self, id: GrantId, jkt: &'a str) -> BoxFuture<'a, StoreResult<bool>> {
        Box::pin(async move {
            let mut c = self.conn().await?;
            c.execute(
                "UPDATE grants SET dpop_jkt = $2 WHERE id = $1 AND dpop_jkt IS NULL",
                &[&&id.0[..], &jkt],
            )
            .await
            .map(|n| n == 1)
        })
    }

    fn revoke<'a>(
        &'a self,
        filter: &'a GrantFilter,
        why: &'a Revocation,
    ) -> BoxFuture<'a, StoreResult<Vec<GrantId>>> {
        Box::pin(async move {
            let mut c = self.conn().await?;
            c.begin().await?;
            let body = revoke_in(&mut c, filter, why).await;
            c.finish(body).await
        })
    }

    fn list_grants<'a>(
        &'a self,
        filter: Option<&'a GrantFilter>,
        after: Option<GrantId>,
        limit: usize,
    ) -> BoxFuture<'a, StoreResult<Vec<Grant>>> {
        Box::pin(async move {
            let (mut wh, mut params) = filter
                .map(|f| filter_sql(f, 1))
                .unwrap_or_else(|| ("TRUE".into(), vec![]));
            if let Some(a) = after {
                wh.push_str(&format!(
                    " AND (created_at, id) < (SELECT created_at, id FROM grants WHERE id = ${})",
                    params.len() + 1
                ));
                params.push(Box::new(a.0.to_vec()));
            }
            let lim = params.len() + 1;
            params.push(Box::new(limit as i64));
            let sql = format!(
                "SELECT {GRANT_COLS} FROM grants WHERE {wh} ORDER BY created_at DESC, id DESC LIMIT ${lim}"
            );
            let mut c = self.conn().await?;
            let rows = c.query(&sql, &param_refs(&params)).await?;
            rows.iter().map(grant_from_row).collect()
        })
    }
}
