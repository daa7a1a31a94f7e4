//! `GrantStore` and `Store` for PostgreSQL.
//!
//! Concurrency rests on single statements wherever it can: rotation is one conditional
//! UPDATE, a code is consumed by one conditional UPDATE, consent merges in one
//! `INSERT … ON CONFLICT DO UPDATE`. Revocation is one UPDATE … RETURNING and the
//! insert of its events, in one transaction. No statement takes a table lock.

use super::{corrupt, param_refs, Lease, Param, PgStore};
use crate::codec;
use baton_core::error::StoreError;
use baton_core::model::{
    AuthCode, Client, CodeUse, Event, Grant, GrantId, GrantStatus, ReferenceToken, Session, SigAlg,
    SigningKey, User,
};
use baton_core::store::{
    marker_scopes, BoxFuture, EventQuery, GrantFilter, GrantStore, PurgedGrants, Revocation,
    RevocationMarker, Settings, Store, StoreResult,
};
use baton_core::time::{Dur, Timestamp};
use tokio_postgres::types::{FromSql, ToSql};
use tokio_postgres::Row;

const GRANT_COLS: &str =
    "id, client_id, subject, scope, session_id, online, auth_time, created_at, \
     expires_at, sliding_ms, last_used_at, generation, generation_started_at, rotate, grace_ms, \
     update_claims, revoked_at, revoked_reason, claims";

const USER_COLS: &str = "sub, username, password_hash, active, claims::text, created_at";

const SESSION_COLS: &str = "id, subject, auth_time, created_at, last_seen_at, expires_at, ended_at";

const EVENT_COLS: &str =
    "id, \"type\", \"time\", client_id, subject, grant_id, ip, user_agent, details::text";

fn get<'a, T: FromSql<'a>>(r: &'a Row, i: usize, what: &str) -> Result<T, StoreError> {
    r.try_get(i).map_err(corrupt(what))
}

fn grant_id(bytes: &[u8]) -> Result<GrantId, StoreError> {
    <[u8; 16]>::try_from(bytes)
        .map(GrantId)
        .map_err(|_| StoreError::Corrupt("stored grant id has the wrong length".into()))
}

fn grant_from_row(r: &Row) -> Result<Grant, StoreError> {
    let w = "grant";
    let revoked_at: Option<i64> = get(r, 16, w)?;
    Ok(Grant {
        id: grant_id(get(r, 0, w)?)?,
        client_id: get(r, 1, w)?,
        subject: get(r, 2, w)?,
        scope: get(r, 3, w)?,
        session_id: get(r, 4, w)?,
        online: get(r, 5, w)?,
        auth_time: Timestamp(get(r, 6, w)?),
        created_at: Timestamp(get(r, 7, w)?),
        expires_at: get::<Option<i64>>(r, 8, w)?.map(Timestamp),
        sliding: get::<Option<i64>>(r, 9, w)?.map(Dur),
        last_used_at: Timestamp(get(r, 10, w)?),
        generation: get::<i64>(r, 11, w)? as u64,
        generation_started_at: Timestamp(get(r, 12, w)?),
        rotate: get(r, 13, w)?,
        grace: Dur(get(r, 14, w)?),
        update_claims: get(r, 15, w)?,
        claims_snapshot: get(r, 18, w)?,
        cached: false,
        status: match revoked_at {
            None => GrantStatus::Active,
            Some(at) => GrantStatus::Revoked {
                at: Timestamp(at),
                reason: get::<Option<String>>(r, 17, w)?.unwrap_or_default(),
            },
        },
    })
}

fn user_from_row(r: &Row) -> Result<User, StoreError> {
    let w = "user";
    let claims: String = get(r, 4, w)?;
    Ok(User {
        sub: get(r, 0, w)?,
        username: get(r, 1, w)?,
        password_hash: get(r, 2, w)?,
        active: get(r, 3, w)?,
        claims: serde_json::from_str(&claims)
            .map_err(|_| StoreError::Corrupt("stored user claims could not be decoded".into()))?,
        created_at: Timestamp(get(r, 5, w)?),
    })
}

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

