//! CORS for the endpoints a browser app calls: `/token`, `/revoke`, `/userinfo`
//! (origins a client allows, see `crate::cors`), and `/jwks`, the discovery documents
//! and `/register` (any origin: they are public, and no credential of a browser is
//! sent: no cookies, so never `Access-Control-Allow-Credentials`).
//!
//! A request without `Origin` is untouched. An allowed origin is echoed in
//! `Access-Control-Allow-Origin` with `Vary: Origin`; a disallowed one gets no CORS
//! header and the response is otherwise the same (the browser blocks it). A preflight
//! (`OPTIONS` with `Access-Control-Request-Method`) from an allowed origin is answered
//! here (204); from any other origin it goes on to the route (which answers 405 as to
//! any `OPTIONS`). The admin API and the HTML pages are not wrapped.

use crate::state::{AppState, Shared};
use axum::extract::{Request, State};
use axum::http::header::{
    ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN,
    ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE, ACCESS_CONTROL_REQUEST_METHOD, ORIGIN,
    VARY,
};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;
use baton_core::model::Client;

/// Request headers a browser app may send.
const ALLOW_HEADERS: &str = "authorization, content-type, dpop";
/// Response headers a browser app may read besides the CORS-safelisted ones.
const EXPOSE_HEADERS: &str = "dpop-nonce, www-authenticate";
/// How long a browser may cache a preflight's answer, in seconds.
const MAX_AGE: &str = "600";

/// Who may call an endpoint cross-origin.
#[derive(Clone, Copy)]
pub enum Who {
    /// Any origin (public documents, open registration).
    Anyone,
    /// Origins of the client the request is for (its handler says which client, with
    /// [`readers`] and [`allow_readers`]); a preflight, origins of any active client.
    Clients,
}

/// The origins the handler found allowed for this request's client: a response
/// extension the layer reads and removes.
#[derive(Clone)]
struct ClientOrigins(Vec<String>);

/// The origins that may read a response for `client`, worked out only for a
/// cross-origin request (one with an `Origin`): nothing to do for any other.
pub fn readers(st: &AppState, headers: &HeaderMap, client: &Client) -> Option<Vec<String>> {
    headers
        .contains_key(ORIGIN)
        .then(|| crate::cors::client_origins(&st.cfg, client))
}

/// Marks `resp` as answering for a client whose origins are `readers` (from
/// [`readers`]): those may read it.
pub fn allow_readers(resp: &mut Response, readers: Option<Vec<String>>) {
    if let Some(origins) = readers {
        resp.extensions_mut().insert(ClientOrigins(origins));
    }
}

/// `r` with CORS for `who`; `methods` is what a preflight says is allowed.
pub fn wrap(
    st: &Shared,
    who: Who,
    methods: &'static str,
    r: MethodRouter<Shared>,
) -> MethodRouter<Shared> {
    r.layer(axum::middleware::from_fn_with_state(
        (st.clone(), who, methods),
        layer,
    ))
}

async fn layer(
    State((st, who, methods)): State<(Shared, Who, &'static str)>,
    req: Request,
    next: Next,
) -> Response {
    let Some(origin) = req.headers().get(ORIGIN).cloned() else {
        let mut resp = next.run(req).await;
        resp.extensions_mut().remove::<ClientOrigins>();
        return resp;
    };
    let origin_str = origin.to_str().unwrap_or("");
    if req.method() == Method::OPTIONS && req.headers().contains_key(ACCESS_CONTROL_REQUEST_METHOD)
    {
        let allowed = match who {
            Who::Anyone => true,
            Who::Clients => st.cors_origins.contains(origin_str),
        };
        if allowed {
            let mut resp = StatusCode::NO_CONTENT.into_response();
            let h = resp.headers_mut();
            allow(h, origin);
            h.insert(
                ACCESS_CONTROL_ALLOW_METHODS,
                HeaderValue::from_static(methods),
            );
            h.insert(
                ACCESS_CONTROL_ALLOW_HEADERS,
                HeaderValue::from_static(ALLOW_HEADERS),
            );
            h.insert(ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static(MAX_AGE));
            return resp;
        }
        return next.run(req).await;
    }
    let mut resp = next.run(req).await;
    let client = resp.extensions_mut().remove::<ClientOrigins>();
    let allowed = match who {
        Who::Anyone => true,
        Who::Clients => client.is_some_and(|c| c.0.iter().any(|o| o == origin_str)),
    };
    if allowed {
        let h = resp.headers_mut();
        allow(h, origin);
        h.insert(
            ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static(EXPOSE_HEADERS),
        );
    }
    resp
}

fn allow(h: &mut HeaderMap, origin: HeaderValue) {
    h.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    h.append(VARY, HeaderValue::from_static("Origin"));
}
