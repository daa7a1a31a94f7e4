//! Reference tokens and revoked JWT ids: the `ReferenceTokenStore` role for PgStore.

use super::rows::get;
use super::PgStore;
use crate::codec;
use baton_core::model::ReferenceToken;
use baton_core::store::{BoxFuture, ReferenceTokenStore, StoreResult};
use baton_core::time::Timestamp;

impl ReferenceTokenStore for PgStore {
    fn insert_reference_token<'a>(
        &'a self,
        t: &'a ReferenceToken,
    ) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(async move {
            let data = codec::reference_to_json(t);
            let mut c = self.conn().await?;
            c.execute(
                "INSERT INTO reference_tokens (digest, data, expires_at, revoked)
                 VALUES ($1, $2::text::jsonb, $3, FALSE)",
                &[&&t.digest[..], &data, &t.expires_at.0],
            )
            .await
            .map(|_| ())
        })
    }

    fn get_reference_token<'a>(
        &'a self,
        digest: &'a [u8; 32],
    ) -> BoxFuture<'a, StoreResult<Option<ReferenceToken>>> {
        Box::pin(async move {
            let mut c = self.conn().await?;
            let Some(r) = c
                .query_opt(
                    "SELECT data::text, expires_at, revoked FROM reference_tokens WHERE digest = $1",
                    &[&&digest[..]],
                )
                .await?
            else {
                return Ok(None);
            };
            let w = "reference token";
            let data: String = get(&r, 0, w)?;
            codec::reference_from_json(*digest, get(&r, 1, w)?, get(&r, 2, w)?, &data).map(Some)
        })
    }

    fn revoke_reference_token<'a>(
        &'a self,
        digest: &'a [u8; 32],
    ) -> BoxFuture<'a, StoreResult<bool>> {
        Box::pin(async move {
            let mut c = self.conn().await?;
            let n = c
                .execute(
                    "UPDATE reference_tokens SET revoked = TRUE WHERE digest = $1",
                    &[&&digest[..]],
                )
                .await?;
            Ok(n > 0)
        })
    }

    /// Of two concurrent calls with the same id, the unique index lets exactly one
    /// insert (the other waits for it, then does nothing).
    fn revoke_jti<'a>(
        &'a self,
        jti: &'a str,
        expires_at: Timestamp,
    ) -> BoxFuture<'a, StoreResult<bool>> {
        Box::pin(async move {
            let mut c = self.conn().await?;
            c.execute(
                "INSERT INTO revoked_jtis (jti, expires_at) VALUES ($1, $2) ON CONFLICT (jti) DO NOTHING",
                &[&jti, &expires_at.0],
            )
            .await
            .map(|n| n == 1)
        })
    }

    fn is_jti_revoked<'a>(&'a self, jti: &'a str) -> BoxFuture<'a, StoreResult<bool>> {
        Box::pin(async move {
            let mut c = self.conn().await?;
            let row = c
                .query_opt("SELECT 1 FROM revoked_jtis WHERE jti = $1", &[&jti])
                .await?;
            Ok(row.is_some())
        })
    }
}
