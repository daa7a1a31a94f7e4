//! Authorization codes: the `CodeStore` role for PgStore.

use super::rows::get;
use super::PgStore;
use crate::codec;
use baton_core::error::StoreError;
use baton_core::model::{AuthCode, CodeUse};
use baton_core::store::{BoxFuture, CodeStore, StoreResult};

impl CodeStore for PgStore {
    fn insert_code<'a>(&'a self, code: &'a AuthCode) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(async move {
            let data = codec::code_to_json(code);
            let mut c = self.conn().await?;
            c.execute(
                "INSERT INTO codes (digest, data, expires_at, used) VALUES ($1, $2::text::jsonb, $3, NULL)",
                &[&&code.digest[..], &data, &code.expires_at.0],
            )
            .await
            .map(|_| ())
        })
    }

    fn get_code<'a>(
        &'a self,
        digest: &'a [u8; 32],
    ) -> BoxFuture<'a, StoreResult<Option<AuthCode>>> {
        Box::pin(async move {
            let mut c = self.conn().await?;
            let Some(r) = c
                .query_opt(
                    "SELECT data::text, expires_at, used::text FROM codes WHERE digest = $1",
                    &[&&digest[..]],
                )
                .await?
            else {
                return Ok(None);
            };
            let (data, used): (String, Option<String>) = (get(&r, 0, "code")?, get(&r, 2, "code")?);
            codec::code_from_json(*digest, get(&r, 1, "code")?, &data, used.as_deref()).map(Some)
        })
    }

    /// Atomic without a transaction: the conditional UPDATE marks the code used for
    /// exactly one caller (a concurrent one waits on the row lock, then finds `used`
    /// set and updates nothing). A caller that updated nothing reads the row again in a
    /// new statement, whose snapshot includes the winner's commit; `used` never goes
    /// back to NULL, so that read is the first use.
    fn consume_code<'a>(
        &'a self,
        digest: &'a [u8; 32],
        use_: &'a CodeUse,
    ) -> BoxFuture<'a, StoreResult<Option<AuthCode>>> {
        Box::pin(async move {
            let u = codec::code_use_to_json(use_);
            let d = &digest[..];
            let mut c = self.conn().await?;
            if let Some(r) = c
                .query_opt(
                    "UPDATE codes SET used = $2::text::jsonb WHERE digest = $1 AND used IS NULL
                     RETURNING data::text, expires_at",
                    &[&d, &u],
                )
                .await?
            {
                let data: String = get(&r, 0, "code")?;
                return codec::code_from_json(*digest, get(&r, 1, "code")?, &data, None).map(Some);
            }
            let Some(r) = c
                .query_opt(
                    "SELECT data::text, expires_at, used::text FROM codes WHERE digest = $1",
                    &[&d],
                )
                .await?
            else {
                return Ok(None);
            };
            let (data, used): (String, Option<String>) = (get(&r, 0, "code")?, get(&r, 2, "code")?);
            let Some(used) = used else {
                // Only a code inserted between the two statements could be unused here;
                // codes are inserted before anyone holds them, so this is not expected.
                return Err(StoreError::Unavailable(
                    "authorization code changed concurrently; retry".into(),
                ));
            };
            codec::code_from_json(*digest, get(&r, 1, "code")?, &data, Some(&used)).map(Some)
        })
    }
}
