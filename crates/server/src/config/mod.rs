//! Configuration (SPEC §6): parsed raw from TOML with unknown keys refused (`raw.rs`),
//! overlaid with `BATON_<SECTION>__<KEY>` environment variables (`env.rs`), then
//! validated into a typed `Config` nested by section like the file (`validate.rs`) that
//! is passed explicitly. There is no global configuration. Clients are checked by the
//! one client validator, `baton_core::client_spec`.

mod env;
mod raw;
mod resources;
mod users;
mod validate;
mod webhooks;

use crate::proxies::TrustedProxies;
use baton_core::model::{GrantType, SigAlg, TokenFormat};
use baton_core::policy::RefreshSettings;
use baton_core::secret::Secret;
use baton_core::time::Dur;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// A client as configured (validated; its secret already reduced to its SHA-256).
pub use baton_core::client_spec::ValidClient as ClientConfig;
pub use baton_core::client_spec::{check_redirect_uri, DEFAULT_SCOPES};
pub use users::check_user;

#[cfg(test)]
use baton_proto::settings::{AccessTokenSettings, RefreshTokenSettings};
#[cfg(test)]
use raw::{
    RawCleanup, RawClient, RawConfig, RawDpop, RawHttp, RawLogin, RawOutbox, RawRegistration,
    RawSessions, RawSigningKeys, RawStorage, RawUser,
};

#[derive(Clone, Debug)]
pub struct UserConfig {
    pub username: String,
    pub password: Option<Secret>,
    pub password_hash: Option<String>,
    pub sub: Option<String>,
    pub active: bool,
    pub claims: serde_json::Map<String, serde_json::Value>,
    pub roles: Vec<String>,
    pub groups: Vec<String>,
    /// `admin`: may sign in to the operator console.
    pub admin: bool,
}

/// `[storage]`.
#[derive(Clone, Debug)]
pub struct StorageConfig {
    /// `storage.url`; a relative SQLite path is resolved against the base directory.
    pub url: String,
    pub cache_url: Option<String>,
    /// `storage.cache_ca_file`, `cache_cert_file`, `cache_key_file` (resolved against
    /// the base directory): the TLS files of a `rediss://` cache.
    pub cache_tls: baton_store::tls::RedisTlsFiles,
    /// Prefix of every Redis key (`storage.cache_prefix`, default `baton:`).
    pub cache_prefix: String,
    /// Connections to PostgreSQL per node (`storage.pool_size`, default 16); SQLite
    /// ignores it.
    pub pool_size: usize,
}

/// `[access_tokens]`.
#[derive(Clone, Debug)]
pub struct AccessTokenConfig {
    pub lifetime: Dur,
    pub format: TokenFormat,
    pub signing_alg: SigAlg,
}

/// `[sessions]`.
#[derive(Clone, Debug)]
pub struct SessionConfig {
    pub idle_lifetime: Dur,
    pub absolute_lifetime: Dur,
    /// How often the maintenance task ends sessions whose expiry has passed.
    pub expiry_check_interval: Dur,
}

/// `[cleanup]`.
#[derive(Clone, Debug)]
pub struct CleanupConfig {
    pub interval: Dur,
    pub retain_revoked: Dur,
    /// `cleanup.retain_events`: events older than this are deleted; `None` is `off`.
    pub retain_events: Option<Dur>,
}

/// `[registration]`: dynamic client registration (`POST /register`).
#[derive(Clone, Debug)]
pub struct RegistrationConfig {
    pub enabled: bool,
    /// `registration.default_grant_types`: what `POST /register` gives a client that
    /// names none (default `["authorization_code", "refresh_token"]`, Janssen's
    /// "code flow with refresh").
    pub default_grant_types: Vec<GrantType>,
    /// `registration.initial_access_token`: when set, `POST /register` requires it as a
    /// Bearer token.
    pub initial_access_token: Option<Secret>,
    /// `registration.allowed_scopes`: the only scopes a dynamically registered client
    /// may register (default `openid profile email offline_access`); also what it gets
    /// when it names none.
    pub allowed_scopes: Vec<String>,
}

/// `[http]`.
#[derive(Clone, Debug)]
pub struct HttpConfig {
    pub body_limit: usize,
    /// `http.allow_private_outbound` (default `false`): whether the server may connect
    /// to loopback, private, link-local and other non-public addresses itself
    /// (back-channel logout). For local development only.
    pub allow_private_outbound: bool,
    /// `http.cors_from_redirect_uris` (default `false`): whether a client's redirect
    /// URIs' https origins (and http loopback ones) count as allowed CORS origins too,
    /// besides its `allowed_origins`.
    pub cors_from_redirect_uris: bool,
    /// `http.trusted_proxies` (default none): the peers whose `X-Forwarded-For` and
    /// `Forwarded` headers are believed for the client address.
    pub trusted_proxies: TrustedProxies,
    /// `http.tls_cert_file` and `http.tls_key_file`: serve HTTPS with them (both or
    /// neither); `None` serves plain HTTP.
    pub tls: Option<TlsConfig>,
    /// `http.threads` (default: one per core the process may use): how many threads
    /// serve requests, each with an event loop of its own.
    pub threads: usize,
}

