//! `[outbox]` and `[[webhooks]]`: checked at start-up. A webhook names only event kinds
//! the server records (or `*`), its URL follows the outbound rules (`https`, or `http`
//! and non-public addresses only under `http.allow_private_outbound`), and its secret
//! is a Standard Webhooks `whsec_<base64>` key read from a file or an environment
//! variable, never from the configuration file itself.

use super::raw::{RawOutbox, RawWebhook};
use super::{ConfigError, OutboxConfig, SecretBytes, Sources, WebhookConfig};
use base64::Engine;
use baton_core::events::EventKind;
use baton_core::time::{parse_duration, Dur};

/// Secrets shorter or longer than this (decoded) are refused (Standard Webhooks).
const SECRET_BYTES: std::ops::RangeInclusive<usize> = 24..=64;

pub(super) fn outbox(raw: &RawOutbox, source: &str) -> Result<OutboxConfig, ConfigError> {
    let d = OutboxConfig::default();
    let err = |key: &str, message: String| ConfigError {
        source: source.to_string(),
        key: format!("outbox.{key}"),
        message,
    };
    let dur = |key: &str, v: &Option<String>, default: Dur| match v {
        None => Ok(default),
        Some(s) => match parse_duration(s) {
            Ok(d) if d > Dur::ZERO => Ok(d),
            Ok(_) => Err(err(key, "must be positive".into())),
            Err(m) => Err(err(key, m)),
        },
    };
    let c = OutboxConfig {
        max_attempts: match raw.max_attempts {
            None => d.max_attempts,
            Some(n) if (1..=100).contains(&n) => n as u32,
            Some(n) => {
                return Err(err(
                    "max_attempts",
                    format!("must be between 1 and 100 (got {n})"),
                ))
            }
        },
        first_retry: dur("first_retry", &raw.first_retry, d.first_retry)?,
        max_retry: dur("max_retry", &raw.max_retry, d.max_retry)?,
        retain: dur("retain", &raw.retain, d.retain)?,
    };
    if c.max_retry < c.first_retry {
        return Err(err(
            "max_retry",
            "must not be shorter than outbox.first_retry".into(),
        ));
    }
    Ok(c)
}

pub(super) fn webhooks(
    raw: Vec<RawWebhook>,
    source: &str,
    src: &Sources<'_>,
    allow_private: bool,
) -> Result<Vec<WebhookConfig>, ConfigError> {
    let mut out: Vec<WebhookConfig> = Vec::new();
    for (i, w) in raw.into_iter().enumerate() {
        let err = |key: &str, message: String| ConfigError {
            source: source.to_string(),
            key: format!("webhooks[{i}].{key}"),
            message,
        };
        let name_ok = !w.name.is_empty()
            && w.name.len() <= 64
            && w.name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
        if !name_ok {
            return Err(err(
                "name",
                "must be 1 to 64 letters, digits, `_`, `-` or `.`".into(),
            ));
        }
        if out.iter().any(|o| o.name == w.name) {
            return Err(err("name", format!("`{}` is listed twice", w.name)));
        }
        check_url(&w.url, allow_private).map_err(|m| err("url", m))?;
        let events = check_events(&w.events).map_err(|m| err("events", m))?;
        let secret = match (&w.secret_file, &w.secret_env) {
            (Some(f), None) => {
                let path = src.base_dir.join(f);
                let text = std::fs::read_to_string(&path).map_err(|e| {
                    err(
                        "secret_file",
                        format!("cannot read {}: {e}", path.display()),
                    )
                })?;
                decode_secret(&text).map_err(|m| err("secret_file", m))?
            }
            (None, Some(var)) => {
                let v = src
                    .env
                    .iter()
                    .find(|(k, _)| k == var)
                    .map(|(_, v)| v.as_str())
                    .ok_or_else(|| {
                        err(
                            "secret_env",
                            format!("the environment variable {var} is not set"),
                        )
                    })?;
                decode_secret(v).map_err(|m| err("secret_env", m))?
            }
            _ => {
                return Err(err(
                    "secret_file",
                    "give exactly one of secret_file and secret_env".into(),
                ))
            }
        };
        out.push(WebhookConfig {
            name: w.name,
            url: w.url,
            events,
            secret,
        });
    }
    Ok(out)
}

