//! `POST /revoke` (RFC 7009). Revoking a refresh token revokes its grant and so every
//! access token issued from it; revoking an access token makes it inactive until it
//! expires. A client may revoke only its own tokens; unknown tokens answer 200.

use super::error::{ApiError, ApiResult};
use super::{client_auth, form, Body};
use crate::caller::Caller;
use crate::state::{AppState, Shared};
use crate::tokens;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use baton_core::error::{ErrorCode, OAuthError};
use baton_core::model::Client;
use baton_core::store::Revocation;
use baton_core::time::Timestamp;

pub async fn revoke(
    State(st): State<Shared>,
    caller: Caller,
    headers: HeaderMap,
    Body(body): Body,
) -> Response {
    let (result, readers) = handle(&st, &caller, &headers, &body).await;
    let mut resp = match result {
        Ok(()) => {
            let mut r = StatusCode::OK.into_response();
            r.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            r
        }
        Err(e) => e.into_response(),
    };
    // The client that authenticated may read the answer from its origins.
    super::cors::allow_readers(&mut resp, readers);
    resp
}

fn not_yours() -> ApiError {
    // RFC 7009 §2.1: the server verifies the token was issued to the requesting client;
    // if not, the request is refused. Nothing is changed.
    OAuthError::new(
        ErrorCode::UnauthorizedClient,
        "the token was not issued to this client",
    )
    .into()
}

/// Authenticates the client and revokes the token; answers the result with the origins
/// that may read it (those of the client that authenticated, for a cross-origin request).
async fn handle(
    st: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    body: &[u8],
) -> (ApiResult<()>, Option<Vec<String>>) {
    let (f, client) = match authenticate(st, headers, body).await {
        Ok(v) => v,
        Err(e) => return (Err(e), None),
    };
    let readers = super::cors::readers(st, headers, &client);
    (
        revoke_token(st, caller, headers, &client, &f).await,
        readers,
    )
}

async fn authenticate(
    st: &AppState,
    headers: &HeaderMap,
    body: &[u8],
) -> ApiResult<(form::Form, Client)> {
    form::require_form_content_type(headers)?;
    let f = form::parse(body)?;
    let client = client_auth::authenticate(st, headers, &f, "/revoke").await?;
    Ok((f, client))
}

async fn revoke_token(
    st: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    client: &Client,
    f: &form::Form,
) -> ApiResult<()> {
    let token = f.required("token")?;
    let now = st.clock.now();
    // `token_type_hint` is only a lookup hint, and one we do not know is ignored
    // (RFC 7009 §2.1): every kind of token is tried whatever it says.
    if revoke_refresh(st, client, token, caller, headers, now).await? {
        return Ok(());
    }
    revoke_access(st, client, token, headers, now).await
}

/// A token bound to a DPoP key (a public client's grant, a DPoP-bound access token) is
/// revoked only by the holder of its key: without a proof of it, whoever stole the
/// token could sign the user out with it. Refused as `invalid_dpop_proof`, nothing
/// changed.
async fn key_holder(st: &AppState, headers: &HeaderMap, jkt: &str) -> ApiResult<()> {
    let url = format!("{}/revoke", st.cfg.issuer);
    super::dpop::proof_of_key(st, headers, "POST", &url, None, jkt)
        .await?
        .map_err(|r| OAuthError::new(ErrorCode::InvalidDpopProof, r.description()).into())
}

/// Answers whether `token` was a refresh token of ours (revoked, or refused).
async fn revoke_refresh(
    st: &AppState,
    client: &Client,
    token: &str,
    caller: &Caller,
    headers: &HeaderMap,
    now: Timestamp,
) -> ApiResult<bool> {
    let Some(claims) = st.rt_keys.open(token) else {
        return Ok(false);
    };
    let Some(grant) = st
        .grants(claims.persist())
        .get_grant(claims.grant_id)
        .await?
    else {
        return Ok(true);
    };
    if grant.client_id != client.client_id {
        return Err(not_yours());
    }
    if let Some(jkt) = &grant.dpop_jkt {
        key_holder(st, headers, jkt).await?;
    }
    let why = Revocation {
        reason: "revoked_by_client".into(),
        now,
        ip: caller.ip.clone(),
        user_agent: caller.user_agent.clone(),
        extra_events: vec![],
        actor: None,
    };
    // The token's flags say which store holds its grant: only that one is needed (a
    // persisted grant is revoked, or found already revoked, without Redis).
    crate::grants::revoke_grant(st, claims.persist(), grant.id, &why).await?;
    Ok(true)
}

async fn revoke_access(
    st: &AppState,
    client: &Client,
    token: &str,
    headers: &HeaderMap,
    now: Timestamp,
) -> ApiResult<()> {
    let Some(at) = tokens::read_access_token(st, token, now).await? else {
        return Ok(());
    };
    if at.claims["client_id"].as_str() != Some(client.client_id.as_str()) {
        return Err(not_yours());
    }
    if let Some(jkt) = at.dpop_jkt() {
        key_holder(st, headers, jkt).await?;
    }
    match at.reference {
        Some(digest) => {
            st.store.revoke_reference_token(&digest).await?;
        }
        None => {
            let (Some(jti), Some(exp)) = (at.claims["jti"].as_str(), at.claims["exp"].as_i64())
            else {
                return Ok(());
            };
            st.store.revoke_jti(jti, Timestamp::from_secs(exp)).await?;
        }
    }
    Ok(())
}
