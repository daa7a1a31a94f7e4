//! The configuration file's shapes as TOML gives them: every section and entry
//! refuses keys it does not know (`deny_unknown_fields`). Nothing here checks values;
//! `validate.rs` does.

use baton_proto::settings::{AccessTokenSettings, RefreshTokenSettings};
use serde::Deserialize;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    pub(super) issuer: Option<String>,
    pub(super) listen: Option<String>,
    pub(super) secret_file: Option<String>,
    pub(super) admin_token: Option<String>,
    #[serde(default)]
    pub(super) storage: RawStorage,
    #[serde(default)]
    pub(super) access_tokens: AccessTokenSettings,
    #[serde(default)]
    pub(super) refresh_tokens: RefreshTokenSettings,
    #[serde(default)]
    pub(super) sessions: RawSessions,
    #[serde(default)]
    pub(super) cleanup: RawCleanup,
    #[serde(default)]
    pub(super) registration: RawRegistration,
    #[serde(default)]
    pub(super) http: RawHttp,
    #[serde(default)]
    pub(super) login: RawLogin,
    #[serde(default)]
    pub(super) signing_keys: RawSigningKeys,
    #[serde(default)]
    pub(super) dpop: RawDpop,
    #[serde(default)]
    pub(super) outbox: RawOutbox,
    #[serde(default)]
    pub(super) webhooks: Vec<RawWebhook>,
    #[serde(default)]
    pub(super) clients: Vec<RawClient>,
    #[serde(default)]
    pub(super) users: Vec<RawUser>,
    #[serde(default)]
    pub(super) resources: Vec<RawResource>,
}

#[derive(Deserialize, Default, Debug)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStorage {
    pub(super) url: Option<String>,
    pub(super) cache_url: Option<String>,
    pub(super) cache_ca_file: Option<String>,
    pub(super) cache_cert_file: Option<String>,
    pub(super) cache_key_file: Option<String>,
    pub(super) cache_prefix: Option<String>,
    pub(super) pool_size: Option<i64>,
}

#[derive(Deserialize, Default, Debug)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSessions {
    pub(super) idle_lifetime: Option<String>,
    pub(super) absolute_lifetime: Option<String>,
    pub(super) expiry_check_interval: Option<String>,
}

#[derive(Deserialize, Default, Debug)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCleanup {
    pub(super) interval: Option<String>,
    pub(super) retain_revoked: Option<String>,
    pub(super) retain_events: Option<String>,
}

#[derive(Deserialize, Default, Debug)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRegistration {
    pub(super) enabled: Option<bool>,
    /// A TOML array, or (from the environment) one string, comma- or space-separated.
    pub(super) default_grant_types: Option<StringOrList>,
    pub(super) initial_access_token: Option<String>,
    /// A TOML array, or (from the environment) one string, comma- or space-separated.
    pub(super) allowed_scopes: Option<StringOrList>,
}

#[derive(Deserialize, Debug)]
#[serde(untagged)]
pub(super) enum StringOrList {
    List(Vec<String>),
    One(String),
}

impl StringOrList {
    /// The items: the list's, or the string's, split at commas and spaces.
    pub(super) fn items(&self) -> Vec<&str> {
        match self {
            StringOrList::List(l) => l.iter().map(String::as_str).collect(),
            StringOrList::One(s) => s
                .split(|c: char| c == ',' || c.is_whitespace())
                .filter(|s| !s.is_empty())
                .collect(),
        }
    }
}

#[derive(Deserialize, Default, Debug)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSigningKeys {
    pub(super) pre_publication: Option<String>,
}

#[derive(Deserialize, Default, Debug)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDpop {
    pub(super) require_for_public_clients: Option<bool>,
    pub(super) require_nonce: Option<bool>,
    pub(super) iat_window: Option<String>,
    pub(super) nonce_lifetime: Option<String>,
}

#[derive(Deserialize, Default, Debug)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHttp {
    pub(super) body_limit: Option<usize>,
    pub(super) allow_private_outbound: Option<bool>,
    pub(super) cors_from_redirect_uris: Option<bool>,
    /// A TOML array, or (from the environment) one string, comma- or space-separated.
    pub(super) trusted_proxies: Option<StringOrList>,
    pub(super) tls_cert_file: Option<String>,
    pub(super) tls_key_file: Option<String>,
    pub(super) tls_check_interval: Option<String>,
    pub(super) threads: Option<i64>,
}

