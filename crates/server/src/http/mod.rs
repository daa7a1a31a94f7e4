//! HTTP: routes, extractors and the mapping of errors to responses.

pub mod client_auth;
pub mod cors;
pub mod demo;
pub mod discovery;
pub mod dpop;
pub mod error;
pub mod form;
pub mod health;
pub mod introspect;
pub mod listener;
pub mod metrics;
pub mod register;
pub mod revoke;
pub mod threads;
pub mod token;
pub mod userinfo;

use crate::caller::Caller;
use crate::proxies::Forwarding;
use crate::state::Shared;
use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequest, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::{get, post, MethodRouter};
use axum::Router;
use baton_core::error::OAuthError;
use cors::Who;
use error::{ApiError, Refusal};
use std::net::{IpAddr, SocketAddr};

/// The client address of a request: its peer's, or the one its trusted proxy forwarded
/// for (`http.trusted_proxies`, [`crate::proxies`]). Resolved once per request by the
/// router's outermost middleware (`edge`), for everything that uses it (events,
/// throttling, logs).
#[derive(Clone, Copy, Debug)]
pub struct ClientAddr(pub IpAddr);

/// The router's outermost middleware, one layer for two jobs: times every request into
/// its endpoint's latency histogram ([`metrics::Timing`]) and resolves its
/// [`ClientAddr`].
async fn edge(State(st): State<Shared>, mut req: Request, next: Next) -> Response {
    let timing = metrics::Timing::start(&req);
    resolve_client(&st, &mut req);
    let resp = next.run(req).await;
    timing.end();
    resp
}

/// Resolves the [`ClientAddr`] of a request.
fn resolve_client(st: &Shared, req: &mut Request) {
    if let Some(peer) = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
    {
        let proxies = &st.cfg.http.trusted_proxies;
        let ip = if proxies.is_empty() {
            peer.to_canonical()
        } else {
            // Bytes that are not UTF-8 become U+FFFD inside their own entry, which is
            // then not an address: the entries a proxy appended to the right of a
            // client's junk stay readable, and the junk stops the walk only where it is.
            let lines = |name| {
                req.headers()
                    .get_all(name)
                    .iter()
                    .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                    .collect::<Vec<_>>()
            };
            let (xff, fwd) = (lines("x-forwarded-for"), lines(header::FORWARDED.as_str()));
            let headers = Forwarding {
                x_forwarded_for: xff.iter().map(String::as_str).collect(),
                forwarded: fwd.iter().map(String::as_str).collect(),
            };
            proxies.client_addr(peer, &headers)
        };
        req.extensions_mut().insert(ClientAddr(ip));
    }
}

/// The caller: the client address ([`ClientAddr`]) and the `User-Agent` header
/// (truncated to 256 chars).
impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let ip = parts
            .extensions
            .get::<ClientAddr>()
            .map(|c| c.0.to_string());
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.chars().take(256).collect());
        Ok(Caller {
            ip,
            user_agent,
            actor: None,
        })
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
                // Axum answers 413 past the body limit, else 400 (or a server error:
                // then this is the plain 400 too).
                Err(if rej.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::refused(
                        OAuthError::invalid_request("the request body is too large"),
                        Refusal::PayloadTooLarge,
                    )
                } else {
                    OAuthError::invalid_request("the request body could not be read").into()
                })
            }
        }
    }
}

pub fn router(st: Shared) -> Router {
    let limit = st.cfg.http.body_limit;
    let mut r = Router::new();
    if st.cfg.demo {
        r = r.route("/demo/callback", get(demo::callback));
    }
    if st.cfg.registration.enabled {
        // Open registration is meant to be called from anywhere, browsers included.
        let reg = post_only(post(register::register));
        r = r.route("/register", cors::wrap(&st, Who::Anyone, "POST", reg));
    }
    // SPEC §4: the admin API exists only when an admin token is configured.
    if st.cfg.admin_token.is_some() {
        r = r.merge(crate::admin::router(st.clone()));
    }
    let public = |m| cors::wrap(&st, Who::Anyone, "GET", m);
    let clients = |methods, m| cors::wrap(&st, Who::Clients, methods, m);
    r.route(
        "/.well-known/openid-configuration",
        public(get(discovery::openid_configuration)),
    )
    .route(
        "/.well-known/oauth-authorization-server",
        public(get(discovery::oauth_metadata)),
    )
    .route("/jwks", public(get(discovery::jwks)))
    .route("/token", clients("POST", post_only(post(token::token))))
    .route("/revoke", clients("POST", post_only(post(revoke::revoke))))
    .route("/introspect", post_only(post(introspect::introspect)))
    .route(
        "/userinfo",
        clients(
            "GET, POST",
            get(userinfo::userinfo)
                .post(userinfo::userinfo)
                .fallback(|| async { method_not_allowed("GET, POST") }),
        ),
    )
    .route("/healthz", get(health::healthz))
    .route("/readyz", get(health::readyz))
    .route("/metrics", get(metrics::handler))
    .merge(crate::pages::router())
    .fallback(not_found)
    .layer(axum::middleware::from_fn_with_state(st.clone(), edge))
    .layer(DefaultBodyLimit::max(limit))
    .with_state(st)
}

/// A POST-only OAuth endpoint: any other method answers a JSON 405 with `Allow`.
fn post_only(r: MethodRouter<Shared>) -> MethodRouter<Shared> {
    r.fallback(|| async { method_not_allowed("POST") })
}

/// 405 as an RFC 6749 §5.2 JSON error, like every other error of these endpoints.
fn method_not_allowed(allow: &'static str) -> ApiError {
    ApiError::refused(
        OAuthError::invalid_request(format!("this endpoint accepts only {allow}")),
        Refusal::MethodNotAllowed { allow },
    )
}

async fn not_found() -> ApiError {
    ApiError::refused(
        OAuthError::invalid_request("no such endpoint"),
        Refusal::NotFound,
    )
}
