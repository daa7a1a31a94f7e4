//! Consent: the `ConsentStore` role for PgStore.

use super::rows::get;
use super::PgStore;
use baton_core::store::{BoxFuture, Consent, ConsentStore, StoreResult};

impl ConsentStore for PgStore {
    fn get_consent<'a>(
        &'a self,
        subject: &'a str,
        client_id: &'a str,
    ) -> BoxFuture<'a, StoreResult<Consent>> {
        Box::pin(async move {
            let mut c = self.conn().await?;
            let row = c
                .query_opt(
                    "SELECT scopes, resources FROM consents WHERE subject = $1 AND client_id = $2",
                    &[&subject, &client_id],
                )
                .await?;
            match row {
                Some(r) => Ok(Consent {
                    scopes: get(&r, 0, "consent")?,
                    resources: get(&r, 1, "consent")?,
                }),
                None => Ok(Consent::default()),
            }
        })
    }

    fn list_consents<'a>(
        &'a self,
        subject: &'a str,
    ) -> BoxFuture<'a, StoreResult<Vec<(String, Consent)>>> {
        Box::pin(async move {
            let mut c = self.conn().await?;
            let rows = c
                .query(
                    "SELECT client_id, scopes, resources FROM consents WHERE subject = $1
                     ORDER BY client_id",
                    &[&subject],
                )
                .await?;
            rows.iter()
                .map(|r| {
                    Ok((
                        get(r, 0, "consent")?,
                        Consent {
                            scopes: get(r, 1, "consent")?,
                            resources: get(r, 2, "consent")?,
                        },
                    ))
                })
                .collect()
        })
    }

    /// One statement: the row is created, or its scopes and resources extended with
    /// those not yet there (in the order given), under the row lock of `ON CONFLICT DO
    /// UPDATE`, so concurrent additions all land.
    fn add_consent<'a>(
        &'a self,
        subject: &'a str,
        client_id: &'a str,
        add: &'a Consent,
    ) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(async move {
            let distinct = |l: &'a [String]| {
                let mut out: Vec<&str> = Vec::with_capacity(l.len());
                for s in l {
                    if !out.contains(&s.as_str()) {
                        out.push(s);
                    }
                }
                out
            };
            let (scopes, resources) = (distinct(&add.scopes), distinct(&add.resources));
            let mut c = self.conn().await?;
            c.execute(
                "INSERT INTO consents (subject, client_id, scopes, resources)
                 VALUES ($1, $2, $3::text[], $4::text[])
                 ON CONFLICT (subject, client_id) DO UPDATE SET scopes = consents.scopes || ARRAY(
                     SELECT s FROM unnest(EXCLUDED.scopes) WITH ORDINALITY AS t(s, i)
                     WHERE s <> ALL(consents.scopes) ORDER BY i),
                   resources = consents.resources || ARRAY(
                     SELECT s FROM unnest(EXCLUDED.resources) WITH ORDINALITY AS t(s, i)
                     WHERE s <> ALL(consents.resources) ORDER BY i)",
                &[&subject, &client_id, &scopes, &resources],
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
