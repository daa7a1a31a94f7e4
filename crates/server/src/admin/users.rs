//! `/admin/users`: list, create, read, change (rename keeps `sub`; `{"active": false}`
//! disables), delete. Never a password or its hash.

use super::{bad_query, ops, parse};
use crate::caller::Caller;
use crate::http::error::ApiError;
use crate::http::Body;
use crate::state::Shared;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use baton_proto::admin::{ListQuery, Page, UserCreate, UserPatch, UserView};
use baton_proto::oauth::ErrorResponse;

/// Users in username order, a page at a time, with who manages them.
#[utoipa::path(get, path = "/admin/users", tag = "users",
    params(ListQuery),
    responses((status = 200, body = Page<UserView>),
              (status = 400, body = ErrorResponse),
              (status = 401, body = ErrorResponse)))]
pub async fn list(
    State(st): State<Shared>,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<Page<UserView>>, ApiError> {
    let Query(q) = q.map_err(bad_query)?;
    Ok(Json(ops::list_users(&st, q).await?))
}

/// Creates a user; the password is stored as Argon2id and the `sub` is generated.
#[utoipa::path(post, path = "/admin/users", tag = "users",
    request_body = UserCreate,
    responses((status = 201, body = UserView),
              (status = 400, body = ErrorResponse),
              (status = 401, body = ErrorResponse),
              (status = 409, description = "the username is taken", body = ErrorResponse)))]
pub async fn create(
    State(st): State<Shared>,
    caller: Caller,
    Body(body): Body,
) -> Result<(StatusCode, Json<UserView>), ApiError> {
    let req: UserCreate = parse(&body)?;
    Ok((
        StatusCode::CREATED,
        Json(ops::create_user(&st, req, &caller).await?),
    ))
}

#[utoipa::path(get, path = "/admin/users/{username}", tag = "users",
    params(("username" = String, Path)),
    responses((status = 200, body = UserView),
              (status = 401, body = ErrorResponse),
              (status = 404, body = ErrorResponse)))]
pub async fn get(
    State(st): State<Shared>,
    Path(username): Path<String>,
) -> Result<Json<UserView>, ApiError> {
    Ok(Json(ops::get_user(&st, &username).await?))
}

/// Changes a user. A disabled user's next refresh fails (with `check_user_active`).
#[utoipa::path(patch, path = "/admin/users/{username}", tag = "users",
    params(("username" = String, Path)),
    request_body = UserPatch,
    responses((status = 200, body = UserView),
              (status = 400, body = ErrorResponse),
              (status = 401, body = ErrorResponse),
              (status = 404, body = ErrorResponse),
              (status = 409, description = "renamed to a taken username, or defined in the configuration file (read-only here)", body = ErrorResponse)))]
pub async fn patch(
    State(st): State<Shared>,
    caller: Caller,
    Path(username): Path<String>,
    Body(body): Body,
) -> Result<Json<UserView>, ApiError> {
    let p: UserPatch = parse(&body)?;
    Ok(Json(ops::patch_user(&st, &username, p, &caller).await?))
}

/// Deletes a user and revokes their grants.
#[utoipa::path(delete, path = "/admin/users/{username}", tag = "users",
    params(("username" = String, Path)),
    responses((status = 204, description = "deleted"),
              (status = 401, body = ErrorResponse),
              (status = 404, body = ErrorResponse),
              (status = 409, description = "defined in the configuration file: read-only here", body = ErrorResponse)))]
pub async fn delete(
    State(st): State<Shared>,
    caller: Caller,
    Path(username): Path<String>,
) -> Result<StatusCode, ApiError> {
    ops::delete_user(&st, &username, &caller).await?;
    Ok(StatusCode::NO_CONTENT)
}
