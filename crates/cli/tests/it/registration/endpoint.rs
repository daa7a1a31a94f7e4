//! The registration endpoint: `POST /register`, its settings and what it refuses.

use crate::support::get_json;
use baton_testkit::TestServer;
use reqwest::StatusCode;
use serde_json::{json, Value};

const ON: &str = "[registration]\nenabled = true\n";
const IAT: &str = "initial-access-token-0123456789";

async fn register(s: &TestServer, bearer: Option<&str>, body: &Value) -> (StatusCode, Value) {
    let mut req = s.http.post(format!("{}/register", s.url)).json(body);
    if let Some(b) = bearer {
        req = req.bearer_auth(b);
    }
    let r = req.send().await.unwrap();
    let st = r.status();
    (st, r.json().await.unwrap_or(Value::Null))
}

async fn discovery(s: &TestServer) -> Value {
    get_json(s, "/.well-known/openid-configuration").await
}

fn web_app() -> Value {
    json!({"redirect_uris": ["https://app.example/cb"], "client_name": "Dyn App"})
}

#[tokio::test]
async fn disabled_by_default_answers_404_and_is_not_advertised() {
    let s = TestServer::start("").await;
    let (st, _) = register(&s, None, &web_app()).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let d = discovery(&s).await;
    assert!(d.get("registration_endpoint").is_none(), "{d}");
}

#[tokio::test]
async fn registers_a_confidential_client_with_code_flow_and_refresh_by_default() {
    let s = TestServer::start(ON).await;
    let d = discovery(&s).await;
    assert_eq!(d["registration_endpoint"], format!("{}/register", s.url));

    let (st, v) = register(&s, None, &web_app()).await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let id = v["client_id"].as_str().unwrap();
    let secret = v["client_secret"].as_str().unwrap();
    // 256 bits, base64url: 43 characters.
    assert!(secret.len() >= 43, "{secret}");
    assert_eq!(v["client_secret_expires_at"], 0);
    assert!(v["client_id_issued_at"].as_i64().unwrap() > 1_600_000_000);
    assert_eq!(
        v["grant_types"],
        json!(["authorization_code", "refresh_token"])
    );
    assert_eq!(v["response_types"], json!(["code"]));
    assert_eq!(v["token_endpoint_auth_method"], "client_secret_basic");
    assert_eq!(v["redirect_uris"], json!(["https://app.example/cb"]));
    assert_eq!(v["client_name"], "Dyn App");
    assert!(v["scope"].as_str().unwrap().contains("offline_access"));

    // Stored hashed; the secret authenticates the client at the token endpoint.
    let c = s.state().store.get_client(id).await.unwrap().unwrap();
    assert_eq!(
        c.secret_sha256,
        Some(baton_core::secret::sha256(secret.as_bytes()))
    );
    let bad_code = [
        ("grant_type", "authorization_code"),
        ("code", "nope"),
        ("redirect_uri", "https://app.example/cb"),
    ];
    let (st, e) = s.post_form("/token", Some((id, secret)), &bad_code).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{e}");
    assert_eq!(e["error"], "invalid_grant");
    let (st, _) = s
        .post_form("/token", Some((id, "wrong-secret")), &bad_code)
        .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);

    let ev = s.events("client.changed").await;
    assert!(
        ev.iter().any(|e| e.client_id.as_deref() == Some(id)),
        "{ev:?}"
    );
    // No secret in the event.
    assert!(!format!("{ev:?}").contains(secret));
}

