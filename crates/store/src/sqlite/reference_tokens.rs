//! Reference tokens and revoked JWT ids: the `ReferenceTokenStore` role for SqliteStore.

use super::{unavailable, SqliteStore};
use crate::codec;
use baton_core::model::ReferenceToken;
use baton_core::store::{BoxFuture, ReferenceTokenStore, StoreResult};
use baton_core::time::Timestamp;
use rusqlite::{params, OptionalExtension};
use std::future::ready;

impl ReferenceTokenStore for SqliteStore {
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
}
