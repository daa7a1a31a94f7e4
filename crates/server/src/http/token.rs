//! `POST /token` (RFC 6749 §3.2): authenticate the client, dispatch on grant_type.

use super::error::ApiResult;
use super::{client_auth, form, Body, Meta};
use crate::grants;
use crate::state::Shared;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use baton_core::error::{ErrorCode, OAuthError};

pub async fn token(
    State(st): State<Shared>,
    meta: Meta,
    headers: HeaderMap,
    Body(body): Body,
) -> Response {
    match handle(&st, &meta, &headers, &body).await {
        Ok(r) => {
            let mut resp = axum::Json(r).into_response();
            let h = resp.headers_mut();
            // RFC 6749 §5.1.
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
            resp
        }
        Err(e) => {
            if e.err.code == ErrorCode::ServerError
                || e.err.code == ErrorCode::TemporarilyUnavailable
            {
                tracing::warn!(error = %e.err, "token request failed");
            }
            e.into_response()
        }
    }
}

async fn handle(
    st: &crate::state::AppState,
    meta: &Meta,
    headers: &HeaderMap,
    body: &[u8],
) -> ApiResult<baton_proto::oauth::TokenResponse> {
    form::require_form_content_type(headers)?;
    let f = form::parse(body)?;
    let grant_type = f.required("grant_type")?;
    let client = client_auth::authenticate(st, headers, &f, "/token").await?;
    match grant_type {
        "refresh_token" => grants::refresh_token::grant(st, &client, &f, meta).await,
        "authorization_code" => grants::authorization_code::grant(st, &client, &f, meta).await,
        "password" => grants::password::grant(st, &client, &f, meta).await,
        "client_credentials" => grants::client_credentials::grant(st, &client, &f).await,
        _ => Err(OAuthError::new(
            ErrorCode::UnsupportedGrantType,
            "the grant_type is not supported",
        )
        .into()),
    }
}
