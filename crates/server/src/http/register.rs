//! `POST /register`: RFC 7591 dynamic client registration, routed only when
//! `registration.enabled = true`.
//!
//! Metadata is validated field by field (`invalid_redirect_uri` for a bad or missing
//! redirect URI, `invalid_client_metadata` for anything else, naming the field): the
//! rules every client meets are the one client validator's (`baton_core::client_spec`),
//! the restrictions below this endpoint's own, checked on top. Metadata
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
use crate::config::Config;
use crate::grants::{event, log_event};
use crate::state::{AppState, Shared};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use baton_core::client_spec::{ClientSpec, ValidClient};
use baton_core::error::{ErrorCode, OAuthError};
use baton_core::events::EventKind;
use baton_core::model::{AuthMethod, GrantType};
use baton_core::policy::FieldError;
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
    caller: Caller,
    headers: HeaderMap,
    Body(body): Body,
) -> Response {
    match handle(&st, &caller, &headers, &body).await {
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
    let Some(expected) = &st.cfg.registration.initial_access_token else {
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
    client: ValidClient,
    /// The generated secret (a confidential client's), shown only in the answer.
    secret: Option<String>,
    response_types: Vec<String>,
}

async fn handle(
    st: &AppState,
    caller: &Caller,
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
    let reg = validate(&obj, &st.cfg)?;
    let secret = reg.secret;
    let mut client = reg.client.to_client(now);
    client.dynamically_registered = true;
    let c = &client;
    st.store.upsert_client(c).await?;
    st.cors_origins.add(&st.cfg, c);
    let ev = event(
        EventKind::ClientChanged,
        now,
        caller,
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
        allowed_origins: c.allowed_origins.clone(),
        id_token_signed_response_alg: c.id_token_alg.as_str().to_string(),
        dpop_bound_access_tokens: c.dpop_bound_access_tokens,
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

/// Validates RFC 7591 / OIDC Registration metadata: first what only a dynamically
/// registered client is held to (and the metadata's own shape), then the rules every
/// client meets (`baton_core::client_spec`), then where its back-channel URI points.
/// The client id and, for a secret method, the secret are generated here.
fn validate(obj: &Map<String, Value>, cfg: &Config) -> ApiResult<Registration> {
    let default_grants = &cfg.registration.default_grant_types;
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
    let post_logout_redirect_uris = opt_list(obj, "post_logout_redirect_uris")?.unwrap_or_default();
    let backchannel_logout_uri = opt_str(obj, "backchannel_logout_uri")?;
    let allowed_origins = opt_list(obj, "allowed_origins")?.unwrap_or_default();

    // RFC 7591 §2: the default method is client_secret_basic.
    let auth_method = opt_str(obj, "token_endpoint_auth_method")?
        .unwrap_or_else(|| AuthMethod::ClientSecretBasic.as_str().to_string());
    if obj.get("jwks_uri").is_some_and(|v| !v.is_null()) {
        return Err(metadata_error(
            "`jwks_uri` is not supported: give the keys inline as `jwks`",
        ));
    }
    // Public keys only, and at least one, each with its type.
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

    let allowed = &cfg.registration.allowed_scopes;
    let scopes: Vec<String> = match opt_str(obj, "scope")? {
        None => allowed.clone(),
        Some(s) => {
            let v = baton_core::scope::Scope::parse(&s)
                .map_err(|m| metadata_error(format!("`scope`: {m}")))?;
            if v.is_empty() {
                return Err(metadata_error("`scope` must name at least one scope"));
            }
            let refused: Vec<&str> = v
                .iter()
                .filter(|s| !allowed.iter().any(|a| a == s))
                .collect();
            if !refused.is_empty() {
                return Err(metadata_error(format!(
                    "`scope`: not available to registered clients: {} (allowed: {})",
                    refused.join(" "),
                    allowed.join(" ")
                )));
            }
            v.iter().map(str::to_string).collect()
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
    let id_token_signed_response_alg = opt_str(obj, "id_token_signed_response_alg")?;
    let dpop_bound_access_tokens = match obj.get("dpop_bound_access_tokens") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            return Err(metadata_error(
                "`dpop_bound_access_tokens` must be true or false",
            ))
        }
    };

    // A confidential client gets a generated 256-bit secret, shown only in the answer.
    let secret = matches!(
        AuthMethod::parse(&auth_method),
        Some(AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost)
    )
    .then(|| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(baton_core::random_bytes::<32>())
    });
    let spec = ClientSpec {
        client_id: baton_core::random_id("dyn_"),
        client_name,
        client_secret: secret.clone(),
        client_secret_sha256: None,
        token_endpoint_auth_method: Some(auth_method),
        redirect_uris,
        post_logout_redirect_uris,
        backchannel_logout_uri,
        allowed_origins,
        grant_types: Some(grant_types.iter().map(|g| g.as_str().to_string()).collect()),
        scopes: Some(scopes),
        access_token_format: None,
        id_token_signed_response_alg,
        introspect_any: false,
        dpop_bound_access_tokens,
        jwks,
        active: Some(true),
        refresh_tokens: Default::default(),
        // Resources, introspection rights and claim mapping are an operator's choice:
        // RFC 7591 registration never grants them.
        ..Default::default()
    };
    let client = spec.validate(&cfg.refresh_tokens).map_err(spec_error)?;
    if let Some(u) = &client.backchannel_logout_uri {
        crate::outbound::refuse_literal(u, cfg.http.allow_private_outbound)
            .map_err(|m| metadata_error(format!("`backchannel_logout_uri`: {m}")))?;
    }
    Ok(Registration {
        client,
        secret,
        response_types,
    })
}

/// The client validator's refusal as RFC 7591 §3.2.2 words it: `invalid_redirect_uri`
/// for the redirect URIs, `invalid_client_metadata` for anything else; the description
/// names the field.
fn spec_error(e: FieldError) -> ApiError {
    let description = format!("`{}`: {}", e.field, e.message);
    if e.field.starts_with("redirect_uris") {
        redirect_error(description)
    } else {
        metadata_error(description)
    }
}
