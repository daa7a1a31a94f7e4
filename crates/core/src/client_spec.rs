//! One client, validated: the rules every way of making a client shares (a
//! `[[clients]]` entry in the configuration file, `POST`/`PATCH /admin/clients`,
//! `POST /register`). Each caller maps its own input into a [`ClientSpec`] (the
//! `[[clients]]` shape as Rust values), calls [`ClientSpec::validate`], and maps the one
//! error shape, a [`FieldError`] naming the key at fault relative to the client
//! (`redirect_uris[0]`, `refresh_tokens.grace_period` …), into its own wire error.
//! Restrictions only one caller has (what a dynamically registered client may ask for)
//! are that caller's checks, layered on top.

use crate::model::{AuthMethod, Client, ClientApis, GrantType, SigAlg, TokenFormat};
use crate::policy::{FieldError, RefreshOverrides, RefreshSettings};
use crate::time::Timestamp;
use baton_proto::admin::ClientCreate;
use baton_proto::settings::RefreshTokenSettings;
use serde_json::Value;

/// The scopes a client gets when none are configured or registered for it.
pub const DEFAULT_SCOPES: [&str; 4] = ["openid", "profile", "email", "offline_access"];

/// A client as asked for, not yet checked. `Debug` is not derived: it may hold a
/// secret.
#[derive(Clone, Default)]
pub struct ClientSpec {
    pub client_id: String,
    pub client_name: Option<String>,
    /// The secret itself (at least 32 characters); only its SHA-256 is kept.
    pub client_secret: Option<String>,
    /// The secret's SHA-256 as 64 hex digits.
    pub client_secret_sha256: Option<String>,
    /// Default: `none` without secret or keys, `private_key_jwt` with keys and no
    /// secret, else `client_secret_basic`.
    pub token_endpoint_auth_method: Option<String>,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub backchannel_logout_uri: Option<String>,
    /// Browser origins (`scheme://host[:port]`) allowed to call the token, revocation
    /// and userinfo endpoints cross-origin (CORS).
    pub allowed_origins: Vec<String>,
    /// Default: `authorization_code` and `refresh_token`.
    pub grant_types: Option<Vec<String>>,
    /// Default: [`DEFAULT_SCOPES`].
    pub scopes: Option<Vec<String>>,
    pub access_token_format: Option<String>,
    /// Default: RS256.
    pub id_token_signed_response_alg: Option<String>,
    pub introspect_any: bool,
    /// Every token request must carry a DPoP proof (RFC 9449 §5.2).
    pub dpop_bound_access_tokens: bool,
    /// A JWK Set, or a string holding one as JSON.
    pub jwks: Option<Value>,
    /// Resources it may request, its default one, the resources it may introspect,
    /// and its claim mapping. Whether the resources exist is the caller's check
    /// (it knows them).
    pub resources: Vec<String>,
    pub default_resource: Option<String>,
    pub introspect_resources: Vec<String>,
    pub id_token_claims: Vec<String>,
    pub userinfo_claims: Vec<String>,
    pub access_token_claims: Vec<String>,
    /// Default: `true`.
    pub active: Option<bool>,
    pub refresh_tokens: RefreshTokenSettings,
}

/// A client as the admin API takes it: the same shape, without a secret (the server
/// generates one).
impl From<ClientCreate> for ClientSpec {
    fn from(c: ClientCreate) -> Self {
        ClientSpec {
            client_id: c.client_id,
            client_name: c.client_name,
            client_secret: None,
            client_secret_sha256: None,
            token_endpoint_auth_method: c.token_endpoint_auth_method,
            redirect_uris: c.redirect_uris,
            post_logout_redirect_uris: c.post_logout_redirect_uris,
            backchannel_logout_uri: c.backchannel_logout_uri,
            allowed_origins: c.allowed_origins,
            grant_types: c.grant_types,
            scopes: c.scopes,
            access_token_format: c.access_token_format,
            id_token_signed_response_alg: c.id_token_signed_response_alg,
            introspect_any: c.introspect_any,
            dpop_bound_access_tokens: c.dpop_bound_access_tokens,
            jwks: c.jwks,
            resources: c.resources,
            default_resource: c.default_resource,
            introspect_resources: c.introspect_resources,
            id_token_claims: c.id_token_claims,
            userinfo_claims: c.userinfo_claims,
            access_token_claims: c.access_token_claims,
            active: c.active,
            refresh_tokens: c.refresh_tokens,
        }
    }
}

