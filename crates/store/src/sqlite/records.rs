//! A refresh's reads at once: the `RecordsStore` role for SqliteStore. One statement,
//! so one read transaction (one shared lock of the file) instead of three.

use super::clients::{decode as decode_client, ClientRow, CLIENT_COLS};
use super::grants::{grant_at, GRANT_COLS};
use super::users::{user_at, USER_COLS};
use super::{unavailable, SqliteStore};
use crate::codec::{column_count, qualified};
use baton_core::model::GrantId;
use baton_core::store::{BoxFuture, RecordsStore, RequestRecords, StoreResult};
use rusqlite::{params, OptionalExtension};
use std::future::ready;
use std::sync::OnceLock;

pub(super) fn sql() -> &'static str {
    static SQL: OnceLock<String> = OnceLock::new();
    SQL.get_or_init(|| {
        format!(
            "SELECT {}, {}, {} FROM (SELECT ?1 AS cid, ?2 AS gid) k
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

impl RecordsStore for SqliteStore {
    fn request_records<'a>(
        &'a self,
        client_id: &'a str,
        grant_id: Option<GrantId>,
    ) -> BoxFuture<'a, StoreResult<RequestRecords>> {
        Box::pin(ready(self.read(|c| {
            let gid = grant_id.map(|g| g.0.to_vec());
            let row = c
                .prepare_cached(sql())
                .and_then(|mut s| {
                    s.query_row(params![client_id, gid], |r| {
                        let client: Option<ClientRow> = match r.get::<_, Option<String>>(0)? {
                            None => None,
                            Some(id) => Some((id, r.get(1)?, r.get(2)?, r.get(3)?)),
                        };
                        let grant = match r.get::<_, Option<Vec<u8>>>(GRANT_AT)? {
                            None => None,
                            Some(_) => Some(grant_at(r, GRANT_AT)?),
                        };
                        let user = match r.get::<_, Option<String>>(USER_AT)? {
                            None => None,
                            Some(_) => Some(user_at(r, USER_AT)?),
                        };
                        Ok((client, grant, user))
                    })
                    .optional()
                })
                .map_err(unavailable)?;
            let Some((client, grant, user)) = row else {
                return Ok(RequestRecords::default());
            };
            Ok(RequestRecords {
                client: client.map(decode_client).transpose()?,
                grant,
                user,
            })
        })))
    }
}
