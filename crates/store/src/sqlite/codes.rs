//! Authorization codes: the `CodeStore` role for SqliteStore.

use super::{unavailable, SqliteStore};
use crate::codec;
use baton_core::model::{AuthCode, CodeUse};
use baton_core::store::{BoxFuture, CodeStore, StoreResult};
use rusqlite::{params, OptionalExtension};
use std::future::ready;

impl CodeStore for SqliteStore {
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
}
