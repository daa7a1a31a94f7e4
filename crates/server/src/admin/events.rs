//! `GET /admin/events`: the event log (SPEC §5), newest first, paginated.

use super::{bad_query, ops};
use crate::http::error::ApiError;
use crate::state::Shared;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::Json;
use baton_proto::admin::{EventListQuery, EventView, Page};
use baton_proto::oauth::ErrorResponse;

#[utoipa::path(get, path = "/admin/events", tag = "events",
    params(EventListQuery),
    responses((status = 200, body = Page<EventView>),
              (status = 400, body = ErrorResponse),
              (status = 401, body = ErrorResponse)))]
pub async fn list(
    State(st): State<Shared>,
    q: Result<Query<EventListQuery>, QueryRejection>,
) -> Result<Json<Page<EventView>>, ApiError> {
    let Query(q) = q.map_err(bad_query)?;
    Ok(Json(ops::list_events(&st, q).await?))
}
