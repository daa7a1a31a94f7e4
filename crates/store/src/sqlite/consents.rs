//! Consent: the `ConsentStore` role for SqliteStore.

use super::{unavailable, SqliteStore};
use baton_core::scope::Scope;
use baton_core::store::{BoxFuture, Consent, ConsentStore, StoreResult};
use rusqlite::{params, OptionalExtension};
use std::future::ready;

/// Reads a space-joined list (scopes, or resource identifiers, which hold no spaces).
fn split(s: String) -> Vec<String> {
    Scope::from_stored(s).iter().map(str::to_string).collect()
}

/// `existing` with `add` appended, repeats dropped, space-joined.
fn union(existing: String, add: &[String]) -> String {
    Scope::from_tokens(
        Scope::from_stored(existing)
            .iter()
            .chain(add.iter().map(String::as_str)),
    )
    .into_string()
}

impl ConsentStore for SqliteStore {
    fn get_consent<'a>(
        &'a self,
        subject: &'a str,
        client_id: &'a str,
    ) -> BoxFuture<'a, StoreResult<Consent>> {
        Box::pin(ready(self.read(|c| {
            let s: Option<(String, String)> = c
                .prepare_cached(
                    "SELECT scopes, resources FROM consents WHERE subject = ?1 AND client_id = ?2",
                )
                .and_then(|mut s| {
                    s.query_row([subject, client_id], |r| Ok((r.get(0)?, r.get(1)?)))
                        .optional()
                })
                .map_err(unavailable)?;
            Ok(s.map(|(scopes, resources)| Consent {
                scopes: split(scopes),
                resources: split(resources),
            })
            .unwrap_or_default())
        })))
    }

    fn list_consents<'a>(
        &'a self,
        subject: &'a str,
    ) -> BoxFuture<'a, StoreResult<Vec<(String, Consent)>>> {
        Box::pin(ready(self.read(|c| {
            c.prepare_cached(
                "SELECT client_id, scopes, resources FROM consents WHERE subject = ?1
                 ORDER BY client_id",
            )
            .and_then(|mut s| {
                s.query_map([subject], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        Consent {
                            scopes: split(r.get(1)?),
                            resources: split(r.get(2)?),
                        },
                    ))
                })?
                .collect()
            })
            .map_err(unavailable)
        })))
    }

    fn add_consent<'a>(
        &'a self,
        subject: &'a str,
        client_id: &'a str,
        add: &'a Consent,
    ) -> BoxFuture<'a, StoreResult<()>> {
        let (sub, cid, add) = (subject.to_string(), client_id.to_string(), add.clone());
        Box::pin(self.write(move |c| {
            let (scopes, resources): (String, String) = c
                .query_row(
                    "SELECT scopes, resources FROM consents WHERE subject = ?1 AND client_id = ?2",
                    [&sub, &cid],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()
                .map_err(unavailable)?
                .unwrap_or_default();
            // Stored space-joined, in the order first consented to.
            c.execute(
                "INSERT INTO consents (subject, client_id, scopes, resources) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(subject, client_id) DO UPDATE SET scopes = excluded.scopes,
                   resources = excluded.resources",
                params![sub, cid, union(scopes, &add.scopes), union(resources, &add.resources)],
            )
            .map(|_| ())
            .map_err(unavailable)
        }))
    }

    fn delete_consents<'a>(
        &'a self,
        client_id: &'a str,
        subject: Option<&'a str>,
    ) -> BoxFuture<'a, StoreResult<u64>> {
        let (cid, sub) = (client_id.to_string(), subject.map(str::to_string));
        Box::pin(self.write(move |c| {
            match &sub {
                Some(sub) => c.execute(
                    "DELETE FROM consents WHERE subject = ?1 AND client_id = ?2",
                    [sub, &cid],
                ),
                None => c.execute("DELETE FROM consents WHERE client_id = ?1", [&cid]),
            }
            .map(|n| n as u64)
            .map_err(unavailable)
        }))
    }
}
