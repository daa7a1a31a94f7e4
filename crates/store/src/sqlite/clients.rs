//! Registered clients: the `ClientStore` role for SqliteStore.

use super::{unavailable, SqliteStore};
use crate::codec;
use baton_core::model::Client;
use baton_core::store::{BoxFuture, ClientStore, StoreResult};
use rusqlite::{params, OptionalExtension};
use std::future::ready;

impl ClientStore for SqliteStore {
    fn get_client<'a>(&'a self, id: &'a str) -> BoxFuture<'a, StoreResult<Option<Client>>> {
        Box::pin(ready(self.read(|c| {
            let row: Option<(String, i64)> = c
                .prepare_cached("SELECT data, created_at FROM clients WHERE client_id = ?1")
                .and_then(|mut s| s.query_row([id], |r| Ok((r.get(0)?, r.get(1)?))).optional())
                .map_err(unavailable)?;
            row.map(|(d, t)| codec::client_from_json(id.to_string(), t, &d))
                .transpose()
        })))
    }

    fn insert_client<'a>(&'a self, client: &'a Client) -> BoxFuture<'a, StoreResult<()>> {
        let (id, data, t) = (
            client.client_id.clone(),
            codec::client_to_json(client),
            client.created_at.0,
        );
        Box::pin(self.write(move |c| {
            c.execute(
                "INSERT INTO clients (client_id, data, created_at) VALUES (?1, ?2, ?3)",
                params![id, data, t],
            )
            .map(|_| ())
            .map_err(unavailable)
        }))
    }

    fn upsert_client<'a>(&'a self, client: &'a Client) -> BoxFuture<'a, StoreResult<()>> {
        let (id, data, t) = (
            client.client_id.clone(),
            codec::client_to_json(client),
            client.created_at.0,
        );
        Box::pin(self.write(move |c| {
            c.execute(
                "INSERT INTO clients (client_id, data, created_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT(client_id) DO UPDATE SET data = excluded.data",
                params![id, data, t],
            )
            .map(|_| ())
            .map_err(unavailable)
        }))
    }

    fn update_client<'a>(&'a self, client: &'a Client) -> BoxFuture<'a, StoreResult<bool>> {
        let (id, data) = (client.client_id.clone(), codec::client_to_json(client));
        Box::pin(self.write(move |c| {
            c.execute(
                "UPDATE clients SET data = ?2 WHERE client_id = ?1",
                params![id, data],
            )
            .map(|n| n > 0)
            .map_err(unavailable)
        }))
    }

    fn list_clients(&self) -> BoxFuture<'_, StoreResult<Vec<Client>>> {
        Box::pin(ready(self.read(|c| {
            let rows: Vec<(String, String, i64)> = c
                .prepare_cached(
                    "SELECT client_id, data, created_at FROM clients ORDER BY client_id",
                )
                .and_then(|mut s| {
                    s.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                        .collect()
                })
                .map_err(unavailable)?;
            rows.into_iter()
                .map(|(id, d, t)| codec::client_from_json(id, t, &d))
                .collect()
        })))
    }

    fn delete_client<'a>(&'a self, id: &'a str) -> BoxFuture<'a, StoreResult<bool>> {
        let id = id.to_string();
        Box::pin(self.write(move |c| {
            c.execute("DELETE FROM clients WHERE client_id = ?1", [id])
                .map(|n| n > 0)
                .map_err(unavailable)
        }))
    }
}