#[tokio::test]
async fn default_grant_types_follow_the_setting() {
    let s = TestServer::start(
        "[registration]\nenabled = true\ndefault_grant_types = [\"client_credentials\"]\nallowed_scopes = [\"api\"]\n",
    )
    .await;
    let (st, v) = register(&s, None, &json!({"scope": "api"})).await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    assert_eq!(v["grant_types"], json!(["client_credentials"]));
    assert_eq!(v["response_types"], json!([]));
    let id = v["client_id"].as_str().unwrap();
    let secret = v["client_secret"].as_str().unwrap();
    let (st, t) = s
        .post_form(
            "/token",
            Some((id, secret)),
            &[("grant_type", "client_credentials"), ("scope", "api")],
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{t}");
    assert!(t["access_token"].is_string());
}

#[tokio::test]
async fn public_and_private_key_jwt_clients_get_no_secret() {
    let s = TestServer::start(ON).await;
    let mut body = web_app();
    body["token_endpoint_auth_method"] = json!("none");
    let (st, v) = register(&s, None, &body).await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    assert!(v.get("client_secret").is_none(), "{v}");
    assert!(v.get("client_secret_expires_at").is_none(), "{v}");
    assert_eq!(v["token_endpoint_auth_method"], "none");

    let mut body = web_app();
    body["token_endpoint_auth_method"] = json!("private_key_jwt");
    body["jwks"] = json!({"keys": [{"kty": "EC", "crv": "P-256", "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]});
    let (st, v) = register(&s, None, &body).await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    assert!(v.get("client_secret").is_none(), "{v}");
    assert_eq!(v["jwks"]["keys"][0]["kty"], "EC");
}

#[tokio::test]
async fn bad_metadata_is_refused_naming_the_field() {
    let s = TestServer::start(ON).await;
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            json!({"redirect_uris": ["http://evil.example/cb"]}),
            "invalid_redirect_uri",
            "redirect_uris[0]",
        ),
        (
            json!({"redirect_uris": ["https://a.example/cb#frag"]}),
            "invalid_redirect_uri",
            "redirect_uris[0]",
        ),
        (
            json!({"redirect_uris": ["not a uri"]}),
            "invalid_redirect_uri",
            "redirect_uris[0]",
        ),
        (
            json!({"client_name": "x"}),
            "invalid_redirect_uri",
            "redirect_uris",
        ),
        (
            json!({"redirect_uris": "https://a.example/cb"}),
            "invalid_redirect_uri",
            "redirect_uris",
        ),
        (
            json!({"redirect_uris": ["https://a.example/cb"], "grant_types": ["magic"]}),
            "invalid_client_metadata",
            "grant_types",
        ),
        (
            json!({"redirect_uris": ["https://a.example/cb"], "grant_types": ["password"]}),
            "invalid_client_metadata",
            "grant_types",
        ),
        (
            json!({"redirect_uris": ["https://a.example/cb"], "grant_types": []}),
            "invalid_client_metadata",
            "grant_types",
        ),
        (
            json!({"grant_types": ["refresh_token"]}),
            "invalid_client_metadata",
            "grant_types",
        ),
        (
            json!({"grant_types": ["client_credentials"], "token_endpoint_auth_method": "none"}),
            "invalid_client_metadata",
            "grant_types",
        ),
        (
            json!({"redirect_uris": ["https://a.example/cb"], "response_types": ["token"]}),
            "invalid_client_metadata",
            "response_types",
        ),
        (
            json!({"grant_types": ["client_credentials"], "response_types": ["code"]}),
            "invalid_client_metadata",
            "response_types",
        ),
        (
            json!({"redirect_uris": ["https://a.example/cb"], "token_endpoint_auth_method": "tls_client_auth"}),
            "invalid_client_metadata",
            "token_endpoint_auth_method",
        ),
        (
            json!({"redirect_uris": ["https://a.example/cb"], "token_endpoint_auth_method": "private_key_jwt"}),
            "invalid_client_metadata",
            "jwks",
        ),
        (
            json!({"redirect_uris": ["https://a.example/cb"], "jwks": {"keys": "no"}}),
            "invalid_client_metadata",
            "jwks",
        ),
        (
            json!({"redirect_uris": ["https://a.example/cb"], "jwks": {"keys": [{"kty": "EC", "d": "secret"}]}}),
            "invalid_client_metadata",
            "jwks",
        ),
        (
            json!({"redirect_uris": ["https://a.example/cb"], "jwks_uri": "https://a.example/jwks"}),
            "invalid_client_metadata",
            "jwks_uri",
        ),
        (
            json!({"redirect_uris": ["https://a.example/cb"], "scope": "a  \"b"}),
            "invalid_client_metadata",
            "scope",
        ),
        (
            json!({"redirect_uris": ["https://a.example/cb"], "client_name": 42}),
            "invalid_client_metadata",
            "client_name",
        ),
        (
            json!({"redirect_uris": ["https://a.example/cb"], "id_token_signed_response_alg": "none"}),
            "invalid_client_metadata",
            "id_token_signed_response_alg",
        ),
        (
            json!(["redirect_uris"]),
            "invalid_client_metadata",
            "object",
        ),
    ];
    for (body, code, field) in cases {
        let (st, v) = register(&s, None, &body).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{body}: {v}");
        assert_eq!(v["error"], code, "{body}: {v}");
        let d = v["error_description"].as_str().unwrap();
        assert!(d.contains(field), "{body}: {d}");
    }
    // Not JSON at all.
    let r = s
        .http
        .post(format!("{}/register", s.url))
        .header("content-type", "application/json")
        .body("{nope")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"], "invalid_client_metadata");
    // Form-encoded instead of JSON.
    let r = s
        .http
        .post(format!("{}/register", s.url))
        .form(&[("redirect_uris", "https://a.example/cb")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    // Unknown metadata is ignored (RFC 7591 §2).
    let mut body = web_app();
    body["logo_uri"] = json!("https://app.example/logo.png");
    body["software_id"] = json!("x");
    let (st, v) = register(&s, None, &body).await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    // Nothing was stored by the refusals: only the last registration is there.
    let dynamic = s
        .state()
        .store
        .list_clients()
        .await
        .unwrap()
        .into_iter()
        .filter(|c| c.client_id.starts_with("dyn_"))
        .count();
    assert_eq!(dynamic, 1);
}

/// How many dynamically registered clients the store holds.
async fn registered_count(s: &TestServer) -> usize {
    s.state()
        .store
        .list_clients()
        .await
        .unwrap()
        .into_iter()
        .filter(|c| c.client_id.starts_with("dyn_"))
        .count()
}

#[tokio::test]
async fn a_registered_client_cannot_give_itself_scopes_outside_allowed_scopes() {
    let s = TestServer::start(ON).await;
    for scope in ["api:write admin", "openid admin", "online_access", "api"] {
        let body = json!({"grant_types": ["client_credentials"], "scope": scope});
        let (st, v) = register(&s, None, &body).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{scope}: {v}");
        assert_eq!(v["error"], "invalid_client_metadata", "{scope}: {v}");
        let d = v["error_description"].as_str().unwrap();
        assert!(d.contains("scope"), "{scope}: {d}");
    }
    assert_eq!(registered_count(&s).await, 0, "nothing stored");
    // The default allowed scopes are fine, and so is naming none.
    let body = json!({"grant_types": ["client_credentials"], "scope": "openid email"});
    let (st, v) = register(&s, None, &body).await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    assert_eq!(v["scope"], "openid email");
    let (st, v) = register(&s, None, &web_app()).await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    assert_eq!(v["scope"], "openid profile email offline_access");

    // The operator's list decides: a client-credentials token carries only what it allows.
    let s = TestServer::start(&format!("{ON}allowed_scopes = [\"api:read\"]\n")).await;
    let body = json!({"grant_types": ["client_credentials"], "scope": "api:read api:write"});
    let (st, v) = register(&s, None, &body).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
    assert!(
        v["error_description"]
            .as_str()
            .unwrap()
            .contains("api:write"),
        "{v}"
    );
    let body = json!({"grant_types": ["client_credentials"], "scope": "api:read"});
    let (st, v) = register(&s, None, &body).await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let (id, secret) = (
        v["client_id"].as_str().unwrap(),
        v["client_secret"].as_str().unwrap(),
    );
    let (st, t) = s
        .post_form(
            "/token",
            Some((id, secret)),
            &[("grant_type", "client_credentials"), ("scope", "api:read")],
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{t}");
    // Naming no scope gives the allowed list.
    let (st, v) = register(&s, None, &json!({"grant_types": ["client_credentials"]})).await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    assert_eq!(v["scope"], "api:read");
}

#[tokio::test]
async fn a_backchannel_logout_uri_on_a_private_address_is_refused() {
    let s = TestServer::start(ON).await;
    let private = [
        "https://127.0.0.1/bc",
        "http://127.0.0.1:9/bc",
        "http://localhost:8080/bc",
        "https://[::1]/bc",
        "https://[::ffff:127.0.0.1]/bc",
        "https://[::ffff:a9fe:a9fe]/latest",
        "https://169.254.169.254/latest/meta-data",
        "https://10.1.2.3/bc",
        "https://172.16.0.1/bc",
        "https://192.168.1.1/bc",
        "https://100.64.0.1/bc",
        "https://0.0.0.0/bc",
        "https://[::]/bc",
        "https://[fd00::1]/bc",
        "https://[fe80::1]/bc",
        "https://0x7f.1/bc",
    ];
    for uri in private {
        let mut body = web_app();
        body["backchannel_logout_uri"] = json!(uri);
        let (st, v) = register(&s, None, &body).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{uri}: {v}");
        assert_eq!(v["error"], "invalid_client_metadata", "{uri}: {v}");
        let d = v["error_description"].as_str().unwrap();
        assert!(d.contains("backchannel_logout_uri"), "{uri}: {d}");
    }
    assert_eq!(registered_count(&s).await, 0, "nothing stored");
    // A public address is fine.
    let mut body = web_app();
    body["backchannel_logout_uri"] = json!("https://rp.example/bc");
    let (st, v) = register(&s, None, &body).await;
    assert_eq!(st, StatusCode::CREATED, "{v}");

    // The operator setting for local development lets them through.
    let s = TestServer::start(&format!("{ON}\n[http]\nallow_private_outbound = true\n")).await;
    let mut body = web_app();
    body["backchannel_logout_uri"] = json!("http://127.0.0.1:9/bc");
    let (st, v) = register(&s, None, &body).await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
}

#[tokio::test]
async fn an_initial_access_token_is_required_when_configured() {
    let s = TestServer::start(&format!("{ON}initial_access_token = \"{IAT}\"\n")).await;
    let (st, v) = register(&s, None, &web_app()).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED, "{v}");
    assert_eq!(v["error"], "invalid_token");
    let (st, _) = register(&s, Some("initial-access-token-wrong-000000"), &web_app()).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    let (st, v) = register(&s, Some(IAT), &web_app()).await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
}

#[test]
fn registration_settings_are_validated() {
    use baton_server::config::{load, Sources};
    let dir = tempfile::tempdir().unwrap();
    let load_with = |extra: &str, env: Vec<(String, String)>| {
        let p = baton_testkit::write_config(dir.path(), 8080, extra);
        load(
            &Sources {
                file: Some(&p),
                env,
                base_dir: dir.path().to_path_buf(),
            },
            false,
        )
    };
    let e = load_with(
        "[registration]\ndefault_grant_types = [\"magic\"]\n",
        vec![],
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("registration.default_grant_types"), "{e}");
    let e = load_with("[registration]\ndefault_grant_types = []\n", vec![])
        .unwrap_err()
        .to_string();
    assert!(e.contains("registration.default_grant_types"), "{e}");
    let e = load_with("[registration]\ninitial_access_token = \"short\"\n", vec![])
        .unwrap_err()
        .to_string();
    assert!(e.contains("registration.initial_access_token"), "{e}");
    assert!(!e.contains("short\""), "{e}");
    let c = load_with("", vec![]).unwrap();
    assert_eq!(
        c.registration.default_grant_types,
        vec![
            baton_core::model::GrantType::AuthorizationCode,
            baton_core::model::GrantType::RefreshToken
        ]
    );
    assert!(c.registration.initial_access_token.is_none());
    assert_eq!(
        c.registration.allowed_scopes,
        ["openid", "profile", "email", "offline_access"]
    );
    assert!(!c.http.allow_private_outbound, "off by default");
    for bad in ["[]", "[\"two words\"]", "[\"\"]"] {
        let e = load_with(&format!("[registration]\nallowed_scopes = {bad}\n"), vec![])
            .unwrap_err()
            .to_string();
        assert!(e.contains("registration.allowed_scopes"), "{bad}: {e}");
    }
    let c = load_with(
        "",
        vec![
            (
                "BATON_REGISTRATION__ALLOWED_SCOPES".into(),
                "openid, api:read".into(),
            ),
            ("BATON_HTTP__ALLOW_PRIVATE_OUTBOUND".into(), "true".into()),
        ],
    )
    .unwrap();
    assert_eq!(c.registration.allowed_scopes, ["openid", "api:read"]);
    assert!(c.http.allow_private_outbound);
    let c = load_with(
        "",
        vec![(
            "BATON_REGISTRATION__DEFAULT_GRANT_TYPES".into(),
            "client_credentials, authorization_code".into(),
        )],
    )
    .unwrap();
    assert_eq!(
        c.registration.default_grant_types,
        vec![
            baton_core::model::GrantType::ClientCredentials,
            baton_core::model::GrantType::AuthorizationCode
        ]
    );
}