fn check_url(url: &str, allow_private: bool) -> Result<(), String> {
    let u = url::Url::parse(url).map_err(|e| format!("`{url}` is not a URL: {e}"))?;
    match u.scheme() {
        "https" => {}
        "http" if allow_private => {}
        "http" => {
            return Err(
                "must be https (http only with http.allow_private_outbound, for local development)"
                    .into(),
            )
        }
        s => return Err(format!("the scheme `{s}` is not supported: use https")),
    }
    if u.host_str().is_none_or(str::is_empty) {
        return Err("has no host".into());
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err("must not carry credentials".into());
    }
    if u.fragment().is_some() {
        return Err("must not have a fragment".into());
    }
    crate::outbound::refuse_literal(url, allow_private)
}

fn check_events(events: &[String]) -> Result<Vec<String>, String> {
    if events.is_empty() {
        return Err("must name at least one event kind, or \"*\"".into());
    }
    if events.iter().any(|e| e == "*") {
        if events.len() > 1 {
            return Err("\"*\" (every kind) stands alone".into());
        }
        return Ok(vec!["*".into()]);
    }
    let mut out: Vec<String> = Vec::new();
    for e in events {
        if e.parse::<EventKind>().is_err() {
            return Err(format!(
                "unknown event kind `{e}`: expected one of {}",
                EventKind::ALL.map(EventKind::as_str).join(", ")
            ));
        }
        if !out.contains(e) {
            out.push(e.clone());
        }
    }
    Ok(out)
}

/// The key of a `whsec_<base64>` secret.
fn decode_secret(text: &str) -> Result<SecretBytes, String> {
    let b64 = text
        .trim()
        .strip_prefix("whsec_")
        .ok_or("the secret must be `whsec_` followed by base64")?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|_| "the secret after `whsec_` is not valid base64".to_string())?;
    if !SECRET_BYTES.contains(&bytes.len()) {
        return Err(format!(
            "the secret decodes to {} bytes; 24 to 64 are required",
            bytes.len()
        ));
    }
    Ok(SecretBytes(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_names_are_checked() {
        assert_eq!(check_events(&["*".into()]).unwrap(), vec!["*"]);
        assert!(check_events(&[]).is_err());
        assert!(check_events(&["*".into(), "login.failed".into()]).is_err());
        let e = check_events(&["token.reuse_detected".into(), "grant.revoke".into()]).unwrap_err();
        assert!(e.contains("`grant.revoke`"), "{e}");
        assert_eq!(
            check_events(&["login.failed".into(), "login.failed".into()]).unwrap(),
            vec!["login.failed"]
        );
    }

    #[test]
    fn urls_follow_the_outbound_rules() {
        assert!(check_url("https://hooks.example/baton", false).is_ok());
        assert!(check_url("http://hooks.example/baton", false).is_err());
        assert!(check_url("https://127.0.0.1/x", false).is_err());
        assert!(check_url("https://169.254.169.254/x", false).is_err());
        assert!(check_url("http://127.0.0.1:9/x", true).is_ok());
        assert!(check_url("ftp://hooks.example/", true).is_err());
        assert!(check_url("https://u:p@hooks.example/", false).is_err());
    }

    #[test]
    fn secrets_are_standard_webhooks_keys() {
        let key = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
        assert_eq!(
            decode_secret(&format!("whsec_{key}\n")).unwrap().0,
            vec![7u8; 32]
        );
        assert!(decode_secret(&key).is_err());
        assert!(decode_secret("whsec_!!").is_err());
        let short = base64::engine::general_purpose::STANDARD.encode([7u8; 8]);
        assert!(decode_secret(&format!("whsec_{short}")).is_err());
    }
}
