//! `/admin/clients`: list, create (the secret is shown once), read, change, delete.

use super::{bad_query, ops, parse};
use crate::caller::Caller;
use crate::http::error::ApiError;
use crate::http::Body;
use crate::state::Shared;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use baton_proto::admin::{ClientCreate, ClientPatch, ClientView, ListQuery, Page};
use baton_proto::oauth::ErrorResponse;

/// Clients in `client_id` order, a page at a time, with their `refresh_tokens`
/// overrides and who manages them (never a secret).
#[utoipa::path(get, path = "/admin/clients", tag = "clients",
    params(ListQuery),
    responses((status = 200, body = Page<ClientView>),
              (status = 400, body = ErrorResponse),
              (status = 401, body = ErrorResponse)))]
pub async fn list(
    State(st): State<Shared>,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<Page<ClientView>>, ApiError> {
    let Query(q) = q.map_err(bad_query)?;
    Ok(Json(ops::list_clients(&st, q).await?))
}

/// Creates a client, validated like the configuration file. A confidential client gets
/// a generated 256-bit `client_secret`, answered this once (only its SHA-256 is kept).
#[utoipa::path(post, path = "/admin/clients", tag = "clients",
    request_body = ClientCreate,
    responses((status = 201, body = ClientView),
              (status = 400, description = "invalid; the description names the key", body = ErrorResponse),
              (status = 401, body = ErrorResponse),
              (status = 409, description = "the client_id is taken", body = ErrorResponse)))]
pub async fn create(
    State(st): State<Shared>,
    caller: Caller,
    Body(body): Body,
) -> Result<(StatusCode, Json<ClientView>), ApiError> {
    let req: ClientCreate = parse(&body)?;
    Ok((
        StatusCode::CREATED,
        Json(ops::create_client(&st, req, &caller).await?),
    ))
}

#[utoipa::path(get, path = "/admin/clients/{client_id}", tag = "clients",
    params(("client_id" = String, Path)),
    responses((status = 200, body = ClientView),
              (status = 401, body = ErrorResponse),
              (status = 404, body = ErrorResponse)))]
pub async fn get(
    State(st): State<Shared>,
    Path(client_id): Path<String>,
) -> Result<Json<ClientView>, ApiError> {
    Ok(Json(ops::get_client(&st, &client_id).await?))
}

/// Changes a client. `refresh_tokens` merges into its overrides key by key: new grants
/// follow the change; existing grants keep the settings fixed when they were created
/// (`usage`, `grace_period`, lifetimes, `update_claims_on_refresh`, `persist`), and
/// follow the change of those that apply at once (`reuse_reaction`,
/// `require_offline_access`, `allow_public_clients`, `revoke_on_logout`,
/// `check_user_active`).
#[utoipa::path(patch, path = "/admin/clients/{client_id}", tag = "clients",
    params(("client_id" = String, Path)),
    request_body = ClientPatch,
    responses((status = 200, body = ClientView),
              (status = 400, body = ErrorResponse),
              (status = 401, body = ErrorResponse),
              (status = 404, body = ErrorResponse),
              (status = 409, description = "defined in the configuration file: read-only here", body = ErrorResponse)))]
pub async fn patch(
    State(st): State<Shared>,
    caller: Caller,
    Path(client_id): Path<String>,
    Body(body): Body,
) -> Result<Json<ClientView>, ApiError> {
    let p: ClientPatch = parse(&body)?;
    Ok(Json(ops::patch_client(&st, &client_id, p, &caller).await?))
}

/// Gives a client that authenticates with a secret a new one, answered in
/// `client_secret` this once (only its SHA-256 is stored). The old secret stops
/// working at once; the client's grants are kept.
#[utoipa::path(post, path = "/admin/clients/{client_id}/secret", tag = "clients",
    params(("client_id" = String, Path)),
    responses((status = 200, description = "the client, with its new `client_secret`", body = ClientView),
              (status = 400, description = "the client has no secret (a public or private_key_jwt client)", body = ErrorResponse),
              (status = 401, body = ErrorResponse),
              (status = 404, body = ErrorResponse),
              (status = 409, description = "defined in the configuration file: read-only here", body = ErrorResponse)))]
pub async fn reset_secret(
    State(st): State<Shared>,
    caller: Caller,
    Path(client_id): Path<String>,
) -> Result<Json<ClientView>, ApiError> {
    Ok(Json(
        ops::reset_client_secret(&st, &client_id, &caller).await?,
    ))
}

/// Revokes a client's grants, deletes its users' consents, then deletes the client.
#[utoipa::path(delete, path = "/admin/clients/{client_id}", tag = "clients",
    params(("client_id" = String, Path)),
    responses((status = 204, description = "deleted"),
              (status = 401, body = ErrorResponse),
              (status = 404, body = ErrorResponse),
              (status = 409, description = "defined in the configuration file: read-only here", body = ErrorResponse)))]
pub async fn delete(
    State(st): State<Shared>,
    caller: Caller,
    Path(client_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    ops::delete_client(&st, &client_id, &caller).await?;
    Ok(StatusCode::NO_CONTENT)
}
