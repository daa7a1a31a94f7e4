//! `POST /introspect` (RFC 7662), for authenticated (confidential) clients. A client
//! sees its own tokens; a client with `introspect_any` sees every token; a resource
//! server (`introspect_resources`) sees the access tokens issued for its resources. Anything
//! inactive, or not the caller's to see, is exactly `{"active": false}`. Introspection
//! never writes: it does not extend a sliding lifetime.

use super::error::{ApiError, ApiResult};
use super::{client_auth, form, Body};
use crate::grants::refresh_token::{client_allows, live_policy, Facts};
use crate::state::{AppState, Shared};
use crate::tokens;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use baton_core::error::OAuthError;
use baton_core::model::Client;
use baton_core::refresh::{decide, Decision, Presented};
use baton_core::time::Timestamp;
use serde_json::{json, Map, Value};

pub async fn introspect(
    State(st): State<Shared>,
    headers: HeaderMap,
    Body(body): Body,
) -> Response {
    match handle(&st, &headers, &body).await {
        Ok(v) => {
            let mut r = Json(v).into_response();
            r.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            r
        }
        Err(e) => e.into_response(),
    }
}

fn inactive() -> Value {
    json!({"active": false})
}

async fn handle(st: &AppState, headers: &HeaderMap, body: &[u8]) -> ApiResult<Value> {
    form::require_form_content_type(headers)?;
    let f = form::parse(body)?;
    let client = client_auth::authenticate(st, headers, &f, "/introspect").await?;
    if client.is_public() {
        return Err(ApiError::from(OAuthError::invalid_client(
            "introspection needs an authenticated (confidential) client",
        )));
    }
    let token = f.required("token")?;
    let now = st.clock.now();
    let refresh = refresh_token(st, &client, token, now).await?;
    if let Some(v) = refresh {
        return Ok(v);
    }
    let Some(at) = tokens::read_access_token(st, token, now).await? else {
        return Ok(inactive());
    };
    let owner = at.claims["client_id"].as_str().unwrap_or("");
    // A resource server sees the access tokens whose audience is one of its resources.
    let for_its_resource = at.claims["aud"]
        .as_str()
        .is_some_and(|aud| client.apis.introspect_resources.iter().any(|r| r == aud));
    if owner != client.client_id && !client.introspect_any && !for_its_resource {
        return Ok(inactive());
    }
    let mut out = Map::new();
    out.insert("active".into(), true.into());
    for k in [
        "scope",
        "client_id",
        "sub",
        "exp",
        "iat",
        "iss",
        "aud",
        "jti",
        "auth_time",
        "sid",
    ] {
        if let Some(v) = at.claims.get(k) {
            out.insert(k.into(), v.clone());
        }
    }
    // RFC 9449 §6.2: a DPoP-bound token says so, and which key.
    let jkt = at.dpop_jkt();
    out.insert("token_type".into(), tokens::token_type(jkt).into());
    if let Some(jkt) = jkt {
        out.insert("cnf".into(), json!({ "jkt": jkt }));
    }
    if let Some(u) = username(st, at.claims["sub"].as_str()).await? {
        out.insert("username".into(), u.into());
    }
    Ok(Value::Object(out))
}

async fn username(st: &AppState, sub: Option<&str>) -> ApiResult<Option<String>> {
    let Some(sub) = sub else { return Ok(None) };
    Ok(st.store.get_user_by_sub(sub).await?.map(|u| u.username))
}

/// `Some` when the token is one of our refresh tokens (active or not).
async fn refresh_token(
    st: &AppState,
    client: &Client,
    token: &str,
    now: Timestamp,
) -> ApiResult<Option<Value>> {
    let Some(claims) = st.rt_keys.open(token) else {
        return Ok(None);
    };
    let Some(mut grant) = st
        .grants(claims.persist())
        .get_grant(claims.grant_id)
        .await?
    else {
        return Ok(Some(inactive()));
    };
    if grant.client_id != client.client_id && !client.introspect_any {
        return Ok(Some(inactive()));
    }
    let facts = Facts::read(st, &mut grant, now).await?;
    let owner = st
        .store
        .get_client(&grant.client_id)
        .await?
        .filter(|c| c.active);
    let Some(owner) = owner else {
        return Ok(Some(inactive()));
    };
    // The same decision a refresh would make, without applying anything: active means
    // the owner could refresh with this token now (current generation, or the previous
    // one inside the grace period).
    let d = decide(
        &live_policy(&st.refresh_settings(&owner)),
        now,
        &grant,
        &Presented {
            client_id: &grant.client_id,
            generation: claims.generation,
            user_active: facts.user.as_ref().is_some_and(|u| u.active),
            session_live: facts.session_live,
            client_allows: client_allows(&owner, &grant),
            client_public: owner.is_public(),
            // Asked by the client, not presented: a key-bound grant is active for the
            // holder of its key.
            proof_jkt: grant.dpop_jkt.as_deref(),
            concurrent: false,
        },
    );
    if matches!(d, Decision::Reject(_)) {
        return Ok(Some(inactive()));
    }
    let mut out = json!({
        "active": true,
        "token_type": "refresh_token",
        "scope": grant.scope,
        "client_id": grant.client_id,
        "sub": grant.subject,
        "iss": st.cfg.issuer,
        "iat": grant.generation_started_at.unix_secs(),
    });
    if let Some(e) = grant.expiry() {
        out["exp"] = e.unix_secs().into();
    }
    if let Some(u) = facts.user {
        out["username"] = u.username.into();
    }
    if let Some(sid) = &grant.session_id {
        out["sid"] = sid.clone().into();
    }
    if let Some(jkt) = &grant.dpop_jkt {
        out["cnf"] = json!({ "jkt": jkt });
    }
    Ok(Some(out))
}
