//! The configuration loader (`config::load`): arbitrary text and random structured
//! configurations (right keys with wrong values, unknown keys, environment overlays)
//! never panic; a refusal names its source and says what is wrong; and a refusal never
//! repeats a secret's value (admin token, client secret, password, initial access token).

use super::run;
use baton_server::config::{load, ConfigError, Sources};
use proptest::prelude::*;
use std::path::Path;
use toml::Value;

/// 32 bytes, base64.
const SERVER_SECRET: &str = "dGVzdGtpdC1zZXJ2ZXItc2VjcmV0LTAxMjM0NTY3ODk=";

/// Writes `text` as the config file in `dir` and loads it with `env`.
fn load_text(dir: &Path, text: &str, env: &[(String, String)]) -> Result<(), ConfigError> {
    let file = dir.join("baton.toml");
    std::fs::write(&file, text).unwrap();
    load(
        &Sources {
            file: Some(&file),
            env: env.to_vec(),
            base_dir: dir.to_path_buf(),
        },
        false,
    )
    .map(|_| ())
}

fn scratch() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("baton.secret"), SERVER_SECRET).unwrap();
    dir
}

#[track_caller]
fn check_refusal(e: &ConfigError) -> Result<(), TestCaseError> {
    prop_assert!(!e.message.is_empty(), "empty message: {:?}", e);
    prop_assert!(e.source.ends_with("baton.toml"), "{:?}", e);
    prop_assert!(e.to_string().contains("baton.toml"), "{}", e);
    Ok(())
}

/// TOML-ish text: section headers, keys of the real schema and others, assignments of
/// all kinds of values, and junk.
fn tomlish() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        Just("issuer"),
        Just("listen"),
        Just("admin_token"),
        Just("url"),
        Just("grace_period"),
        Just("reuse_reaction"),
        Just("client_id"),
        Just("client_secret"),
        Just("jwks"),
        Just("username"),
        Just("password"),
        Just("claims"),
        Just("body_limit"),
        Just("pool_size"),
        Just("x"),
    ];
    let value = prop_oneof![
        Just("\"30s\"".to_string()),
        Just("\"-1s\"".to_string()),
        Just("\"99999999999999999999d\"".to_string()),
        Just("\"\"".to_string()),
        Just("0".to_string()),
        Just("-9223372036854775808".to_string()),
        Just("18446744073709551616".to_string()),
        Just("1e400".to_string()),
        Just("true".to_string()),
        Just("[1, \"a\", [2]]".to_string()),
        Just("{ a = 1 }".to_string()),
        Just("'''multi\nline'''".to_string()),
        Just("\"http://[::1\"".to_string()),
        "\"\\PC{0,12}\"",
        "[0-9]{1,25}",
    ];
    let line = prop_oneof![
        Just("[storage]".to_string()),
        Just("[refresh_tokens]".to_string()),
        Just("[access_tokens]".to_string()),
        Just("[sessions]".to_string()),
        Just("[cleanup]".to_string()),
        Just("[registration]".to_string()),
        Just("[http]".to_string()),
        Just("[[clients]]".to_string()),
        Just("[clients.refresh_tokens]".to_string()),
        Just("[[users]]".to_string()),
        Just("[users.claims]".to_string()),
        Just("[a.b.c]".to_string()),
        (key, value).prop_map(|(k, v)| format!("{k} = {v}")),
        "\\PC{0,30}",
    ];
    prop::collection::vec(line, 0..24).prop_map(|l| l.join("\n"))
}

#[test]
fn arbitrary_text_never_panics() {
    let dir = scratch();
    let strategy = prop_oneof![any::<String>(), tomlish()];
    run("config.load(text)", 1024, 31, strategy, |text| {
        if let Err(e) = load_text(dir.path(), &text, &[]) {
            check_refusal(&e)?;
        }
        Ok(())
    });
}

/// A secret's value: a marker that must never appear in an error.
fn secret_value() -> impl Strategy<Value = String> {
    prop_oneof![
        "QZX[A-Z]{5}",  // shorter than every minimum
        "QZX[A-Z]{40}", // long enough
        "QZX[A-Z]{6}\"\\PC{0,4}",
    ]
}

