//! Registered clients: the `ClientStore` role for SqliteStore.

use super::{unavailable, SqliteStore};
use crate::codec;
use baton_core::model::Client;
use baton_core::store::{BoxFuture, ClientStore, StoreResult};
use rusqlite::{params, OptionalExtension, Row};
use std::future::ready;

pub(super) const CLIENT_COLS: &str = "client_id, data, created_at, managed_by";

pub(super) type ClientRow = (String, String, i64, String);

fn row(r: &Row<'_>) -> rusqlite::Result<ClientRow> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
}

pub(super) fn decode((id, data, t, managed_by): ClientRow) -> StoreResult<Client> {
    codec::decode_client(codec::StoredClient {
        client_id: &id,
        data: &data,
        created_at: t,
        managed_by: &managed_by,
    })
}

/// Reads the clients a query answers (its columns are [`CLIENT_COLS`]).
fn read_clients(
    c: &rusqlite::Connection,
    sql: &str,
    p: impl rusqlite::Params,
) -> StoreResult<Vec<Client>> {
    let rows: Vec<ClientRow> = c
        .prepare_cached(sql)
        .and_then(|mut s| s.query_map(p, row)?.collect())
        .map_err(unavailable)?;
    rows.into_iter().map(decode).collect()
}

impl ClientStore for SqliteStore {
    fn get_client<'a>(&'a self, id: &'a str) -> BoxFuture<'a, StoreResult<Option<Client>>> {
        Box::pin(ready(self.read(|c| {
            let r: Option<ClientRow> = c
                .prepare_cached(&format!(
                    "SELECT {CLIENT_COLS} FROM clients WHERE client_id = ?1"
                ))
                .and_then(|mut s| s.query_row([id], row).optional())
                .map_err(unavailable)?;
            r.map(decode).transpose()
        })))
    }

    fn insert_client<'a>(&'a self, client: &'a Client) -> BoxFuture<'a, StoreResult<()>> {
        let (id, data, t, m) = (
            client.client_id.clone(),
            codec::client_to_json(client),
            client.created_at.0,
            client.managed_by.as_str(),
        );
        Box::pin(self.write_records(move |c| {
            c.execute(
                "INSERT INTO clients (client_id, data, created_at, managed_by)
                 VALUES (?1, ?2, ?3, ?4)",
                params![id, data, t, m],
            )
            .map(|_| ())
            .map_err(unavailable)
        }))
    }

    fn upsert_client<'a>(&'a self, client: &'a Client) -> BoxFuture<'a, StoreResult<()>> {
        let (id, data, t, m) = (
            client.client_id.clone(),
            codec::client_to_json(client),
            client.created_at.0,
            client.managed_by.as_str(),
        );
        Box::pin(self.write_records(move |c| {
            c.execute(
                "INSERT INTO clients (client_id, data, created_at, managed_by)
                 VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(client_id) DO UPDATE SET data = excluded.data,
                   managed_by = excluded.managed_by",
                params![id, data, t, m],
            )
            .map(|_| ())
            .map_err(unavailable)
        }))
    }

    fn update_client<'a>(&'a self, client: &'a Client) -> BoxFuture<'a, StoreResult<bool>> {
        let (id, data) = (client.client_id.clone(), codec::client_to_json(client));
        Box::pin(self.write_records(move |c| {
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
            read_clients(
                c,
                &format!("SELECT {CLIENT_COLS} FROM clients ORDER BY client_id"),
                [],
            )
        })))
    }

    fn list_clients_page<'a>(
        &'a self,
        after: Option<&'a str>,
        limit: usize,
    ) -> BoxFuture<'a, StoreResult<Vec<Client>>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        Box::pin(ready(self.read(|c| {
            read_clients(
                c,
                &format!(
                    "SELECT {CLIENT_COLS} FROM clients WHERE ?1 IS NULL OR client_id > ?1
                     ORDER BY client_id LIMIT ?2"
                ),
                params![after, limit],
            )
        })))
    }

    fn delete_client<'a>(&'a self, id: &'a str) -> BoxFuture<'a, StoreResult<bool>> {
        let id = id.to_string();
        Box::pin(self.write_records(move |c| {
            c.execute("DELETE FROM clients WHERE client_id = ?1", [id])
                .map(|n| n > 0)
                .map_err(unavailable)
        }))
    }
}
