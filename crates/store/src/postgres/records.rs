//! A refresh's reads at once: the `RecordsStore` role for PgStore. One statement, so
//! one round trip instead of three.

use super::clients::{client_at, CLIENT_COLS};
use super::grants::{grant_at, GRANT_COLS};
use super::rows::get;
use super::users::{user_at, USER_COLS};
use super::PgStore;
use crate::codec::{column_count, qualified};
use baton_core::model::GrantId;
use baton_core::store::{BoxFuture, RecordsStore, RequestRecords, StoreResult};
use std::sync::OnceLock;

pub(super) fn sql() -> &'static str {
    static SQL: OnceLock<String> = OnceLock::new();
    SQL.get_or_init(|| {
        format!(
            "SELECT {}, {}, {} FROM (SELECT $1::text AS cid, $2::bytea AS gid) k
             LEFT JOIN clients c ON c.client_id = k.cid
             LEFT JOIN grants g ON g.id = k.gid
             LEFT JOIN users u ON u.sub = g.subject",
            qualified("c", CLIENT_COLS),
            qualified("g", GRANT_COLS),
            qualified("u", USER_COLS),
        )
    })
}

/// Where each record's columns start in the row.
const GRANT_AT: usize = column_count(CLIENT_COLS);
const USER_AT: usize = GRANT_AT + column_count(GRANT_COLS);

impl RecordsStore for PgStore {
    fn request_records<'a>(
        &'a self,
        client_id: &'a str,
        grant_id: Option<GrantId>,
    ) -> BoxFuture<'a, StoreResult<RequestRecords>> {
        Box::pin(async move {
            let gid = grant_id.map(|g| g.0.to_vec());
            let mut c = self.conn().await?;
            // One row always (the key row); none only when a value cannot be stored
            // (a NUL byte): then nothing matches.
            let Some(r) = c.query_opt(sql(), &[&client_id, &gid]).await? else {
                return Ok(RequestRecords::default());
            };
            let w = "request records";
            let client = match get::<Option<String>>(&r, 0, w)? {
                None => None,
                Some(_) => Some(client_at(&r, 0)?),
            };
            let grant = match get::<Option<Vec<u8>>>(&r, GRANT_AT, w)? {
                None => None,
                Some(_) => Some(grant_at(&r, GRANT_AT)?),
            };
            let user = match get::<Option<String>>(&r, USER_AT, w)? {
                None => None,
                Some(_) => Some(user_at(&r, USER_AT)?),
            };
            Ok(RequestRecords {
                client,
                grant,
                user,
            })
        })
    }
}