/// A client that passed [`ClientSpec::validate`]; with its creation time it is a
/// [`Client`].
#[derive(Clone, Debug, PartialEq)]
pub struct ValidClient {
    pub client_id: String,
    pub client_name: Option<String>,
    pub secret_sha256: Option<[u8; 32]>,
    pub auth_method: AuthMethod,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub backchannel_logout_uri: Option<String>,
    pub allowed_origins: Vec<String>,
    pub grant_types: Vec<GrantType>,
    pub scopes: Vec<String>,
    pub access_token_format: Option<TokenFormat>,
    pub id_token_alg: SigAlg,
    pub introspect_any: bool,
    pub dpop_bound_access_tokens: bool,
    pub jwks: Option<Value>,
    pub apis: ClientApis,
    pub active: bool,
    pub refresh: RefreshOverrides,
}

impl ValidClient {
    /// The stored client, created at `created_at` (not dynamically registered).
    pub fn to_client(&self, created_at: Timestamp) -> Client {
        Client {
            client_id: self.client_id.clone(),
            client_name: self.client_name.clone(),
            secret_sha256: self.secret_sha256,
            auth_method: self.auth_method,
            redirect_uris: self.redirect_uris.clone(),
            post_logout_redirect_uris: self.post_logout_redirect_uris.clone(),
            backchannel_logout_uri: self.backchannel_logout_uri.clone(),
            allowed_origins: self.allowed_origins.clone(),
            grant_types: self.grant_types.clone(),
            scopes: self.scopes.clone(),
            access_token_format: self.access_token_format,
            id_token_alg: self.id_token_alg,
            introspect_any: self.introspect_any,
            dpop_bound_access_tokens: self.dpop_bound_access_tokens,
            jwks: self.jwks.clone(),
            apis: self.apis.clone(),
            refresh: self.refresh.clone(),
            active: self.active,
            created_at,
            dynamically_registered: false,
            managed_by: crate::model::ManagedBy::Api,
        }
    }
}

fn bad(field: &str, message: impl Into<String>) -> FieldError {
    FieldError::new(field, message)
}

