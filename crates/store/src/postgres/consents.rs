//! Consent: the `ConsentStore` role for PgStore.

use super::rows::get;
use super::PgStore;
use baton_core::store::{BoxFuture, ConsentStore, StoreResult};

impl ConsentStore for PgStore {
    fn get_consent<'a>(
        &'a self,
        subject: &'a str,
        client_id: &'a str,
    ) -> BoxFuture<'a, StoreResult<Vec<String>>> {
        Box::pin(async move {
            let mut c = self.conn().await?;
            let row = c
                .query_opt(
                    "SELECT scopes FROM consents WHERE subject = $1 AND client_id = $2",
                    &[&subject, &client_id],
                )
                .await?;
            match row {
                Some(r) => get(&r, 0, "consent"),
                None => Ok(Vec::new()),
            }
        })
    }

    /// One statement: the row is created, or its scopes extended with those not yet
    /// there (in the order given), under the row lock of `ON CONFLICT DO UPDATE`, so
    /// concurrent additions all land.
    fn add_consent<'a>(
        &'a self,
        subject: &'a str,
        client_id: &'a str,
        scopes: &'a [String],
    ) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(async move {
            let mut add: Vec<&str> = Vec::with_capacity(scopes.len());
            for s in scopes {
                if !add.contains(&s.as_str()) {
                    add.push(s);
                }
            }
            let mut c = self.conn().await?;
            c.execute(
                "INSERT INTO consents (subject, client_id, scopes) VALUES ($1, $2, $3::text[])
                 ON CONFLICT (subject, client_id) DO UPDATE SET scopes = consents.scopes || ARRAY(
                     SELECT s FROM unnest(EXCLUDED.scopes) WITH ORDINALITY AS t(s, i)
                     WHERE s <> ALL(consents.scopes) ORDER BY i)",
                &[&subject, &client_id, &add],
            )
            .await
            .map(|_| ())
        })
    }

    fn delete_consents<'a>(
        &'a self,
        client_id: &'a str,
        subject: Option<&'a str>,
    ) -> BoxFuture<'a, StoreResult<u64>> {
        Box::pin(async move {
            let mut c = self.conn().await?;
            match subject {
                Some(sub) => {
                    c.execute(
                        "DELETE FROM consents WHERE subject = $1 AND client_id = $2",
                        &[&sub, &client_id],
                    )
                    .await
                }
                None => {
                    c.execute("DELETE FROM consents WHERE client_id = $1", &[&client_id])
                        .await
                }
            }
        })
    }
}
