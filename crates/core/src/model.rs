//! The domain's records: clients, users, grants, sessions, codes, keys and events.

use crate::policy::RefreshOverrides;
use crate::scope::Scope;
use crate::secret::{hex, unhex};
use crate::time::{Dur, Timestamp};
use std::fmt;

/// A grant (token family) id: 128 random bits, shown as 32 hex digits.
#[derive(Copy, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GrantId(pub [u8; 16]);

impl GrantId {
    pub fn to_hex(&self) -> String {
        hex(&self.0)
    }
    pub fn parse(s: &str) -> Option<GrantId> {
        let v = unhex(s)?;
        Some(GrantId(v.try_into().ok()?))
    }
}

impl fmt::Debug for GrantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GrantId({})", self.to_hex())
    }
}

impl fmt::Display for GrantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GrantStatus {
    Active,
    Revoked { at: Timestamp, reason: String },
}

/// A grant: one row per token family. Rotation advances `generation` in place.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grant {
    pub id: GrantId,
    pub client_id: String,
    pub subject: String,
    /// The granted scope.
    pub scope: Scope,
    pub session_id: Option<String>,
    /// Bound to its session (`online_access`): dies with it.
    pub online: bool,
    pub auth_time: Timestamp,
    pub created_at: Timestamp,
    /// Absolute expiry; `None` is unlimited.
    pub expires_at: Option<Timestamp>,
    /// Sliding window fixed at creation; `None` is off.
    pub sliding: Option<Dur>,
    pub last_used_at: Timestamp,
    pub generation: u64,
    pub generation_started_at: Timestamp,
    /// Rotation (`one_time`) fixed at creation; `false` is `reuse`.
    pub rotate: bool,
    pub grace: Dur,
    pub update_claims: bool,
    /// The user's claims (JSON) at creation, kept when `update_claims` is off.
    pub claims_snapshot: Option<String>,
    /// The `persist` setting fixed at creation: kept in the main store; `false` lives in
    /// the cache instead.
    pub persist: bool,
    pub status: GrantStatus,
    /// The RFC 7638 thumbprint of the DPoP key the grant's refresh tokens are bound to
    /// (RFC 9449 §5: public clients that sent a proof when the grant was created);
    /// every refresh must prove possession of that key.
    pub dpop_jkt: Option<String>,
    /// The resources (RFC 8707) the grant was given for, in the order asked; a token
    /// request may name one of them.
    pub resources: Vec<String>,
}

impl Grant {
    /// When the grant dies of age alone, whichever clock runs out first.
    pub fn expiry(&self) -> Option<Timestamp> {
        match (self.expires_at, self.idle_until()) {
            (Some(a), Some(s)) => Some(a.min(s)),
            (a, s) => a.or(s),
        }
    }
    /// When the grant dies of disuse unless used again: its sliding lifetime after its
    /// last use.
    pub fn idle_until(&self) -> Option<Timestamp> {
        self.sliding.map(|s| self.last_used_at.plus(s))
    }
    pub fn is_active(&self) -> bool {
        matches!(self.status, GrantStatus::Active)
    }
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum AuthMethod {
    ClientSecretBasic,
    ClientSecretPost,
    PrivateKeyJwt,
    None,
}

impl AuthMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::ClientSecretBasic => "client_secret_basic",
            AuthMethod::ClientSecretPost => "client_secret_post",
            AuthMethod::PrivateKeyJwt => "private_key_jwt",
            AuthMethod::None => "none",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "client_secret_basic" => AuthMethod::ClientSecretBasic,
            "client_secret_post" => AuthMethod::ClientSecretPost,
            "private_key_jwt" => AuthMethod::PrivateKeyJwt,
            "none" => AuthMethod::None,
            _ => return None,
        })
    }
    pub const ALL: [AuthMethod; 4] = [
        AuthMethod::ClientSecretBasic,
        AuthMethod::ClientSecretPost,
        AuthMethod::PrivateKeyJwt,
        AuthMethod::None,
    ];
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum GrantType {
    AuthorizationCode,
    RefreshToken,
    ClientCredentials,
    Password,
}

