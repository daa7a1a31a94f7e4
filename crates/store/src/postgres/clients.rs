//! Registered clients: the `ClientStore` role for PgStore.

use super::rows::get;
use super::PgStore;
use crate::codec;
use baton_core::model::Client;
use baton_core::store::{BoxFuture, ClientStore, StoreResult};
use tokio_postgres::Row;

pub(super) const CLIENT_COLS: &str = "client_id, data::text, created_at, managed_by";

fn client_from_row(r: &Row) -> StoreResult<Client> {
    client_at(r, 0)
}

/// A client from the [`CLIENT_COLS`] of a row, starting at column `o`.
pub(super) fn client_at(r: &Row, o: usize) -> StoreResult<Client> {
    codec::decode_client(codec::StoredClient {
        client_id: get(r, o, "client")?,
        data: get(r, o + 1, "client")?,
        created_at: get(r, o + 2, "client")?,
        managed_by: get(r, o + 3, "client")?,
    })
}

impl ClientStore for PgStore {
    fn get_client<'a>(&'a self, id: &'a str) -> BoxFuture<'a, StoreResult<Option<Client>>> {
        Box::pin(async move {
            let mut c = self.conn().await?;
            let sql = format!("SELECT {CLIENT_COLS} FROM clients WHERE client_id = $1");
            let r = c.query_opt(&sql, &[&id]).await?;
            r.as_ref().map(client_from_row).transpose()
        })
    }

    fn insert_client<'a>(&'a self, client: &'a Client) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(async move {
            let data = codec::client_to_json(client);
            let mut c = self.conn().await?;
            c.execute(
                "INSERT INTO clients (client_id, data, created_at, managed_by)
                 VALUES ($1, $2::text::jsonb, $3, $4)",
                &[
                    &client.client_id,
                    &data,
                    &client.created_at.0,
                    &client.managed_by.as_str(),
                ],
            )
            .await
            .map(|_| ())
        })
    }

    fn upsert_client<'a>(&'a self, client: &'a Client) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(async move {
            let data = codec::client_to_json(client);
            let mut c = self.conn().await?;
            c.execute(
                "INSERT INTO clients (client_id, data, created_at, managed_by)
                 VALUES ($1, $2::text::jsonb, $3, $4)
                 ON CONFLICT (client_id) DO UPDATE SET data = EXCLUDED.data,
                   managed_by = EXCLUDED.managed_by",
                &[
                    &client.client_id,
                    &data,
                    &client.created_at.0,
                    &client.managed_by.as_str(),
                ],
            )
            .await
            .map(|_| ())
        })
    }

    fn update_client<'a>(&'a self, client: &'a Client) -> BoxFuture<'a, StoreResult<bool>> {
        Box::pin(async move {
            let data = codec::client_to_json(client);
            let mut c = self.conn().await?;
            c.execute(
                "UPDATE clients SET data = $2::text::jsonb WHERE client_id = $1",
                &[&client.client_id, &data],
            )
            .await
            .map(|n| n > 0)
        })
    }

    fn list_clients(&self) -> BoxFuture<'_, StoreResult<Vec<Client>>> {
        Box::pin(async move {
            let mut c = self.conn().await?;
            let sql = format!("SELECT {CLIENT_COLS} FROM clients ORDER BY client_id");
            let rows = c.query(&sql, &[]).await?;
            rows.iter().map(client_from_row).collect()
        })
    }

    fn list_clients_page<'a>(
        &'a self,
        after: Option<&'a str>,
        limit: usize,
    ) -> BoxFuture<'a, StoreResult<Vec<Client>>> {
        Box::pin(async move {
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            let mut c = self.conn().await?;
            // Bytewise order ("C"), as SQLite's: the cursor means the same everywhere.
            let sql = format!(
                "SELECT {CLIENT_COLS} FROM clients
                 WHERE $1::text IS NULL OR client_id COLLATE \"C\" > $1::text
                 ORDER BY client_id COLLATE \"C\" LIMIT $2"
            );
            let rows = c.query(&sql, &[&after, &limit]).await?;
            rows.iter().map(client_from_row).collect()
        })
    }

    fn delete_client<'a>(&'a self, id: &'a str) -> BoxFuture<'a, StoreResult<bool>> {
        Box::pin(async move {
            let mut c = self.conn().await?;
            let n = c
                .execute("DELETE FROM clients WHERE client_id = $1", &[&id])
                .await?;
            Ok(n > 0)
        })
    }
}