impl ClientSpec {
    /// Checks every rule a client must meet, against the server-wide refresh-token
    /// settings `server_rt` (a client's overrides are validated laid over them).
    /// The first fault found is answered, naming its key.
    pub fn validate(self, server_rt: &RefreshSettings) -> Result<ValidClient, FieldError> {
        let c = self;
        if c.client_id.is_empty()
            || c.client_id.len() > 128
            || c.client_id
                .chars()
                .any(|ch| ch.is_control() || ch == ' ' || ch == ':')
        {
            return Err(bad(
                "client_id",
                "must be 1 to 128 printable characters without spaces or colons",
            ));
        }
        let auth_method = match &c.token_endpoint_auth_method {
            None if c.client_secret.is_none()
                && c.client_secret_sha256.is_none()
                && c.jwks.is_none() =>
            {
                AuthMethod::None
            }
            None if c.jwks.is_some() && c.client_secret.is_none() => AuthMethod::PrivateKeyJwt,
            None => AuthMethod::ClientSecretBasic,
            Some(m) => AuthMethod::parse(m).ok_or_else(|| {
                bad(
                    "token_endpoint_auth_method",
                    format!("unknown method `{m}`: expected client_secret_basic, client_secret_post, private_key_jwt or none"),
                )
            })?,
        };
        let secret_sha256 = match (&c.client_secret, &c.client_secret_sha256) {
            (Some(_), Some(_)) => {
                return Err(bad(
                    "client_secret",
                    "give client_secret or client_secret_sha256, not both",
                ))
            }
            (Some(s), None) => {
                if s.chars().count() < 32 {
                    return Err(bad("client_secret", "must be at least 32 characters"));
                }
                Some(crate::secret::sha256(s.as_bytes()))
            }
            (None, Some(h)) => Some(
                crate::secret::unhex(h)
                    .and_then(|b| <[u8; 32]>::try_from(b).ok())
                    .ok_or_else(|| bad("client_secret_sha256", "must be 64 hex digits"))?,
            ),
            (None, None) => None,
        };
        match auth_method {
            AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost
                if secret_sha256.is_none() =>
            {
                return Err(bad(
                    "client_secret",
                    format!("is required for {}", auth_method.as_str()),
                ));
            }
            AuthMethod::None if secret_sha256.is_some() => {
                return Err(bad(
                    "client_secret",
                    "a public client (token_endpoint_auth_method = \"none\") has no secret",
                ));
            }
            AuthMethod::PrivateKeyJwt if c.jwks.is_none() => {
                return Err(bad("jwks", "is required for private_key_jwt"));
            }
            _ => {}
        }
        let jwks = match c.jwks {
            None => None,
            Some(j) => {
                let j = match j {
                    Value::String(s) => serde_json::from_str(&s)
                        .map_err(|e| bad("jwks", format!("is not JSON: {e}")))?,
                    other => other,
                };
                if !j["keys"].is_array() {
                    return Err(bad("jwks", "must be a JWK Set: {\"keys\": [...]}"));
                }
                Some(j)
            }
        };
        for (i, u) in c.redirect_uris.iter().enumerate() {
            check_redirect_uri(u).map_err(|m| bad(&format!("redirect_uris[{i}]"), m))?;
        }
        for (i, u) in c.post_logout_redirect_uris.iter().enumerate() {
            check_redirect_uri(u)
                .map_err(|m| bad(&format!("post_logout_redirect_uris[{i}]"), m))?;
        }
        if let Some(u) = &c.backchannel_logout_uri {
            check_redirect_uri(u).map_err(|m| bad("backchannel_logout_uri", m))?;
        }
        for (i, o) in c.allowed_origins.iter().enumerate() {
            check_origin(o).map_err(|m| bad(&format!("allowed_origins[{i}]"), m))?;
        }
        let grant_types = match c.grant_types {
            None => vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
            Some(g) => g
                .iter()
                .map(|s| {
                    GrantType::parse(s)
                        .ok_or_else(|| bad("grant_types", format!("unknown grant type `{s}`")))
                })
                .collect::<Result<_, _>>()?,
        };
        if auth_method == AuthMethod::None && grant_types.contains(&GrantType::ClientCredentials) {
            return Err(bad(
                "grant_types",
                "a public client cannot use client_credentials",
            ));
        }
        if grant_types.contains(&GrantType::AuthorizationCode) && c.redirect_uris.is_empty() {
            return Err(bad(
                "redirect_uris",
                "the authorization_code grant needs at least one redirect URI",
            ));
        }
        let scopes = c
            .scopes
            .unwrap_or_else(|| DEFAULT_SCOPES.iter().map(|s| s.to_string()).collect());
        for s in &scopes {
            if crate::scope::Scope::parse(s).map(|v| v.len()) != Ok(1) {
                return Err(bad("scopes", format!("`{s}` is not a single scope token")));
            }
        }
        let refresh = RefreshOverrides::from_dto(&c.refresh_tokens, "refresh_tokens")?;
        server_rt
            .with(&refresh)
            .validate(&refresh, "refresh_tokens")?;
        let access_token_format = match c.access_token_format {
            None => None,
            Some(f) => Some(TokenFormat::parse(&f).ok_or_else(|| {
                bad(
                    "access_token_format",
                    format!("unknown format `{f}`: expected jwt or reference"),
                )
            })?),
        };
        let id_token_alg = match c.id_token_signed_response_alg {
            None => SigAlg::RS256,
            Some(a) => SigAlg::parse(&a).ok_or_else(|| {
                bad(
                    "id_token_signed_response_alg",
                    format!("unknown algorithm `{a}`"),
                )
            })?,
        };
        let apis = check_apis(
            c.resources,
            c.default_resource,
            c.introspect_resources,
            [c.id_token_claims, c.userinfo_claims, c.access_token_claims],
        )?;
        if !apis.introspect_resources.is_empty() && auth_method == AuthMethod::None {
            return Err(bad(
                "introspect_resources",
                "a public client cannot introspect: it has no credentials",
            ));
        }
        Ok(ValidClient {
            client_id: c.client_id,
            client_name: c.client_name,
            secret_sha256,
            auth_method,
            redirect_uris: c.redirect_uris,
            post_logout_redirect_uris: c.post_logout_redirect_uris,
            backchannel_logout_uri: c.backchannel_logout_uri,
            allowed_origins: c.allowed_origins,
            grant_types,
            scopes,
            access_token_format,
            id_token_alg,
            introspect_any: c.introspect_any,
            dpop_bound_access_tokens: c.dpop_bound_access_tokens,
            jwks,
            apis,
            active: c.active.unwrap_or(true),
            refresh,
        })
    }
}

