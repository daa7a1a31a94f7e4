//! `/admin/resources`: list, create, read, change, delete the resources (APIs) access
//! tokens can be issued for. The identifier is one path segment, percent-encoded
//! (`/admin/resources/https%3A%2F%2Fapi.example.com%2Finvoices`).

use super::{bad_query, ops, parse};
use crate::caller::Caller;
use crate::http::error::ApiError;
use crate::http::Body;
use crate::state::Shared;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use baton_proto::admin::{ListQuery, Page, ResourceCreate, ResourcePatch, ResourceView};
use baton_proto::oauth::ErrorResponse;

/// Resources in `identifier` order (bytewise), a page at a time, each with the
/// clients that list it in `resources` and who manages it.
#[utoipa::path(get, path = "/admin/resources", tag = "resources",
    params(ListQuery),
    responses((status = 200, body = Page<ResourceView>),
              (status = 400, body = ErrorResponse),
              (status = 401, body = ErrorResponse)))]
pub async fn list(
    State(st): State<Shared>,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<Page<ResourceView>>, ApiError> {
    let Query(q) = q.map_err(bad_query)?;
    Ok(Json(ops::list_resources(&st, q).await?))
}

/// Creates a resource, validated like a `[[resources]]` entry of the configuration file.
#[utoipa::path(post, path = "/admin/resources", tag = "resources",
    request_body = ResourceCreate,
    responses((status = 201, body = ResourceView),
              (status = 400, description = "invalid; the description names the key", body = ErrorResponse),
              (status = 401, body = ErrorResponse),
              (status = 409, description = "the identifier is taken", body = ErrorResponse)))]
pub async fn create(
    State(st): State<Shared>,
    caller: Caller,
    Body(body): Body,
) -> Result<(StatusCode, Json<ResourceView>), ApiError> {
    let req: ResourceCreate = parse(&body)?;
    Ok((
        StatusCode::CREATED,
        Json(ops::create_resource(&st, req, &caller).await?),
    ))
}

#[utoipa::path(get, path = "/admin/resources/{identifier}", tag = "resources",
    params(("identifier" = String, Path, description = "the resource's identifier, percent-encoded")),
    responses((status = 200, body = ResourceView),
              (status = 401, body = ErrorResponse),
              (status = 404, body = ErrorResponse)))]
pub async fn get(
    State(st): State<Shared>,
    Path(identifier): Path<String>,
) -> Result<Json<ResourceView>, ApiError> {
    Ok(Json(ops::get_resource(&st, &identifier).await?))
}

/// Changes a resource: the keys given replace their values (`null` clears `name`,
/// `access_token_format`, `access_token_lifetime`, `signing_alg`); the whole result is
/// validated again. The identifier cannot change. Tokens issued from now on follow
/// the change; those already issued keep what they carry.
#[utoipa::path(patch, path = "/admin/resources/{identifier}", tag = "resources",
    params(("identifier" = String, Path, description = "the resource's identifier, percent-encoded")),
    request_body = ResourcePatch,
    responses((status = 200, body = ResourceView),
              (status = 400, description = "invalid; the description names the key", body = ErrorResponse),
              (status = 401, body = ErrorResponse),
              (status = 404, body = ErrorResponse),
              (status = 409, description = "defined in the configuration file: read-only here", body = ErrorResponse)))]
pub async fn patch(
    State(st): State<Shared>,
    caller: Caller,
    Path(identifier): Path<String>,
    Body(body): Body,
) -> Result<Json<ResourceView>, ApiError> {
    let p: ResourcePatch = parse(&body)?;
    Ok(Json(
        ops::patch_resource(&st, &identifier, p, &caller).await?,
    ))
}

/// Deletes a resource. Grants that hold it keep their list of resources, but it can no
/// longer be requested (`invalid_target`). Refused while a client names it in
/// `resources` or `introspect_resources`: the 409 names those clients.
#[utoipa::path(delete, path = "/admin/resources/{identifier}", tag = "resources",
    params(("identifier" = String, Path, description = "the resource's identifier, percent-encoded")),
    responses((status = 204, description = "deleted"),
              (status = 401, body = ErrorResponse),
              (status = 404, body = ErrorResponse),
              (status = 409, description = "defined in the configuration file (read-only here), or still named by clients (the description names them)", body = ErrorResponse)))]
pub async fn delete(
    State(st): State<Shared>,
    caller: Caller,
    Path(identifier): Path<String>,
) -> Result<StatusCode, ApiError> {
    ops::delete_resource(&st, &identifier, &caller).await?;
    Ok(StatusCode::NO_CONTENT)
}
