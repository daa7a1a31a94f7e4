//! `POST /token` (RFC 6749 §3.2): authenticate the client, dispatch on grant_type.

use super::error::{ApiError, ApiResult};
use super::form::Form;
use super::{client_auth, form, Body};
use crate::caller::Caller;
use crate::grants::authorization_code::CodeRequest;
use crate::grants::client_credentials::ClientCredentialsRequest;
use crate::grants::password::PasswordRequest;
use crate::grants::refresh_token::{Prefetched, RefreshRequest};
use crate::grants::{self, permitted, Answer};
use crate::metrics::{self, Outcome};
use crate::state::{AppState, Shared};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use baton_core::error::{ErrorCode, OAuthError};
use baton_core::model::{Client, GrantType};
use baton_core::token::RefreshClaims;
use baton_proto::oauth::TokenResponse;
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
    caller: Caller,
    headers: HeaderMap,
    Body(body): Body,
) -> Response {
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
    let parsed = read_form(&headers, &body);
    // A client that disconnects drops this future. A multi-step change (a code
    // exchange that stores a grant and then consumes the code, a sign-in's session)
    // must never be left half-applied, so every grant but a refresh runs in a task of
    // its own that this handler awaits. A refresh runs here, saving the task's cost on
    // the hot path: its writes are single compare-and-swaps whose loss to a disconnect
    // is a lost response (the grace path answers the retry), and its one multi-step
    // change, a reuse reaction that revokes and then ends a session, runs in a task of
    // its own (`crate::tasks`).
    let refresh = matches!(&parsed, Ok(f) if f.get("grant_type") == Some("refresh_token"));
    let st2 = st.clone();
    // Boxed where it is made: moved by value, this future of several kilobytes would be
    // copied into every future that awaits it.
    let work = Box::pin(async move {
        // Dropped with the work if the client disconnects first (a refresh only: other
        // grants run to their end in their own task), so the request still counts once.
        let mut unanswered = Unanswered(refresh);
        let counted = handle(&st2, &caller, &headers, parsed, arrival).await;
        unanswered.0 = false;
        metrics::token_request(counted.grant, counted.outcome);
        (counted.result, counted.readers)
    });
    let outcome = if refresh {
        crate::tasks::in_place(work).await
    } else {
        crate::tasks::awaited(work).await
    };
    let (result, readers) = match outcome {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "token request failed");
            (Err(OAuthError::server_error().into()), None)
        }
    };
    let mut resp = respond(result);
    // The client that authenticated may read the answer from its origins, errors
    // included (an SPA must see `invalid_grant`).
    super::cors::allow_readers(&mut resp, readers);
    super::dpop::add_nonce(&st, &mut resp);
    resp
}

/// A refresh under way on its connection's task (while `.0`): counted if dropped before
/// it counted its outcome, `abandoned` when its client disconnected, `error` when it
/// panicked (answered 500 by `tasks::in_place`).
struct Unanswered(bool);

impl Drop for Unanswered {
    fn drop(&mut self) {
        if self.0 {
            let o = if std::thread::panicking() {
                Outcome::Error
            } else {
                Outcome::Abandoned
            };
            metrics::token_request(metrics::GrantTypeLabel::RefreshToken, o);
        }
    }
}

