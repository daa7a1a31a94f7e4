//! `POST /register`: RFC 7591 dynamic client registration, routed only when
//! `registration.enabled = true`.
//!
//! Metadata is validated field by field (`invalid_redirect_uri` for a bad or missing
//! redirect URI, `invalid_client_metadata` for anything else, naming the field). Metadata
//! Baton does not know is ignored (RFC 7591 §2). A client that names no grant types gets
//! `registration.default_grant_types` (Janssen's "code flow with refresh" by default).
//! A confidential client gets a generated 256-bit secret, stored as its SHA-256 and shown
//! only in this response.
//!
//! What anyone who can reach this endpoint may register is bounded: scopes only from
//! `registration.allowed_scopes`, and no `backchannel_logout_uri` on a loopback,
//! private or link-local literal address (the server would POST there;
//! `http.allow_private_outbound` lifts this for local development). The client is
//! marked as dynamically registered: its redirect URIs are not trusted for automatic
//! redirects (see `pages::authorize`, `pages::logout`).

use super::error::{ApiError, ApiResult};
use super::Body;
use crate::caller::Caller;
use crate::config::{check_redirect_uri, Config};
use crate::grants::{event, log_event};
use crate::state::{AppState, Shared};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use baton_core::error::{ErrorCode, OAuthError};
use baton_core::model::{AuthMethod, Client, GrantType, SigAlg};
use baton_core::policy::RefreshOverrides;
use baton_proto::registration::RegistrationResponse;
use serde_json::{Map, Value};

fn metadata_error(d: impl Into<String>) -> ApiError {
    OAuthError::new(ErrorCode::InvalidClientMetadata, d).into()
}

fn redirect_error(d: impl Into<String>) -> ApiError {
    OAuthError::new(ErrorCode::InvalidRedirectUri, d).into()
}

pub async fn register(
    State(st): State<Shared>,
    meta: Caller,
    headers: HeaderMap,
    Body(body): Body,
) -> Response {
    match handle(&st, &meta, &headers, &body).await {
        Ok(r) => {
            let mut resp = (StatusCode::CREATED, axum::Json(r)).into_response();
            let h = resp.headers_mut();
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
            resp
        }
        Err(e) => e.into_response(),
    }
}

/// RFC 7591 §3: when an initial access token is configured, it is required as a Bearer
/// token (compared in constant time).
fn check_initial_access_token(st: &AppState, headers: &HeaderMap) -> ApiResult<()> {
    let Some(expected) = &st.cfg.registration_initial_access_token else {
        return Ok(());
    };
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        });
    match presented {
        Some(t) if baton_core::secret::ct_eq(t.as_bytes(), expected.expose().as_bytes()) => Ok(()),
        Some(_) => Err(OAuthError::new(
            ErrorCode::InvalidToken,
            "the initial access token is not valid",
        )
        .into()),
        None => Err(OAuthError::new(
            ErrorCode::InvalidToken,
            "registration requires an initial access token (Authorization: Bearer …)",
        )
        .into()),
    }
}

/// What a valid registration request asks for.
struct Registration {
    client: Client,
    response_types: Vec<String>,
}

async fn handle(
    st: &AppState,
    meta: &Caller,
    headers: &HeaderMap,
    body: &[u8],
) -> ApiResult<RegistrationResponse> {
    check_initial_access_token(st, headers)?;
    let json_ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    if !json_ct {
        return Err(metadata_error(
            "the request body must be JSON (Content-Type: application/json)",
        ));
    }
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| metadata_error(format!("the request body is not valid JSON: {e}")))?;
    let Value::Object(obj) = v else {
        return Err(metadata_error("the request body must be a JSON object"));
    };
    let now = st.clock.now();
    let mut reg = validate(&obj, &st.cfg)?;
    let secret = if reg.client.is_public() || reg.client.auth_method == AuthMethod::PrivateKeyJwt {
        None
    } else {
        let s = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(baton_core::random_bytes::<32>());
        reg.client.secret_sha256 = Some(baton_core::secret::sha256(s.as_bytes()));
        Some(s)
    };
    reg.client.client_id = baton_core::random_id("dyn_");
    reg.client.created_at = now;
    let c = &reg.client;
    st.store.upsert_client(c).await?;
    let ev = event(
        "client.changed",
        now,
        meta,
        Some(&c.client_id),
        None,
        None,
        serde_json::json!({"action": "registered", "via": "dynamic_registration"}),
    );
    log_event(&ev);
    if let Err(e) = st.store.insert_events(vec![ev]).await {
        // The client exists; losing its audit record must not hide the client from the
        // caller (its secret would be lost with a failed response).
        tracing::warn!(error = %e, client_id = %c.client_id, "cannot record client registration event");
    }
    Ok(RegistrationResponse {
        client_id: c.client_id.clone(),
        client_secret_expires_at: secret.as_ref().map(|_| 0),
        client_secret: secret,
        client_id_issued_at: now.0.div_euclid(1000),
        redirect_uris: c.redirect_uris.clone(),
        token_endpoint_auth_method: c.auth_method.as_str().to_string(),
        grant_types: c
            .grant_types
            .iter()
            .map(|g| g.as_str().to_string())
            .collect(),
        response_types: reg.response_types,
        scope: c.scopes.join(" "),
        client_name: c.client_name.clone(),
        jwks: c.jwks.clone(),
        post_logout_redirect_uris: c.post_logout_redirect_uris.clone(),
        backchannel_logout_uri: c.backchannel_logout_uri.clone(),
        id_token_signed_response_alg: c.id_token_alg.as_str().to_string(),
    })
}

