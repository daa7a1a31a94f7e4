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
use std::time::{Duration, Instant};

/// When the request's head was received, before its body was read.
pub struct HeadArrived(Instant);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for HeadArrived {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        _: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(HeadArrived(Instant::now()))
    }
}

/// How long a body may take after its head for the request to count from its head.
const PROMPT_BODY: Duration = Duration::from_millis(100);

pub async fn token(
    HeadArrived(head): HeadArrived,
    State(st): State<Shared>,
    meta: Meta,
    headers: HeaderMap,
    Body(body): Body,
) -> Response {
    // The request runs in a task of its own that this handler awaits: a client that
    // disconnects drops this future, never the work. A multi-step change (a reuse
    // reaction that revokes and then ends a session, a code exchange that stores a
    // grant and then consumes the code) is never left half-applied.
    // When the request arrived: a refresh that arrived before a rotation of its grant
    // committed is concurrent with it. It counts from its head if the body (which holds
    // the token) followed promptly, else from its body: a token held back until after
    // a commit is a replay, not a concurrent request.
    let body_read = Instant::now();
    let arrival = if body_read.duration_since(head) <= PROMPT_BODY {
        head
    } else {
        body_read
    };
    let task = tokio::spawn(async move {
        let mut kind = Some(metrics::Grant::Other);
        let result = handle(&st, &meta, &headers, &body, arrival, &mut kind).await;
        if let Some(g) = kind {
            metrics::token_result(g, &result);
        }
        result
    });
    let result = match task.await {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "token request task failed");
            Err(OAuthError::server_error().into())
        }
    };
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
    arrival: Instant,
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
            grants::refresh_token::grant(st, &client, &f, meta, arrival).await
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