fn respond(result: ApiResult<TokenResponse>) -> Response {
    match result.and_then(|r| json_body(&r)) {
        Ok(body) => {
            let mut resp = Response::new(axum::body::Body::from(body));
            let h = resp.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
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

/// A token response's JSON ([`TokenResponse::to_json`]: one allocation sized for its
/// tokens, which are copied without being scanned for characters to escape).
fn json_body(r: &TokenResponse) -> ApiResult<Vec<u8>> {
    r.to_json().map_err(|e| {
        tracing::error!(error = %e, "token response serialization failed");
        ApiError::from(OAuthError::server_error())
    })
}

/// A token request's answer, and how it counts in `baton_token_requests_total`.
struct Counted {
    grant: metrics::GrantTypeLabel,
    outcome: Outcome,
    result: ApiResult<TokenResponse>,
    /// The origins of the client that authenticated, if one did and the request is
    /// cross-origin.
    readers: Option<Vec<String>>,
}

impl Counted {
    /// Refused before its grant ran.
    fn refused(grant: metrics::GrantTypeLabel, e: ApiError) -> Counted {
        Counted {
            grant,
            outcome: Outcome::failed(e.status().is_server_error()),
            result: Err(e),
            readers: None,
        }
    }
}

async fn handle(
    st: &Shared,
    caller: &Caller,
    headers: &HeaderMap,
    parsed: ApiResult<Form>,
    arrival: Instant,
) -> Counted {
    let f = match parsed {
        Ok(f) => f,
        Err(e) => return Counted::refused(metrics::GrantTypeLabel::Other, e),
    };
    let grant_type = match f.required("grant_type") {
        Ok(g) => g,
        Err(e) => return Counted::refused(metrics::GrantTypeLabel::Other, e),
    };
    let grant = metrics::GrantTypeLabel::parse(grant_type);
    let credentials = client_auth::credentials(headers, &f);
    // A refresh token is opened (its MAC checked) once, here; a refresh reads its
    // client, grant and user in one go (one statement).
    let opened = (grant_type == "refresh_token")
        .then(|| f.get("refresh_token").and_then(|t| st.rt_keys.open(t)));
    let (known, prefetched) = match (&credentials, opened) {
        (Ok(c), Some(opened)) => prefetch(st, c, opened).await,
        _ => (None, None),
    };
    let client = match client_auth::authenticate_with(st, credentials, "/token", known).await {
        Ok(c) => c,
        Err(e) => return Counted::refused(grant, e),
    };
    let readers = super::cors::readers(st, headers, &client);
    let proof = match super::dpop::token_proof(st, headers, &client, caller).await {
        Ok(p) => p,
        Err(e) => {
            return Counted {
                readers,
                ..Counted::refused(grant, e)
            }
        }
    };
    let seen = Seen {
        arrival,
        dpop_jkt: proof.as_ref().map(|p| p.jkt.as_str()),
        opened: opened.flatten(),
        prefetched: prefetched.as_ref(),
    };
    match dispatch(st, caller, &client, &f, grant_type, &seen).await {
        Ok(a) => Counted {
            grant,
            outcome: a.outcome,
            result: a.result.map_err(ApiError::from),
            readers,
        },
        Err(e) => Counted {
            readers,
            ..Counted::refused(grant, e)
        },
    }
}

/// A refresh's records, read together before its client authenticates: the client
/// it presents, and the grant its refresh token names (`opened`: its claims if its MAC
/// held; one of the main store: a cached grant is read from the cache as before) with
/// that grant's user. A store failure here reads nothing: each record is then read
/// (and the failure answered) where it is needed.
async fn prefetch(
    st: &AppState,
    credentials: &client_auth::Credentials<'_>,
    opened: Option<RefreshClaims>,
) -> (Option<client_auth::KnownClient>, Option<Prefetched>) {
    let Some(id) = credentials.client_id().filter(|id| id.len() <= 256) else {
        return (None, None);
    };
    let grant_id = opened.filter(|c| c.persist()).map(|c| c.grant_id);
    match st.store.request_records(id, grant_id).await {
        Ok(r) => (
            Some(client_auth::KnownClient {
                client_id: id.to_string(),
                client: r.client,
            }),
            r.grant.map(|grant| Prefetched {
                grant,
                user: r.user,
            }),
        ),
        Err(_) => (None, None),
    }
}

fn read_form(headers: &HeaderMap, body: &[u8]) -> ApiResult<Form> {
    form::require_form_content_type(headers)?;
    Ok(form::parse(body)?)
}

/// What a token request brought besides its form: when it arrived, the key its DPoP
/// proof proved (if it carried one), and a refresh's token claims (if its MAC held) and
/// records read with its client.
struct Seen<'a> {
    arrival: Instant,
    dpop_jkt: Option<&'a str>,
    opened: Option<RefreshClaims>,
    prefetched: Option<&'a Prefetched>,
}

/// Parses the grant's request and runs the grant for the authenticated `client`. A
/// client that may not use the grant type hears so before the grant's parameters are
/// read.
async fn dispatch(
    st: &Shared,
    caller: &Caller,
    client: &Client,
    f: &Form,
    grant_type: &str,
    seen: &Seen<'_>,
) -> ApiResult<Answer> {
    // RFC 8707 §2: `resource` may repeat on the wire; each grant allows at most one.
    let resources = f.all("resource");
    Ok(match grant_type {
        "refresh_token" => {
            let req = RefreshRequest {
                refresh_token: f.required("refresh_token")?,
                claims: seen.opened,
                scope: f.get("scope"),
                dpop_jkt: seen.dpop_jkt,
                resources: &resources,
                prefetched: seen.prefetched,
            };
            grants::refresh_token::grant(st, client, &req, caller, seen.arrival).await
        }
        "authorization_code" => {
            permitted(client, GrantType::AuthorizationCode)?;
            let req = CodeRequest {
                code: f.required("code")?,
                redirect_uri: f.get("redirect_uri"),
                code_verifier: f.get("code_verifier"),
                dpop_jkt: seen.dpop_jkt,
                resources: &resources,
            };
            grants::authorization_code::grant(st, client, &req, caller).await
        }
        "password" => {
            permitted(client, GrantType::Password)?;
            let req = PasswordRequest {
                username: f.required("username")?,
                password: f.required("password")?,
                scope: f.get("scope"),
                dpop_jkt: seen.dpop_jkt,
                resources: &resources,
            };
            grants::password::grant(st, client, &req, caller).await
        }
        "client_credentials" => {
            let req = ClientCredentialsRequest {
                scope: f.get("scope"),
                dpop_jkt: seen.dpop_jkt,
                resources: &resources,
            };
            grants::client_credentials::grant(st, client, &req).await
        }
        _ => {
            return Err(OAuthError::new(
                ErrorCode::UnsupportedGrantType,
                "the grant_type is not supported",
            )
            .into())
        }
    })
}
