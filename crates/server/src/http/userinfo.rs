//! OIDC Core §5.3 userinfo: the current claims the access token's scope releases.

use super::error::{ApiError, ApiResult};
use super::{form, Body};
use crate::state::{AppState, Shared};
use crate::tokens;
use axum::extract::State;
use axum::http::{header, HeaderMap, Method};
use axum::response::{IntoResponse, Response};
use axum::Json;
use baton_core::error::{ErrorCode, OAuthError};
use baton_core::scope::Scope;
use serde_json::Value;

fn invalid_token(d: &str) -> ApiError {
    OAuthError::new(ErrorCode::InvalidToken, d).into()
}

pub async fn userinfo(
    State(st): State<Shared>,
    method: Method,
    headers: HeaderMap,
    Body(body): Body,
) -> Response {
    let (scheme, token, at) = match read_token(&st, &method, &headers, &body).await {
        Ok(t) => t,
        Err(e) => return e.into_response(),
    };
    // The client the access token was issued to may read the answer from its origins,
    // a refused DPoP proof included (the app must see the challenge).
    let readers = super::cors::readers(&st, &headers, &at.client);
    let mut resp = match check_binding(&st, &method, &headers, scheme, &token, &at).await {
        Ok(()) => claims(&st, &at).await.into_response(),
        Err(e) => e.into_response(),
    };
    super::cors::allow_readers(&mut resp, readers);
    resp
}

/// How the access token was presented.
#[derive(Copy, Clone, PartialEq, Eq)]
enum Scheme {
    /// `Authorization: Bearer`, or the `access_token` form field.
    Bearer,
    /// `Authorization: DPoP` (RFC 9449 §7.1).
    Dpop,
}

/// The access token the request presents, how, and its claims if it is active.
async fn read_token(
    st: &AppState,
    method: &Method,
    headers: &HeaderMap,
    body: &[u8],
) -> ApiResult<(Scheme, String, tokens::AccessClaims)> {
    let from_header = headers.get(header::AUTHORIZATION).map(|v| {
        v.to_str().ok().and_then(|s| {
            let (scheme, rest) = s.split_once(' ')?;
            if scheme.eq_ignore_ascii_case("bearer") {
                Some((Scheme::Bearer, rest))
            } else if scheme.eq_ignore_ascii_case("dpop") {
                Some((Scheme::Dpop, rest))
            } else {
                None
            }
        })
    });
    let from_body = if method == Method::POST && !body.is_empty() {
        form::require_form_content_type(headers)?;
        form::parse(body)?.get("access_token").map(str::to_string)
    } else {
        None
    };
    // RFC 6750 §2: exactly one method of presenting the token.
    let (scheme, token) = match (from_header, from_body) {
        (Some(_), Some(_)) => {
            return Err(OAuthError::invalid_request("the access token is given twice").into())
        }
        (Some(Some((scheme, t))), None) => (scheme, t.trim().to_string()),
        (Some(None), None) => {
            return Err(invalid_token(
                "the Authorization header must use the Bearer or DPoP scheme",
            ))
        }
        (None, Some(t)) => (Scheme::Bearer, t),
        (None, None) => return Err(invalid_token("an access token is required")),
    };
    let now = st.clock.now();
    let at = tokens::read_access_token(st, &token, now)
        .await?
        .ok_or_else(|| invalid_token("the access token is invalid, expired or revoked"))?;
    Ok((scheme, token, at))
}

/// A DPoP-bound token only with the `DPoP` scheme and a proof of its key for this
/// request; an unbound one only as a bearer token.
async fn check_binding(
    st: &AppState,
    method: &Method,
    headers: &HeaderMap,
    scheme: Scheme,
    token: &str,
    at: &tokens::AccessClaims,
) -> ApiResult<()> {
    match (at.dpop_jkt(), scheme) {
        (Some(jkt), Scheme::Dpop) => {
            let url = format!("{}/userinfo", st.cfg.issuer);
            super::dpop::resource_proof(st, headers, method.as_str(), &url, token, jkt).await
        }
        // RFC 9449 §7.2: a bound token is worthless without its key.
        (Some(_), Scheme::Bearer) => Err(super::dpop::challenge(
            ErrorCode::InvalidToken,
            "the access token is DPoP-bound: present it with the DPoP scheme and a proof",
        )),
        (None, Scheme::Dpop) => Err(invalid_token(
            "the access token is not DPoP-bound: present it with the Bearer scheme",
        )),
        (None, Scheme::Bearer) => Ok(()),
    }
}

/// The claims the token's scope releases, and those the client's `userinfo_claims`
/// names, for its user as stored now.
async fn claims(st: &AppState, at: &tokens::AccessClaims) -> ApiResult<Json<Value>> {
    // Signed by this server from a parsed scope.
    let scope = Scope::from_stored(at.claims["scope"].as_str().unwrap_or("").to_string());
    if !scope.contains("openid") {
        // access_denied: 403.
        return Err(OAuthError::new(
            ErrorCode::AccessDenied,
            "the access token lacks the openid scope",
        )
        .into());
    }
    let sub = at.claims["sub"].as_str().unwrap_or("");
    let user = st
        .store
        .get_user_by_sub(sub)
        .await?
        .filter(|u| u.active)
        .ok_or_else(|| invalid_token("the user is inactive"))?;
    let mut out = tokens::scoped_claims(&user.claims, &scope);
    // And those the client's claim mapping names (`userinfo_claims`).
    baton_core::claims::ClaimSource::of(&user).release(&at.client.apis.userinfo_claims, &mut out);
    out.insert("sub".into(), user.sub.into());
    Ok(Json(Value::Object(out)))
}
