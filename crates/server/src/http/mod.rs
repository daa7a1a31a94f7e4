//! HTTP: routes, extractors and the mapping of errors to responses.

pub mod client_auth;
pub mod discovery;
pub mod error;
pub mod form;
pub mod health;
pub mod introspect;
pub mod register;
pub mod revoke;
pub mod token;
pub mod userinfo;

use crate::state::Shared;
use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, MethodRouter};
use axum::Router;
use baton_core::error::OAuthError;
use error::ApiError;
use std::net::SocketAddr;

/// Who is calling, for events: address and user agent (truncated, never a secret).
#[derive(Clone, Debug, Default)]
pub struct Meta {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for Meta {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip().to_string());
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.chars().take(256).collect());
        Ok(Meta { ip, user_agent })
    }
}

/// The request body, its size limited; rejections become `invalid_request` JSON.
pub struct Body(pub axum::body::Bytes);

impl<S: Send + Sync> FromRequest<S> for Body {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::body::Bytes::from_request(req, state).await {
            Ok(b) => Ok(Body(b)),
            Err(rej) => {
                let status = rej.status();
                let msg = if status == StatusCode::PAYLOAD_TOO_LARGE {
                    "the request body is too large"
                } else {
                    "the request body could not be read"
                };
                let e = ApiError::from(OAuthError::invalid_request(msg));
                Err(if status.is_client_error() {
                    e.with_status(status)
                } else {
                    e
                })
            }
        }
    }
}

pub fn router(st: Shared) -> Router {
    let limit = st.cfg.http.body_limit;
    let mut r = Router::new();
    if st.cfg.demo {
        r = r.route("/demo/callback", get(crate::demo::callback));
    }
    if st.cfg.registration.enabled {
        r = r.route("/register", post_only(post(register::register)));
    }
    // SPEC §4: the admin API exists only when an admin token is configured.
    if st.cfg.admin_token.is_some() {
        r = r.merge(crate::admin::router(st.clone()));
    }
    r.route(
        "/.well-known/openid-configuration",
        get(discovery::openid_configuration),
    )
    .route(
        "/.well-known/oauth-authorization-server",
        get(discovery::oauth_metadata),
    )
    .route("/jwks", get(discovery::jwks))
    .route("/token", post_only(post(token::token)))
    .route("/revoke", post_only(post(revoke::revoke)))
    .route("/introspect", post_only(post(introspect::introspect)))
    .route(
        "/userinfo",
        get(userinfo::userinfo)
            .post(userinfo::userinfo)
            .fallback(|| async { method_not_allowed("GET, POST") }),
    )
    .route("/healthz", get(health::healthz))
    .route("/readyz", get(health::readyz))
    .route("/metrics", get(crate::metrics::handler))
    .merge(crate::pages::router())
    .fallback(not_found)
    .layer(axum::middleware::from_fn(crate::metrics::track_latency))
    .layer(DefaultBodyLimit::max(limit))
    .with_state(st)
}

/// A POST-only OAuth endpoint: any other method answers a JSON 405 with `Allow`.
fn post_only(r: MethodRouter<Shared>) -> MethodRouter<Shared> {
    r.fallback(|| async { method_not_allowed("POST") })
}

/// 405 as an RFC 6749 §5.2 JSON error, like every other error of these endpoints.
fn method_not_allowed(allow: &'static str) -> Response {
    let mut resp = ApiError::from(OAuthError::invalid_request(format!(
        "this endpoint accepts only {allow}"
    )))
    .with_status(StatusCode::METHOD_NOT_ALLOWED)
    .into_response();
    resp.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    resp
}

async fn not_found() -> ApiError {
    ApiError::from(OAuthError::invalid_request("no such endpoint"))
        .with_status(StatusCode::NOT_FOUND)
}