/// Any TOML value, wrong types included.
fn any_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        "\\PC{0,16}".prop_map(Value::String),
        Just(Value::String("30s".into())),
        Just(Value::String("0s".into())),
        Just(Value::String("unlimited".into())),
        Just(Value::String("off".into())),
        Just(Value::String("revoke_grant".into())),
        Just(Value::String("http://127.0.0.1:9/cb".into())),
        any::<i64>().prop_map(Value::Integer),
        any::<bool>().prop_map(Value::Boolean),
        any::<f64>().prop_map(Value::Float),
    ];
    leaf.prop_recursive(2, 8, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,6}", inner, 0..3)
                .prop_map(|m| Value::Table(m.into_iter().collect())),
        ]
    })
}

/// Where a secret can be, and what it is called there.
#[derive(Clone, Copy, Debug)]
enum SecretAt {
    AdminToken,
    ClientSecret,
    ClientSecretSha256,
    Password,
    PasswordHash,
    InitialAccessToken,
}

/// A random configuration: the real sections and keys with random values, unknown keys,
/// one client and one user, and secrets (as plain values, in arrays or tables: wrong
/// types) carrying the marker.
#[derive(Debug, Clone)]
struct Structured {
    entries: Vec<(&'static str, &'static str, Value)>,
    secrets: Vec<(SecretAt, Value)>,
    env: Vec<(String, String)>,
}

fn structured() -> impl Strategy<Value = Structured> {
    let key = prop_oneof![
        Just(("", "issuer")),
        Just(("", "listen")),
        Just(("storage", "url")),
        Just(("storage", "cache_url")),
        Just(("storage", "pool_size")),
        Just(("refresh_tokens", "grace_period")),
        Just(("refresh_tokens", "usage")),
        Just(("refresh_tokens", "reuse_reaction")),
        Just(("refresh_tokens", "absolute_lifetime")),
        Just(("refresh_tokens", "sliding_lifetime")),
        Just(("refresh_tokens", "persist")),
        Just(("access_tokens", "lifetime")),
        Just(("access_tokens", "format")),
        Just(("sessions", "idle_lifetime")),
        Just(("cleanup", "retain_events")),
        Just(("registration", "default_grant_types")),
        Just(("http", "body_limit")),
        Just(("client", "redirect_uris")),
        Just(("client", "grant_types")),
        Just(("client", "scopes")),
        Just(("client", "jwks")),
        Just(("client", "token_endpoint_auth_method")),
        Just(("user", "claims")),
        Just(("user", "sub")),
        Just(("http", "colour")),
        Just(("", "colour")),
    ];
    let at = prop_oneof![
        Just(SecretAt::AdminToken),
        Just(SecretAt::ClientSecret),
        Just(SecretAt::ClientSecretSha256),
        Just(SecretAt::Password),
        Just(SecretAt::PasswordHash),
        Just(SecretAt::InitialAccessToken),
    ];
    let secret = secret_value().prop_flat_map(|s| {
        prop_oneof![
            Just(Value::String(s.clone())),
            Just(Value::Array(vec![Value::String(s.clone())])),
            Just(Value::Table(
                [("v".to_string(), Value::String(s.clone()))]
                    .into_iter()
                    .collect()
            )),
            Just(Value::String(format!("$argon2id${s}"))),
        ]
    });
    let env_name = prop_oneof![
        Just("BATON_ADMIN_TOKEN"),
        Just("BATON_REGISTRATION__INITIAL_ACCESS_TOKEN"),
        Just("BATON_STORAGE__URL"),
        Just("BATON_NOPE__X"),
    ];
    (
        prop::collection::vec((key, any_value()), 0..8),
        prop::collection::vec((at, secret), 0..4),
        prop::collection::vec((env_name, secret_value()), 0..2),
    )
        .prop_map(|(entries, secrets, env)| Structured {
            entries: entries.into_iter().map(|((s, k), v)| (s, k, v)).collect(),
            secrets,
            env: env.into_iter().map(|(n, v)| (n.to_string(), v)).collect(),
        })
}

fn table(v: &mut toml::Table, k: &str) -> toml::Table {
    match v.remove(k) {
        Some(Value::Table(t)) => t,
        _ => toml::Table::new(),
    }
}

