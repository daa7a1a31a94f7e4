//! RFC 8414 / OIDC Discovery 1.0 metadata and the JWK Set. Only what works is
//! advertised.

use crate::state::Shared;
use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use baton_core::model::{AuthMethod, GrantType, SigAlg};
use serde_json::{json, Value};

/// At most this many resources' scopes are listed in `scopes_supported`.
const LISTED_RESOURCES: usize = 1000;

async fn metadata(st: &Shared) -> Value {
    let mut m = base_metadata(st);
    if st.cfg.registration.enabled {
        m["registration_endpoint"] = Value::String(format!("{}/register", st.cfg.issuer));
    }
    // The scopes of the active resources (APIs) too. The document stays served when the
    // store cannot be read: the server's own scopes are still true.
    match st.store.list_resources_page(None, LISTED_RESOURCES).await {
        Ok(resources) => {
            if let Some(list) = m["scopes_supported"].as_array_mut() {
                for s in resources
                    .iter()
                    .filter(|r| r.active)
                    .flat_map(|r| &r.scopes)
                {
                    if !list.iter().any(|v| v == s.as_str()) {
                        list.push(s.clone().into());
                    }
                }
            }
        }
        Err(e) => tracing::warn!(error = %e, "discovery: resources could not be read"),
    }
    m
}

fn base_metadata(st: &Shared) -> Value {
    let i = &st.cfg.issuer;
    let algs: Vec<&str> = SigAlg::ALL.iter().map(|a| a.as_str()).collect();
    json!({
        "issuer": i,
        "authorization_endpoint": format!("{i}/authorize"),
        "token_endpoint": format!("{i}/token"),
        "userinfo_endpoint": format!("{i}/userinfo"),
        "revocation_endpoint": format!("{i}/revoke"),
        "introspection_endpoint": format!("{i}/introspect"),
        "revocation_endpoint_auth_methods_supported": AuthMethod::ALL.iter().map(|m| m.as_str()).collect::<Vec<_>>(),
        "introspection_endpoint_auth_methods_supported": AuthMethod::ALL.iter().filter(|m| **m != AuthMethod::None).map(|m| m.as_str()).collect::<Vec<_>>(),
        "jwks_uri": format!("{i}/jwks"),
        "end_session_endpoint": format!("{i}/logout"),
        "backchannel_logout_supported": true,
        "backchannel_logout_session_supported": true,
        "scopes_supported": ["openid", "profile", "email", "address", "phone", "offline_access", "online_access"],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": GrantType::ALL.iter().map(|g| g.as_str()).collect::<Vec<_>>(),
        "token_endpoint_auth_methods_supported": AuthMethod::ALL.iter().map(|m| m.as_str()).collect::<Vec<_>>(),
        "token_endpoint_auth_signing_alg_values_supported": algs,
        "id_token_signing_alg_values_supported": algs,
        "subject_types_supported": ["public"],
        "code_challenge_methods_supported": ["S256"],
        "dpop_signing_alg_values_supported": crate::dpop::ALGS,
        "prompt_values_supported": ["none", "login", "consent"],
        "claims_supported": [
            "sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "sid", "at_hash", "azp",
            "name", "family_name", "given_name", "middle_name", "nickname", "preferred_username",
            "profile", "picture", "website", "gender", "birthdate", "zoneinfo", "locale", "updated_at",
            "email", "email_verified", "address", "phone_number", "phone_number_verified",
            "roles", "groups"
        ],
        "claims_parameter_supported": false,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "authorization_response_iss_parameter_supported": true,
    })
}

fn json_response(body: String) -> Response {
    let mut r = ([(header::CONTENT_TYPE, "application/json")], body).into_response();
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    r
}

pub async fn openid_configuration(State(st): State<Shared>) -> Response {
    json_response(metadata(&st).await.to_string())
}

pub async fn oauth_metadata(State(st): State<Shared>) -> Response {
    json_response(metadata(&st).await.to_string())
}

pub async fn jwks(State(st): State<Shared>) -> Response {
    let body = st.keyring().jwks_json().to_string();
    let mut r = ([(header::CONTENT_TYPE, "application/jwk-set+json")], body).into_response();
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=60"),
    );
    r
}