fn opt_str(obj: &Map<String, Value>, k: &str) -> ApiResult<Option<String>> {
    match obj.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(metadata_error(format!("`{k}` must be a string"))),
    }
}

fn opt_list(obj: &Map<String, Value>, k: &str) -> ApiResult<Option<Vec<String>>> {
    match obj.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| metadata_error(format!("`{k}` must be an array of strings")))
            })
            .collect::<ApiResult<Vec<_>>>()
            .map(Some),
        Some(_) => Err(metadata_error(format!("`{k}` must be an array of strings"))),
    }
}

/// Validates RFC 7591 / OIDC Registration metadata into a client (id, secret and
/// creation time are filled in by the caller).
fn validate(obj: &Map<String, Value>, cfg: &Config) -> ApiResult<Registration> {
    let default_grants = &cfg.registration_default_grant_types;
    // Grant types: named ones must exist; the default comes from the configuration.
    let grant_types: Vec<GrantType> = match opt_list(obj, "grant_types")? {
        None => default_grants.to_vec(),
        Some(l) if l.is_empty() => return Err(metadata_error("`grant_types` must not be empty")),
        Some(l) => {
            let mut out = Vec::new();
            for g in &l {
                let gt = GrantType::parse(g).ok_or_else(|| {
                    metadata_error(format!("`grant_types`: unsupported grant type `{g}`"))
                })?;
                if gt == GrantType::Password {
                    return Err(metadata_error(
                        "`grant_types`: the password grant cannot be registered dynamically",
                    ));
                }
                if !out.contains(&gt) {
                    out.push(gt);
                }
            }
            out
        }
    };
    if grant_types == [GrantType::RefreshToken] {
        return Err(metadata_error(
            "`grant_types`: refresh_token needs a grant that issues refresh tokens (authorization_code)",
        ));
    }
    let code = grant_types.contains(&GrantType::AuthorizationCode);

    // response_types must agree with grant_types (RFC 7591 §2.1).
    let response_types = match opt_list(obj, "response_types")? {
        None if code => vec!["code".to_string()],
        None => vec![],
        Some(l) => {
            if let Some(bad) = l.iter().find(|r| r.as_str() != "code") {
                return Err(metadata_error(format!(
                    "`response_types`: unsupported response type `{bad}` (only `code`)"
                )));
            }
            let has_code = l.iter().any(|r| r == "code");
            if has_code != code {
                return Err(metadata_error(
                    "`response_types` and `grant_types` disagree: `code` goes with authorization_code",
                ));
            }
            l
        }
    };

    let redirect_uris = opt_list(obj, "redirect_uris")
        .map_err(|e| redirect_error(e.err.description))?
        .unwrap_or_default();
    if code && redirect_uris.is_empty() {
        return Err(redirect_error(
            "`redirect_uris` is required for the authorization_code grant",
        ));
    }
    for (i, u) in redirect_uris.iter().enumerate() {
        check_redirect_uri(u).map_err(|m| redirect_error(format!("`redirect_uris[{i}]`: {m}")))?;
    }
    let post_logout_redirect_uris = opt_list(obj, "post_logout_redirect_uris")?.unwrap_or_default();
    for (i, u) in post_logout_redirect_uris.iter().enumerate() {
        check_redirect_uri(u)
            .map_err(|m| metadata_error(format!("`post_logout_redirect_uris[{i}]`: {m}")))?;
    }
    let backchannel_logout_uri = opt_str(obj, "backchannel_logout_uri")?;
    if let Some(u) = &backchannel_logout_uri {
        check_redirect_uri(u)
            .and_then(|()| crate::outbound::refuse_literal(u, cfg.allow_private_outbound))
            .map_err(|m| metadata_error(format!("`backchannel_logout_uri`: {m}")))?;
    }

    // RFC 7591 §2: the default method is client_secret_basic.
    let auth_method = match opt_str(obj, "token_endpoint_auth_method")? {
        None => AuthMethod::ClientSecretBasic,
        Some(m) => AuthMethod::parse(&m).ok_or_else(|| {
            metadata_error(format!(
                "`token_endpoint_auth_method`: unsupported method `{m}` (client_secret_basic, client_secret_post, private_key_jwt or none)"
            ))
        })?,
    };
    if auth_method == AuthMethod::None && grant_types.contains(&GrantType::ClientCredentials) {
        return Err(metadata_error(
            "`grant_types`: a public client (token_endpoint_auth_method none) cannot use client_credentials",
        ));
    }
    if obj.get("jwks_uri").is_some_and(|v| !v.is_null()) {
        return Err(metadata_error(
            "`jwks_uri` is not supported: give the keys inline as `jwks`",
        ));
    }
    let jwks = match obj.get("jwks") {
        None | Some(Value::Null) => None,
        Some(j) => {
            let keys = j["keys"]
                .as_array()
                .ok_or_else(|| metadata_error("`jwks` must be a JWK Set: {\"keys\": [...]}"))?;
            if keys.is_empty() {
                return Err(metadata_error("`jwks` has no keys"));
            }
            if let Some(i) = keys.iter().position(|k| !k["kty"].is_string()) {
                return Err(metadata_error(format!("`jwks.keys[{i}]` has no `kty`")));
            }
            if let Some(i) = keys.iter().position(|k| k.get("d").is_some()) {
                return Err(metadata_error(format!(
                    "`jwks.keys[{i}]` is a private key: register the public key only"
                )));
            }
            Some(j.clone())
        }
    };
    if auth_method == AuthMethod::PrivateKeyJwt && jwks.is_none() {
        return Err(metadata_error("`jwks` is required for private_key_jwt"));
    }

    let allowed = &cfg.registration_allowed_scopes;
    let scopes: Vec<String> = match opt_str(obj, "scope")? {
        None => allowed.clone(),
        Some(s) => {
            let v = baton_core::scope::parse(&s)
                .map_err(|m| metadata_error(format!("`scope`: {m}")))?;
            if v.is_empty() {
                return Err(metadata_error("`scope` must name at least one scope"));
            }
            let refused: Vec<&str> = v
                .iter()
                .filter(|s| !allowed.contains(s))
                .map(String::as_str)
                .collect();
            if !refused.is_empty() {
                return Err(metadata_error(format!(
                    "`scope`: not available to registered clients: {} (allowed: {})",
                    refused.join(" "),
                    allowed.join(" ")
                )));
            }
            v
        }
    };
    let client_name = opt_str(obj, "client_name")?;
    if let Some(n) = &client_name {
        if n.trim().is_empty() || n.chars().count() > 200 || n.chars().any(char::is_control) {
            return Err(metadata_error(
                "`client_name` must be 1 to 200 printable characters",
            ));
        }
    }
    let id_token_alg = match opt_str(obj, "id_token_signed_response_alg")? {
        None => SigAlg::RS256,
        Some(a) => SigAlg::parse(&a).ok_or_else(|| {
            metadata_error(format!(
                "`id_token_signed_response_alg`: unsupported algorithm `{a}`"
            ))
        })?,
    };

    Ok(Registration {
        client: Client {
            client_id: String::new(),
            client_name,
            secret_sha256: None,
            auth_method,
            redirect_uris,
            post_logout_redirect_uris,
            backchannel_logout_uri,
            grant_types,
            scopes,
            access_token_format: None,
            id_token_alg,
            introspect_any: false,
            jwks,
            refresh: RefreshOverrides::default(),
            active: true,
            created_at: baton_core::time::Timestamp(0),
            dynamically_registered: true,
        },
        response_types,
    })
}