#[derive(Deserialize, Default, Debug)]
#[serde(deny_unknown_fields)]
pub(super) struct RawOutbox {
    pub(super) max_attempts: Option<i64>,
    pub(super) first_retry: Option<String>,
    pub(super) max_retry: Option<String>,
    pub(super) retain: Option<String>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub(super) struct RawWebhook {
    pub(super) name: String,
    pub(super) url: String,
    pub(super) events: Vec<String>,
    pub(super) secret_file: Option<String>,
    pub(super) secret_env: Option<String>,
}

#[derive(Deserialize, Default, Debug)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLogin {
    pub(super) free_failures: Option<i64>,
    pub(super) free_failures_per_ip: Option<i64>,
    pub(super) first_delay: Option<String>,
    pub(super) max_delay: Option<String>,
    pub(super) forget_after: Option<String>,
    pub(super) trusted_for: Option<String>,
    pub(super) max_entries: Option<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawClient {
    pub(super) client_id: String,
    pub(super) client_name: Option<String>,
    pub(super) client_secret: Option<String>,
    pub(super) client_secret_sha256: Option<String>,
    pub(super) token_endpoint_auth_method: Option<String>,
    #[serde(default)]
    pub(super) redirect_uris: Vec<String>,
    #[serde(default)]
    pub(super) post_logout_redirect_uris: Vec<String>,
    pub(super) backchannel_logout_uri: Option<String>,
    #[serde(default)]
    pub(super) allowed_origins: Vec<String>,
    pub(super) grant_types: Option<Vec<String>>,
    pub(super) scopes: Option<Vec<String>>,
    pub(super) access_token_format: Option<String>,
    pub(super) id_token_signed_response_alg: Option<String>,
    #[serde(default)]
    pub(super) introspect_any: bool,
    #[serde(default)]
    pub(super) dpop_bound_access_tokens: bool,
    pub(super) jwks: Option<toml::Value>,
    #[serde(default)]
    pub(super) resources: Vec<String>,
    pub(super) default_resource: Option<String>,
    #[serde(default)]
    pub(super) introspect_resources: Vec<String>,
    #[serde(default)]
    pub(super) id_token_claims: Vec<String>,
    #[serde(default)]
    pub(super) userinfo_claims: Vec<String>,
    #[serde(default)]
    pub(super) access_token_claims: Vec<String>,
    pub(super) active: Option<bool>,
    #[serde(default)]
    pub(super) refresh_tokens: RefreshTokenSettings,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawUser {
    pub(super) username: String,
    pub(super) password: Option<String>,
    pub(super) password_hash: Option<String>,
    pub(super) sub: Option<String>,
    pub(super) active: Option<bool>,
    #[serde(default)]
    pub(super) claims: toml::Table,
    #[serde(default)]
    pub(super) roles: Vec<String>,
    #[serde(default)]
    pub(super) groups: Vec<String>,
    #[serde(default)]
    pub(super) admin: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawResource {
    pub(super) identifier: String,
    pub(super) name: Option<String>,
    #[serde(default)]
    pub(super) scopes: Vec<String>,
    #[serde(default)]
    pub(super) scope_descriptions: std::collections::BTreeMap<String, String>,
    pub(super) access_token_format: Option<String>,
    pub(super) access_token_lifetime: Option<String>,
    pub(super) signing_alg: Option<String>,
    #[serde(default)]
    pub(super) claims: Vec<String>,
    pub(super) active: Option<bool>,
}

/// Deserializes the document (file and environment overlaid). A refusal names the key
/// at fault and never repeats the value of a secret.
pub(super) fn parse(table: toml::Table) -> Result<RawConfig, (String, String)> {
    RawConfig::deserialize(toml::Value::Table(table.clone())).map_err(|e| {
        let key = locate(&toml::Value::Table(table)).unwrap_or_else(|| guess_key(e.message()));
        // serde quotes the offending value ("invalid type: integer `30`"); for a
        // secret that would print it. An unknown key is named, never its value.
        let message = if is_secret(&key) && !e.message().starts_with("unknown field") {
            "has the wrong type (the value is not shown: it is a secret)".to_string()
        } else {
            e.message().to_string()
        };
        (key, message)
    })
}

/// Whether the value at `key` (a dotted path such as `clients[0].client_secret`) is a
/// secret: a client secret (or its digest), a password (or its hash), the admin token or the
/// registration's initial access token. Only the key's own name counts, not its
/// section's (`refresh_tokens.grace_period` is no secret).
fn is_secret(key: &str) -> bool {
    let last = key.rsplit('.').next().unwrap_or(key);
    let name = last.split('[').next().unwrap_or(last);
    matches!(
        name,
        "client_secret"
            | "client_secret_sha256"
            | "password"
            | "password_hash"
            | "admin_token"
            | "initial_access_token"
    )
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
pub(super) fn guess_key(msg: &str) -> String {
    msg.split('`').nth(1).unwrap_or("").to_string()
}
