use super::*;

mod resources;

/// 32 bytes, base64.
const SECRET: &str = "dGVzdGtpdC1zZXJ2ZXItc2VjcmV0LTAxMjM0NTY3ODk=";
const CLIENT_SECRET: &str = "a-client-secret-of-at-least-32-chars!";

/// A scratch directory, removed on drop.
struct Dir(PathBuf);

impl Dir {
    fn new() -> Dir {
        let d = std::env::temp_dir().join(baton_core::random_id("baton-config-test-"));
        std::fs::create_dir_all(&d).unwrap();
        Dir(d)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Loads `text` as `baton.toml` in a fresh directory holding a valid secret file.
fn load_with(text: &str, env: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let dir = Dir::new();
    std::fs::write(dir.0.join("baton.secret"), SECRET).unwrap();
    let file = dir.0.join("baton.toml");
    std::fs::write(&file, text).unwrap();
    load(
        &Sources {
            file: Some(&file),
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            base_dir: dir.0.clone(),
        },
        false,
    )
}

fn load_str(text: &str) -> Result<Config, ConfigError> {
    load_with(text, &[])
}

#[track_caller]
fn refused(text: &str, key_part: &str) -> ConfigError {
    let e = load_str(text).expect_err("the configuration should be refused");
    assert!(
        e.key.contains(key_part),
        "key `{}` should name `{key_part}` ({e})",
        e.key
    );
    assert!(e.source.ends_with("baton.toml"), "names the file: {e}");
    assert!(!e.message.is_empty());
    let shown = e.to_string();
    assert!(
        shown.contains("baton.toml") && shown.contains(key_part),
        "{shown}"
    );
    e
}

fn client(id: &str, extra: &str) -> String {
    format!(
        "[[clients]]\nclient_id = \"{id}\"\nclient_secret = \"{CLIENT_SECRET}\"\nredirect_uris = [\"https://app.example/cb\"]\n{extra}\n"
    )
}

#[test]
fn a_minimal_file_gets_the_defaults() {
    let c = load_str("").unwrap();
    assert_eq!(c.issuer, "http://127.0.0.1:8080");
    assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
    assert!(c.storage.url.starts_with("sqlite://") && c.storage.url.ends_with("baton.db"));
    assert_eq!(c.refresh_tokens.grace_period, Dur::secs(30));
    assert_eq!(c.access_tokens.lifetime, Dur::secs(3600));
    assert_eq!(c.http.body_limit, 64 * 1024);
    assert_eq!(c.secret.0.len(), 32);
}

#[test]
fn unknown_keys_are_refused_by_name() {
    refused(
        "issuer = \"http://127.0.0.1:8080\"\nlisten_adress = \"x\"\n",
        "listen_adress",
    );
    refused(
        "[refresh_tokens]\ngrace = \"10s\"\n",
        "refresh_tokens.grace",
    );
    refused("[storage]\npath = \"x.db\"\n", "storage.path");
    refused("[nonsense]\nx = 1\n", "nonsense");
    refused(&client("web", "colour = \"blue\""), "clients[0].colour");
    refused(
        &client("web", "[clients.refresh_tokens]\nrotation = \"x\""),
        "clients[0].refresh_tokens.rotation",
    );
    refused(
        "[[users]]\nusername = \"a\"\npassword = \"p\"\nemail = \"a@b\"\n",
        "users[0].email",
    );
}

#[test]
fn a_value_of_the_wrong_type_names_its_key() {
    refused(
        "[refresh_tokens]\ngrace_period = 30\n",
        "refresh_tokens.grace_period",
    );
    refused(
        "[registration]\nenabled = \"yes\"\n",
        "registration.enabled",
    );
    refused("[http]\nbody_limit = \"big\"\n", "http.body_limit");
    refused(
        &client("web", "introspect_any = \"no\""),
        "clients[0].introspect_any",
    );
    let e = refused(
        "[[clients]]\nclient_name = \"no id\"\ntoken_endpoint_auth_method = \"none\"\n",
        "clients[0]",
    );
    assert!(e.message.contains("client_id"), "{e}");
    let e = load_with("", &[("BATON_HTTP__BODY_LIMIT", "lots")]).unwrap_err();
    assert_eq!(e.key, "http.body_limit");
}

#[test]
fn bad_durations_are_refused() {
    refused(
        "[refresh_tokens]\nabsolute_lifetime = \"10 days\"\n",
        "refresh_tokens.absolute_lifetime",
    );
    refused(
        "[refresh_tokens]\nsliding_lifetime = \"forever\"\n",
        "refresh_tokens.sliding_lifetime",
    );
    refused(
        "[access_tokens]\nlifetime = \"-5m\"\n",
        "access_tokens.lifetime",
    );
    refused(
        "[access_tokens]\nlifetime = \"0s\"\n",
        "access_tokens.lifetime",
    );
    refused(
        "[access_tokens]\nlifetime = \"1w\"\n",
        "access_tokens.lifetime",
    );
    refused(
        "[sessions]\nidle_lifetime = \"abc\"\n",
        "sessions.idle_lifetime",
    );
    refused(
        "[cleanup]\ninterval = \"99999999999d\"\n",
        "cleanup.interval",
    );
    let c = load_str(
        "[refresh_tokens]\nabsolute_lifetime = \"unlimited\"\nsliding_lifetime = \"off\"\n",
    )
    .unwrap();
    assert_eq!(c.refresh_tokens.absolute_lifetime, None);
    assert_eq!(c.refresh_tokens.sliding_lifetime, None);
}

#[test]
fn grace_period_is_at_most_60s() {
    let e = refused(
        "[refresh_tokens]\ngrace_period = \"61s\"\n",
        "refresh_tokens.grace_period",
    );
    assert!(e.message.contains("60s"), "{e}");
    refused(
        "[refresh_tokens]\ngrace_period = \"2m\"\n",
        "refresh_tokens.grace_period",
    );
    refused(
        &client("web", "[clients.refresh_tokens]\ngrace_period = \"90s\""),
        "grace_period",
    );
    let c = load_str("[refresh_tokens]\ngrace_period = \"60s\"\n").unwrap();
    assert_eq!(c.refresh_tokens.grace_period, Dur::secs(60));
    let c = load_str("[refresh_tokens]\ngrace_period = \"0s\"\n").unwrap();
    assert_eq!(c.refresh_tokens.grace_period, Dur::ZERO);
}

#[test]
fn sliding_longer_than_absolute_is_refused() {
    refused(
        "[refresh_tokens]\nabsolute_lifetime = \"1d\"\nsliding_lifetime = \"2d\"\n",
        "refresh_tokens.sliding_lifetime",
    );
    // A client override that makes it so, against the server-wide absolute lifetime.
    refused(
        &format!(
            "[refresh_tokens]\nabsolute_lifetime = \"10d\"\n{}",
            client(
                "web",
                "[clients.refresh_tokens]\nsliding_lifetime = \"20d\""
            )
        ),
        "clients[0].refresh_tokens.sliding_lifetime",
    );
    load_str("[refresh_tokens]\nabsolute_lifetime = \"2d\"\nsliding_lifetime = \"2d\"\n").unwrap();
}

#[test]
fn client_secrets_shorter_than_32_characters_are_refused() {
    let text = "[[clients]]\nclient_id = \"web\"\nclient_secret = \"0123456789abcdef0123456789abcde\"\nredirect_uris = [\"https://app.example/cb\"]\n";
    let e = refused(text, "clients[0].client_secret");
    assert!(e.message.contains("32"), "{e}");
    let c = load_str(&client("web", "")).unwrap();
    assert_eq!(
        c.clients[0].secret_sha256,
        Some(baton_core::secret::sha256(CLIENT_SECRET.as_bytes())),
        "stored as SHA-256"
    );
}

#[test]
fn duplicate_client_ids_and_usernames_are_refused() {
    let e = refused(
        &format!("{}{}", client("web", ""), client("web", "")),
        "clients[1].client_id",
    );
    assert!(e.message.contains("web"), "{e}");
    refused(
        "[[users]]\nusername = \"a\"\npassword = \"p\"\n[[users]]\nusername = \"a\"\npassword = \"q\"\n",
        "users[1].username",
    );
}

#[test]
fn environment_overrides_the_file() {
    let text = "issuer = \"http://127.0.0.1:8080\"\n[refresh_tokens]\ngrace_period = \"20s\"\n";
    let c = load_with(
        text,
        &[
            ("BATON_REFRESH_TOKENS__GRACE_PERIOD", "10s"),
            ("BATON_ISSUER", "https://id.example"),
            ("BATON_ACCESS_TOKENS__LIFETIME", "15m"),
            ("UNRELATED", "x"),
        ],
    )
    .unwrap();
    assert_eq!(c.refresh_tokens.grace_period, Dur::secs(10));
    assert_eq!(c.issuer, "https://id.example");
    assert_eq!(c.access_tokens.lifetime, Dur::secs(15 * 60));

    // A bad value from the environment is refused like one from the file.
    let e = load_with("", &[("BATON_REFRESH_TOKENS__GRACE_PERIOD", "90s")]).unwrap_err();
    assert_eq!(e.key, "refresh_tokens.grace_period");
    let e = load_with("", &[("BATON_NOPE__X", "1")]).unwrap_err();
    assert!(e.to_string().contains("BATON_NOPE__X"), "{e}");
    // Top-level keys are strings even when they look like numbers.
    let c = load_with("", &[("BATON_ADMIN_TOKEN", "12345678901234567890123")]).unwrap();
    assert_eq!(
        c.admin_token.map(|t| t.expose().to_string()).as_deref(),
        Some("12345678901234567890123")
    );
    let c = load_with("", &[("BATON_HTTP__BODY_LIMIT", "1024")]).unwrap();
    assert_eq!(c.http.body_limit, 1024);
    let e = load_with("", &[("BATON_ISSUER", "not a url")]).unwrap_err();
    assert_eq!(e.key, "issuer");
}

#[test]
fn baton_secret_must_decode_to_32_bytes() {
    let short = "c2hvcnQtc2VjcmV0"; // "short-secret"
    let e = load_with("", &[("BATON_SECRET", short)]).unwrap_err();
    assert_eq!(e.key, "BATON_SECRET");
    assert!(e.message.contains("32"), "{e}");
    let e = load_with("", &[("BATON_SECRET", "!!! not base64 !!!")]).unwrap_err();
    assert_eq!(e.key, "BATON_SECRET");
    // 31 bytes: one short.
    let e = load_with(
        "",
        &[(
            "BATON_SECRET",
            "MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MA==",
        )],
    )
    .unwrap_err();
    assert_eq!(e.key, "BATON_SECRET");
    let other = "b3RoZXItc2VydmVyLXNlY3JldC0wMTIzNDU2Nzg5YWI="; // 32 bytes
    let c = load_with("", &[("BATON_SECRET", other)]).unwrap();
    assert_eq!(c.secret.0, b"other-server-secret-0123456789ab");
    assert!(
        !format!("{:?}", c.secret).contains("other"),
        "Debug is redacted"
    );
}

#[test]
fn a_short_secret_file_is_refused() {
    let dir = Dir::new();
    std::fs::write(dir.0.join("baton.secret"), "c2hvcnQ=").unwrap();
    let e = load(
        &Sources {
            file: None,
            env: vec![],
            base_dir: dir.0.clone(),
        },
        true,
    )
    .unwrap_err();
    assert_eq!(e.key, "secret_file");
}

#[cfg(unix)]
#[test]
fn a_missing_secret_file_is_created_0600_only_when_asked() {
    use std::os::unix::fs::PermissionsExt;
    let dir = Dir::new();
    let src = Sources {
        file: None,
        env: vec![],
        base_dir: dir.0.clone(),
    };
    let e = load(&src, false).unwrap_err();
    assert_eq!(e.key, "secret_file");
    assert_eq!(e.source, "built-in defaults");
    assert!(!dir.0.join("baton.secret").exists(), "not created");

    let c = load(&src, true).unwrap();
    let path = dir.0.join("baton.secret");
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "mode {mode:o}");
    assert!(
        c.warnings.iter().any(|w| w.contains("baton.secret")),
        "{:?}",
        c.warnings
    );
    assert_eq!(c.secret.0.len(), 32);
    // The next start reads the same secret and does not warn again.
    let again = load(&src, true).unwrap();
    assert_eq!(again.secret.0, c.secret.0);
    assert!(again.warnings.is_empty());
}

#[cfg(unix)]
#[test]
fn check_notes_a_missing_secret_file_and_both_warn_of_a_readable_one() {
    use std::os::unix::fs::PermissionsExt;
    let dir = Dir::new();
    let src = Sources {
        file: None,
        env: vec![],
        base_dir: dir.0.clone(),
    };
    let path = dir.0.join("baton.secret");
    // check: a missing file is a note, and is not created.
    let c = check(&src).unwrap();
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    assert_eq!(c.notes.len(), 1, "{:?}", c.notes);
    assert!(c.notes[0].contains("does not exist yet"), "{:?}", c.notes);
    assert!(!path.exists());
    // A world-readable file: a warning from check and from load alike.
    std::fs::write(&path, SECRET).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    for c in [check(&src).unwrap(), load(&src, false).unwrap()] {
        assert!(c.notes.is_empty(), "{:?}", c.notes);
        assert_eq!(c.warnings.len(), 1, "{:?}", c.warnings);
        assert!(c.warnings[0].contains("readable by every user"));
        assert!(c.warnings[0].contains("644"), "{:?}", c.warnings);
        assert!(!c.warnings[0].contains(SECRET));
    }
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert!(load(&src, false).unwrap().warnings.is_empty());
    // A broken file is a fault for check too.
    std::fs::write(&path, "c2hvcnQ=").unwrap();
    assert_eq!(check(&src).unwrap_err().key, "secret_file");
}

#[test]
fn storage_pool_size_defaults_to_16_and_is_bounded() {
    assert_eq!(load_str("").unwrap().storage.pool_size, 16);
    let c = load_str("[storage]\nurl = \"postgres://baton@db.example/baton\"\npool_size = 40\n")
        .unwrap();
    assert_eq!(c.storage.pool_size, 40);
    assert_eq!(c.storage.url, "postgres://baton@db.example/baton");
    let c = load_with("", &[("BATON_STORAGE__POOL_SIZE", "8")]).unwrap();
    assert_eq!(c.storage.pool_size, 8);
    let e = refused("[storage]\npool_size = 0\n", "storage.pool_size");
    assert!(e.message.contains("between 1 and"), "{e}");
    refused("[storage]\npool_size = 100000\n", "storage.pool_size");
    refused("[storage]\npool_size = \"many\"\n", "storage.pool_size");
}

#[test]
fn a_mistyped_secret_is_not_echoed_and_syntax_errors_give_the_line() {
    let client = |secret: &str| {
        format!("[[clients]]\nclient_id = \"c\"\nclient_secret = {secret}\nredirect_uris = [\"https://a.example/cb\"]\n")
    };
    // Parses, but the wrong type: the key is named, the value is not shown.
    let e = load_str(&client("1234567890123456789")).unwrap_err();
    assert!(e.key.contains("client_secret"), "{e}");
    assert!(!e.to_string().contains("1234567890123456789"), "{e}");
    // Does not even parse: the line is given, the value is not shown.
    let e = load_str(&client("98765432109876543210987654321098")).unwrap_err();
    assert!(e.to_string().contains("line 3"), "{e}");
    assert!(
        !e.to_string().contains("98765432109876543210987654321098"),
        "{e}"
    );
    let e = load_str("issuer = \"http://127.0.0.1:8080\"\n\nlisten = = 3\n").unwrap_err();
    assert!(e.to_string().contains("line 3"), "{e}");
}

#[test]
fn a_typo_in_a_token_section_names_the_key_and_only_secrets_are_hidden() {
    // Unknown keys in sections whose names say "token": named, not called secrets.
    for (text, key, field) in [
        ("[refresh_tokens]\ngrace_periode = \"30s\"\n", "refresh_tokens.grace_periode", "grace_periode"),
        ("[access_tokens]\nlifetyme = \"5m\"\n", "access_tokens.lifetyme", "lifetyme"),
        (
            "[[clients]]\nclient_id = \"c\"\nredirect_uris = [\"https://a.example/cb\"]\n[clients.refresh_tokens]\ngrace_periode = \"1s\"\n",
            "clients[0].refresh_tokens.grace_periode",
            "grace_periode",
        ),
        // A misspelt secret key: named, its value (maybe a secret) not shown.
        ("[[users]]\nusername = \"a\"\npasswd = \"hunter2-hunter2\"\n", "users[0].passwd", "passwd"),
    ] {
        let e = load_str(text).unwrap_err();
        assert_eq!(e.key, key, "{e}");
        assert!(e.message.contains(&format!("unknown field `{field}`")), "{e}");
        assert!(!e.message.contains("secret"), "{e}");
        assert!(!e.to_string().contains("hunter2"), "{e}");
    }
    // A value of the wrong type under a token section is no secret: serde's message
    // stays (it says what was expected).
    let e = load_str("[refresh_tokens]\ngrace_period = 30\n").unwrap_err();
    assert_eq!(e.key, "refresh_tokens.grace_period");
    assert!(e.message.contains("invalid type"), "{e}");
    assert!(!e.message.contains("secret"), "{e}");
    // Real secrets of the wrong type: the key is named, the value is not shown.
    for (text, key) in [
        ("admin_token = 918273645546372819\n", "admin_token"),
        (
            "[registration]\ninitial_access_token = 918273645546372819\n",
            "registration.initial_access_token",
        ),
        (
            "[[users]]\nusername = \"a\"\npassword = 918273645546372819\n",
            "users[0].password",
        ),
        (
            "[[users]]\nusername = \"a\"\npassword_hash = 918273645546372819\n",
            "users[0].password_hash",
        ),
    ] {
        let e = load_str(text).unwrap_err();
        assert_eq!(e.key, key, "{e}");
        assert!(e.message.contains("the value is not shown"), "{e}");
        assert!(!e.to_string().contains("918273645546372819"), "{e}");
    }
}

#[test]
fn cache_url_and_prefix() {
    let c = load_with("", &[]).unwrap();
    assert_eq!(
        (c.storage.cache_url, c.storage.cache_prefix.as_str()),
        (None, "baton:")
    );
    let c = load_with(
        "[storage]\ncache_url = \"redis://127.0.0.1:6379\"\ncache_prefix = \"prod-a:\"\n",
        &[],
    )
    .unwrap();
    assert_eq!(
        c.storage.cache_url.as_deref(),
        Some("redis://127.0.0.1:6379")
    );
    assert_eq!(c.storage.cache_prefix, "prod-a:");
    for bad in ["\"\"", "\"a b\""] {
        let e = load_with(&format!("[storage]\ncache_prefix = {bad}\n"), &[]).unwrap_err();
        assert_eq!(e.key, "storage.cache_prefix");
    }
}

/// The field names a struct deserializes, read from serde itself: a deserializer that
/// records the `fields` serde asks for and stops.
fn fields_of<T: serde::de::DeserializeOwned>() -> Vec<&'static str> {
    use serde::de::{self, Visitor};
    struct Catch<'a>(&'a mut Vec<&'static str>);
    impl<'de> de::Deserializer<'de> for Catch<'_> {
        type Error = de::value::Error;
        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
            Err(de::Error::custom("not a struct"))
        }
        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Self::Error> {
            self.0.extend_from_slice(fields);
            Err(de::Error::custom("caught"))
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
            byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map enum
            identifier ignored_any
        }
    }
    let mut out = Vec::new();
    let _ = T::deserialize(Catch(&mut out));
    out
}

