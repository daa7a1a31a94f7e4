//! `GET /metrics` and the timing of every request (by the router's outermost
//! middleware, `super::edge`); the counters are `crate::metrics`.

use crate::metrics::{self, Endpoint};
use crate::state::Shared;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use std::time::Instant;

/// A request being timed into the histogram of its endpoint, from [`Timing::start`] to
/// [`Timing::end`].
pub struct Timing {
    endpoint: Endpoint,
    start: Instant,
}

impl Timing {
    pub fn start(req: &Request) -> Timing {
        let path = req
            .extensions()
            .get::<MatchedPath>()
            .map(|p| p.as_str())
            .unwrap_or_else(|| req.uri().path());
        Timing {
            endpoint: Endpoint::of(path),
            start: Instant::now(),
        }
    }

    pub fn end(self) {
        let micros = u64::try_from(self.start.elapsed().as_micros()).unwrap_or(u64::MAX);
        metrics::request_latency(self.endpoint, micros);
    }
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
