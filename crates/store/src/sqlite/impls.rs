//! `GrantStore` and `Store` for SQLite.

use super::{unavailable, SqliteStore};
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
use rusqlite::types::Value as SqlValue;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, Row};
use std::future::ready;

const GRANT_COLS: &str =
    "id, client_id, subject, scope, session_id, online, auth_time, created_at, \
     expires_at, sliding_ms, last_used_at, generation, generation_started_at, rotate, grace_ms, \
     update_claims, revoked_at, revoked_reason, claims";

fn grant_from_row(r: &Row<'_>) -> rusqlite::Result<Grant> {
    let revoked_at: Option<i64> = r.get(16)?;
    Ok(Grant {
        id: GrantId(r.get::<_, [u8; 16]>(0)?),
        client_id: r.get(1)?,
        subject: r.get(2)?,
        scope: r.get(3)?,
        session_id: r.get(4)?,
        online: r.get(5)?,
        auth_time: Timestamp(r.get(6)?),
        created_at: Timestamp(r.get(7)?),
        expires_at: r.get::<_, Option<i64>>(8)?.map(Timestamp),
        sliding: r.get::<_, Option<i64>>(9)?.map(Dur),
        last_used_at: Timestamp(r.get(10)?),
        generation: r.get::<_, i64>(11)? as u64,
        generation_started_at: Timestamp(r.get(12)?),
        rotate: r.get(13)?,
        grace: Dur(r.get(14)?),
        update_claims: r.get(15)?,
        claims_snapshot: r.get(18)?,
        cached: false,
        status: match revoked_at {
            None => GrantStatus::Active,
            Some(at) => GrantStatus::Revoked {
                at: Timestamp(at),
                reason: r.get::<_, Option<String>>(17)?.unwrap_or_default(),
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

fn user_from_row(r: &Row<'_>) -> rusqlite::Result<User> {
    let claims: String = r.get(4)?;
    Ok(User {
        sub: r.get(0)?,
        username: r.get(1)?,
        password_hash: r.get(2)?,
        active: r.get(3)?,
        claims: serde_json::from_str(&claims).unwrap_or_default(),
        created_at: Timestamp(r.get(5)?),
    })
}

/// kid, alg, sealed private key, public JWK, created, retired.
type KeyRow = (String, String, Vec<u8>, String, i64, Option<i64>);

const USER_COLS: &str = "sub, username, password_hash, active, claims, created_at";

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

fn revoke_in(
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
                kind: "grant.revoked".into(),
                time: why.now,
                client_id: Some(client_id.clone()),
                subject: Some(subject.clone()),
                grant_id: Some(*id),
                ip: why.ip.clone(),
                user_agent: why.user_agent.clone(),
                details: serde_json::json!({ "reason": why.reason }),
            },
        )?;
    }
    for e in &why.extra_events {
        insert_event(c, e)?;
    }
    Ok(rows.into_iter().map(|r| r.0).collect())
}

impl GrantStore for SqliteStore {
    fn insert_grant<'a>(&'a self, g: &'a Grant, event: Event) -> BoxFuture<'a, StoreResult<()>> {
        let g = g.clone();
        Box::pin(self.write(move |c| {
            let (revoked_at, reason) = match &g.status {
                GrantStatus::Active => (None, None),
                GrantStatus::Revoked { at, reason } => (Some(at.0), Some(reason.clone())),
            };
            c.prepare_cached(&format!(
                "INSERT INTO grants ({GRANT_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)"
            ))
            .and_then(|mut s| {
                s.execute(params![
                    &g.id.0[..],
                    g.client_id,
                    g.subject,
                    g.scope,
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
                    g.claims_snapshot
                ])
            })
            .map_err(unavailable)?;
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
        Box::pin(self.write(move |c| {
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
        Box::pin(self.write(move |c| {
            c.prepare_cached("UPDATE grants SET last_used_at = MAX(last_used_at, ?2) WHERE id = ?1")
                .and_then(|mut s| s.execute(params![&id.0[..], now.0]))
                .map(|_| ())
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

impl Store for SqliteStore {
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

    fn get_client<'a>(&'a self, id: &'a str) -> BoxFuture<'a, StoreResult<Option<Client>>> {
        Box::pin(ready(self.read(|c| {
            let row: Option<(String, i64)> = c
                .prepare_cached("SELECT data, created_at FROM clients WHERE client_id = ?1")
                .and_then(|mut s| s.query_row([id], |r| Ok((r.get(0)?, r.get(1)?))).optional())
                .map_err(unavailable)?;
            row.map(|(d, t)| codec::client_from_json(id.to_string(), t, &d))
                .transpose()
        })))
    }

    fn insert_client<'a>(&'a self, client: &'a Client) -> BoxFuture<'a, StoreResult<()>> {
        let (id, data, t) = (
            client.client_id.clone(),
            codec::client_to_json(client),
            client.created_at.0,
        );
        Box::pin(self.write(move |c| {
            c.execute(
                "INSERT INTO clients (client_id, data, created_at) VALUES (?1, ?2, ?3)",
                params![id, data, t],
            )
            .map(|_| ())
            .map_err(unavailable)
        }))
    }

    fn upsert_client<'a>(&'a self, client: &'a Client) -> BoxFuture<'a, StoreResult<()>> {
        let (id, data, t) = (
            client.client_id.clone(),
            codec::client_to_json(client),
            client.created_at.0,
        );
        Box::pin(self.write(move |c| {
            c.execute(
                "INSERT INTO clients (client_id, data, created_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT(client_id) DO UPDATE SET data = excluded.data",
                params![id, data, t],
            )
            .map(|_| ())
            .map_err(unavailable)
        }))
    }

    fn list_clients(&self) -> BoxFuture<'_, StoreResult<Vec<Client>>> {
        Box::pin(ready(self.read(|c| {
            let rows: Vec<(String, String, i64)> = c
                .prepare_cached(
                    "SELECT client_id, data, created_at FROM clients ORDER BY client_id",
                )
                .and_then(|mut s| {
                    s.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                        .collect()
                })
                .map_err(unavailable)?;
            rows.into_iter()
                .map(|(id, d, t)| codec::client_from_json(id, t, &d))
                .collect()
        })))
    }

    fn delete_client<'a>(&'a self, id: &'a str) -> BoxFuture<'a, StoreResult<bool>> {
        let id = id.to_string();
        Box::pin(self.write(move |c| {
            c.execute("DELETE FROM clients WHERE client_id = ?1", [id])
                .map(|n| n > 0)
                .map_err(unavailable)
        }))
    }

    fn get_user<'a>(&'a self, username: &'a str) -> BoxFuture<'a, StoreResult<Option<User>>> {
        Box::pin(ready(self.read(|c| {
            c.prepare_cached(&format!(
                "SELECT {USER_COLS} FROM users WHERE username = ?1"
            ))
            .and_then(|mut s| s.query_row([username], user_from_row).optional())
            .map_err(unavailable)
        })))
    }

    fn get_user_by_sub<'a>(&'a self, sub: &'a str) -> BoxFuture<'a, StoreResult<Option<User>>> {
        Box::pin(ready(self.read(|c| {
            c.prepare_cached(&format!("SELECT {USER_COLS} FROM users WHERE sub = ?1"))
                .and_then(|mut s| s.query_row([sub], user_from_row).optional())
                .map_err(unavailable)
        })))
    }

    fn upsert_user<'a>(&'a self, u: &'a User) -> BoxFuture<'a, StoreResult<()>> {
        let u = u.clone();
        Box::pin(self.write(move |c| {
            c.execute(
                &format!(
                    "INSERT INTO users ({USER_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                     ON CONFLICT(sub) DO UPDATE SET username = excluded.username,
                       password_hash = excluded.password_hash, active = excluded.active, claims = excluded.claims"
                ),
                params![u.sub, u.username, u.password_hash, u.active, serde_json::Value::Object(u.claims).to_string(), u.created_at.0],
            )
            .map(|_| ())
            .map_err(unavailable)
        }))
    }

    fn list_users(&self) -> BoxFuture<'_, StoreResult<Vec<User>>> {
        Box::pin(ready(self.read(|c| {
            c.prepare_cached(&format!("SELECT {USER_COLS} FROM users ORDER BY username"))
                .and_then(|mut s| s.query_map([], user_from_row)?.collect())
                .map_err(unavailable)
        })))
    }

    fn delete_user<'a>(&'a self, username: &'a str) -> BoxFuture<'a, StoreResult<bool>> {
        let u = username.to_string();
        Box::pin(self.write(move |c| {
            c.execute("DELETE FROM users WHERE username = ?1", [u])
                .map(|n| n > 0)
                .map_err(unavailable)
        }))
    }

    fn list_keys(&self) -> BoxFuture<'_, StoreResult<Vec<SigningKey>>> {
        Box::pin(ready(self.read(|c| {
            let rows: Vec<KeyRow> = c
                .prepare_cached(
                    "SELECT kid, alg, sealed_private, public_jwk, created_at, retired_at FROM signing_keys ORDER BY created_at",
                )
                .and_then(|mut s| {
                    s.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)))?
                        .collect()
                })
                .map_err(unavailable)?;
            rows.into_iter()
                .map(|(kid, alg, sealed, jwk, created, retired)| {
                    Ok(SigningKey {
                        kid,
                        alg: SigAlg::parse(&alg).ok_or_else(|| StoreError::Corrupt("signing key algorithm".into()))?,
                        sealed_private: sealed,
                        public_jwk: jwk,
                        created_at: Timestamp(created),
                        retired_at: retired.map(Timestamp),
                    })
                })
                .collect()
        })))
    }

    fn insert_key<'a>(&'a self, k: &'a SigningKey) -> BoxFuture<'a, StoreResult<()>> {
        let k = k.clone();
        Box::pin(self.write(move |c| {
            c.execute(
                "INSERT INTO signing_keys (kid, alg, sealed_private, public_jwk, created_at, retired_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![k.kid, k.alg.as_str(), k.sealed_private, k.public_jwk, k.created_at.0, k.retired_at.map(|t| t.0)],
            )
            .map(|_| ())
            .map_err(unavailable)
        }))
    }

    fn retire_key<'a>(&'a self, kid: &'a str, at: Timestamp) -> BoxFuture<'a, StoreResult<()>> {
        let kid = kid.to_string();
        Box::pin(self.write(move |c| {
            c.execute(
                "UPDATE signing_keys SET retired_at = ?2 WHERE kid = ?1 AND (retired_at IS NULL OR retired_at > ?2)",
                params![kid, at.0],
            )
            .map(|_| ())
            .map_err(unavailable)
        }))
    }

    fn insert_code<'a>(&'a self, code: &'a AuthCode) -> BoxFuture<'a, StoreResult<()>> {
        let (d, data, exp) = (code.digest, codec::code_to_json(code), code.expires_at.0);
        Box::pin(self.write(move |c| {
            c.prepare_cached(
                "INSERT INTO codes (digest, data, expires_at, used) VALUES (?1, ?2, ?3, NULL)",
            )
            .and_then(|mut s| s.execute(params![&d[..], data, exp]))
            .map(|_| ())
            .map_err(unavailable)
        }))
    }

    fn get_code<'a>(
        &'a self,
        digest: &'a [u8; 32],
    ) -> BoxFuture<'a, StoreResult<Option<AuthCode>>> {
        Box::pin(ready(self.read(|c| {
            let row: Option<(String, i64, Option<String>)> = c
                .prepare_cached("SELECT data, expires_at, used FROM codes WHERE digest = ?1")
                .and_then(|mut s| {
                    s.query_row([&digest[..]], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                        .optional()
                })
                .map_err(unavailable)?;
            row.map(|(data, exp, used)| codec::code_from_json(*digest, exp, &data, used.as_deref()))
                .transpose()
        })))
    }

    fn consume_code<'a>(
        &'a self,
        digest: &'a [u8; 32],
        use_: &'a CodeUse,
    ) -> BoxFuture<'a, StoreResult<Option<AuthCode>>> {
        let (d, u) = (*digest, codec::code_use_to_json(use_));
        Box::pin(self.write(move |c| {
            // The single writer makes this read-then-update atomic.
            let row: Option<(String, i64, Option<String>)> = c
                .prepare_cached("SELECT data, expires_at, used FROM codes WHERE digest = ?1")
                .and_then(|mut s| {
                    s.query_row([&d[..]], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                        .optional()
                })
                .map_err(unavailable)?;
            let Some((data, exp, used)) = row else {
                return Ok(None);
            };
            if used.is_none() {
                c.prepare_cached("UPDATE codes SET used = ?2 WHERE digest = ?1")
                    .and_then(|mut s| s.execute(params![&d[..], u]))
                    .map_err(unavailable)?;
            }
            codec::code_from_json(d, exp, &data, used.as_deref()).map(Some)
        }))
    }

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

    fn get_consent<'a>(
        &'a self,
        subject: &'a str,
        client_id: &'a str,
    ) -> BoxFuture<'a, StoreResult<Vec<String>>> {
        Box::pin(ready(self.read(|c| {
            let s: Option<String> = c
                .prepare_cached("SELECT scopes FROM consents WHERE subject = ?1 AND client_id = ?2")
                .and_then(|mut s| s.query_row([subject, client_id], |r| r.get(0)).optional())
                .map_err(unavailable)?;
            Ok(s.map(|s| {
                s.split(' ')
                    .filter(|t| !t.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default())
        })))
    }

    fn add_consent<'a>(
        &'a self,
        subject: &'a str,
        client_id: &'a str,
        scopes: &'a [String],
    ) -> BoxFuture<'a, StoreResult<()>> {
        let (sub, cid, add) = (subject.to_string(), client_id.to_string(), scopes.to_vec());
        Box::pin(self.write(move |c| {
            let existing: Option<String> = c
                .query_row(
                    "SELECT scopes FROM consents WHERE subject = ?1 AND client_id = ?2",
                    [&sub, &cid],
                    |r| r.get(0),
                )
                .optional()
                .map_err(unavailable)?;
            let mut all: Vec<String> = existing
                .map(|s| {
                    s.split(' ')
                        .filter(|t| !t.is_empty())
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default();
            for s in add {
                if !all.contains(&s) {
                    all.push(s);
                }
            }
            c.execute(
                "INSERT INTO consents (subject, client_id, scopes) VALUES (?1, ?2, ?3)
                 ON CONFLICT(subject, client_id) DO UPDATE SET scopes = excluded.scopes",
                params![sub, cid, all.join(" ")],
            )
            .map(|_| ())
            .map_err(unavailable)
        }))
    }

    fn insert_events(&self, events: Vec<Event>) -> BoxFuture<'_, StoreResult<()>> {
        Box::pin(self.write(move |c| events.iter().try_for_each(|e| insert_event(c, e))))
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

    fn list_events<'a>(&'a self, q: &'a EventQuery) -> BoxFuture<'a, StoreResult<Vec<Event>>> {
        Box::pin(ready(self.read(|c| {
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
            if let Some(t) = q.since {
                add("time >= ?", SqlValue::Integer(t.0));
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
            c.prepare_cached(&sql)
                .and_then(|mut s| s.query_map(params_from_iter(args), event_from_row)?.collect())
                .map_err(unavailable)
        })))
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

    fn insert_reference_token<'a>(
        &'a self,
        t: &'a ReferenceToken,
    ) -> BoxFuture<'a, StoreResult<()>> {
        let (d, data, exp) = (t.digest, codec::reference_to_json(t), t.expires_at.0);
        Box::pin(self.write(move |c| {
            c.prepare_cached("INSERT INTO reference_tokens (digest, data, expires_at, revoked) VALUES (?1, ?2, ?3, 0)")
                .and_then(|mut s| s.execute(params![&d[..], data, exp]))
                .map(|_| ())
                .map_err(unavailable)
        }))
    }

    fn get_reference_token<'a>(
        &'a self,
        digest: &'a [u8; 32],
    ) -> BoxFuture<'a, StoreResult<Option<ReferenceToken>>> {
        Box::pin(ready(self.read(|c| {
            let row: Option<(String, i64, bool)> = c
                .prepare_cached(
                    "SELECT data, expires_at, revoked FROM reference_tokens WHERE digest = ?1",
                )
                .and_then(|mut s| {
                    s.query_row([&digest[..]], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                        .optional()
                })
                .map_err(unavailable)?;
            row.map(|(d, e, r)| codec::reference_from_json(*digest, e, r, &d))
                .transpose()
        })))
    }

    fn revoke_reference_token<'a>(
        &'a self,
        digest: &'a [u8; 32],
    ) -> BoxFuture<'a, StoreResult<bool>> {
        let d = *digest;
        Box::pin(self.write(move |c| {
            c.execute(
                "UPDATE reference_tokens SET revoked = 1 WHERE digest = ?1",
                [&d[..]],
            )
            .map(|n| n > 0)
            .map_err(unavailable)
        }))
    }

    fn purge_expired(&self, now: Timestamp, limit: usize) -> BoxFuture<'_, StoreResult<u64>> {
        Box::pin(self.write(move |c| {
            let mut n = 0u64;
            // Used codes are kept 10 minutes past expiry so that a late replay still
            // revokes what the first use issued (RFC 6749 §4.1.2).
            for (table, key, cutoff) in [
                ("codes", "digest", now.0 - 600_000),
                ("revoked_jtis", "jti", now.0),
                ("reference_tokens", "digest", now.0),
            ] {
                n += c
                    .execute(
                        &format!("DELETE FROM {table} WHERE {key} IN (SELECT {key} FROM {table} WHERE expires_at <= ?1 LIMIT ?2)"),
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
                .prepare_cached(&format!(
                    "DELETE FROM grants WHERE id IN (SELECT id FROM grants WHERE {} LIMIT ?2)
                     RETURNING id, client_id, subject, revoked_at, expires_at, sliding_ms, last_used_at",
                    codec::PURGE_GRANTS_WHERE.replace('$', "?")
                ))
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
            let purged = codec::purge_events(&rows, now);
            for e in &purged.expired {
                insert_event(c, e)?;
            }
            Ok(purged)
        }))
    }

    fn purge_sessions(&self, cutoff: Timestamp, limit: usize) -> BoxFuture<'_, StoreResult<u64>> {
        Box::pin(self.write(move |c| {
            let ids: Vec<String> = c
                .prepare_cached(
                    "DELETE FROM sessions WHERE id IN (SELECT id FROM sessions
                     WHERE ended_at <= ?1 OR expires_at <= ?1 LIMIT ?2) RETURNING id",
                )
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
            c.execute(
                "DELETE FROM events WHERE id IN (SELECT id FROM events WHERE id < ?1 ORDER BY id LIMIT ?2)",
                params![bound, limit as i64],
            )
            .map(|n| n as u64)
            .map_err(unavailable)
        }))
    }

    fn revoke_jti<'a>(
        &'a self,
        jti: &'a str,
        expires_at: Timestamp,
    ) -> BoxFuture<'a, StoreResult<bool>> {
        let jti = jti.to_string();
        Box::pin(self.write(move |c| {
            c.execute(
                "INSERT INTO revoked_jtis (jti, expires_at) VALUES (?1, ?2) ON CONFLICT(jti) DO NOTHING",
                params![jti, expires_at.0],
            )
            .map(|n| n == 1)
            .map_err(unavailable)
        }))
    }

    fn is_jti_revoked<'a>(&'a self, jti: &'a str) -> BoxFuture<'a, StoreResult<bool>> {
        Box::pin(ready(self.read(|c| {
            c.prepare_cached("SELECT 1 FROM revoked_jtis WHERE jti = ?1")
                .and_then(|mut s| s.exists([jti]))
                .map_err(unavailable)
        })))
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

    fn delete_consents<'a>(
        &'a self,
        client_id: &'a str,
        subject: Option<&'a str>,
    ) -> BoxFuture<'a, StoreResult<u64>> {
        let (cid, sub) = (client_id.to_string(), subject.map(str::to_string));
        Box::pin(self.write(move |c| {
            match &sub {
                Some(sub) => c.execute(
                    "DELETE FROM consents WHERE subject = ?1 AND client_id = ?2",
                    [sub, &cid],
                ),
                None => c.execute("DELETE FROM consents WHERE client_id = ?1", [&cid]),
            }
            .map(|n| n as u64)
            .map_err(unavailable)
        }))
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
            c.execute(
                "DELETE FROM revocation_markers WHERE scope IN \
                 (SELECT scope FROM revocation_markers WHERE marked_at < ?1 LIMIT ?2)",
                params![before.0, limit as i64],
            )
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
