//! `POST /token` (RFC 6749 §3.2): authenticate the client, dispatch on grant_type.

use super::error::ApiResult;
use super::{client_auth, form, Body, Meta};
use crate::grants;
use crate::metrics;
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
    let mut kind = Some(metrics::Grant::Other);
    let result = handle(&st, &meta, &headers, &body, &mut kind).await;
    if let Some(g) = kind {
        metrics::token_result(g, &result);
    }
    match result {
        Ok(r) => {
            let mut resp = axum::Json(r).into_response();
            let h = resp.headers_mut();
            // RFC 6749 §5.1.
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
            resp
        }
        Err(e) => {
            // Not a throttled sign-in (429): an attacker must not flood the log.
            if e.status().is_server_error() {
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
    kind: &mut Option<metrics::Grant>,
) -> ApiResult<baton_proto::oauth::TokenResponse> {
    form::require_form_content_type(headers)?;
    let f = form::parse(body)?;
    let grant_type = f.required("grant_type")?;
    *kind = Some(metrics::Grant::parse(grant_type));
    let client = client_auth::authenticate(st, headers, &f, "/token").await?;
    match grant_type {
        "refresh_token" => {
            // Counts its own outcomes (rotated, grace replay, reuse detected …).
            *kind = None;
            grants::refresh_token::grant(st, &client, &f, meta).await
        }
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
