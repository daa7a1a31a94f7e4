//! `POST /admin/keys/rotate`.

use super::ops;
use crate::http::error::ApiError;
use crate::http::Meta;
use crate::state::Shared;
use axum::extract::State;
use axum::Json;
use baton_proto::admin::KeyRotation;
use baton_proto::oauth::ErrorResponse;

/// A new signing key for every algorithm. The previous keys are retired: they sign
/// nothing more but stay in `/jwks`, and verify, until the tokens they signed expire.
/// Other nodes pick the new keys up when they restart.
#[utoipa::path(post, path = "/admin/keys/rotate", tag = "keys",
    responses((status = 200, body = KeyRotation),
              (status = 401, body = ErrorResponse)))]
pub async fn rotate(State(st): State<Shared>, meta: Meta) -> Result<Json<KeyRotation>, ApiError> {
    Ok(Json(ops::rotate_keys(&st, &meta).await?))
}