/// A list of resource identifiers: each well-formed, repeats dropped, order kept.
fn identifiers(key: &str, ids: Vec<String>) -> Result<Vec<String>, FieldError> {
    if ids.len() > crate::claims::MAX_ENTRIES {
        return Err(bad(
            key,
            format!("at most {} resources", crate::claims::MAX_ENTRIES),
        ));
    }
    let mut out: Vec<String> = Vec::with_capacity(ids.len());
    for (i, id) in ids.into_iter().enumerate() {
        crate::resource_spec::check_identifier(&id).map_err(|m| bad(&format!("{key}[{i}]"), m))?;
        if !out.contains(&id) {
            out.push(id);
        }
    }
    Ok(out)
}

fn check_apis(
    resources: Vec<String>,
    default_resource: Option<String>,
    introspect_resources: Vec<String>,
    [id_token, userinfo, access_token]: [Vec<String>; 3],
) -> Result<ClientApis, FieldError> {
    let resources = identifiers("resources", resources)?;
    if let Some(d) = &default_resource {
        if !resources.contains(d) {
            return Err(bad(
                "default_resource",
                format!("`{d}` is not one of the client's resources"),
            ));
        }
    }
    let introspect_resources = identifiers("introspect_resources", introspect_resources)?;
    let mapping = |key: &str, names: Vec<String>| {
        crate::claims::check_claim_names(names).map_err(|(i, m)| bad(&format!("{key}[{i}]"), m))
    };
    Ok(ClientApis {
        resources,
        default_resource,
        introspect_resources,
        id_token_claims: mapping("id_token_claims", id_token)?,
        userinfo_claims: mapping("userinfo_claims", userinfo)?,
        access_token_claims: mapping("access_token_claims", access_token)?,
    })
}

/// A redirect URI must be absolute, without fragment (RFC 6749 §3.1.2), and http only
/// for loopback hosts.
pub fn check_redirect_uri(u: &str) -> Result<(), String> {
    let url = url::Url::parse(u).map_err(|e| format!("`{u}` is not an absolute URI: {e}"))?;
    if url.fragment().is_some() {
        return Err(format!(
            "`{u}` has a fragment, which RFC 6749 §3.1.2 forbids"
        ));
    }
    match url.scheme() {
        "https" => Ok(()),
        "http" => match url.host_str() {
            Some("localhost") | Some("127.0.0.1") | Some("[::1]") => Ok(()),
            _ => Err(format!("`{u}` uses http for a non-loopback host; use https")),
        },
        // Private-use schemes for native apps (RFC 8252 §7.1) must contain a dot.
        s if s.contains('.') => Ok(()),
        s => Err(format!("`{u}` uses scheme `{s}`: use https, http on loopback, or a reverse-domain private scheme")),
    }
}

/// A CORS origin is `scheme://host[:port]` exactly as a browser sends it in `Origin`:
/// https, or http only for the loopback hosts a redirect URI may use; no userinfo, path
/// (not even `/`), query or fragment; lowercase and without the scheme's default port,
/// since a browser never sends it otherwise. Nothing is normalised: a value that is not
/// already in that form is refused.
pub fn check_origin(o: &str) -> Result<(), String> {
    let url = url::Url::parse(o).map_err(|e| format!("`{o}` is not an origin: {e}"))?;
    match url.scheme() {
        "https" => {}
        "http" => match url.host_str() {
            Some("localhost") | Some("127.0.0.1") | Some("[::1]") => {}
            _ => {
                return Err(format!(
                    "`{o}` uses http for a non-loopback host; use https"
                ))
            }
        },
        s => {
            return Err(format!(
                "`{o}` uses scheme `{s}`: an origin is https, or http on loopback"
            ))
        }
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!(
            "`{o}` has userinfo; an origin is scheme://host[:port]"
        ));
    }
    // The serialised origin is what a browser sends; anything else (a path, a query, a
    // fragment, a trailing slash, upper case, a default port) differs from it.
    if url.origin().ascii_serialization() != o {
        return Err(format!(
            "`{o}` is not an origin as a browser sends it: scheme://host[:port], lowercase, no path, query, fragment, trailing slash or default port"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
