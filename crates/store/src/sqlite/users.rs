//! Users: the `UserStore` role for SqliteStore.

use super::{unavailable, SqliteStore};
use baton_core::model::{ManagedBy, User};
use baton_core::store::{BoxFuture, StoreResult, UserStore};
use baton_core::time::Timestamp;
use rusqlite::{params, Connection, OptionalExtension, Row};
use std::future::ready;

fn user_from_row(r: &Row<'_>) -> rusqlite::Result<User> {
    user_at(r, 0)
}

/// A user from the [`USER_COLS`] of a row, starting at column `o`.
pub(super) fn user_at(r: &Row<'_>, o: usize) -> rusqlite::Result<User> {
    let claims: String = r.get(o + 4)?;
    let managed_by: String = r.get(o + 6)?;
    Ok(User {
        sub: r.get(o)?,
        username: r.get(o + 1)?,
        password_hash: r.get(o + 2)?,
        active: r.get(o + 3)?,
        claims: serde_json::from_str(&claims).unwrap_or_default(),
        roles: serde_json::from_str(&r.get::<_, String>(o + 7)?).unwrap_or_default(),
        groups: serde_json::from_str(&r.get::<_, String>(o + 8)?).unwrap_or_default(),
        admin: r.get(o + 9)?,
        created_at: Timestamp(r.get(o + 5)?),
        // Only 'config' and 'api' are ever written.
        managed_by: ManagedBy::parse(&managed_by).unwrap_or_default(),
    })
}

/// The user whose `sub` this is.
pub(super) fn user_by_sub(c: &Connection, sub: &str) -> StoreResult<Option<User>> {
    c.prepare_cached(&format!("SELECT {USER_COLS} FROM users WHERE sub = ?1"))
        .and_then(|mut s| s.query_row([sub], user_from_row).optional())
        .map_err(unavailable)
}

pub(super) const USER_COLS: &str =
    "sub, username, password_hash, active, claims, created_at, managed_by, user_roles, user_groups, admin";

impl UserStore for SqliteStore {
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
        Box::pin(ready(self.read(|c| user_by_sub(c, sub))))
    }

    fn upsert_user<'a>(&'a self, u: &'a User) -> BoxFuture<'a, StoreResult<()>> {
        let u = u.clone();
        Box::pin(self.write_records(move |c| {
            c.execute(
                &format!(
                    "INSERT INTO users ({USER_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
                     ON CONFLICT(sub) DO UPDATE SET username = excluded.username,
                       password_hash = excluded.password_hash, active = excluded.active, claims = excluded.claims,
                       managed_by = excluded.managed_by, user_roles = excluded.user_roles,
                       user_groups = excluded.user_groups, admin = excluded.admin"
                ),
                params![u.sub, u.username, u.password_hash, u.active, serde_json::Value::Object(u.claims).to_string(), u.created_at.0, u.managed_by.as_str(), serde_json::json!(u.roles).to_string(), serde_json::json!(u.groups).to_string(), u.admin],
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

    fn list_users_page<'a>(
        &'a self,
        after: Option<&'a str>,
        limit: usize,
    ) -> BoxFuture<'a, StoreResult<Vec<User>>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        Box::pin(ready(self.read(|c| {
            c.prepare_cached(&format!(
                "SELECT {USER_COLS} FROM users WHERE ?1 IS NULL OR username > ?1
                 ORDER BY username LIMIT ?2"
            ))
            .and_then(|mut s| s.query_map(params![after, limit], user_from_row)?.collect())
            .map_err(unavailable)
        })))
    }

    fn delete_user<'a>(&'a self, username: &'a str) -> BoxFuture<'a, StoreResult<bool>> {
        let u = username.to_string();
        Box::pin(self.write_records(move |c| {
            c.execute("DELETE FROM users WHERE username = ?1", [u])
                .map(|n| n > 0)
                .map_err(unavailable)
        }))
    }

    fn any_admin(&self) -> BoxFuture<'_, StoreResult<bool>> {
        Box::pin(ready(self.read(|c| {
            c.prepare_cached("SELECT EXISTS (SELECT 1 FROM users WHERE admin = 1)")
                .and_then(|mut s| s.query_row([], |r| r.get(0)))
                .map_err(unavailable)
        })))
    }
}