/// `http.tls_cert_file`, `http.tls_key_file` and `http.tls_check_interval`.
#[derive(Clone, Debug)]
pub struct TlsConfig {
    /// PEM: the certificate, then any intermediates (resolved against the base directory).
    pub cert_file: PathBuf,
    /// PEM: the private key (PKCS#8, PKCS#1 or SEC1).
    pub key_file: PathBuf,
    /// How often the two files are checked for changes (default 5 s); `None` is `off`
    /// (only SIGHUP reloads them).
    pub check_interval: Option<Dur>,
}

/// `[signing_keys]`.
#[derive(Clone, Debug)]
pub struct SigningKeysConfig {
    /// `signing_keys.pre_publication`: after a key rotation, how long the new keys are
    /// published in `/jwks` before they sign anything (the old keys sign until then).
    pub pre_publication: Dur,
}

/// `[dpop]`: DPoP proofs (RFC 9449).
#[derive(Clone, Debug)]
pub struct DpopConfig {
    /// `dpop.require_for_public_clients` (default `false`): every token request of a
    /// public client must carry a proof, as if each had `dpop_bound_access_tokens`.
    pub require_for_public_clients: bool,
    /// `dpop.require_nonce` (default `false`): proofs at the token endpoint must carry
    /// a nonce this server gave (`DPoP-Nonce`); without one the answer is
    /// `use_dpop_nonce` with a fresh nonce.
    pub require_nonce: bool,
    /// `dpop.iat_window` (default 60 s): how far a proof's `iat` may be from this
    /// server's clock, either way. A proof's `jti` is remembered this long.
    pub iat_window: Dur,
    /// `dpop.nonce_lifetime` (default 5 min): a nonce is good for one to two of these.
    pub nonce_lifetime: Dur,
}

impl Default for DpopConfig {
    fn default() -> Self {
        DpopConfig {
            require_for_public_clients: false,
            require_nonce: false,
            iat_window: Dur::secs(60),
            nonce_lifetime: Dur::secs(300),
        }
    }
}

/// `[login]`: sign-in throttling (see `crate::throttle`). A count of 0 turns that
/// counter off.
#[derive(Clone, Debug)]
pub struct LoginConfig {
    pub free_failures: u32,
    pub free_failures_per_ip: u32,
    pub first_delay: Dur,
    pub max_delay: Dur,
    pub forget_after: Dur,
    /// How long a successful sign-in makes its client address known-good for its
    /// account (exempt from the account-wide wait, counted on its own).
    pub trusted_for: Dur,
    pub max_entries: usize,
}

impl Default for LoginConfig {
    fn default() -> Self {
        LoginConfig {
            free_failures: 5,
            free_failures_per_ip: 100,
            first_delay: Dur::secs(1),
            max_delay: Dur::secs(300),
            forget_after: Dur::secs(3600),
            trusted_for: Dur::secs(30 * 86_400),
            max_entries: 100_000,
        }
    }
}

/// `[outbox]`: how deliveries to other servers (back-channel logout, webhooks) are
/// retried (see `crate::outbox`).
#[derive(Clone, Debug)]
pub struct OutboxConfig {
    /// Tries per delivery, the first included (default 12).
    pub max_attempts: u32,
    /// The wait before the second try (default 1 s); doubled before each further one.
    pub first_retry: Dur,
    /// The longest wait between two tries (default 1 h).
    pub max_retry: Dur,
    /// How long a delivered or abandoned item is kept before the cleanup job deletes
    /// it (default 7 d).
    pub retain: Dur,
}

impl Default for OutboxConfig {
    fn default() -> Self {
        OutboxConfig {
            max_attempts: 12,
            first_retry: Dur::secs(1),
            max_retry: Dur::secs(3600),
            retain: Dur::secs(7 * 86_400),
        }
    }
}

/// One `[[webhooks]]` entry: events of the listed kinds are POSTed to `url`, signed
/// with `secret` (Standard Webhooks).
#[derive(Clone, Debug)]
pub struct WebhookConfig {
    /// Unique among the webhooks; names the deliveries in the outbox.
    pub name: String,
    pub url: String,
    /// Event kind names (`baton_core::events::EventKind::as_str`), or `*` alone: all.
    pub events: Vec<String>,
    /// The signing key: the bytes of the `whsec_<base64>` secret.
    pub secret: SecretBytes,
}

