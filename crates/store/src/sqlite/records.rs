//! A refresh's reads at once: the `RecordsStore` role for SqliteStore. One statement,
//! so one read transaction (one shared lock of the file) instead of three; or, with the
//! client and user known in memory (`known.rs`), only the grant.

use super::clients::{decode as decode_client, ClientRow, CLIENT_COLS};
use super::grants::{grant_at, GRANT_COLS};
use super::users::{user_at, user_by_sub, USER_COLS};
use super::{unavailable, SqliteStore};
use crate::codec::{column_count, qualified};
use baton_core::model::{Client, GrantId};
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
        // Taken before anything is read: a forgetting after this keeps the read's
        // records from being learnt (`known.rs`).
        let epoch = self.known.epoch();
        let r = match self.known.client(client_id) {
            Some(client) => self.records_after(epoch, client, grant_id),
            None => self.all_records(epoch, client_id, grant_id),
        };
        Box::pin(ready(r))
    }
}

impl SqliteStore {
    /// The client, grant and user in one statement (one read transaction).
    fn all_records(
        &self,
        epoch: u64,
        client_id: &str,
        grant_id: Option<GrantId>,
    ) -> StoreResult<RequestRecords> {
        let records = self.read(|c| {
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
        })?;
        self.known
            .learn(epoch, records.client.as_ref(), records.user.as_ref());
        Ok(records)
    }

    /// With the client known: the grant, and its user unless known too.
    fn records_after(
        &self,
        epoch: u64,
        client: Client,
        grant_id: Option<GrantId>,
    ) -> StoreResult<RequestRecords> {
        let Some(gid) = grant_id else {
            return Ok(RequestRecords {
                client: Some(client),
                ..RequestRecords::default()
            });
        };
        let (grant, user) = self.read(|c| {
            static SQL: OnceLock<String> = OnceLock::new();
            let sql = SQL.get_or_init(|| format!("SELECT {GRANT_COLS} FROM grants WHERE id = ?1"));
            let mut s = c.prepare_cached(sql).map_err(unavailable)?;
            let mut rows = s.query([&gid.0[..]]).map_err(unavailable)?;
            let Some(row) = rows.next().map_err(unavailable)? else {
                return Ok((None, None));
            };
            let grant = grant_at(row, 0).map_err(unavailable)?;
            if let Some(u) = self.known.user(&grant.subject) {
                return Ok((Some(grant), Some(u)));
            }
            // The grant's statement is still open, so its read transaction is too: the
            // user comes from the same snapshot, in the same transaction.
            let user = user_by_sub(c, &grant.subject)?;
            self.known.learn(epoch, None, user.as_ref());
            Ok((Some(grant), user))
        })?;
        Ok(RequestRecords {
            client: Some(client),
            grant,
            user,
        })
    }
}
