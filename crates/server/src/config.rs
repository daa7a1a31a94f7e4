//! Configuration (SPEC §6): parsed raw from TOML with unknown keys refused, overlaid
//! with `BATON_<SECTION>__<KEY>` environment variables, then validated into a typed
//! `Config` that is passed explicitly. There is no global configuration.

use base64::Engine;
use baton_core::model::{AuthMethod, GrantType, SigAlg, TokenFormat};
use baton_core::policy::{RefreshOverrides, RefreshSettings};
use baton_core::secret::Secret;
use baton_core::time::{parse_duration, Dur};
use baton_proto::settings::{AccessTokenSettings, RefreshTokenSettings};
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    issuer: Option<String>,
    listen: Option<String>,
    secret_file: Option<String>,
    admin_token: Option<String>,
    #[serde(default)]
    storage: RawStorage,
    #[serde(default)]
    access_tokens: AccessTokenSettings,
    #[serde(default)]
    refresh_tokens: RefreshTokenSettings,
    #[serde(default)]
    sessions: RawSessions,
    #[serde(default)]
    cleanup: RawCleanup,
    #[serde(default)]
    registration: RawRegistration,
    #[serde(default)]
    http: RawHttp,
    #[serde(default)]
    login: RawLogin,
    #[serde(default)]
    signing_keys: RawSigningKeys,
    #[serde(default)]
    clients: Vec<RawClient>,
    #[serde(default)]
    users: Vec<RawUser>,
}

#[derive(Deserialize, Default, Debug)]
#[serde(deny_unknown_fields)]
struct RawStorage {
    url: Option<String>,
    cache_url: Option<String>,
    cache_prefix: Option<String>,
    pool_size: Option<i64>,
}

#[derive(Deserialize, Default, Debug)]
#[serde(deny_unknown_fields)]
struct RawSessions {
    idle_lifetime: Option<String>,
    absolute_lifetime: Option<String>,
    expiry_check_interval: Option<String>,
}

#[derive(Deserialize, Default, Debug)]
#[serde(deny_unknown_fields)]
struct RawCleanup {
    interval: Option<String>,
    retain_revoked: Option<String>,
    retain_events: Option<String>,
}

#[derive(Deserialize, Default, Debug)]
#[serde(deny_unknown_fields)]
struct RawRegistration {
    enabled: Option<bool>,
    /// A TOML array, or (from the environment) one string, comma- or space-separated.
    default_grant_types: Option<StringOrList>,
    initial_access_token: Option<String>,
    /// A TOML array, or (from the environment) one string, comma- or space-separated.
    allowed_scopes: Option<StringOrList>,
}

#[derive(Deserialize, Debug)]
#[serde(untagged)]
enum StringOrList {
    List(Vec<String>),
    One(String),
}

impl StringOrList {
    /// The items: the list's, or the string's, split at commas and spaces.
    fn items(&self) -> Vec<&str> {
        match self {
            StringOrList::List(l) => l.iter().map(String::as_str).collect(),
            StringOrList::One(s) => s
                .split(|c: char| c == ',' || c.is_whitespace())
                .filter(|s| !s.is_empty())
                .collect(),
        }
    }
}

/// The scopes a client gets when none are configured or registered for it.
pub const DEFAULT_SCOPES: [&str; 4] = ["openid", "profile", "email", "offline_access"];

#[derive(Deserialize, Default, Debug)]
#[serde(deny_unknown_fields)]
struct RawSigningKeys {
    pre_publication: Option<String>,
}

#[derive(Deserialize, Default, Debug)]
#[serde(deny_unknown_fields)]
struct RawHttp {
    body_limit: Option<usize>,
    allow_private_outbound: Option<bool>,
}

