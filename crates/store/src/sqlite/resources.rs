//! Resources (APIs): the `ResourceStore` role for SqliteStore.

use super::{unavailable, SqliteStore};
use crate::codec;
use baton_core::model::Resource;
use baton_core::store::{BoxFuture, ResourceStore, StoreResult};
use rusqlite::{params, OptionalExtension, Row};
use std::future::ready;

const COLS: &str = "identifier, data, created_at, managed_by";

type ResourceRow = (String, String, i64, String);

fn row(r: &Row<'_>) -> rusqlite::Result<ResourceRow> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
}

fn decode((id, data, t, m): ResourceRow) -> StoreResult<Resource> {
    codec::resource_from_json(id, t, &m, &data)
}

fn encode(r: &Resource) -> (String, String, i64, &'static str) {
    (
        r.identifier.clone(),
        codec::resource_to_json(r),
        r.created_at.0,
        r.managed_by.as_str(),
    )
}

impl ResourceStore for SqliteStore {
    fn get_resource<'a>(&'a self, id: &'a str) -> BoxFuture<'a, StoreResult<Option<Resource>>> {
        Box::pin(ready(self.read(|c| {
            let r: Option<ResourceRow> = c
                .prepare_cached(&format!(
                    "SELECT {COLS} FROM resources WHERE identifier = ?1"
                ))
                .and_then(|mut s| s.query_row([id], row).optional())
                .map_err(unavailable)?;
            r.map(decode).transpose()
        })))
    }

    fn insert_resource<'a>(&'a self, r: &'a Resource) -> BoxFuture<'a, StoreResult<()>> {
        let (id, data, t, m) = encode(r);
        Box::pin(self.write(move |c| {
            c.execute(
                &format!("INSERT INTO resources ({COLS}) VALUES (?1, ?2, ?3, ?4)"),
                params![id, data, t, m],
            )
            .map(|_| ())
            .map_err(unavailable)
        }))
    }

    fn upsert_resource<'a>(&'a self, r: &'a Resource) -> BoxFuture<'a, StoreResult<()>> {
        let (id, data, t, m) = encode(r);
        Box::pin(self.write(move |c| {
            c.execute(
                &format!(
                    "INSERT INTO resources ({COLS}) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT(identifier) DO UPDATE SET data = excluded.data,
                       managed_by = excluded.managed_by"
                ),
                params![id, data, t, m],
            )
            .map(|_| ())
            .map_err(unavailable)
        }))
    }

    fn update_resource<'a>(&'a self, r: &'a Resource) -> BoxFuture<'a, StoreResult<bool>> {
        let (id, data) = (r.identifier.clone(), codec::resource_to_json(r));
        Box::pin(self.write(move |c| {
            c.execute(
                "UPDATE resources SET data = ?2 WHERE identifier = ?1",
                params![id, data],
            )
            .map(|n| n > 0)
            .map_err(unavailable)
        }))
    }

    fn list_resources_page<'a>(
        &'a self,
        after: Option<&'a str>,
        limit: usize,
    ) -> BoxFuture<'a, StoreResult<Vec<Resource>>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        Box::pin(ready(self.read(|c| {
            let rows: Vec<ResourceRow> = c
                .prepare_cached(&format!(
                    "SELECT {COLS} FROM resources WHERE ?1 IS NULL OR identifier > ?1
                     ORDER BY identifier LIMIT ?2"
                ))
                .and_then(|mut s| s.query_map(params![after, limit], row)?.collect())
                .map_err(unavailable)?;
            rows.into_iter().map(decode).collect()
        })))
    }

    fn delete_resource<'a>(&'a self, id: &'a str) -> BoxFuture<'a, StoreResult<bool>> {
        let id = id.to_string();
        Box::pin(self.write(move |c| {
            c.execute("DELETE FROM resources WHERE identifier = ?1", [id])
                .map(|n| n > 0)
                .map_err(unavailable)
        }))
    }
}
