//! Consent: the `ConsentStore` role for SqliteStore.

use super::{unavailable, SqliteStore};
use baton_core::scope::Scope;
use baton_core::store::{BoxFuture, ConsentStore, StoreResult};
use rusqlite::{params, OptionalExtension};
use std::future::ready;

impl ConsentStore for SqliteStore {
    fn get_consent<'a>(
        &'a self,
        subject: &'a str,
        client_id: &'a str,
    ) -> BoxFuture<'a, StoreResult<Vec<String>>> {
        Box::pin(ready(self.read(|c| {
            let s: Option<String> = c
                .prepare_cached("SELECT scopes FROM consents WHERE subject = ?1 AND client_id = ?2")
                .and_then(|mut s| s.query_row([subject, client_id], |r| r.get(0)).optional())
                .map_err(unavailable)?;
            Ok(
                s.map(|s| Scope::from_stored(s).iter().map(str::to_string).collect())
                    .unwrap_or_default(),
            )
        })))
    }

    fn add_consent<'a>(
        &'a self,
        subject: &'a str,
        client_id: &'a str,
        scopes: &'a [String],
    ) -> BoxFuture<'a, StoreResult<()>> {
        let (sub, cid, add) = (subject.to_string(), client_id.to_string(), scopes.to_vec());
        Box::pin(self.write(move |c| {
            let existing: Option<String> = c
                .query_row(
                    "SELECT scopes FROM consents WHERE subject = ?1 AND client_id = ?2",
                    [&sub, &cid],
                    |r| r.get(0),
                )
                .optional()
                .map_err(unavailable)?;
            // Stored space-joined, in the order first consented to.
            let existing = Scope::from_stored(existing.unwrap_or_default());
            let all = Scope::from_tokens(existing.iter().chain(add.iter().map(String::as_str)));
            c.execute(
                "INSERT INTO consents (subject, client_id, scopes) VALUES (?1, ?2, ?3)
                 ON CONFLICT(subject, client_id) DO UPDATE SET scopes = excluded.scopes",
                params![sub, cid, all.as_str()],
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
