//! Users: the `UserStore` role for PgStore.

use super::rows::get;
use super::PgStore;
use baton_core::error::StoreError;
use baton_core::model::{ManagedBy, User};
use baton_core::store::{BoxFuture, StoreResult, UserStore};
use baton_core::time::Timestamp;
use tokio_postgres::Row;

pub(super) const USER_COLS: &str =
    "sub, username, password_hash, active, claims::text, created_at, managed_by, user_roles, \
     user_groups, admin";

fn user_from_row(r: &Row) -> Result<User, StoreError> {
    user_at(r, 0)
}

/// A user from the [`USER_COLS`] of a row, starting at column `o`.
pub(super) fn user_at(r: &Row, o: usize) -> Result<User, StoreError> {
    let w = "user";
    let claims: String = get(r, o + 4, w)?;
    let managed_by: String = get(r, o + 6, w)?;
    Ok(User {
        sub: get(r, o, w)?,
        username: get(r, o + 1, w)?,
        password_hash: get(r, o + 2, w)?,
        active: get(r, o + 3, w)?,
        claims: serde_json::from_str(&claims)
            .map_err(|_| StoreError::Corrupt("stored user claims could not be decoded".into()))?,
        roles: get(r, o + 7, w)?,
        groups: get(r, o + 8, w)?,
        admin: get(r, o + 9, w)?,
        created_at: Timestamp(get(r, o + 5, w)?),
        managed_by: ManagedBy::parse(&managed_by)
            .ok_or_else(|| StoreError::Corrupt(format!("user managed_by `{managed_by}`")))?,
    })
}

impl UserStore for PgStore {
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
                "INSERT INTO users (sub, username, password_hash, active, claims, created_at,
                   managed_by, user_roles, user_groups, admin)
                 VALUES ($1, $2, $3, $4, $5::text::jsonb, $6, $7, $8, $9, $10)
                 ON CONFLICT (sub) DO UPDATE SET username = EXCLUDED.username,
                   password_hash = EXCLUDED.password_hash, active = EXCLUDED.active,
                   claims = EXCLUDED.claims, managed_by = EXCLUDED.managed_by,
                   user_roles = EXCLUDED.user_roles, user_groups = EXCLUDED.user_groups,
                   admin = EXCLUDED.admin",
                &[
                    &u.sub,
                    &u.username,
                    &u.password_hash,
                    &u.active,
                    &claims,
                    &u.created_at.0,
                    &u.managed_by.as_str(),
                    &u.roles,
                    &u.groups,
                    &u.admin,
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

    fn list_users_page<'a>(
        &'a self,
        after: Option<&'a str>,
        limit: usize,
    ) -> BoxFuture<'a, StoreResult<Vec<User>>> {
        Box::pin(async move {
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            // Bytewise order ("C"), as SQLite's: the cursor means the same everywhere.
            let sql = format!(
                "SELECT {USER_COLS} FROM users
                 WHERE $1::text IS NULL OR username COLLATE \"C\" > $1::text
                 ORDER BY username COLLATE \"C\" LIMIT $2"
            );
            let mut c = self.conn().await?;
            let rows = c.query(&sql, &[&after, &limit]).await?;
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

    fn any_admin(&self) -> BoxFuture<'_, StoreResult<bool>> {
        Box::pin(async move {
            let mut c = self.conn().await?;
            let r = c
                .query_opt("SELECT EXISTS (SELECT 1 FROM users WHERE admin)", &[])
                .await?;
            match r {
                Some(r) => get(&r, 0, "user"),
                None => Ok(false),
            }
        })
    }
}
