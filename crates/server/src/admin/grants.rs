//! `GET /admin/grants` and `POST /admin/revocations`.

use super::{bad_query, ops, parse};
use crate::caller::Caller;
use crate::http::error::ApiError;
use crate::http::Body;
use crate::state::Shared;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::Json;
use baton_proto::admin::{GrantListQuery, GrantView, Page, RevocationRequest, RevocationResult};
use baton_proto::oauth::ErrorResponse;

/// Grants, newest first: ids, client, subject, scope, times, generation, status. Never
/// a token value.
#[utoipa::path(get, path = "/admin/grants", tag = "grants",
    params(GrantListQuery),
    responses((status = 200, body = Page<GrantView>),
              (status = 400, body = ErrorResponse),
              (status = 401, body = ErrorResponse)))]
pub async fn list(
    State(st): State<Shared>,
    q: Result<Query<GrantListQuery>, QueryRejection>,
) -> Result<Json<Page<GrantView>>, ApiError> {
    let Query(q) = q.map_err(bad_query)?;
    Ok(Json(ops::list_grants(&st, q).await?))
}

/// Revokes every grant matching `client_id`, `subject`, both, or `grant_id` (main store
/// and cache), with reason `admin`; answers how many.
#[utoipa::path(post, path = "/admin/revocations", tag = "grants",
    request_body = RevocationRequest,
    responses((status = 200, body = RevocationResult),
              (status = 400, body = ErrorResponse),
              (status = 401, body = ErrorResponse)))]
pub async fn revoke(
    State(st): State<Shared>,
    caller: Caller,
    Body(body): Body,
) -> Result<Json<RevocationResult>, ApiError> {
    let req: RevocationRequest = parse(&body)?;
    Ok(Json(ops::revoke(&st, req, &caller).await?))
}
