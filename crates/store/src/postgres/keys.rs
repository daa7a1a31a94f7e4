//! Signing keys: the `KeyStore` role for PgStore.

use super::rows::get;
use super::PgStore;
use baton_core::error::StoreError;
use baton_core::model::{SigAlg, SigningKey};
use baton_core::store::{BoxFuture, KeyStore, StoreResult};
use baton_core::time::Timestamp;

impl KeyStore for PgStore {
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
}
