//! Signing keys: the `KeyStore` role for SqliteStore.

use super::{unavailable, SqliteStore};
use baton_core::error::StoreError;
use baton_core::model::{SigAlg, SigningKey};
use baton_core::store::{BoxFuture, KeyStore, StoreResult};
use baton_core::time::Timestamp;
use rusqlite::params;
use std::future::ready;

/// kid, alg, sealed private key, public JWK, created, retired.
type KeyRow = (String, String, Vec<u8>, String, i64, Option<i64>);

impl KeyStore for SqliteStore {
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
}