#[derive(Deserialize, Default, Debug)]
#[serde(deny_unknown_fields)]
struct RawLogin {
    free_failures: Option<i64>,
    free_failures_per_ip: Option<i64>,
    first_delay: Option<String>,
    max_delay: Option<String>,
    forget_after: Option<String>,
    trusted_for: Option<String>,
    max_entries: Option<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawClient {
    client_id: String,
    client_name: Option<String>,
    client_secret: Option<String>,
    client_secret_sha256: Option<String>,
    token_endpoint_auth_method: Option<String>,
    #[serde(default)]
    redirect_uris: Vec<String>,
    #[serde(default)]
    post_logout_redirect_uris: Vec<String>,
    backchannel_logout_uri: Option<String>,
    grant_types: Option<Vec<String>>,
    scopes: Option<Vec<String>>,
    access_token_format: Option<String>,
    id_token_signed_response_alg: Option<String>,
    #[serde(default)]
    introspect_any: bool,
    jwks: Option<toml::Value>,
    active: Option<bool>,
    #[serde(default)]
    refresh_tokens: RefreshTokenSettings,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUser {
    username: String,
    password: Option<String>,
    password_hash: Option<String>,
    sub: Option<String>,
    active: Option<bool>,
    #[serde(default)]
    claims: toml::Table,
}

/// A client as configured: its secret is still to be hashed and stored.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    pub client_id: String,
    pub client_name: Option<String>,
    pub secret_sha256: Option<[u8; 32]>,
    pub auth_method: AuthMethod,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub backchannel_logout_uri: Option<String>,
    pub grant_types: Vec<GrantType>,
    pub scopes: Vec<String>,
    pub access_token_format: Option<TokenFormat>,
    pub id_token_alg: SigAlg,
    pub introspect_any: bool,
    pub jwks: Option<serde_json::Value>,
    pub active: bool,
    pub refresh: RefreshOverrides,
}

#[derive(Clone, Debug)]
pub struct UserConfig {
    pub username: String,
    pub password: Option<Secret>,
    pub password_hash: Option<String>,
    pub sub: Option<String>,
    pub active: bool,
    pub claims: serde_json::Map<String, serde_json::Value>,
}

#[derive(Clone, Debug)]
pub struct AccessTokenConfig {
    pub lifetime: Dur,
    pub format: TokenFormat,
    pub signing_alg: SigAlg,
}

#[derive(Clone, Debug)]
pub struct SessionConfig {
    pub idle_lifetime: Dur,
    pub absolute_lifetime: Dur,
    /// How often the maintenance task ends sessions whose expiry has passed.
    pub expiry_check_interval: Dur,
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

#[derive(Clone, Debug)]
pub struct Config {
    /// Where this configuration came from, for messages.
    pub source: String,
    pub issuer: String,
    pub listen: SocketAddr,
    pub secret: SecretBytes,
    pub admin_token: Option<Secret>,
    pub storage_url: String,
    pub cache_url: Option<String>,
    /// Prefix of every Redis key (`storage.cache_prefix`, default `baton:`).
    pub cache_prefix: String,
    /// Connections to PostgreSQL per node (`storage.pool_size`, default 16); SQLite
    /// ignores it.
    pub storage_pool_size: usize,
    pub access_tokens: AccessTokenConfig,
    pub refresh_tokens: RefreshSettings,
    pub sessions: SessionConfig,
    pub cleanup_interval: Dur,
    pub retain_revoked: Dur,
    /// `cleanup.retain_events`: events older than this are deleted; `None` is `off`.
    pub retain_events: Option<Dur>,
    pub registration_enabled: bool,
    /// `registration.default_grant_types`: what `POST /register` gives a client that
    /// names none (default `["authorization_code", "refresh_token"]`, Janssen's
    /// "code flow with refresh").
    pub registration_default_grant_types: Vec<GrantType>,
    /// `registration.initial_access_token`: when set, `POST /register` requires it as a
    /// Bearer token.
    pub registration_initial_access_token: Option<Secret>,
    /// `registration.allowed_scopes`: the only scopes a dynamically registered client
    /// may register (default `openid profile email offline_access`); also what it gets
    /// when it names none.
    pub registration_allowed_scopes: Vec<String>,
    pub body_limit: usize,
    pub login: LoginConfig,
    /// `signing_keys.pre_publication`: after a key rotation, how long the new keys are
    /// published in `/jwks` before they sign anything (the old keys sign until then).
    pub key_pre_publication: Dur,
    /// `http.allow_private_outbound` (default `false`): whether the server may connect
    /// to loopback, private, link-local and other non-public addresses itself
    /// (back-channel logout). For local development only.
    pub allow_private_outbound: bool,
    pub clients: Vec<ClientConfig>,
    pub users: Vec<UserConfig>,
    /// Warnings to log at start-up (e.g. a generated secret).
    pub warnings: Vec<String>,
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

const SECTIONS: &[&str] = &[
    "storage",
    "access_tokens",
    "refresh_tokens",
    "sessions",
    "cleanup",
    "registration",
    "http",
    "login",
    "signing_keys",
];
/// `signing_keys.pre_publication` by default: ten times the `max-age` of `/jwks` (60 s),
/// and as long as common relying-party libraries keep a JWK Set at most.
pub const DEFAULT_KEY_PRE_PUBLICATION: Dur = Dur::secs(600);
const MAX_KEY_PRE_PUBLICATION: Dur = Dur::secs(7 * 86_400);

/// The most connections one node may open to PostgreSQL.
const MAX_POOL_SIZE: i64 = 1000;

const TOP_KEYS: &[&str] = &["issuer", "listen", "secret_file", "admin_token"];

/// Loads, overlays and validates configuration. Does not create the secret file:
/// see [`Config::ensure_secret`]... which `load` calls when `create_secret` is true.
pub fn load(src: &Sources<'_>, create_secret: bool) -> Result<Config, ConfigError> {
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
    apply_env(&mut table, &src.env).map_err(|(k, m)| err(&k, m))?;
    let raw: RawConfig =
        RawConfig::deserialize(toml::Value::Table(table.clone())).map_err(|e| {
            let key = locate(&toml::Value::Table(table)).unwrap_or_else(|| guess_key(e.message()));
            // serde quotes the offending value; for a secret that would print it.
            let secret = ["secret", "password", "token"]
                .iter()
                .any(|w| key.contains(w));
            let message = if secret {
                "has the wrong type (the value is not shown: it is a secret)".to_string()
            } else {
                e.message().to_string()
            };
            err(&key, message)
        })?;
    validate(raw, &source, src, create_secret)
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

/// Overlays `BATON_<SECTION>__<KEY>` and `BATON_<KEY>` variables onto the table.
fn apply_env(table: &mut toml::Table, env: &[(String, String)]) -> Result<(), (String, String)> {
    for (name, value) in env {
        let Some(rest) = name.strip_prefix("BATON_") else {
            continue;
        };
        let rest = rest.to_ascii_lowercase();
        let (section, key) = match rest.split_once("__") {
            Some((s, k)) => (Some(s.to_string()), k.to_string()),
            None => (None, rest.clone()),
        };
        match &section {
            Some(s) if !SECTIONS.contains(&s.as_str()) => {
                return Err((
                    name.clone(),
                    format!("unknown section `{s}` in environment variable {name}"),
                ));
            }
            // BATON_X without a section is configuration only for the top-level keys;
            // other variables (BATON_BIN, BATON_LOG_FORMAT …) belong to other tools.
            None if !TOP_KEYS.contains(&key.as_str()) => continue,
            _ => {}
        }
        let parsed = env_value(value);
        match section {
            Some(s) => {
                let entry = table
                    .entry(s.clone())
                    .or_insert_with(|| toml::Value::Table(toml::Table::new()));
                match entry {
                    toml::Value::Table(t) => {
                        t.insert(key, parsed);
                    }
                    _ => return Err((s, "is not a table".into())),
                }
            }
            // Every top-level key is a string: an all-digit admin token stays one.
            None => {
                table.insert(key, toml::Value::String(value.clone()));
            }
        }
    }
    Ok(())
}

/// An environment value as TOML: booleans and integers as such, everything else a string.
fn env_value(v: &str) -> toml::Value {
    match v {
        "true" => toml::Value::Boolean(true),
        "false" => toml::Value::Boolean(false),
        _ => v
            .parse::<i64>()
            .map(toml::Value::Integer)
            .unwrap_or_else(|_| toml::Value::String(v.to_string())),
    }
}

/// A step on the way to a value in the TOML document.
#[derive(Clone)]
enum Step {
    Key(String),
    Index(usize),
}

fn value_at<'a>(v: &'a mut toml::Value, path: &[Step]) -> Option<&'a mut toml::Value> {
    match path.split_first() {
        None => Some(v),
        Some((Step::Key(k), rest)) => value_at(v.as_table_mut()?.get_mut(k)?, rest),
        Some((Step::Index(i), rest)) => value_at(v.as_array_mut()?.get_mut(*i)?, rest),
    }
}

fn path_name(path: &[Step]) -> String {
    let mut s = String::new();
    for step in path {
        match step {
            Step::Key(k) => {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(k);
            }
            Step::Index(i) => s.push_str(&format!("[{i}]")),
        }
    }
    s
}

/// The dotted path (`refresh_tokens.grace_period`, `clients[1].colour`) of the value
/// that makes `doc` fail to deserialize: the deepest key or element whose removal lets
/// it through. Serde's messages name the value ("invalid type: integer `30`"), not
/// where it is. Only run on the error path.
fn locate(doc: &toml::Value) -> Option<String> {
    let mut path: Vec<Step> = Vec::new();
    loop {
        let children: Vec<Step> = match value_at(&mut doc.clone(), &path)? {
            toml::Value::Table(t) => t.keys().cloned().map(Step::Key).collect(),
            toml::Value::Array(a) => (0..a.len()).map(Step::Index).collect(),
            _ => Vec::new(),
        };
        let culprit = children.into_iter().find(|c| {
            let mut trial = doc.clone();
            let removed = match (c, value_at(&mut trial, &path)) {
                (Step::Key(k), Some(toml::Value::Table(t))) => t.remove(k).is_some(),
                (Step::Index(i), Some(toml::Value::Array(a))) if *i < a.len() => {
                    a.remove(*i);
                    true
                }
                _ => false,
            };
            removed && RawConfig::deserialize(trial).is_ok()
        });
        match culprit {
            Some(c) => path.push(c),
            None if path.is_empty() => return None,
            None => return Some(path_name(&path)),
        }
    }
}

/// Pulls the offending key out of a serde message such as "unknown field `foo`".
fn guess_key(msg: &str) -> String {
    msg.split('`').nth(1).unwrap_or("").to_string()
}

fn dur(source: &str, key: &str, v: Option<&String>, default: Dur) -> Result<Dur, ConfigError> {
    match v {
        None => Ok(default),
        Some(s) => parse_duration(s)
            .and_then(|d| {
                if d > Dur::ZERO {
                    Ok(d)
                } else {
                    Err("must be positive".into())
                }
            })
            .map_err(|m| ConfigError {
                source: source.into(),
                key: key.into(),
                message: m,
            }),
    }
}

fn validate(
    raw: RawConfig,
    source: &str,
    src: &Sources<'_>,
    create_secret: bool,
) -> Result<Config, ConfigError> {
    let err = |key: &str, message: String| ConfigError {
        source: source.to_string(),
        key: key.to_string(),
        message,
    };
    let mut warnings = Vec::new();
    let issuer = raw.issuer.unwrap_or_else(|| "http://127.0.0.1:8080".into());
    let issuer_url = url::Url::parse(&issuer)
        .map_err(|e| err("issuer", format!("`{issuer}` is not a URL: {e}")))?;
    if !matches!(issuer_url.scheme(), "http" | "https")
        || issuer_url.query().is_some()
        || issuer_url.fragment().is_some()
    {
        return Err(err(
            "issuer",
            "must be an http(s) URL without query or fragment".into(),
        ));
    }
    if issuer_url.path() != "/" && !issuer_url.path().is_empty() {
        return Err(err(
            "issuer",
            "must not have a path: Baton serves its endpoints at the root of its host (give it its own host name)".into(),
        ));
    }
    let issuer = issuer.trim_end_matches('/').to_string();
    let listen_s = raw.listen.unwrap_or_else(|| "127.0.0.1:8080".into());
    let listen: SocketAddr = listen_s.parse().map_err(|_| {
        err(
            "listen",
            format!("`{listen_s}` is not an address like 127.0.0.1:8080"),
        )
    })?;

    let secret = resolve_secret(
        raw.secret_file.as_deref(),
        src,
        create_secret,
        &mut warnings,
    )
    .map_err(|(k, m)| err(&k, m))?;

    let admin_token = raw.admin_token.map(Secret::new);
    if let Some(t) = &admin_token {
        if t.expose().len() < 16 {
            return Err(err("admin_token", "must be at least 16 characters".into()));
        }
    }

    let storage_url = raw
        .storage
        .url
        .unwrap_or_else(|| "sqlite://baton.db".into());
    if !(storage_url.starts_with("sqlite://")
        || storage_url.starts_with("postgres://")
        || storage_url.starts_with("postgresql://"))
    {
        return Err(err(
            "storage.url",
            "must start with sqlite:// or postgres://".into(),
        ));
    }
    let storage_url = match storage_url.strip_prefix("sqlite://") {
        Some(p) if !Path::new(p).is_absolute() => {
            format!("sqlite://{}", src.base_dir.join(p).display())
        }
        _ => storage_url,
    };
    if let Some(c) = &raw.storage.cache_url {
        if !c.starts_with("redis://") {
            return Err(err("storage.cache_url", "must start with redis://".into()));
        }
    }
    let cache_prefix = raw
        .storage
        .cache_prefix
        .unwrap_or_else(|| baton_store::redis::DEFAULT_PREFIX.to_string());
    if cache_prefix.is_empty()
        || cache_prefix.len() > 64
        || cache_prefix.contains(char::is_whitespace)
    {
        return Err(err(
            "storage.cache_prefix",
            "must be 1 to 64 characters without spaces".into(),
        ));
    }
    let storage_pool_size = match raw.storage.pool_size {
        None => baton_store::postgres::DEFAULT_POOL_SIZE,
        Some(n) if (1..=MAX_POOL_SIZE).contains(&n) => n as usize,
        Some(n) => {
            return Err(err(
                "storage.pool_size",
                format!("must be between 1 and {MAX_POOL_SIZE} (got {n})"),
            ))
        }
    };

    let at = &raw.access_tokens;
    let access_tokens = AccessTokenConfig {
        lifetime: dur(
            source,
            "access_tokens.lifetime",
            at.lifetime.as_ref(),
            Dur::secs(3600),
        )?,
        format: match &at.format {
            None => TokenFormat::Jwt,
            Some(f) => TokenFormat::parse(f).ok_or_else(|| {
                err(
                    "access_tokens.format",
                    format!("unknown format `{f}`: expected jwt or reference"),
                )
            })?,
        },
        signing_alg: match &at.signing_alg {
            None => SigAlg::ES256,
            Some(a) => SigAlg::parse(a).ok_or_else(|| {
                err(
                    "access_tokens.signing_alg",
                    format!("unknown algorithm `{a}`: expected ES256, RS256 or EdDSA"),
                )
            })?,
        },
    };

    let rt_over = RefreshOverrides::from_dto(&raw.refresh_tokens, "refresh_tokens")
        .map_err(|e| err(&e.field, e.message))?;
    let refresh_tokens = RefreshSettings::default().with(&rt_over);
    refresh_tokens
        .validate(&rt_over, "refresh_tokens")
        .map_err(|e| err(&e.field, e.message))?;

    let sessions = SessionConfig {
        idle_lifetime: dur(
            source,
            "sessions.idle_lifetime",
            raw.sessions.idle_lifetime.as_ref(),
            Dur::secs(86_400),
        )?,
        absolute_lifetime: dur(
            source,
            "sessions.absolute_lifetime",
            raw.sessions.absolute_lifetime.as_ref(),
            Dur::secs(14 * 86_400),
        )?,
        expiry_check_interval: dur(
            source,
            "sessions.expiry_check_interval",
            raw.sessions.expiry_check_interval.as_ref(),
            Dur::secs(30),
        )?,
    };
    let cleanup_interval = dur(
        source,
        "cleanup.interval",
        raw.cleanup.interval.as_ref(),
        Dur::secs(3600),
    )?;
    let retain_revoked = dur(
        source,
        "cleanup.retain_revoked",
        raw.cleanup.retain_revoked.as_ref(),
        Dur::secs(7 * 86_400),
    )?;

    let key_pre_publication = match raw.signing_keys.pre_publication.as_deref() {
        None => DEFAULT_KEY_PRE_PUBLICATION,
        Some(v) => parse_duration(v)
            .and_then(|d| {
                if d <= MAX_KEY_PRE_PUBLICATION {
                    Ok(d)
                } else {
                    Err(format!("`{v}` is out of range: 0s to 7d"))
                }
            })
            .map_err(|m| err("signing_keys.pre_publication", m))?,
    };

    let retain_events = match raw.cleanup.retain_events.as_deref() {
        Some("off") => None,
        other => Some(dur(
            source,
            "cleanup.retain_events",
            other.map(str::to_string).as_ref(),
            Dur::secs(90 * 86_400),
        )?),
    };

    let registration_default_grant_types = match &raw.registration.default_grant_types {
        None => vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
        Some(v) => {
            let names = v.items();
            let key = "registration.default_grant_types";
            let mut out = Vec::new();
            for n in names {
                let g = GrantType::parse(n)
                    .ok_or_else(|| err(key, format!("unknown grant type `{n}`")))?;
                if g == GrantType::Password {
                    return Err(err(
                        key,
                        "the password grant cannot be registered dynamically".into(),
                    ));
                }
                if !out.contains(&g) {
                    out.push(g);
                }
            }
            if out.is_empty() {
                return Err(err(key, "must name at least one grant type".into()));
            }
            out
        }
    };
    let registration_initial_access_token = raw.registration.initial_access_token.map(Secret::new);
    if let Some(t) = &registration_initial_access_token {
        if t.expose().chars().count() < 16 {
            return Err(err(
                "registration.initial_access_token",
                "must be at least 16 characters".into(),
            ));
        }
    }
    let login = login(&raw.login, source)?;
    let key = "registration.allowed_scopes";
    let registration_allowed_scopes: Vec<String> = match &raw.registration.allowed_scopes {
        None => DEFAULT_SCOPES.iter().map(|s| s.to_string()).collect(),
        Some(v) => {
            let mut out: Vec<String> = Vec::new();
            for s in v.items() {
                if baton_core::scope::parse(s).map(|v| v.len()) != Ok(1) {
                    return Err(err(key, format!("`{s}` is not a single scope token")));
                }
                if !out.iter().any(|o| o == s) {
                    out.push(s.to_string());
                }
            }
            if out.is_empty() {
                return Err(err(key, "must name at least one scope".into()));
            }
            out
        }
    };
    let allow_private_outbound = raw.http.allow_private_outbound.unwrap_or(false);
    let mut clients = Vec::new();
    for (i, c) in raw.clients.into_iter().enumerate() {
        let cc = client(c, i, &refresh_tokens).map_err(|(k, m)| err(&k, m))?;
        if clients
            .iter()
            .any(|o: &ClientConfig| o.client_id == cc.client_id)
        {
            return Err(err(
                &format!("clients[{i}].client_id"),
                format!("`{}` is listed twice", cc.client_id),
            ));
        }
        clients.push(cc);
    }
    for c in &clients {
        if let Some(Err(m)) = c
            .backchannel_logout_uri
            .as_deref()
            .map(|u| crate::outbound::refuse_literal(u, allow_private_outbound))
        {
            warnings.push(format!(
                "client `{}`: back-channel logout will not be delivered to its backchannel_logout_uri: {m}",
                c.client_id
            ));
        }
    }
    let mut users = Vec::new();
    for (i, u) in raw.users.into_iter().enumerate() {
        let uc = user(u, i).map_err(|(k, m)| err(&k, m))?;
        if users.iter().any(|o: &UserConfig| o.username == uc.username) {
            return Err(err(
                &format!("users[{i}].username"),
                format!("`{}` is listed twice", uc.username),
            ));
        }
        users.push(uc);
    }

    Ok(Config {
        source: source.to_string(),
        issuer,
        listen,
        secret,
        admin_token,
        storage_url,
        cache_url: raw.storage.cache_url,
        cache_prefix,
        storage_pool_size,
        access_tokens,
        refresh_tokens,
        sessions,
        cleanup_interval,
        retain_revoked,
        retain_events,
        registration_enabled: raw.registration.enabled.unwrap_or(false),
        registration_default_grant_types,
        registration_initial_access_token,
        registration_allowed_scopes,
        body_limit: raw.http.body_limit.unwrap_or(64 * 1024),
        login,
        key_pre_publication,
        allow_private_outbound,
        clients,
        users,
        warnings,
        demo: false,
    })
}

fn login(raw: &RawLogin, source: &str) -> Result<LoginConfig, ConfigError> {
    let d = LoginConfig::default();
    let err = |key: &str, message: String| ConfigError {
        source: source.to_string(),
        key: format!("login.{key}"),
        message,
    };
    let count = |key: &str, v: Option<i64>, default: u32, max: i64| match v {
        None => Ok(default),
        Some(n) if (0..=max).contains(&n) => Ok(n as u32),
        Some(n) => Err(err(key, format!("must be between 0 and {max} (got {n})"))),
    };
    let c = LoginConfig {
        free_failures: count("free_failures", raw.free_failures, d.free_failures, 1000)?,
        free_failures_per_ip: count(
            "free_failures_per_ip",
            raw.free_failures_per_ip,
            d.free_failures_per_ip,
            1_000_000,
        )?,
        first_delay: dur(
            source,
            "login.first_delay",
            raw.first_delay.as_ref(),
            d.first_delay,
        )?,
        max_delay: dur(
            source,
            "login.max_delay",
            raw.max_delay.as_ref(),
            d.max_delay,
        )?,
        forget_after: dur(
            source,
            "login.forget_after",
            raw.forget_after.as_ref(),
            d.forget_after,
        )?,
        trusted_for: dur(
            source,
            "login.trusted_for",
            raw.trusted_for.as_ref(),
            d.trusted_for,
        )?,
        max_entries: match raw.max_entries {
            None => d.max_entries,
            Some(n) if (100..=100_000_000).contains(&n) => n as usize,
            Some(n) => {
                return Err(err(
                    "max_entries",
                    format!("must be between 100 and 100000000 (got {n})"),
                ))
            }
        },
    };
    if c.first_delay > c.max_delay {
        return Err(err("first_delay", "must not exceed login.max_delay".into()));
    }
    if c.forget_after <= c.max_delay {
        return Err(err(
            "forget_after",
            "must be longer than login.max_delay (or a wait would wipe the count)".into(),
        ));
    }
    Ok(c)
}

fn resolve_secret(
    secret_file: Option<&str>,
    src: &Sources<'_>,
    create: bool,
    warnings: &mut Vec<String>,
) -> Result<SecretBytes, (String, String)> {
    let decode = |s: &str, key: &str| -> Result<SecretBytes, (String, String)> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(s.trim())
            .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(s.trim()))
            .map_err(|_| {
                (
                    key.to_string(),
                    "the secret is not valid base64".to_string(),
                )
            })?;
        if bytes.len() < 32 {
            return Err((
                key.to_string(),
                format!(
                    "the secret decodes to {} bytes; at least 32 are required",
                    bytes.len()
                ),
            ));
        }
        Ok(SecretBytes(bytes))
    };
    if let Some((_, v)) = src.env.iter().find(|(k, _)| k == "BATON_SECRET") {
        return decode(v, "BATON_SECRET");
    }
    let path = src.base_dir.join(secret_file.unwrap_or("baton.secret"));
    match std::fs::read_to_string(&path) {
        Ok(s) => decode(&s, "secret_file"),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && create => {
            let bytes = baton_core::random_bytes::<32>();
            let text = base64::engine::general_purpose::STANDARD.encode(bytes);
            write_private(&path, &text).map_err(|e| {
                (
                    "secret_file".to_string(),
                    format!("cannot create {}: {e}", path.display()),
                )
            })?;
            warnings.push(format!(
                "generated a new server secret in {} (mode 0600): keep it safe and back it up; losing it invalidates every refresh token",
                path.display()
            ));
            Ok(SecretBytes(bytes.to_vec()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err((
            "secret_file".to_string(),
            format!(
                "{} does not exist (baton serve creates it on first start)",
                path.display()
            ),
        )),
        Err(e) => Err((
            "secret_file".to_string(),
            format!("cannot read {}: {e}", path.display()),
        )),
    }
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    opts.mode(0o600);
    let mut f = opts.open(path)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()
}

fn client(
    c: RawClient,
    i: usize,
    server_rt: &RefreshSettings,
) -> Result<ClientConfig, (String, String)> {
    let k = |f: &str| format!("clients[{i}].{f}");
    if c.client_id.is_empty()
        || c.client_id.len() > 128
        || c.client_id
            .chars()
            .any(|ch| ch.is_control() || ch == ' ' || ch == ':')
    {
        return Err((
            k("client_id"),
            "must be 1 to 128 printable characters without spaces or colons".into(),
        ));
    }
    let auth_method = match &c.token_endpoint_auth_method {
        None if c.client_secret.is_none() && c.client_secret_sha256.is_none() && c.jwks.is_none() => AuthMethod::None,
        None if c.jwks.is_some() && c.client_secret.is_none() => AuthMethod::PrivateKeyJwt,
        None => AuthMethod::ClientSecretBasic,
        Some(m) => AuthMethod::parse(m).ok_or_else(|| {
            (k("token_endpoint_auth_method"), format!("unknown method `{m}`: expected client_secret_basic, client_secret_post, private_key_jwt or none"))
        })?,
    };
    let secret_sha256 = match (&c.client_secret, &c.client_secret_sha256) {
        (Some(_), Some(_)) => {
            return Err((
                k("client_secret"),
                "give client_secret or client_secret_sha256, not both".into(),
            ))
        }
        (Some(s), None) => {
            if s.chars().count() < 32 {
                return Err((k("client_secret"), "must be at least 32 characters".into()));
            }
            Some(baton_core::secret::sha256(s.as_bytes()))
        }
        (None, Some(h)) => Some(
            baton_core::secret::unhex(h)
                .and_then(|b| <[u8; 32]>::try_from(b).ok())
                .ok_or_else(|| {
                    (
                        k("client_secret_sha256"),
                        "must be 64 hex digits".to_string(),
                    )
                })?,
        ),
        (None, None) => None,
    };
    match auth_method {
        AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost if secret_sha256.is_none() => {
            return Err((
                k("client_secret"),
                format!("is required for {}", auth_method.as_str()),
            ));
        }
        AuthMethod::None if secret_sha256.is_some() => {
            return Err((
                k("client_secret"),
                "a public client (token_endpoint_auth_method = \"none\") has no secret".into(),
            ));
        }
        AuthMethod::PrivateKeyJwt if c.jwks.is_none() => {
            return Err((k("jwks"), "is required for private_key_jwt".into()));
        }
        _ => {}
    }
    let jwks = match c.jwks {
        None => None,
        Some(v) => {
            let j = serde_json::to_value(&v).map_err(|e| (k("jwks"), e.to_string()))?;
            let j = match j {
                serde_json::Value::String(s) => serde_json::from_str(&s)
                    .map_err(|e| (k("jwks"), format!("is not JSON: {e}")))?,
                other => other,
            };
            if !j["keys"].is_array() {
                return Err((k("jwks"), "must be a JWK Set: {\"keys\": [...]}".into()));
            }
            Some(j)
        }
    };
    for (idx, u) in c.redirect_uris.iter().enumerate() {
        check_redirect_uri(u).map_err(|m| (k(&format!("redirect_uris[{idx}]")), m))?;
    }
    for (idx, u) in c.post_logout_redirect_uris.iter().enumerate() {
        check_redirect_uri(u).map_err(|m| (k(&format!("post_logout_redirect_uris[{idx}]")), m))?;
    }
    if let Some(u) = &c.backchannel_logout_uri {
        check_redirect_uri(u).map_err(|m| (k("backchannel_logout_uri"), m))?;
    }
    let grant_types = match c.grant_types {
        None => vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
        Some(g) => g
            .iter()
            .map(|s| {
                GrantType::parse(s)
                    .ok_or_else(|| (k("grant_types"), format!("unknown grant type `{s}`")))
            })
            .collect::<Result<_, _>>()?,
    };
    if auth_method == AuthMethod::None && grant_types.contains(&GrantType::ClientCredentials) {
        return Err((
            k("grant_types"),
            "a public client cannot use client_credentials".into(),
        ));
    }
    if grant_types.contains(&GrantType::AuthorizationCode) && c.redirect_uris.is_empty() {
        return Err((
            k("redirect_uris"),
            "the authorization_code grant needs at least one redirect URI".into(),
        ));
    }
    let scopes = c
        .scopes
        .unwrap_or_else(|| DEFAULT_SCOPES.iter().map(|s| s.to_string()).collect());
    for s in &scopes {
        if baton_core::scope::parse(s).map(|v| v.len()) != Ok(1) {
            return Err((k("scopes"), format!("`{s}` is not a single scope token")));
        }
    }
    let refresh = RefreshOverrides::from_dto(&c.refresh_tokens, &k("refresh_tokens"))
        .map_err(|e| (e.field, e.message))?;
    server_rt
        .with(&refresh)
        .validate(&refresh, &k("refresh_tokens"))
        .map_err(|e| (e.field, e.message))?;
    Ok(ClientConfig {
        client_id: c.client_id,
        client_name: c.client_name,
        secret_sha256,
        auth_method,
        redirect_uris: c.redirect_uris,
        post_logout_redirect_uris: c.post_logout_redirect_uris,
        backchannel_logout_uri: c.backchannel_logout_uri,
        grant_types,
        scopes,
        access_token_format: match c.access_token_format {
            None => None,
            Some(f) => Some(TokenFormat::parse(&f).ok_or_else(|| {
                (
                    k("access_token_format"),
                    format!("unknown format `{f}`: expected jwt or reference"),
                )
            })?),
        },
        id_token_alg: match c.id_token_signed_response_alg {
            None => SigAlg::RS256,
            Some(a) => SigAlg::parse(&a).ok_or_else(|| {
                (
                    k("id_token_signed_response_alg"),
                    format!("unknown algorithm `{a}`"),
                )
            })?,
        },
        introspect_any: c.introspect_any,
        jwks,
        active: c.active.unwrap_or(true),
        refresh,
    })
}

/// Validates a client given as JSON in the shape of a `[[clients]]` entry (the admin
/// API), exactly as the configuration file's clients are, against the server-wide
/// refresh-token settings `server_rt`. An error names the key (`redirect_uris[0]`,
/// `refresh_tokens.grace_period` …) and says what is wrong.
pub fn client_from_value(
    v: serde_json::Value,
    server_rt: &RefreshSettings,
) -> Result<ClientConfig, (String, String)> {
    let raw: RawClient = serde_path_to_error::deserialize(v).map_err(|e| {
        let path = e.path().to_string();
        let msg = e.into_inner().to_string();
        let key = if path == "." { guess_key(&msg) } else { path };
        (key, msg)
    })?;
    client(raw, 0, server_rt).map_err(|(k, m)| (unprefix(&k, "clients[0]."), m))
}

/// Validates a user given as JSON in the shape of a `[[users]]` entry (the admin API),
/// exactly as the configuration file's users are.
pub fn user_from_value(v: serde_json::Value) -> Result<UserConfig, (String, String)> {
    let raw: RawUser = serde_path_to_error::deserialize(v).map_err(|e| {
        let path = e.path().to_string();
        let msg = e.into_inner().to_string();
        let key = if path == "." { guess_key(&msg) } else { path };
        (key, msg)
    })?;
    user(raw, 0).map_err(|(k, m)| (unprefix(&k, "users[0]."), m))
}

fn unprefix(key: &str, prefix: &str) -> String {
    key.strip_prefix(prefix).unwrap_or(key).to_string()
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

fn user(u: RawUser, i: usize) -> Result<UserConfig, (String, String)> {
    let k = |f: &str| format!("users[{i}].{f}");
    if u.username.is_empty() || u.username.len() > 128 || u.username.chars().any(char::is_control) {
        return Err((
            k("username"),
            "must be 1 to 128 characters without control characters".into(),
        ));
    }
    match (&u.password, &u.password_hash) {
        (Some(_), Some(_)) => {
            return Err((
                k("password"),
                "give password or password_hash, not both".into(),
            ))
        }
        (None, None) => {
            return Err((
                k("password"),
                "password or password_hash is required".into(),
            ))
        }
        (None, Some(h)) if !h.starts_with("$argon2id$") => {
            return Err((
                k("password_hash"),
                "must be an Argon2id PHC string ($argon2id$...)".into(),
            ));
        }
        (Some(p), None) if p.is_empty() => return Err((k("password"), "must not be empty".into())),
        _ => {}
    }
    let claims = match serde_json::to_value(&u.claims) {
        Ok(serde_json::Value::Object(m)) => m,
        _ => return Err((k("claims"), "must be a table".into())),
    };
    for reserved in [
        "sub",
        "iss",
        "aud",
        "exp",
        "iat",
        "auth_time",
        "nonce",
        "sid",
    ] {
        if claims.contains_key(reserved) {
            return Err((
                k(&format!("claims.{reserved}")),
                "is set by the server and cannot be configured".into(),
            ));
        }
    }
    Ok(UserConfig {
        username: u.username,
        password: u.password.map(Secret::new),
        password_hash: u.password_hash,
        sub: u.sub,
        active: u.active.unwrap_or(true),
        claims,
    })
}

#[cfg(test)]
mod tests;