/// Renders a structured configuration as TOML text.
fn render(s: &Structured) -> String {
    let mut doc = toml::Table::new();
    let mut client = toml::Table::new();
    client.insert("client_id".into(), Value::String("fz".into()));
    let mut user = toml::Table::new();
    user.insert("username".into(), Value::String("zed".into()));
    for (section, key, v) in &s.entries {
        match *section {
            "" => {
                doc.insert((*key).into(), v.clone());
            }
            "client" => {
                client.insert((*key).into(), v.clone());
            }
            "user" => {
                user.insert((*key).into(), v.clone());
            }
            sec => {
                let mut t = table(&mut doc, sec);
                t.insert((*key).into(), v.clone());
                doc.insert(sec.into(), Value::Table(t));
            }
        }
    }
    for (at, v) in &s.secrets {
        match at {
            SecretAt::AdminToken => {
                doc.insert("admin_token".into(), v.clone());
            }
            SecretAt::ClientSecret => {
                client.insert("client_secret".into(), v.clone());
            }
            SecretAt::ClientSecretSha256 => {
                client.insert("client_secret_sha256".into(), v.clone());
            }
            SecretAt::Password => {
                user.insert("password".into(), v.clone());
            }
            SecretAt::PasswordHash => {
                user.insert("password_hash".into(), v.clone());
            }
            SecretAt::InitialAccessToken => {
                let mut t = table(&mut doc, "registration");
                t.insert("initial_access_token".into(), v.clone());
                doc.insert("registration".into(), Value::Table(t));
            }
        }
    }
    doc.insert("clients".into(), Value::Array(vec![Value::Table(client)]));
    doc.insert("users".into(), Value::Array(vec![Value::Table(user)]));
    toml::to_string(&doc).unwrap_or_default()
}

/// Fails when any 8 consecutive characters of a secret marker (`QZX…`) appear in the
/// refusal.
fn no_secret_in(e: &ConfigError, text: &str) -> Result<(), TestCaseError> {
    let shown = format!("{e} {e:?}");
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while let Some(p) = text[i..].find("QZX") {
        let start = text[..i + p].chars().count();
        let marker: String = chars[start..]
            .iter()
            .take_while(|c| c.is_ascii_uppercase())
            .collect();
        for w in marker.as_bytes().windows(8) {
            let w = std::str::from_utf8(w).unwrap_or("");
            prop_assert!(
                !shown.contains(w),
                "secret {:?} shown in {:?}\n{}",
                marker,
                shown,
                text
            );
        }
        i += p + 3;
    }
    Ok(())
}

#[test]
fn structured_configs_never_panic_nor_show_secrets() {
    let dir = scratch();
    run("config.load(structured)", 1024, 32, structured(), |s| {
        let text = render(&s);
        if let Err(e) = load_text(dir.path(), &text, &s.env) {
            check_refusal(&e)?;
            let env_text: String = s.env.iter().map(|(_, v)| format!("{v}\n")).collect();
            no_secret_in(&e, &format!("{text}\n{env_text}"))?;
        }
        Ok(())
    });
}

#[test]
fn mangled_text_never_shows_secrets() {
    // A valid file with secrets, then bytes cut, duplicated or inserted: the TOML
    // parser's own messages quote what they read.
    let dir = scratch();
    let base = "issuer = \"http://127.0.0.1:8080\"\nadmin_token = \"QZXADMINTOKENVALUEABCDEFGHIJ\"\n[registration]\ninitial_access_token = \"QZXINITIALTOKENVALUEABCDEFGH\"\n[[clients]]\nclient_id = \"c\"\ngrant_types = [\"client_credentials\"]\nclient_secret = \"QZXCLIENTSECRETVALUEABCDEFGHIJKLMNOP\"\n[[users]]\nusername = \"u\"\npassword = \"QZXUSERPASSWORDVALUEABCDEFGH\"\n".to_string();
    if let Err(e) = load_text(dir.path(), &base, &[]) {
        panic!("the unmangled file is refused: {e}");
    }
    let edit = prop_oneof![
        (any::<usize>(), 1usize..4).prop_map(|(i, n)| (i, n, String::new())),
        (
            any::<usize>(),
            Just(0usize),
            "[\"'=\\[\\]\\\\\n #{},.]{1,3}|\\PC{1,3}"
        )
            .prop_map(|(i, n, s)| (i, n, s)),
    ];
    let strategy = prop::collection::vec(edit, 1..4);
    run("config.load(mangled)", 1024, 33, strategy, |edits| {
        let mut chars: Vec<char> = base.chars().collect();
        for (i, n, ins) in &edits {
            let at = i % chars.len();
            let end = (at + n).min(chars.len());
            chars.splice(at..end, ins.chars());
        }
        let text: String = chars.into_iter().collect();
        if let Err(e) = load_text(dir.path(), &text, &[]) {
            check_refusal(&e)?;
            no_secret_in(&e, &text)?;
        }
        Ok(())
    });
}
