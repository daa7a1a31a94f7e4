//! Resources (APIs): the `ResourceStore` role for PgStore.

use super::rows::get;
use super::PgStore;
use crate::codec;
use baton_core::model::Resource;
use baton_core::store::{BoxFuture, ResourceStore, StoreResult};
use tokio_postgres::Row;

const COLS: &str = "identifier, data::text, created_at, managed_by";

fn from_row(r: &Row) -> StoreResult<Resource> {
    let w = "resource";
    let data: String = get(r, 1, w)?;
    let managed_by: String = get(r, 3, w)?;
    codec::resource_from_json(get(r, 0, w)?, get(r, 2, w)?, &managed_by, &data)
}

impl ResourceStore for PgStore {
    fn get_resource<'a>(&'a self, id: &'a str) -> BoxFuture<'a, StoreResult<Option<Resource>>> {
        Box::pin(async move {
            let mut c = self.conn().await?;
            let sql = format!("SELECT {COLS} FROM resources WHERE identifier = $1");
            let r = c.query_opt(&sql, &[&id]).await?;
            r.as_ref().map(from_row).transpose()
        })
    }

    fn insert_resource<'a>(&'a self, r: &'a Resource) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(async move {
            let data = codec::resource_to_json(r);
            let mut c = self.conn().await?;
            c.execute(
                "INSERT INTO resources (identifier, data, created_at, managed_by)
                 VALUES ($1, $2::text::jsonb, $3, $4)",
                &[
                    &r.identifier,
                    &data,
                    &r.created_at.0,
                    &r.managed_by.as_str(),
                ],
            )
            .await
            .map(|_| ())
        })
    }

    fn upsert_resource<'a>(&'a self, r: &'a Resource) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(async move {
            let data = codec::resource_to_json(r);
            let mut c = self.conn().await?;
            c.execute(
                "INSERT INTO resources (identifier, data, created_at, managed_by)
                 VALUES ($1, $2::text::jsonb, $3, $4)
                 ON CONFLICT (identifier) DO UPDATE SET data = EXCLUDED.data,
                   managed_by = EXCLUDED.managed_by",
                &[
                    &r.identifier,
                    &data,
                    &r.created_at.0,
                    &r.managed_by.as_str(),
                ],
            )
            .await
            .map(|_| ())
        })
    }

    fn update_resource<'a>(&'a self, r: &'a Resource) -> BoxFuture<'a, StoreResult<bool>> {
        Box::pin(async move {
            let data = codec::resource_to_json(r);
            let mut c = self.conn().await?;
            let n = c
                .execute(
                    "UPDATE resources SET data = $2::text::jsonb WHERE identifier = $1",
                    &[&r.identifier, &data],
                )
                .await?;
            Ok(n > 0)
        })
    }

    fn list_resources_page<'a>(
        &'a self,
        after: Option<&'a str>,
        limit: usize,
    ) -> BoxFuture<'a, StoreResult<Vec<Resource>>> {
        Box::pin(async move {
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            let mut c = self.conn().await?;
            let sql = format!(
                "SELECT {COLS} FROM resources
                 WHERE $1::text IS NULL OR identifier COLLATE \"C\" > $1::text
                 ORDER BY identifier COLLATE \"C\" LIMIT $2"
            );
            let rows = c.query(&sql, &[&after, &limit]).await?;
            rows.iter().map(from_row).collect()
        })
    }

    fn delete_resource<'a>(&'a self, id: &'a str) -> BoxFuture<'a, StoreResult<bool>> {
        Box::pin(async move {
            let mut c = self.conn().await?;
            let n = c
                .execute("DELETE FROM resources WHERE identifier = $1", &[&id])
                .await?;
            Ok(n > 0)
        })
    }
}