/// Inserts events in one statement (arrays unnested into rows).
async fn insert_events_in(c: &mut Lease<'_>, events: &[Event]) -> Result<(), StoreError> {
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

async fn revoke_in(
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
            kind: "grant.revoked".into(),
            time: why.now,
            client_id: Some(get(r, 1, "grant")?),
            subject: Some(get(r, 2, "grant")?),
            grant_id: Some(id),
            ip: why.ip.clone(),
            user_agent: why.user_agent.clone(),
            details: serde_json::json!({ "reason": why.reason }),
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
            let sql = format!(
                "WITH g AS (
                    INSERT INTO grants ({GRANT_COLS})
                    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)
                    RETURNING id
                 )
                 INSERT INTO events (id, \"type\", \"time\", client_id, subject, grant_id, ip, user_agent, details)
                 SELECT $20::text, $21::text, $22::bigint, $23::text, $24::text, $25::text, $26::text,
                        $27::text, $28::text::jsonb FROM g"
            );
            let mut c = self.conn().await?;
            c.execute(
                &sql,
                &[
                    &id,
                    &g.client_id,
                    &g.subject,
                    &g.scope,
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
                    &event.id,
                    &event.kind,
                    &event.time.0,
                    &event.client_id,
                    &event.subject,
                    &ev_grant,
                    &event.ip,
                    &event.user_agent,
                    &details,
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

impl Store for PgStore {
    fn close(&self) {
        PgStore::close(self);
    }

    fn ping(&self) -> BoxFuture<'_, StoreResult<()>> {
        Box::pin(async move {
            let mut c = self.conn().await?;
            c.query("SELECT version FROM schema_migrations LIMIT 1", &[])
                .await
                .map(|_| ())
        })
    }

    fn get_client<'a>(&'a self, id: &'a str) -> BoxFuture<'a, StoreResult<Option<Client>>> {
        Box::pin(async move {
            let mut c = self.conn().await?;
            let Some(r) = c
                .query_opt(
                    "SELECT data::text, created_at FROM clients WHERE client_id = $1",
                    &[&id],
                )
                .await?
            else {
                return Ok(None);
            };
            let data: String = get(&r, 0, "client")?;
            codec::client_from_json(id.to_string(), get(&r, 1, "client")?, &data).map(Some)
        })
    }

    fn insert_client<'a>(&'a self, client: &'a Client) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(async move {
            let data = codec::client_to_json(client);
            let mut c = self.conn().await?;
            c.execute(
                "INSERT INTO clients (client_id, data, created_at) VALUES ($1, $2::text::jsonb, $3)",
                &[&client.client_id, &data, &client.created_at.0],
            )
            .await
            .map(|_| ())
        })
    }

    fn upsert_client<'a>(&'a self, client: &'a Client) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(async move {
            let data = codec::client_to_json(client);
            let mut c = self.conn().await?;
            c.execute(
                "INSERT INTO clients (client_id, data, created_at) VALUES ($1, $2::text::jsonb, $3)
                 ON CONFLICT (client_id) DO UPDATE SET data = EXCLUDED.data",
                &[&client.client_id, &data, &client.created_at.0],
            )
            .await
            .map(|_| ())
        })
    }

    fn list_clients(&self) -> BoxFuture<'_, StoreResult<Vec<Client>>> {
        Box::pin(async move {
            let mut c = self.conn().await?;
            let rows = c
                .query(
                    "SELECT client_id, data::text, created_at FROM clients ORDER BY client_id",
                    &[],
                )
                .await?;
            rows.iter()
                .map(|r| {
                    let data: String = get(r, 1, "client")?;
                    codec::client_from_json(get(r, 0, "client")?, get(r, 2, "client")?, &data)
                })
                .collect()
        })
    }

    fn delete_client<'a>(&'a self, id: &'a str) -> BoxFuture<'a, StoreResult<bool>> {
        Box::pin(async move {
            let mut c = self.conn().await?;
            let n = c
                .execute("DELETE FROM clients WHERE client_id = $1", &[&id])
                .await?;
            Ok(n > 0)
        })
    }

    fn get_user<'a>(&'a self, username: &'a str) -> BoxFuture<'a, StoreResult<Option<User>>> {
        Box::pin(async move {
            let sql = format!("SELECT {USER_COLS} FROM users WHERE username = $1");
            let mut c = self.conn().await?;
            let row = c.query_opt(&sql, &[&username]).await?;
            row.as_ref().map(user_from_row).transpose()
        })
    }

    fn get_user_by_sub<'a>(&'a self, sub: &'a str) -> BoxFuture<'a, StoreResult<Option<User>>> {
        Box::pin(async move {
            let sql = format!("SELECT {USER_COLS} FROM users WHERE sub = $1");
            let mut c = self.conn().await?;
            let row = c.query_opt(&sql, &[&sub]).await?;
            row.as_ref().map(user_from_row).transpose()
        })
    }

    fn upsert_user<'a>(&'a self, u: &'a User) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(async move {
            let claims = serde_json::Value::Object(u.claims.clone()).to_string();
            let mut c = self.conn().await?;
            c.execute(
                "INSERT INTO users (sub, username, password_hash, active, claims, created_at)
                 VALUES ($1, $2, $3, $4, $5::text::jsonb, $6)
                 ON CONFLICT (sub) DO UPDATE SET username = EXCLUDED.username,
                   password_hash = EXCLUDED.password_hash, active = EXCLUDED.active,
                   claims = EXCLUDED.claims",
                &[
                    &u.sub,
                    &u.username,
                    &u.password_hash,
                    &u.active,
                    &claims,
                    &u.created_at.0,
                ],
            )
            .await
            .map(|_| ())
        })
    }

    fn list_users(&self) -> BoxFuture<'_, StoreResult<Vec<User>>> {
        Box::pin(async move {
            let sql = format!("SELECT {USER_COLS} FROM users ORDER BY username");
            let mut c = self.conn().await?;
            let rows = c.query(&sql, &[]).await?;
            rows.iter().map(user_from_row).collect()
        })
    }

    fn delete_user<'a>(&'a self, username: &'a str) -> BoxFuture<'a, StoreResult<bool>> {
        Box::pin(async move {
            let mut c = self.conn().await?;
            let n = c
                .execute("DELETE FROM users WHERE username = $1", &[&username])
                .await?;
            Ok(n > 0)
        })
    }

    fn list_keys(&self) -> BoxFuture<'_, StoreResult<Vec<SigningKey>>> {
        Box::pin(async move {
            let mut c = self.conn().await?;
            let rows = c
                .query(
                    "SELECT kid, alg, sealed_private, public_jwk, created_at, retired_at
                     FROM signing_keys ORDER BY created_at, kid",
                    &[],
                )
                .await?;
            rows.iter()
                .map(|r| {
                    let w = "signing key";
                    let alg: String = get(r, 1, w)?;
                    Ok(SigningKey {
                        kid: get(r, 0, w)?,
                        alg: SigAlg::parse(&alg)
                            .ok_or_else(|| StoreError::Corrupt("signing key algorithm".into()))?,
                        sealed_private: get(r, 2, w)?,
                        public_jwk: get(r, 3, w)?,
                        created_at: Timestamp(get(r, 4, w)?),
                        retired_at: get::<Option<i64>>(r, 5, w)?.map(Timestamp),
                    })
                })
                .collect()
        })
    }

    fn insert_key<'a>(&'a self, k: &'a SigningKey) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(async move {
            let retired = k.retired_at.map(|t| t.0);
            let mut c = self.conn().await?;
            c.execute(
                "INSERT INTO signing_keys (kid, alg, sealed_private, public_jwk, created_at, retired_at)
                 VALUES ($1, $2, $3, $4, $5, $6)",
                &[
                    &k.kid,
                    &k.alg.as_str(),
                    &k.sealed_private,
                    &k.public_jwk,
                    &k.created_at.0,
                    &retired,
                ],
            )
            .await
            .map(|_| ())
        })
    }

    fn retire_key<'a>(&'a self, kid: &'a str, at: Timestamp) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(async move {
            let mut c = self.conn().await?;
            c.execute(
                "UPDATE signing_keys SET retired_at = $2 WHERE kid = $1 AND (retired_at IS NULL OR retired_at > $2)",
                &[&kid, &at.0],
            )
            .await
            .map(|_| ())
        })
    }

    fn insert_code<'a>(&'a self, code: &'a AuthCode) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(async move {
            let data = codec::code_to_json(code);
            let mut c = self.conn().await?;
            c.execute(
                "INSERT INTO codes (digest, data, expires_at, used) VALUES ($1, $2::text::jsonb, $3, NULL)",
                &[&&code.digest[..], &data, &code.expires_at.0],
            )
            .await
            .map(|_| ())
        })
    }

    fn get_code<'a>(
        &'a self,
        digest: &'a [u8; 32],
    ) -> BoxFuture<'a, StoreResult<Option<AuthCode>>> {
        Box::pin(async move {
            let mut c = self.conn().await?;
            let Some(r) = c
                .query_opt(
                    "SELECT data::text, expires_at, used::text FROM codes WHERE digest = $1",
                    &[&&digest[..]],
                )
                .await?
            else {
                return Ok(None);
            };
            let (data, used): (String, Option<String>) = (get(&r, 0, "code")?, get(&r, 2, "code")?);
            codec::code_from_json(*digest, get(&r, 1, "code")?, &data, used.as_deref()).map(Some)
        })
    }

    /// Atomic without a transaction: the conditional UPDATE marks the code used for
    /// exactly one caller (a concurrent one waits on the row lock, then finds `used`
    /// set and updates nothing). A caller that updated nothing reads the row again in a
    /// new statement, whose snapshot includes the winner's commit; `used` never goes
    /// back to NULL, so that read is the first use.
    fn consume_code<'a>(
        &'a self,
        digest: &'a [u8; 32],
        use_: &'a CodeUse,
    ) -> BoxFuture<'a, StoreResult<Option<AuthCode>>> {
        Box::pin(async move {
            let u = codec::code_use_to_json(use_);
            let d = &digest[..];
            let mut c = self.conn().await?;
            if let Some(r) = c
                .query_opt(
                    "UPDATE codes SET used = $2::text::jsonb WHERE digest = $1 AND used IS NULL
                     RETURNING data::text, expires_at",
                    &[&d, &u],
                )
                .await?
            {
                let data: String = get(&r, 0, "code")?;
                return codec::code_from_json(*digest, get(&r, 1, "code")?, &data, None).map(Some);
            }
            let Some(r) = c
                .query_opt(
                    "SELECT data::text, expires_at, used::text FROM codes WHERE digest = $1",
                    &[&d],
                )
                .await?
            else {
                return Ok(None);
            };
            let (data, used): (String, Option<String>) = (get(&r, 0, "code")?, get(&r, 2, "code")?);
            let Some(used) = used else {
                // Only a code inserted between the two statements could be unused here;
                // codes are inserted before anyone holds them, so this is not expected.
                return Err(StoreError::Unavailable(
                    "authorization code changed concurrently; retry".into(),
                ));
            };
            codec::code_from_json(*digest, get(&r, 1, "code")?, &data, Some(&used)).map(Some)
        })
    }

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

    fn get_consent<'a>(
        &'a self,
        subject: &'a str,
        client_id: &'a str,
    ) -> BoxFuture<'a, StoreResult<Vec<String>>> {
        Box::pin(async move {
            let mut c = self.conn().await?;
            let row = c
                .query_opt(
                    "SELECT scopes FROM consents WHERE subject = $1 AND client_id = $2",
                    &[&subject, &client_id],
                )
                .await?;
            match row {
                Some(r) => get(&r, 0, "consent"),
                None => Ok(Vec::new()),
            }
        })
    }

    /// One statement: the row is created, or its scopes extended with those not yet
    /// there (in the order given), under the row lock of `ON CONFLICT DO UPDATE`, so
    /// concurrent additions all land.
    fn add_consent<'a>(
        &'a self,
        subject: &'a str,
        client_id: &'a str,
        scopes: &'a [String],
    ) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(async move {
            let mut add: Vec<&str> = Vec::with_capacity(scopes.len());
            for s in scopes {
                if !add.contains(&s.as_str()) {
                    add.push(s);
                }
            }
            let mut c = self.conn().await?;
            c.execute(
                "INSERT INTO consents (subject, client_id, scopes) VALUES ($1, $2, $3::text[])
                 ON CONFLICT (subject, client_id) DO UPDATE SET scopes = consents.scopes || ARRAY(
                     SELECT s FROM unnest(EXCLUDED.scopes) WITH ORDINALITY AS t(s, i)
                     WHERE s <> ALL(consents.scopes) ORDER BY i)",
                &[&subject, &client_id, &add],
            )
            .await
            .map(|_| ())
        })
    }

    fn insert_events(&self, events: Vec<Event>) -> BoxFuture<'_, StoreResult<()>> {
        Box::pin(async move {
            let mut c = self.conn().await?;
            insert_events_in(&mut c, &events).await
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

    fn list_events<'a>(&'a self, q: &'a EventQuery) -> BoxFuture<'a, StoreResult<Vec<Event>>> {
        Box::pin(async move {
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
            if let Some(t) = q.since {
                add("\"time\" >=", Box::new(t.0));
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
            let mut c = self.conn().await?;
            let rows = c.query(&sql, &param_refs(&params)).await?;
            rows.iter().map(event_from_row).collect()
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

    fn insert_reference_token<'a>(
        &'a self,
        t: &'a ReferenceToken,
    ) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(async move {
            let data = codec::reference_to_json(t);
            let mut c = self.conn().await?;
            c.execute(
                "INSERT INTO reference_tokens (digest, data, expires_at, revoked)
                 VALUES ($1, $2::text::jsonb, $3, FALSE)",
                &[&&t.digest[..], &data, &t.expires_at.0],
            )
            .await
            .map(|_| ())
        })
    }

    fn get_reference_token<'a>(
        &'a self,
        digest: &'a [u8; 32],
    ) -> BoxFuture<'a, StoreResult<Option<ReferenceToken>>> {
        Box::pin(async move {
            let mut c = self.conn().await?;
            let Some(r) = c
                .query_opt(
                    "SELECT data::text, expires_at, revoked FROM reference_tokens WHERE digest = $1",
                    &[&&digest[..]],
                )
                .await?
            else {
                return Ok(None);
            };
            let w = "reference token";
            let data: String = get(&r, 0, w)?;
            codec::reference_from_json(*digest, get(&r, 1, w)?, get(&r, 2, w)?, &data).map(Some)
        })
    }

    fn revoke_reference_token<'a>(
        &'a self,
        digest: &'a [u8; 32],
    ) -> BoxFuture<'a, StoreResult<bool>> {
        Box::pin(async move {
            let mut c = self.conn().await?;
            let n = c
                .execute(
                    "UPDATE reference_tokens SET revoked = TRUE WHERE digest = $1",
                    &[&&digest[..]],
                )
                .await?;
            Ok(n > 0)
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
            for (sql, cutoff) in [
                (
                    "DELETE FROM codes WHERE digest IN (SELECT digest FROM codes
                     WHERE expires_at <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED)",
                    now.0 - 600_000,
                ),
                (
                    "DELETE FROM revoked_jtis WHERE jti IN (SELECT jti FROM revoked_jtis
                     WHERE expires_at <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED)",
                    now.0,
                ),
                (
                    "DELETE FROM reference_tokens WHERE digest IN (SELECT digest FROM reference_tokens
                     WHERE expires_at <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED)",
                    now.0,
                ),
            ] {
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
            let sql = format!(
                "DELETE FROM grants WHERE id IN (SELECT id FROM grants WHERE {}
                 LIMIT $2 FOR UPDATE SKIP LOCKED)
                 RETURNING id, client_id, subject, revoked_at, expires_at, sliding_ms, last_used_at",
                codec::PURGE_GRANTS_WHERE
            );
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
                let purged = codec::purge_events(&purged, now);
                insert_events_in(&mut c, &purged.expired).await?;
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
                .query_opt(
                    "WITH gone AS (
                       DELETE FROM sessions WHERE id IN (SELECT id FROM sessions
                         WHERE ended_at <= $1 OR expires_at <= $1
                         LIMIT $2 FOR UPDATE SKIP LOCKED)
                       RETURNING id),
                     clients AS (
                       DELETE FROM session_clients WHERE session_id IN (SELECT id FROM gone))
                     SELECT COUNT(*) FROM gone",
                    &[&cutoff.0, &(limit as i64)],
                )
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
            c.execute(
                "DELETE FROM events WHERE id IN (SELECT id FROM events WHERE id < $1
                   ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED)",
                &[&bound, &(limit as i64)],
            )
            .await
        })
    }

    /// Of two concurrent calls with the same id, the unique index lets exactly one
    /// insert (the other waits for it, then does nothing).
    fn revoke_jti<'a>(
        &'a self,
        jti: &'a str,
        expires_at: Timestamp,
    ) -> BoxFuture<'a, StoreResult<bool>> {
        Box::pin(async move {
            let mut c = self.conn().await?;
            c.execute(
                "INSERT INTO revoked_jtis (jti, expires_at) VALUES ($1, $2) ON CONFLICT (jti) DO NOTHING",
                &[&jti, &expires_at.0],
            )
            .await
            .map(|n| n == 1)
        })
    }

    fn is_jti_revoked<'a>(&'a self, jti: &'a str) -> BoxFuture<'a, StoreResult<bool>> {
        Box::pin(async move {
            let mut c = self.conn().await?;
            let row = c
                .query_opt("SELECT 1 FROM revoked_jtis WHERE jti = $1", &[&jti])
                .await?;
            Ok(row.is_some())
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

    fn delete_consents<'a>(
        &'a self,
        client_id: &'a str,
        subject: Option<&'a str>,
    ) -> BoxFuture<'a, StoreResult<u64>> {
        Box::pin(async move {
            let mut c = self.conn().await?;
            match subject {
                Some(sub) => {
                    c.execute(
                        "DELETE FROM consents WHERE subject = $1 AND client_id = $2",
                        &[&sub, &client_id],
                    )
                    .await
                }
                None => {
                    c.execute("DELETE FROM consents WHERE client_id = $1", &[&client_id])
                        .await
                }
            }
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
            c.execute(
                "DELETE FROM revocation_markers WHERE scope IN (SELECT scope FROM revocation_markers
                   WHERE marked_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)",
                &[&before.0, &(limit as i64)],
            )
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