/// docs/configuration.md is checked against the configuration types: every key any
/// section accepts is documented there (as `key` in a table row or heading).
#[test]
fn the_configuration_reference_documents_every_key() {
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/configuration.md"
    ))
    .unwrap();
    let sections: Vec<(&str, Vec<&'static str>)> = vec![
        ("top level", fields_of::<RawConfig>()),
        ("[storage]", fields_of::<RawStorage>()),
        ("[access_tokens]", fields_of::<AccessTokenSettings>()),
        ("[refresh_tokens]", fields_of::<RefreshTokenSettings>()),
        ("[sessions]", fields_of::<RawSessions>()),
        ("[cleanup]", fields_of::<RawCleanup>()),
        ("[registration]", fields_of::<RawRegistration>()),
        ("[http]", fields_of::<RawHttp>()),
        ("[login]", fields_of::<RawLogin>()),
        ("[signing_keys]", fields_of::<RawSigningKeys>()),
        ("[dpop]", fields_of::<RawDpop>()),
        ("[outbox]", fields_of::<RawOutbox>()),
        ("[[webhooks]]", fields_of::<super::raw::RawWebhook>()),
        ("[[clients]]", fields_of::<RawClient>()),
        ("[[users]]", fields_of::<RawUser>()),
        ("[[resources]]", fields_of::<super::raw::RawResource>()),
    ];
    let mut missing = Vec::new();
    for (section, keys) in &sections {
        assert!(!keys.is_empty(), "no fields read for {section}");
        for k in keys {
            // A key as `key`; a section as its [heading] or [[heading]].
            let documented = doc.contains(&format!("`{k}`"))
                || doc.contains(&format!("[{k}]"))
                || doc.contains(&format!("[[{k}]]"));
            if !documented {
                missing.push(format!("{section} {k}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "docs/configuration.md does not document: {missing:?}"
    );
    // And the introspection sees what it should.
    assert!(fields_of::<RawStorage>().contains(&"url"));
    assert!(fields_of::<RefreshTokenSettings>().contains(&"grace_period"));
}

#[test]
fn login_throttling_settings_are_checked() {
    let c = load_str("").unwrap();
    assert_eq!(c.login.free_failures, 5);
    assert_eq!(c.login.max_delay, Dur::secs(300));
    let c = load_with(
        "[login]\nmax_delay = \"1m\"\n",
        &[("BATON_LOGIN__FREE_FAILURES_PER_IP", "0")],
    )
    .unwrap();
    assert_eq!(
        (c.login.free_failures_per_ip, c.login.max_delay),
        (0, Dur::secs(60))
    );
    refused("[login]\nfree_failures = -1\n", "login.free_failures");
    refused("[login]\nmax_entries = 5\n", "login.max_entries");
    refused("[login]\nfirst_delay = \"10m\"\n", "login.first_delay");
    refused("[login]\nforget_after = \"5m\"\n", "login.forget_after");
    refused("[login]\nmax_delay = \"0s\"\n", "login.max_delay");
    refused("[login]\nfree_failure = 3\n", "free_failure");
}

#[test]
fn key_pre_publication_defaults_to_10m_and_is_bounded() {
    assert_eq!(
        load_str("").unwrap().signing_keys.pre_publication,
        DEFAULT_KEY_PRE_PUBLICATION
    );
    let c = load_str("[signing_keys]\npre_publication = \"0s\"\n").unwrap();
    assert_eq!(c.signing_keys.pre_publication, Dur::ZERO);
    let c = load_with("", &[("BATON_SIGNING_KEYS__PRE_PUBLICATION", "1h")]).unwrap();
    assert_eq!(c.signing_keys.pre_publication, Dur::secs(3600));
    refused(
        "[signing_keys]\npre_publication = \"8d\"\n",
        "signing_keys.pre_publication",
    );
    refused(
        "[signing_keys]\npre_publication = \"soon\"\n",
        "signing_keys.pre_publication",
    );
}

#[test]
fn allowed_origins_are_checked_and_cors_from_redirect_uris_is_off_by_default() {
    let e = refused(
        &client(
            "web",
            "allowed_origins = [\"https://app.example\", \"https://app.example/\"]",
        ),
        "clients[0].allowed_origins[1]",
    );
    assert!(e.message.contains("origin"), "{e}");
    refused(
        &client("web", "allowed_origins = [\"http://app.example\"]"),
        "clients[0].allowed_origins[0]",
    );
    let c = load_str(&client(
        "web",
        "allowed_origins = [\"https://app.example\", \"http://localhost:3000\"]",
    ))
    .unwrap();
    assert_eq!(
        c.clients[0].allowed_origins,
        ["https://app.example", "http://localhost:3000"]
    );
    assert!(!c.http.cors_from_redirect_uris);
    let c = load_str("[http]\ncors_from_redirect_uris = true\n").unwrap();
    assert!(c.http.cors_from_redirect_uris);
}

#[test]
fn postgres_tls_parameters_are_checked_at_load() {
    let e = refused(
        "[storage]\nurl = \"postgres://u:hunter2@db.example/baton?sslmode=verify-everything\"\n",
        "storage.url",
    );
    assert!(
        e.message.contains("`sslmode`") && e.message.contains("verify-everything"),
        "{e}"
    );
    assert!(!e.to_string().contains("hunter2"), "{e}");
    let e = refused(
        "[storage]\nurl = \"postgres://u@db.example/baton?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem\"\n",
        "storage.url",
    );
    assert!(
        e.message.contains("`sslrootcert`") && e.message.contains("/nonexistent/ca.pem"),
        "{e}"
    );
    let e = refused(
        "[storage]\nurl = \"postgres://u@db.example/baton?sslmode=require&sslkey=/k.pem\"\n",
        "storage.url",
    );
    assert!(e.message.contains("`sslkey`"), "{e}");
    // A URL with no TLS parameter on a loopback host loads (plain TCP there).
    let c = load_str("[storage]\nurl = \"postgres://u@127.0.0.1/baton\"\n").unwrap();
    assert!(c.storage.url.starts_with("postgres://"));
}

#[test]
fn redis_tls_keys_are_checked_at_load() {
    // The files resolve against the configuration's directory.
    let e = refused(
        "[storage]\ncache_url = \"rediss://r.example:6380\"\ncache_ca_file = \"ca.pem\"\n",
        "storage.cache_ca_file",
    );
    assert!(e.message.contains("ca.pem"), "{e}");
    refused(
        "[storage]\ncache_url = \"rediss://r.example:6380\"\ncache_cert_file = \"c.pem\"\n",
        "storage.cache_key_file",
    );
    refused(
        "[storage]\ncache_url = \"redis://r.example:6379\"\ncache_ca_file = \"ca.pem\"\n",
        "storage.cache_url",
    );
    refused(
        "[storage]\ncache_ca_file = \"ca.pem\"\n",
        "storage.cache_url",
    );
    let e = refused(
        "[storage]\ncache_url = \"redis+sentinel://r.example:26379/mymaster\"\n",
        "storage.cache_url",
    );
    assert!(e.message.contains("Sentinel is not supported"), "{e}");
    let e = refused(
        "[storage]\ncache_url = \"rediss://r.example:6380/#insecure\"\n",
        "storage.cache_url",
    );
    assert!(
        e.message.contains("verification cannot be turned off"),
        "{e}"
    );
    refused(
        "[storage]\ncache_url = \"unix:///run/redis.sock\"\n",
        "storage.cache_url",
    );
    // rediss:// with the system's CAs, from the environment too.
    let c = load_with(
        "",
        &[("BATON_STORAGE__CACHE_URL", "rediss://r.example:6380")],
    )
    .unwrap();
    assert_eq!(
        c.storage.cache_url.as_deref(),
        Some("rediss://r.example:6380")
    );
    assert!(c.storage.cache_tls.is_empty());
    let e = load_with(
        "",
        &[
            ("BATON_STORAGE__CACHE_URL", "rediss://r.example:6380"),
            ("BATON_STORAGE__CACHE_CA_FILE", "/nonexistent/ca.pem"),
        ],
    )
    .unwrap_err();
    assert_eq!(e.key, "storage.cache_ca_file", "{e}");
}

#[test]
fn trusted_proxies_are_addresses_or_ranges_and_none_by_default() {
    let c = load_str("").unwrap();
    assert!(c.http.trusted_proxies.is_empty());
    let c =
        load_str("[http]\ntrusted_proxies = [\"10.0.0.0/8\", \"192.0.2.7\", \"2001:db8::/32\"]\n")
            .unwrap();
    let ip = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
    let p = &c.http.trusted_proxies;
    assert!(p.trusts(ip("10.2.3.4")) && p.trusts(ip("192.0.2.7")) && p.trusts(ip("2001:db8::9")));
    assert!(!p.trusts(ip("192.0.2.8")) && !p.trusts(ip("11.0.0.1")));
    // From the environment: one string, comma- or space-separated.
    let c = load_with("", &[("BATON_HTTP__TRUSTED_PROXIES", "10.0.0.1, 10.0.0.2")]).unwrap();
    assert!(c.http.trusted_proxies.trusts(ip("10.0.0.2")));
    let e = refused(
        "[http]\ntrusted_proxies = [\"10.0.0.0/33\"]\n",
        "http.trusted_proxies",
    );
    assert!(e.message.contains("10.0.0.0/33"), "{e}");
    refused(
        "[http]\ntrusted_proxies = [\"proxy.example\"]\n",
        "http.trusted_proxies",
    );
    refused(
        "[http]\ntrusted_proxies = [\"10.0.0.1/8\"]\n",
        "http.trusted_proxies",
    );
}

#[test]
fn tls_files_come_in_pairs() {
    let c = load_str("").unwrap();
    assert!(c.http.tls.is_none());
    let c = load_str("[http]\ntls_cert_file = \"c.pem\"\ntls_key_file = \"/etc/k.pem\"\n").unwrap();
    let tls = c.http.tls.unwrap();
    assert!(
        tls.cert_file.is_absolute() && tls.cert_file.ends_with("c.pem"),
        "resolved"
    );
    assert_eq!(tls.key_file, PathBuf::from("/etc/k.pem"));
    assert_eq!(tls.check_interval, Some(Dur::secs(5)));
    let c = load_str(
        "[http]\ntls_cert_file = \"c.pem\"\ntls_key_file = \"k.pem\"\ntls_check_interval = \"off\"\n",
    )
    .unwrap();
    assert_eq!(c.http.tls.unwrap().check_interval, None);
    refused("[http]\ntls_cert_file = \"c.pem\"\n", "http.tls_key_file");
    refused("[http]\ntls_key_file = \"k.pem\"\n", "http.tls_cert_file");
    refused(
        "[http]\ntls_cert_file = \"\"\ntls_key_file = \"k.pem\"\n",
        "http.tls_cert_file",
    );
    refused(
        "[http]\ntls_check_interval = \"5s\"\n",
        "http.tls_check_interval",
    );
    refused(
        "[http]\ntls_cert_file = \"c.pem\"\ntls_key_file = \"k.pem\"\ntls_check_interval = \"0s\"\n",
        "http.tls_check_interval",
    );
}

#[test]
fn request_threads_default_to_one_per_core_and_are_bounded() {
    let cores = std::thread::available_parallelism().unwrap().get();
    assert_eq!(load_str("").unwrap().http.threads, cores);
    assert_eq!(load_str("[http]\nthreads = 3\n").unwrap().http.threads, 3);
    let c = load_with("", &[("BATON_HTTP__THREADS", "1")]).unwrap();
    assert_eq!(c.http.threads, 1);
    for bad in ["0", "-2", "1025"] {
        let e = refused(&format!("[http]\nthreads = {bad}\n"), "http.threads");
        assert!(e.message.contains("between 1 and 1024"), "{e}");
    }
    refused("[http]\nthreads = \"many\"\n", "http.threads");
}
