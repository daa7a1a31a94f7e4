//! The `DPoP` header (RFC 9449) at the token endpoint and at userinfo: read it, have
//! [`crate::dpop`] check it, and answer a refusal as RFC 9449 §7 says: at the token
//! endpoint `invalid_dpop_proof` or `use_dpop_nonce` (400, with a fresh `DPoP-Nonce`
//! when nonces are on), at userinfo a 401 with a `DPoP` challenge.

use super::error::{ApiError, ApiResult, Refusal};
use crate::caller::Caller;
use crate::dpop::{self, Expect, Header, Proof, VerifyError};
use crate::state::AppState;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::Response;
use baton_core::error::{ErrorCode, OAuthError};
use baton_core::model::Client;

/// The request's `DPoP` headers.
pub fn header(headers: &HeaderMap) -> Header<'_> {
    let mut all = headers.get_all("dpop").iter();
    match (all.next(), all.next()) {
        (None, _) => Header::Absent,
        (Some(v), None) => match v.to_str() {
            Ok(s) => Header::One(s.trim()),
            Err(_) => Header::Bad(dpop::Refusal::Malformed),
        },
        _ => Header::Bad(dpop::Refusal::Several),
    }
}

/// Whether `client`'s token requests must carry a proof: its own
/// `dpop_bound_access_tokens`, or `dpop.require_for_public_clients` for a public one.
fn required(st: &AppState, client: &Client) -> bool {
    client.dpop_bound_access_tokens
        || (client.is_public() && st.cfg.dpop.require_for_public_clients)
}

/// The proof of a token request by the authenticated `client`: `None` if it carried
/// none and needs none. A refusal is counted, and answered; it is recorded as
/// `dpop.proof_refused` only for a client that authenticated with a credential (a
/// public client is only named, so anyone could flood the event log in its name) and
/// never for a missing nonce (a routine step of the protocol).
pub async fn token_proof(
    st: &AppState,
    headers: &HeaderMap,
    client: &Client,
    caller: &Caller,
) -> ApiResult<Option<Proof>> {
    let header = header(headers);
    // The common case on the hot path: no proof, none needed.
    if matches!(header, Header::Absent) && !required(st, client) {
        return Ok(None);
    }
    let url = format!("{}/token", st.cfg.issuer);
    let expect = Expect {
        method: "POST",
        url: &url,
        access_token: None,
        nonce: st.cfg.dpop.require_nonce,
    };
    let refusal = match dpop::verify(st, header, &expect).await {
        Ok(Some(p)) => return Ok(Some(p)),
        Ok(None) => dpop::count(dpop::Refusal::Missing),
        Err(VerifyError::Refused(r)) => r,
        Err(VerifyError::Store(e)) => return Err(e.into()),
    };
    if refusal != dpop::Refusal::Nonce && !client.is_public() {
        let ev = dpop::refusal_event(
            refusal,
            "/token",
            st.clock.now(),
            caller,
            Some(&client.client_id),
            None,
        );
        crate::best_effort::record_event(st, ev).await;
    }
    let code = if refusal == dpop::Refusal::Nonce {
        ErrorCode::UseDpopNonce
    } else {
        ErrorCode::InvalidDpopProof
    };
    Err(OAuthError::new(code, refusal.description()).into())
}

/// Adds the current `DPoP-Nonce` to a token endpoint response when nonces are on: the
/// client's next proof carries it.
pub fn add_nonce(st: &AppState, resp: &mut Response) {
    if !st.cfg.dpop.require_nonce {
        return;
    }
    if let Ok(v) = HeaderValue::from_str(&st.dpop_nonces.current(st.clock.now())) {
        resp.headers_mut().insert("dpop-nonce", v);
    }
}

/// A resource request's refusal with a `DPoP` challenge (RFC 9449 §7.1): 401.
pub fn challenge(code: ErrorCode, description: &str) -> ApiError {
    ApiError::refused(OAuthError::new(code, description), Refusal::DpopChallenge)
}

/// Checks the request's proof for `method` on `url` (with the `ath` of `access_token`
/// when given) and that it is of the key `jkt`; the refusal otherwise, counted.
pub async fn proof_of_key(
    st: &AppState,
    headers: &HeaderMap,
    method: &str,
    url: &str,
    access_token: Option<&str>,
    jkt: &str,
) -> ApiResult<Result<(), dpop::Refusal>> {
    let expect = Expect {
        method,
        url,
        access_token,
        nonce: false,
    };
    Ok(Err(
        match dpop::verify(st, header(headers), &expect).await {
            Ok(Some(p)) if p.jkt == jkt => return Ok(Ok(())),
            Ok(Some(_)) => dpop::count(dpop::Refusal::KeyMismatch),
            Ok(None) => dpop::count(dpop::Refusal::Missing),
            Err(VerifyError::Refused(r)) => r,
            Err(VerifyError::Store(e)) => return Err(e.into()),
        },
    ))
}

/// Checks the proof of a request to a resource of ours (`url`, with `method`) that
/// presented the DPoP-bound `access_token`, bound to `jkt`.
pub async fn resource_proof(
    st: &AppState,
    headers: &HeaderMap,
    method: &str,
    url: &str,
    access_token: &str,
    jkt: &str,
) -> ApiResult<()> {
    proof_of_key(st, headers, method, url, Some(access_token), jkt)
        .await?
        .map_err(|r| challenge(ErrorCode::InvalidDpopProof, r.description()))
}
