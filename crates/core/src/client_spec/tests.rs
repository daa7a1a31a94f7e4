use super::*;

const SECRET: &str = "a-client-secret-of-at-least-32-chars!";

/// A valid confidential web client; each case changes it.
fn web() -> ClientSpec {
    ClientSpec {
        client_id: "web".into(),
        client_secret: Some(SECRET.into()),
        redirect_uris: vec!["https://app.example/cb".into()],
        ..ClientSpec::default()
    }
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// Validates `spec` against the default server-wide refresh-token settings.
fn check(spec: ClientSpec) -> Result<ValidClient, FieldError> {
    spec.validate(&RefreshSettings::default())
}

#[test]
fn a_refusal_names_the_field_and_says_why() {
    type Case = (
        &'static str,
        fn(&mut ClientSpec),
        &'static str,
        &'static str,
    );
    let cases: &[Case] = &[
        (
            "empty id",
            |c| c.client_id = String::new(),
            "client_id",
            "1 to 128",
        ),
        (
            "id with a colon",
            |c| c.client_id = "a:b".into(),
            "client_id",
            "colons",
        ),
        (
            "id too long",
            |c| c.client_id = "x".repeat(129),
            "client_id",
            "1 to 128",
        ),
        (
            "unknown method",
            |c| c.token_endpoint_auth_method = Some("tls_client_auth".into()),
            "token_endpoint_auth_method",
            "unknown method `tls_client_auth`",
        ),
        (
            "two secrets",
            |c| c.client_secret_sha256 = Some("00".repeat(32)),
            "client_secret",
            "not both",
        ),
        (
            "short secret",
            |c| c.client_secret = Some("short".into()),
            "client_secret",
            "at least 32",
        ),
        (
            "digest not hex",
            |c| {
                c.client_secret = None;
                c.client_secret_sha256 = Some("zz".into());
            },
            "client_secret_sha256",
            "64 hex digits",
        ),
        (
            "secret method without a secret",
            |c| {
                c.client_secret = None;
                c.token_endpoint_auth_method = Some("client_secret_post".into());
            },
            "client_secret",
            "required for client_secret_post",
        ),
        (
            "public client with a secret",
            |c| c.token_endpoint_auth_method = Some("none".into()),
            "client_secret",
            "has no secret",
        ),
        (
            "private_key_jwt without keys",
            |c| {
                c.client_secret = None;
                c.token_endpoint_auth_method = Some("private_key_jwt".into());
            },
            "jwks",
            "required for private_key_jwt",
        ),
        (
            "jwks string not JSON",
            |c| c.jwks = Some(Value::String("{nope".into())),
            "jwks",
            "is not JSON",
        ),
        (
            "jwks not a set",
            |c| c.jwks = Some(serde_json::json!({"keys": "no"})),
            "jwks",
            "JWK Set",
        ),
        (
            "http redirect",
            |c| c.redirect_uris = strings(&["https://a.example/cb", "http://evil.example/cb"]),
            "redirect_uris[1]",
            "non-loopback",
        ),
        (
            "redirect with fragment",
            |c| c.redirect_uris = strings(&["https://a.example/cb#f"]),
            "redirect_uris[0]",
            "fragment",
        ),
        (
            "relative redirect",
            |c| c.redirect_uris = strings(&["/cb"]),
            "redirect_uris[0]",
            "not an absolute URI",
        ),
        (
            "bare private scheme",
            |c| c.redirect_uris = strings(&["myapp:/cb"]),
            "redirect_uris[0]",
            "scheme `myapp`",
        ),
        (
            "bad post-logout URI",
            |c| c.post_logout_redirect_uris = strings(&["ftp://x/"]),
            "post_logout_redirect_uris[0]",
            "scheme `ftp`",
        ),
        (
            "bad back-channel URI",
            |c| c.backchannel_logout_uri = Some("http://rp.example/bc".into()),
            "backchannel_logout_uri",
            "non-loopback",
        ),
        (
            "origin with a path",
            |c| c.allowed_origins = strings(&["https://app.example", "https://app.example/"]),
            "allowed_origins[1]",
            "not an origin as a browser sends it",
        ),
        (
            "origin over http",
            |c| c.allowed_origins = strings(&["http://app.example"]),
            "allowed_origins[0]",
            "non-loopback",
        ),
        (
            "origin with userinfo",
            |c| c.allowed_origins = strings(&["https://u@app.example"]),
            "allowed_origins[0]",
            "userinfo",
        ),
        (
            "origin with the default port",
            |c| c.allowed_origins = strings(&["https://app.example:443"]),
            "allowed_origins[0]",
            "default port",
        ),
        (
            "origin in upper case",
            |c| c.allowed_origins = strings(&["https://App.example"]),
            "allowed_origins[0]",
            "lowercase",
        ),
        (
            "origin with a query",
            |c| c.allowed_origins = strings(&["https://app.example?x"]),
            "allowed_origins[0]",
            "no path, query",
        ),
        (
            "origin with a private scheme",
            |c| c.allowed_origins = strings(&["com.example.app://x"]),
            "allowed_origins[0]",
            "scheme `com.example.app`",
        ),
        (
            "origin not a URL",
            |c| c.allowed_origins = strings(&["app.example"]),
            "allowed_origins[0]",
            "not an origin",
        ),
        (
            "unknown grant type",
            |c| c.grant_types = Some(strings(&["implicit"])),
            "grant_types",
            "unknown grant type `implicit`",
        ),
        (
            "public client_credentials",
            |c| {
                c.client_secret = None;
                c.token_endpoint_auth_method = Some("none".into());
                c.grant_types = Some(strings(&["client_credentials"]));
            },
            "grant_types",
            "public client",
        ),
        (
            "code without redirect URI",
            |c| c.redirect_uris.clear(),
            "redirect_uris",
            "at least one redirect URI",
        ),
        (
            "two scopes in one",
            |c| c.scopes = Some(strings(&["two words"])),
            "scopes",
            "`two words` is not a single scope token",
        ),
        (
            "empty scope",
            |c| c.scopes = Some(strings(&[""])),
            "scopes",
            "single scope token",
        ),
        (
            "refresh override",
            |c| c.refresh_tokens.grace_period = Some("61s".into()),
            "refresh_tokens.grace_period",
            "0s to 60s",
        ),
        (
            "sliding past absolute",
            |c| {
                c.refresh_tokens.absolute_lifetime = Some("1d".into());
                c.refresh_tokens.sliding_lifetime = Some("2d".into());
            },
            "refresh_tokens.sliding_lifetime",
            "longer than absolute_lifetime",
        ),
        (
            "unknown token format",
            |c| c.access_token_format = Some("opaque".into()),
            "access_token_format",
            "expected jwt or reference",
        ),
        (
            "unknown id-token alg",
            |c| c.id_token_signed_response_alg = Some("none".into()),
            "id_token_signed_response_alg",
            "unknown algorithm `none`",
        ),
    ];
    for (name, change, field, message) in cases {
        let mut spec = web();
        change(&mut spec);
        let e = check(spec)
            .err()
            .unwrap_or_else(|| panic!("{name}: accepted"));
        assert_eq!(e.field, *field, "{name}: {e}");
        assert!(e.message.contains(message), "{name}: {e}");
        assert!(!e.message.contains(SECRET), "{name}: shows the secret");
    }
}

#[test]
fn the_defaults_follow_what_is_given() {
    let c = check(web()).unwrap();
    assert_eq!(c.auth_method, AuthMethod::ClientSecretBasic);
    assert_eq!(
        c.secret_sha256,
        Some(crate::secret::sha256(SECRET.as_bytes()))
    );
    assert_eq!(
        c.grant_types,
        [GrantType::AuthorizationCode, GrantType::RefreshToken]
    );
    assert_eq!(c.scopes, DEFAULT_SCOPES);
    assert_eq!(c.id_token_alg, SigAlg::RS256);
    assert_eq!(c.access_token_format, None);
    assert!(c.active);
    assert_eq!(c.refresh, RefreshOverrides::default());

    let public = check(ClientSpec {
        client_secret: None,
        ..web()
    })
    .unwrap();
    assert_eq!(public.auth_method, AuthMethod::None);

    let keys = serde_json::json!({"keys": [{"kty": "EC"}]});
    let signed = check(ClientSpec {
        client_secret: None,
        jwks: Some(Value::String(keys.to_string())),
        ..web()
    })
    .unwrap();
    assert_eq!(signed.auth_method, AuthMethod::PrivateKeyJwt);
    assert_eq!(
        signed.jwks,
        Some(keys),
        "a JWK Set given as a string is parsed"
    );

    let digest = check(ClientSpec {
        client_secret: None,
        client_secret_sha256: Some("ab".repeat(32)),
        ..web()
    })
    .unwrap();
    assert_eq!(digest.secret_sha256, Some([0xab; 32]));
}

#[test]
fn allowed_redirect_uris() {
    for u in [
        "https://app.example/cb?x=1",
        "http://localhost:8080/cb",
        "http://127.0.0.1/cb",
        "http://[::1]:9000/cb",
        "com.example.app:/cb",
    ] {
        assert_eq!(check_redirect_uri(u), Ok(()), "{u}");
    }
}

#[test]
fn a_client_overrides_are_checked_against_the_server_settings() {
    let server = RefreshSettings {
        absolute_lifetime: Some(crate::time::Dur::secs(86_400)),
        ..RefreshSettings::default()
    };
    let mut spec = web();
    spec.refresh_tokens.sliding_lifetime = Some("2d".into());
    let e = spec.clone().validate(&server).unwrap_err();
    assert_eq!(e.field, "refresh_tokens.sliding_lifetime");
    assert!(spec.validate(&RefreshSettings::default()).is_ok());
}

#[test]
fn a_valid_client_becomes_a_stored_client() {
    let c = check(web()).unwrap().to_client(Timestamp(42));
    assert_eq!(c.client_id, "web");
    assert_eq!(c.created_at, Timestamp(42));
    assert!(!c.dynamically_registered);
}

#[test]
fn origins_as_browsers_send_them_are_kept() {
    for o in [
        "https://app.example",
        "https://app.example:8443",
        "http://localhost:3000",
        "http://127.0.0.1:8080",
        "http://[::1]:5173",
    ] {
        assert_eq!(check_origin(o), Ok(()), "{o}");
    }
}