impl GrantType {
    pub fn as_str(self) -> &'static str {
        match self {
            GrantType::AuthorizationCode => "authorization_code",
            GrantType::RefreshToken => "refresh_token",
            GrantType::ClientCredentials => "client_credentials",
            GrantType::Password => "password",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "authorization_code" => GrantType::AuthorizationCode,
            "refresh_token" => GrantType::RefreshToken,
            "client_credentials" => GrantType::ClientCredentials,
            "password" => GrantType::Password,
            _ => return None,
        })
    }
    pub const ALL: [GrantType; 4] = [
        GrantType::AuthorizationCode,
        GrantType::RefreshToken,
        GrantType::ClientCredentials,
        GrantType::Password,
    ];
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum SigAlg {
    ES256,
    RS256,
    EdDSA,
}

impl SigAlg {
    pub fn as_str(self) -> &'static str {
        match self {
            SigAlg::ES256 => "ES256",
            SigAlg::RS256 => "RS256",
            SigAlg::EdDSA => "EdDSA",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "ES256" => SigAlg::ES256,
            "RS256" => SigAlg::RS256,
            "EdDSA" => SigAlg::EdDSA,
            _ => return None,
        })
    }
    pub const ALL: [SigAlg; 3] = [SigAlg::ES256, SigAlg::RS256, SigAlg::EdDSA];
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum TokenFormat {
    Jwt,
    Reference,
}

impl TokenFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenFormat::Jwt => "jwt",
            TokenFormat::Reference => "reference",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "jwt" => TokenFormat::Jwt,
            "reference" => TokenFormat::Reference,
            _ => return None,
        })
    }
}

/// A registered client. The secret is kept only as its SHA-256.
#[derive(Clone, Debug, PartialEq)]
pub struct Client {
    pub client_id: String,
    pub client_name: Option<String>,
    pub secret_sha256: Option<[u8; 32]>,
    pub auth_method: AuthMethod,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub backchannel_logout_uri: Option<String>,
    /// Browser origins allowed to call `/token`, `/revoke` and `/userinfo` for this
    /// client (CORS); each exactly `scheme://host[:port]`.
    pub allowed_origins: Vec<String>,
    pub grant_types: Vec<GrantType>,
    pub scopes: Vec<String>,
    pub access_token_format: Option<TokenFormat>,
    pub id_token_alg: SigAlg,
    pub introspect_any: bool,
    /// RFC 9449 §5.2: every token request must carry a DPoP proof, so that every
    /// access token is DPoP-bound.
    pub dpop_bound_access_tokens: bool,
    /// Public JWKS for `private_key_jwt`.
    pub jwks: Option<serde_json::Value>,
    /// What the client may ask for, and which user claims its tokens carry.
    pub apis: ClientApis,
    pub refresh: RefreshOverrides,
    pub active: bool,
    pub created_at: Timestamp,
    /// Created through `POST /register` (RFC 7591), by anyone who could reach it: its
    /// redirect URIs are not trusted for automatic redirects, and pages say so.
    pub dynamically_registered: bool,
    /// Who manages it: the configuration file (read-only through the admin API) or the
    /// admin API.
    pub managed_by: ManagedBy,
}

/// Who manages a client or a user. The configuration file's entries are written at
/// every start and are read-only through the admin API and the CLI; anything else
/// (created by the admin API, the CLI or `/register`, or dropped from the
/// configuration file) is managed through them.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum ManagedBy {
    /// A `[[clients]]` or `[[users]]` entry of the configuration file.
    Config,
    /// The admin API, the CLI or `/register`.
    #[default]
    Api,
}

impl ManagedBy {
    pub fn as_str(self) -> &'static str {
        match self {
            ManagedBy::Config => "config",
            ManagedBy::Api => "api",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "config" => ManagedBy::Config,
            "api" => ManagedBy::Api,
            _ => return None,
        })
    }
}

/// A client's resources (APIs) and claim mapping.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientApis {
    /// Identifiers of the resources the client may request (RFC 8707 `resource`).
    pub resources: Vec<String>,
    /// The resource a request that names none is for, when the grant holds it; one of
    /// `resources`.
    pub default_resource: Option<String>,
    /// Resources whose access tokens this client (a resource server) may introspect.
    pub introspect_resources: Vec<String>,
    /// User claims (names; `roles` and `groups` are the user's attributes) released in
    /// ID tokens, userinfo answers and access tokens, beyond what the scope releases.
    pub id_token_claims: Vec<String>,
    pub userinfo_claims: Vec<String>,
    pub access_token_claims: Vec<String>,
}

impl Client {
    pub fn is_public(&self) -> bool {
        self.auth_method == AuthMethod::None
    }
    pub fn allows(&self, g: GrantType) -> bool {
        self.grant_types.contains(&g)
    }
    pub fn display_name(&self) -> &str {
        self.client_name.as_deref().unwrap_or(&self.client_id)
    }
}

