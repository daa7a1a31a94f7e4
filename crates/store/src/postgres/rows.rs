//! Row decoding shared by the role files (PgStore).

use super::corrupt;
use baton_core::error::StoreError;
use baton_core::model::GrantId;
use tokio_postgres::types::FromSql;
use tokio_postgres::Row;

pub(super) fn get<'a, T: FromSql<'a>>(r: &'a Row, i: usize, what: &str) -> Result<T, StoreError> {
    r.try_get(i).map_err(corrupt(what))
}

pub(super) fn grant_id(bytes: &[u8]) -> Result<GrantId, StoreError> {
    <[u8; 16]>::try_from(bytes)
        .map(GrantId)
        .map_err(|_| StoreError::Corrupt("stored grant id has the wrong length".into()))
}