/// The validated configuration, one field per top-level key and one per section.
#[derive(Clone, Debug)]
pub struct Config {
    /// Where this configuration came from, for messages.
    pub source: String,
    pub issuer: String,
    pub listen: SocketAddr,
    pub secret: SecretBytes,
    pub admin_token: Option<Secret>,
    pub storage: StorageConfig,
    pub access_tokens: AccessTokenConfig,
    pub refresh_tokens: RefreshSettings,
    pub sessions: SessionConfig,
    pub cleanup: CleanupConfig,
    pub registration: RegistrationConfig,
    pub http: HttpConfig,
    pub login: LoginConfig,
    pub signing_keys: SigningKeysConfig,
    pub dpop: DpopConfig,
    pub outbox: OutboxConfig,
    pub webhooks: Vec<WebhookConfig>,
    pub clients: Vec<ClientConfig>,
    pub users: Vec<UserConfig>,
    /// `[[resources]]` (their `created_at` is set when start-up stores them).
    pub resources: Vec<baton_core::model::Resource>,
    /// Warnings to log at start-up (e.g. a generated secret, a secret file every user
    /// may read); `baton check-config` prints them too.
    pub warnings: Vec<String>,
    /// What `baton check-config` says besides (e.g. that the secret file does not exist
    /// yet and the first `baton serve` creates it); empty for `load`.
    pub notes: Vec<String>,
    /// `baton serve --demo` (not a file key).
    pub demo: bool,
}

/// The server secret; `Debug` is redacted.
#[derive(Clone)]
pub struct SecretBytes(pub Vec<u8>);

impl std::fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBytes([redacted])")
    }
}

/// A configuration error: names the source, the key and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub source: String,
    pub key: String,
    pub message: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.key.is_empty() {
            write!(f, "{}: {}", self.source, self.message)
        } else {
            write!(f, "{}: `{}`: {}", self.source, self.key, self.message)
        }
    }
}

impl std::error::Error for ConfigError {}

/// Where to read configuration from and the environment to overlay.
pub struct Sources<'a> {
    /// `--config FILE`; when `None`, `./baton.toml` if present, else built-in defaults.
    pub file: Option<&'a Path>,
    /// Environment variables (pass `std::env::vars()`; tests pass their own).
    pub env: Vec<(String, String)>,
    /// Directory that relative default paths (database, secret) resolve against.
    pub base_dir: PathBuf,
}

/// `signing_keys.pre_publication` by default: ten times the `max-age` of `/jwks` (60 s),
/// and as long as common relying-party libraries keep a JWK Set at most.
pub const DEFAULT_KEY_PRE_PUBLICATION: Dur = Dur::secs(600);

/// What to do when the secret file does not exist (and `BATON_SECRET` is not set).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MissingSecret {
    /// Refuse the configuration (`secret_file` names the fault).
    Refuse,
    /// Create it (mode 0600, with a warning): `baton serve`.
    Create,
    /// Accept the configuration with a note and a throw-away secret that nothing
    /// uses: `baton check-config` before the first `baton serve`.
    Note,
}

/// Loads, overlays and validates configuration. Creates a missing secret file (mode
/// 0600, with a warning) only when `create_secret` is true.
pub fn load(src: &Sources<'_>, create_secret: bool) -> Result<Config, ConfigError> {
    let missing = if create_secret {
        MissingSecret::Create
    } else {
        MissingSecret::Refuse
    };
    load_as(src, missing)
}

/// Loads and validates configuration for `baton check-config`: as [`load`], but a
/// secret file that does not exist yet is a note (`Config::notes`), not a fault, since
/// the first `baton serve` creates it. The answer's `secret` is then a throw-away value:
/// use it for nothing.
pub fn check(src: &Sources<'_>) -> Result<Config, ConfigError> {
    load_as(src, MissingSecret::Note)
}

fn load_as(src: &Sources<'_>, missing: MissingSecret) -> Result<Config, ConfigError> {
    let default_file = src.base_dir.join("baton.toml");
    let (path, source): (Option<PathBuf>, String) = match src.file {
        Some(p) => (Some(p.to_path_buf()), p.display().to_string()),
        None if default_file.exists() => (
            Some(default_file.clone()),
            default_file.display().to_string(),
        ),
        None => (None, "built-in defaults".to_string()),
    };
    let err = |key: &str, message: String| ConfigError {
        source: source.clone(),
        key: key.to_string(),
        message,
    };
    let mut table: toml::Table = match &path {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .map_err(|e| err("", format!("cannot read the file: {e}")))?;
            text.parse::<toml::Table>().map_err(|e| {
                // The line, not the text there: it may be a secret.
                let line = e
                    .span()
                    .map(|sp| text[..sp.start.min(text.len())].matches('\n').count() + 1);
                let at = line.map(|l| format!(" (line {l})")).unwrap_or_default();
                err(
                    "",
                    format!("is not valid TOML{at}: {}", redact_quoted(e.message())),
                )
            })?
        }
        None => toml::Table::new(),
    };
    env::apply(&mut table, &src.env).map_err(|(k, m)| err(&k, m))?;
    let raw = raw::parse(table).map_err(|(k, m)| err(&k, m))?;
    validate::validate(raw, &source, src, missing)
}

/// A parser message with long quoted values elided: the parser quotes what it read,
/// which may be a secret; short quotes (expected tokens like `=`) stay.
fn redact_quoted(msg: &str) -> String {
    msg.split('`')
        .enumerate()
        .map(|(i, part)| {
            if i % 2 == 1 && part.chars().count() > 12 {
                "…"
            } else {
                part
            }
        })
        .collect::<Vec<_>>()
        .join("`")
}

#[cfg(test)]
mod tests;