/// A user. `sub` is stable and opaque; renaming keeps it.
#[derive(Clone, Debug, PartialEq)]
pub struct User {
    pub sub: String,
    pub username: String,
    /// Argon2id PHC string.
    pub password_hash: String,
    pub active: bool,
    pub claims: serde_json::Map<String, serde_json::Value>,
    /// Released as the `roles` claim where claim mapping names it.
    pub roles: Vec<String>,
    /// Released as the `groups` claim where claim mapping names it.
    pub groups: Vec<String>,
    /// May sign in to the operator console (`/console`); never released as a claim.
    pub admin: bool,
    pub created_at: Timestamp,
    /// Who manages it (see [`ManagedBy`]).
    pub managed_by: ManagedBy,
}

/// A resource (an API, RFC 8707): its identifier is the audience of the access tokens
/// issued for it, which carry only its scopes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resource {
    /// An absolute URI without fragment.
    pub identifier: String,
    /// Shown on the consent page; the identifier when absent.
    pub name: Option<String>,
    /// The scopes it defines, in the order configured.
    pub scopes: Vec<String>,
    /// Plain words for some of its scopes, for the consent page.
    pub scope_descriptions: std::collections::BTreeMap<String, String>,
    /// Its access tokens' format, lifetime and signing algorithm; the server's (or the
    /// client's format) when absent.
    pub access_token_format: Option<TokenFormat>,
    pub access_token_lifetime: Option<Dur>,
    pub signing_alg: Option<SigAlg>,
    /// User claims its access tokens carry (`roles` and `groups` included).
    pub claims: Vec<String>,
    /// An inactive resource cannot be requested.
    pub active: bool,
    pub created_at: Timestamp,
    pub managed_by: ManagedBy,
}

impl Resource {
    pub fn display_name(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.identifier)
    }
}

/// A browser session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    pub id: String,
    pub subject: String,
    pub auth_time: Timestamp,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
    pub expires_at: Timestamp,
    pub ended_at: Option<Timestamp>,
}

impl Session {
    pub fn is_live(&self, now: Timestamp) -> bool {
        self.ended_at.is_none() && now < self.expires_at
    }
}

/// An authorization code, stored by the SHA-256 of its value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthCode {
    pub digest: [u8; 32],
    pub client_id: String,
    pub redirect_uri: String,
    pub scope: Scope,
    pub subject: String,
    pub session_id: String,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    /// RFC 9449 §10: the thumbprint of the DPoP key the exchange must prove.
    pub dpop_jkt: Option<String>,
    /// The resources (RFC 8707) the user authorised; the grant holds them.
    pub resources: Vec<String>,
    pub auth_time: Timestamp,
    pub expires_at: Timestamp,
    /// Set when the code is exchanged: what the first use issued, so that a replay can
    /// revoke it (RFC 6749 §4.1.2).
    pub used: Option<CodeUse>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodeUse {
    pub at: Timestamp,
    pub grant_id: Option<GrantId>,
    pub access_jti: Option<String>,
    pub access_exp: Option<Timestamp>,
}

/// A signing key, its private half sealed under the server secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SigningKey {
    pub kid: String,
    pub alg: SigAlg,
    pub sealed_private: Vec<u8>,
    pub public_jwk: String,
    pub created_at: Timestamp,
    pub retired_at: Option<Timestamp>,
}

/// An event of SPEC §5.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    pub id: String,
    pub kind: String,
    pub time: Timestamp,
    pub client_id: Option<String>,
    pub subject: Option<String>,
    pub grant_id: Option<GrantId>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub details: serde_json::Value,
}

/// An opaque (reference) access token, stored by the SHA-256 of its value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReferenceToken {
    pub digest: [u8; 32],
    pub jti: String,
    pub client_id: String,
    /// The user's `sub`; `None` for client credentials.
    pub subject: Option<String>,
    pub scope: String,
    pub grant_id: Option<GrantId>,
    pub session_id: Option<String>,
    pub auth_time: Option<Timestamp>,
    pub issued_at: Timestamp,
    pub expires_at: Timestamp,
    pub revoked: bool,
    /// The thumbprint of the DPoP key the token is bound to (`cnf.jkt`).
    pub dpop_jkt: Option<String>,
    /// The resource the token is for (its `aud`); `None`: the client itself.
    pub audience: Option<String>,
}
