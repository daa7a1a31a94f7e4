//! `GET /metrics` and the middleware that times every request; the counters are
//! `crate::metrics`.

use crate::metrics::{self, Endpoint};
use crate::state::Shared;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::time::Instant;

/// Middleware: times every request into the histogram of its endpoint.
pub async fn track_latency(req: Request, next: Next) -> Response {
    let path = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str())
        .unwrap_or_else(|| req.uri().path());
    let endpoint = Endpoint::of(path);
    let start = Instant::now();
    let resp = next.run(req).await;
    let micros = u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX);
    metrics::request_latency(endpoint, micros);
    resp
}

/// `GET /metrics`.
pub async fn handler(State(st): State<Shared>) -> Response {
    let mut r = (StatusCode::OK, metrics::exposition(&st).await).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}
