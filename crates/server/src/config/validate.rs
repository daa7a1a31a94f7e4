//! Raw configuration to a typed, checked `Config`: defaults filled in, every value
//! checked, each error naming its key. Clients go through the one client validator
//! (`baton_core::client_spec`), their keys prefixed `clients[i].`.

use super::raw::{RawClient, RawConfig, RawDpop, RawHttp, RawLogin};
use super::{
    AccessTokenConfig, CleanupConfig, ClientConfig, Config, ConfigError, DpopConfig, HttpConfig,
    LoginConfig, MissingSecret, RegistrationConfig, SecretBytes, SessionConfig, SigningKeysConfig,
    Sources, StorageConfig, TlsConfig, UserConfig, DEFAULT_KEY_PRE_PUBLICATION, DEFAULT_SCOPES,
};
use crate::proxies::{IpRange, TrustedProxies};
use base64::Engine;
use baton_core::client_spec::ClientSpec;
use baton_core::model::{GrantType, SigAlg, TokenFormat};
use baton_core::policy::{RefreshOverrides, RefreshSettings};
use baton_core::secret::Secret;
use baton_core::time::{parse_duration, Dur};
use std::net::SocketAddr;
use std::path::Path;

const MAX_KEY_PRE_PUBLICATION: Dur = Dur::secs(7 * 86_400);

/// The most connections one node may open to PostgreSQL.
const MAX_POOL_SIZE: i64 = 1000;
/// `http.threads` at most: far more than any machine has cores.
const MAX_THREADS: i64 = 1024;

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

