//! Registered clients: the `ClientStore` role for PgStore.

use super::rows::get;
use super::PgStore;
use crate::codec;
use baton_core::model::Client;
use baton_core::store::{BoxFuture, ClientStore, StoreResult};

impl ClientStore for PgStore {
    fn get_client<'a>(&'a self, id: &'a str) -> BoxFuture<'a, StoreResult<Option<Client>>> {
        Box::pin(async move {
            let mut c = self.conn().await?;
            let Some(r) = c
                .query_opt(
                    "SELECT data::text, created_at FROM clients WHERE client_id = $1",
                    &[&id],
                )
                .await?
            else {
                return Ok(None);
            };
            let data: String = get(&r, 0, "client")?;
            codec::client_from_json(id.to_string(), get(&r, 1, "client")?, &data).map(Some)
        })
    }

    fn insert_client<'a>(&'a self, client: &'a Client) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(async move {
            let data = codec::client_to_json(client);
            let mut c = self.conn().await?;
            c.execute(
                "INSERT INTO clients (client_id, data, created_at) VALUES ($1, $2::text::jsonb, $3)",
                &[&client.client_id, &data, &client.created_at.0],
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
                "INSERT INTO clients (client_id, data, created_at) VALUES ($1, $2::text::jsonb, $3)
                 ON CONFLICT (client_id) DO UPDATE SET data = EXCLUDED.data",
                &[&client.client_id, &data, &client.created_at.0],
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
            let rows = c
                .query(
                    "SELECT client_id, data::text, created_at FROM clients ORDER BY client_id",
                    &[],
                )
                .await?;
            rows.iter()
                .map(|r| {
                    let data: String = get(r, 1, "client")?;
                    codec::client_from_json(get(r, 0, "client")?, get(r, 2, "client")?, &data)
                })
                .collect()
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
