//! `POST /admin/keys/rotate`.

use super::ops;
use crate::caller::Caller;
use crate::http::error::ApiError;
use crate::state::Shared;
use axum::extract::State;
use axum::Json;
use baton_proto::admin::KeyRotation;
use baton_proto::oauth::ErrorResponse;

/// A new signing key for every algorithm, published in `/jwks` at once. The previous
/// keys keep signing for `signing_keys.pre_publication` (default 10 minutes), so that
/// relying parties with a cached JWK Set know the new keys before they meet them; then
/// they are retired (`retired_at`): they sign nothing more but stay in `/jwks`, and
/// verify, until the tokens they signed expire. Other nodes reload within seconds and
/// switch at the same stored time.
#[utoipa::path(post, path = "/admin/keys/rotate", tag = "keys",
    responses((status = 200, body = KeyRotation),
              (status = 401, body = ErrorResponse)))]
pub async fn rotate(
    State(st): State<Shared>,
    caller: Caller,
) -> Result<Json<KeyRotation>, ApiError> {
    Ok(Json(ops::rotate_keys(&st, &caller).await?))
}