pub(super) fn validate(
    raw: RawConfig,
    source: &str,
    src: &Sources<'_>,
    missing_secret: MissingSecret,
) -> Result<Config, ConfigError> {
    let err = |key: &str, message: String| ConfigError {
        source: source.to_string(),
        key: key.to_string(),
        message,
    };
    let mut warnings = Vec::new();
    let mut notes = Vec::new();
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
        missing_secret,
        (&mut warnings, &mut notes),
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
    if !storage_url.starts_with("sqlite://") {
        baton_store::postgres::tls::parse(&storage_url).map_err(|m| err("storage.url", m))?;
    }
    let file = |v: &Option<String>| v.as_ref().map(|p| src.base_dir.join(p));
    let cache_tls = baton_store::tls::RedisTlsFiles {
        ca_file: file(&raw.storage.cache_ca_file),
        cert_file: file(&raw.storage.cache_cert_file),
        key_file: file(&raw.storage.cache_key_file),
    };
    match &raw.storage.cache_url {
        Some(c) => {
            if let Some(why) = baton_store::redis::unsupported_url(c) {
                return Err(err("storage.cache_url", why.into()));
            }
            if !(c.starts_with("redis://") || c.starts_with("rediss://")) {
                return Err(err(
                    "storage.cache_url",
                    "must start with redis:// or rediss://".into(),
                ));
            }
            if c.starts_with("rediss://") {
                cache_tls
                    .load()
                    .map_err(|(k, m)| err(&format!("storage.{k}"), m))?;
            } else if !cache_tls.is_empty() {
                return Err(err(
                    "storage.cache_url",
                    "must start with rediss:// when `cache_ca_file`, `cache_cert_file` or `cache_key_file` is set".into(),
                ));
            }
        }
        None if !cache_tls.is_empty() => {
            return Err(err(
                "storage.cache_url",
                "is required with `cache_ca_file`, `cache_cert_file` or `cache_key_file`".into(),
            ))
        }
        None => {}
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
                if baton_core::scope::Scope::parse(s).map(|v| v.len()) != Ok(1) {
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
    let http = http(&raw.http, source, &src.base_dir)?;
    let allow_private_outbound = http.allow_private_outbound;
    let mut clients = Vec::new();
    for (i, c) in raw.clients.into_iter().enumerate() {
        let cc = client_spec(c)
            .and_then(|spec| spec.validate(&refresh_tokens))
            .map_err(|e| err(&format!("clients[{i}].{}", e.field), e.message))?;
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
        let uc = super::users::user(u, i).map_err(|(k, m)| err(&k, m))?;
        if users.iter().any(|o: &UserConfig| o.username == uc.username) {
            return Err(err(
                &format!("users[{i}].username"),
                format!("`{}` is listed twice", uc.username),
            ));
        }
        users.push(uc);
    }

    let resources = super::resources::resources(raw.resources, &clients, source)?;

    let outbox = super::webhooks::outbox(&raw.outbox, source)?;
    let webhooks = super::webhooks::webhooks(raw.webhooks, source, src, allow_private_outbound)?;

    Ok(Config {
        source: source.to_string(),
        issuer,
        listen,
        secret,
        admin_token,
        storage: StorageConfig {
            url: storage_url,
            cache_url: raw.storage.cache_url,
            cache_tls,
            cache_prefix,
            pool_size: storage_pool_size,
        },
        access_tokens,
        refresh_tokens,
        sessions,
        cleanup: CleanupConfig {
            interval: cleanup_interval,
            retain_revoked,
            retain_events,
        },
        registration: RegistrationConfig {
            enabled: raw.registration.enabled.unwrap_or(false),
            default_grant_types: registration_default_grant_types,
            initial_access_token: registration_initial_access_token,
            allowed_scopes: registration_allowed_scopes,
        },
        http,
        login,
        signing_keys: SigningKeysConfig {
            pre_publication: key_pre_publication,
        },
        dpop: dpop(&raw.dpop, source)?,
        outbox,
        webhooks,
        clients,
        users,
        resources,
        warnings,
        notes,
        demo: false,
    })
}

fn dpop(raw: &RawDpop, source: &str) -> Result<DpopConfig, ConfigError> {
    let d = DpopConfig::default();
    let bounded = |key: &str, v: Option<&String>, default: Dur, min: Dur, max: Dur| {
        let full = format!("dpop.{key}");
        let got = dur(source, &full, v, default)?;
        if got < min || got > max {
            return Err(ConfigError {
                source: source.to_string(),
                key: full,
                message: format!("must be between {}s and {}s", min.as_secs(), max.as_secs()),
            });
        }
        Ok(got)
    };
    Ok(DpopConfig {
        require_for_public_clients: raw
            .require_for_public_clients
            .unwrap_or(d.require_for_public_clients),
        require_nonce: raw.require_nonce.unwrap_or(d.require_nonce),
        iat_window: bounded(
            "iat_window",
            raw.iat_window.as_ref(),
            d.iat_window,
            Dur::secs(1),
            Dur::secs(600),
        )?,
        nonce_lifetime: bounded(
            "nonce_lifetime",
            raw.nonce_lifetime.as_ref(),
            d.nonce_lifetime,
            Dur::secs(10),
            Dur::secs(86_400),
        )?,
    })
}

/// `[http]`: limits, CORS, the trusted proxies, TLS and the request threads. A TLS file
/// is only named here; `crate::tls` reads it (at start-up and on each reload).
fn http(raw: &RawHttp, source: &str, base_dir: &Path) -> Result<HttpConfig, ConfigError> {
    let err = |key: &str, message: String| ConfigError {
        source: source.to_string(),
        key: format!("http.{key}"),
        message,
    };
    let mut trusted = Vec::new();
    if let Some(list) = &raw.trusted_proxies {
        for item in list.items() {
            let range = IpRange::parse(item).map_err(|m| err("trusted_proxies", m))?;
            if !trusted.contains(&range) {
                trusted.push(range);
            }
        }
    }
    let file = |key: &str, v: &Option<String>| -> Result<Option<std::path::PathBuf>, ConfigError> {
        match v.as_deref() {
            None => Ok(None),
            Some("") => Err(err(key, "must not be empty".into())),
            Some(p) => Ok(Some(base_dir.join(p))),
        }
    };
    let cert = file("tls_cert_file", &raw.tls_cert_file)?;
    let key = file("tls_key_file", &raw.tls_key_file)?;
    let check_interval = match raw.tls_check_interval.as_deref() {
        Some("off") => None,
        other => Some(dur(
            source,
            "http.tls_check_interval",
            other.map(str::to_string).as_ref(),
            Dur::secs(5),
        )?),
    };
    let tls = match (cert, key) {
        (Some(cert_file), Some(key_file)) => Some(TlsConfig {
            cert_file,
            key_file,
            check_interval,
        }),
        (None, None) if raw.tls_check_interval.is_some() => {
            return Err(err(
                "tls_check_interval",
                "is only meaningful with http.tls_cert_file and http.tls_key_file".into(),
            ))
        }
        (None, None) => None,
        (Some(_), None) => {
            return Err(err(
                "tls_key_file",
                "is required with http.tls_cert_file (give both or neither)".into(),
            ))
        }
        (None, Some(_)) => {
            return Err(err(
                "tls_cert_file",
                "is required with http.tls_key_file (give both or neither)".into(),
            ))
        }
    };
    let threads = match raw.threads {
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
        Some(n) if (1..=MAX_THREADS).contains(&n) => n as usize,
        Some(n) => {
            return Err(err(
                "threads",
                format!("must be between 1 and {MAX_THREADS} (got {n})"),
            ))
        }
    };
    Ok(HttpConfig {
        body_limit: raw.body_limit.unwrap_or(64 * 1024),
        allow_private_outbound: raw.allow_private_outbound.unwrap_or(false),
        cors_from_redirect_uris: raw.cors_from_redirect_uris.unwrap_or(false),
        trusted_proxies: TrustedProxies(trusted),
        tls,
        threads,
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
    missing: MissingSecret,
    (warnings, notes): (&mut Vec<String>, &mut Vec<String>),
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
        Ok(s) => {
            let secret = decode(&s, "secret_file")?;
            if let Some(mode) = world_readable(&path) {
                warnings.push(format!(
                    "secret_file: {} is readable by every user of this machine (mode {mode:o}); \
                     anyone who reads it can forge refresh tokens: chmod 600 it",
                    path.display()
                ));
            }
            Ok(secret)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => match missing {
            MissingSecret::Create => {
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
            MissingSecret::Note => {
                notes.push(format!(
                    "secret_file: {} does not exist yet; the first `baton serve` creates it (mode 0600)",
                    path.display()
                ));
                Ok(SecretBytes(baton_core::random_bytes::<32>().to_vec()))
            }
            MissingSecret::Refuse => Err((
                "secret_file".to_string(),
                format!(
                    "{} does not exist (baton serve creates it on first start)",
                    path.display()
                ),
            )),
        },
        Err(e) => Err((
            "secret_file".to_string(),
            format!("cannot read {}: {e}", path.display()),
        )),
    }
}

/// The permission bits of `path` when every user may read it (mode & 0o004).
#[cfg(unix)]
fn world_readable(path: &Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o777;
    (mode & 0o004 != 0).then_some(mode)
}

#[cfg(not(unix))]
fn world_readable(_path: &Path) -> Option<u32> {
    None
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

/// A `[[clients]]` entry as the client validator takes it. The TOML value of `jwks` (a
/// table, or a string holding JSON) becomes JSON.
fn client_spec(c: RawClient) -> Result<ClientSpec, baton_core::policy::FieldError> {
    let jwks = match c.jwks {
        None => None,
        Some(v) => Some(
            serde_json::to_value(&v)
                .map_err(|e| baton_core::policy::FieldError::new("jwks", e.to_string()))?,
        ),
    };
    Ok(ClientSpec {
        client_id: c.client_id,
        client_name: c.client_name,
        client_secret: c.client_secret,
        client_secret_sha256: c.client_secret_sha256,
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
        jwks,
        resources: c.resources,
        default_resource: c.default_resource,
        introspect_resources: c.introspect_resources,
        id_token_claims: c.id_token_claims,
        userinfo_claims: c.userinfo_claims,
        access_token_claims: c.access_token_claims,
        active: c.active,
        refresh_tokens: c.refresh_tokens,
    })
}
