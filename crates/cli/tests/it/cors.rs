//! CORS for browser apps: preflights and actual responses per endpoint, per-client
//! origins (`allowed_origins`), the derive-from-redirect-URIs setting, and the
//! endpoints that never get CORS.

use crate::admin::call;
use baton_testkit::{TestServer, ALICE};
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const APP: &str = "https://app.example";
const OTHER: &str = "https://other.example";
const EVIL: &str = "https://evil.example";

/// `app` (public) allows APP; `other` (public) allows OTHER.
const CLIENTS: &str = r#"
[[clients]]
client_id = "app"
token_endpoint_auth_method = "none"
redirect_uris = ["https://app.example/cb"]
grant_types = ["authorization_code", "refresh_token", "password"]
scopes = ["openid", "email", "offline_access"]
allowed_origins = ["https://app.example", "http://localhost:3000"]

[[clients]]
client_id = "other"
token_endpoint_auth_method = "none"
redirect_uris = ["https://other.example/cb"]
grant_types = ["authorization_code", "refresh_token", "password"]
scopes = ["openid", "email", "offline_access"]
allowed_origins = ["https://other.example"]
"#;

fn acao(h: &HeaderMap) -> Option<&str> {
    h.get("access-control-allow-origin")
        .map(|v| v.to_str().unwrap())
}

fn has_any_cors(h: &HeaderMap) -> bool {
    h.keys().any(|k| k.as_str().starts_with("access-control-"))
}

/// A preflight for `method` on `path` from `origin`.
async fn preflight(s: &TestServer, path: &str, origin: &str, method: &str) -> reqwest::Response {
    s.http
        .request(Method::OPTIONS, format!("{}{path}", s.url))
        .header("origin", origin)
        .header("access-control-request-method", method)
        .header(
            "access-control-request-headers",
            "authorization, content-type, dpop",
        )
        .send()
        .await
        .unwrap()
}

#[track_caller]
fn assert_preflight_allowed(r: &reqwest::Response, origin: &str, methods: &str) {
    assert_eq!(r.status(), StatusCode::NO_CONTENT, "{:?}", r.headers());
    let h = r.headers();
    assert_eq!(acao(h), Some(origin));
    assert_eq!(h["vary"], "Origin");
    assert_eq!(h["access-control-allow-methods"], methods);
    let allowed = h["access-control-allow-headers"].to_str().unwrap();
    for x in ["authorization", "content-type", "dpop"] {
        assert!(allowed.contains(x), "{allowed}");
    }
    assert_eq!(h["access-control-max-age"], "600");
    assert!(h.get("access-control-allow-credentials").is_none());
}

/// A password grant for alice with a public client, from `origin` (if any).
async fn password(
    s: &TestServer,
    client: &str,
    origin: Option<&str>,
) -> (StatusCode, HeaderMap, Value) {
    let form = [
        ("grant_type", "password"),
        ("client_id", client),
        ("username", ALICE.0),
        ("password", ALICE.1),
        ("scope", "openid email offline_access"),
    ];
    post(s, "/token", origin, &form).await
}

async fn post(
    s: &TestServer,
    path: &str,
    origin: Option<&str>,
    form: &[(&str, &str)],
) -> (StatusCode, HeaderMap, Value) {
    let mut req = s.http.post(format!("{}{path}", s.url)).form(form);
    if let Some(o) = origin {
        req = req.header("origin", o);
    }
    let r = req.send().await.unwrap();
    let (st, h) = (r.status(), r.headers().clone());
    (st, h, r.json().await.unwrap_or(Value::Null))
}

async fn refresh(
    s: &TestServer,
    client: &str,
    rt: &str,
    origin: Option<&str>,
) -> (StatusCode, HeaderMap, Value) {
    let form = [
        ("grant_type", "refresh_token"),
        ("client_id", client),
        ("refresh_token", rt),
    ];
    post(s, "/token", origin, &form).await
}

fn rt(v: &Value) -> String {
    v["refresh_token"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn token_preflight_is_answered_for_origins_some_client_allows() {
    let s = TestServer::start(CLIENTS).await;
    for path in ["/token", "/revoke"] {
        for o in [APP, OTHER, "http://localhost:3000"] {
            assert_preflight_allowed(&preflight(&s, path, o, "POST").await, o, "POST");
        }
        // Nobody's origin: no CORS, and the answer is what any OPTIONS gets (405).
        let r = preflight(&s, path, EVIL, "POST").await;
        assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert!(!has_any_cors(r.headers()), "{:?}", r.headers());
    }
    let r = preflight(&s, "/userinfo", APP, "GET").await;
    assert_preflight_allowed(&r, APP, "GET, POST");
    let r = preflight(&s, "/userinfo", EVIL, "GET").await;
    assert!(!has_any_cors(r.headers()));
    // Not quite an allowed origin: a trailing slash, another port, http.
    for o in [
        "https://app.example/",
        "https://app.example:8443",
        "http://app.example",
    ] {
        let r = preflight(&s, "/token", o, "POST").await;
        assert!(!has_any_cors(r.headers()), "{o}");
    }
}

#[tokio::test]
async fn refresh_from_an_allowed_origin_is_readable_and_otherwise_unchanged() {
    let s = TestServer::start(CLIENTS).await;
    let (st, h, v) = password(&s, "app", Some(APP)).await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(acao(&h), Some(APP));
    assert_eq!(h["vary"], "Origin");
    let exposed = h["access-control-expose-headers"].to_str().unwrap();
    assert!(exposed.contains("dpop-nonce") && exposed.contains("www-authenticate"));
    assert!(h.get("access-control-allow-credentials").is_none());

    // From an allowed origin.
    let (st, h, v1) = refresh(&s, "app", &rt(&v), Some(APP)).await;
    assert_eq!(st, 200, "{v1}");
    assert_eq!(acao(&h), Some(APP));
    assert_eq!(h["cache-control"], "no-store");
    // From an origin the client does not list: the refresh works exactly the same,
    // only without CORS headers (the browser would block reading it).
    let (st, h, v2) = refresh(&s, "app", &rt(&v1), Some(EVIL)).await;
    assert_eq!(st, 200, "{v2}");
    assert!(!has_any_cors(&h), "{h:?}");
    assert!(h.get("vary").is_none());
    assert_eq!(h["cache-control"], "no-store");
    assert!(v2["access_token"].is_string() && v2["refresh_token"].is_string());
    // Without Origin: no CORS headers at all.
    let (st, h, v3) = refresh(&s, "app", &rt(&v2), None).await;
    assert_eq!(st, 200, "{v3}");
    assert!(!has_any_cors(&h));
    // An error of the authenticated client is readable from its origin.
    let (st, h, e) = refresh(&s, "app", "not-a-token", Some(APP)).await;
    assert_eq!(st, 400);
    assert_eq!(e["error"], "invalid_grant");
    assert_eq!(acao(&h), Some(APP));
}

#[tokio::test]
async fn only_the_authenticated_clients_origins_count() {
    let s = TestServer::start(CLIENTS).await;
    // `other` lists OTHER, not APP, even though `app` lists APP.
    let (st, h, v) = password(&s, "other", Some(APP)).await;
    assert_eq!(st, 200, "{v}");
    assert!(!has_any_cors(&h), "{h:?}");
    let (st, h, _) = password(&s, "other", Some(OTHER)).await;
    assert_eq!(st, 200);
    assert_eq!(acao(&h), Some(OTHER));
    // The confidential `web` client lists none.
    let (st, h, _) = post(
        &s,
        "/token",
        Some(APP),
        &[("grant_type", "client_credentials"), ("client_id", "web")],
    )
    .await;
    assert_eq!(st, 401);
    assert!(
        !has_any_cors(&h),
        "an unauthenticated client gets none: {h:?}"
    );
    // An unknown client: none.
    let (st, h, _) = password(&s, "nobody", Some(APP)).await;
    assert_eq!(st, 401);
    assert!(!has_any_cors(&h));
    // A request that never got to client authentication: none.
    let (st, h, _) = post(&s, "/token", Some(APP), &[("client_id", "app")]).await;
    assert_eq!(st, 400);
    assert!(!has_any_cors(&h));
}

#[tokio::test]
async fn revoke_and_userinfo_answer_the_tokens_client_origins() {
    let s = TestServer::start(CLIENTS).await;
    let (_, _, v) = password(&s, "app", None).await;
    let at = v["access_token"].as_str().unwrap().to_string();
    let url = format!("{}/userinfo", s.url);
    let get = |o: &'static str| s.http.get(&url).bearer_auth(&at).header("origin", o).send();
    let r = get(APP).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(acao(r.headers()), Some(APP));
    assert_eq!(r.headers()["vary"], "Origin");
    let r = get(OTHER).await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(!has_any_cors(r.headers()), "OTHER is not app's");
    // A bad token has no client: no CORS.
    let r = s
        .http
        .get(&url)
        .bearer_auth("junk")
        .header("origin", APP)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(!has_any_cors(r.headers()));

    let token = rt(&v);
    let form = [("token", token.as_str()), ("client_id", "app")];
    let (st, h, _) = post(&s, "/revoke", Some(OTHER), &form).await;
    assert_eq!(st, 200);
    assert!(!has_any_cors(&h));
    let (st, h, _) = post(&s, "/revoke", Some(APP), &form).await;
    assert_eq!(st, 200);
    assert_eq!(acao(&h), Some(APP));
    assert_eq!(h["vary"], "Origin");
}

#[tokio::test]
async fn public_documents_allow_any_origin() {
    let s = TestServer::start("").await;
    for path in [
        "/jwks",
        "/.well-known/openid-configuration",
        "/.well-known/oauth-authorization-server",
    ] {
        for o in [APP, EVIL, "http://localhost:1234"] {
            assert_preflight_allowed(&preflight(&s, path, o, "GET").await, o, "GET");
            let r = s
                .http
                .get(format!("{}{path}", s.url))
                .header("origin", o)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            assert_eq!(acao(r.headers()), Some(o), "{path}");
            assert_eq!(r.headers()["vary"], "Origin");
            assert!(r
                .headers()
                .get("access-control-allow-credentials")
                .is_none());
        }
        let r = s.http.get(format!("{}{path}", s.url)).send().await.unwrap();
        assert!(!has_any_cors(r.headers()), "no Origin, no CORS: {path}");
    }
    // Not an open endpoint: introspection.
    let r = preflight(&s, "/introspect", APP, "POST").await;
    assert!(!has_any_cors(r.headers()));
}

#[tokio::test]
async fn admin_api_and_pages_get_no_cors() {
    let s = TestServer::start_admin(CLIENTS).await;
    let r = s
        .http
        .get(format!("{}/admin/clients", s.url))
        .bearer_auth(baton_testkit::ADMIN_TOKEN)
        .header("origin", APP)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(!has_any_cors(r.headers()));
    let r = preflight(&s, "/admin/clients", APP, "GET").await;
    assert!(!has_any_cors(r.headers()));
    let r = s
        .http
        .get(format!(
            "{}/authorize?client_id=app&response_type=code&redirect_uri=https://app.example/cb&scope=openid&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256",
            s.url
        ))
        .header("origin", APP)
        .send()
        .await
        .unwrap();
    assert!(!has_any_cors(r.headers()), "{:?}", r.headers());
    let r = preflight(&s, "/authorize", APP, "GET").await;
    assert!(!has_any_cors(r.headers()));
    let r = preflight(&s, "/login", APP, "POST").await;
    assert!(!has_any_cors(r.headers()));
}

#[tokio::test]
async fn registration_allows_any_origin_when_enabled() {
    let s = TestServer::start("[registration]\nenabled = true\n").await;
    assert_preflight_allowed(
        &preflight(&s, "/register", EVIL, "POST").await,
        EVIL,
        "POST",
    );
    let r = s
        .http
        .post(format!("{}/register", s.url))
        .header("origin", APP)
        .json(&json!({"redirect_uris": ["https://app.example/cb"],
            "token_endpoint_auth_method": "none",
            "allowed_origins": [APP]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    assert_eq!(acao(r.headers()), Some(APP));
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["allowed_origins"], json!([APP]));
    // The new client's origin is known at once (preflight) and its own (actual).
    let id = v["client_id"].as_str().unwrap();
    let r = preflight(&s, "/token", APP, "POST").await;
    assert_preflight_allowed(&r, APP, "POST");
    let (st, h, _) = post(
        &s,
        "/token",
        Some(APP),
        &[
            ("grant_type", "refresh_token"),
            ("client_id", id),
            ("refresh_token", "x"),
        ],
    )
    .await;
    assert_eq!(st, 400);
    assert_eq!(acao(&h), Some(APP));
    // A bad origin is refused by name.
    let (st, e) = {
        let r = s
            .http
            .post(format!("{}/register", s.url))
            .json(&json!({"redirect_uris": ["https://app.example/cb"],
                "allowed_origins": [APP, "https://app.example/path"]}))
            .send()
            .await
            .unwrap();
        (r.status(), r.json::<Value>().await.unwrap())
    };
    assert_eq!(st, 400);
    assert_eq!(e["error"], "invalid_client_metadata");
    let d = e["error_description"].as_str().unwrap();
    assert!(d.contains("allowed_origins[1]"), "{d}");
    // Disabled registration: still 404, and no CORS.
    let off = TestServer::start("").await;
    let r = preflight(&off, "/register", APP, "POST").await;
    assert!(!has_any_cors(r.headers()));
}

#[tokio::test]
async fn admin_api_validates_stores_and_applies_origins_at_once() {
    let s = TestServer::start_admin("").await;
    let body = r#"{"client_id": "spa2", "token_endpoint_auth_method": "none",
        "redirect_uris": ["https://spa2.example/cb"],
        "allowed_origins": ["https://spa2.example", "http://spa2.example"]}"#;
    let (st, e) = call(&s, "POST", "/admin/clients", Some(body)).await;
    assert_eq!(st, 400, "{e}");
    assert!(e.to_string().contains("allowed_origins[1]"), "{e}");
    // Nothing known before.
    let r = preflight(&s, "/token", "https://spa2.example", "POST").await;
    assert!(!has_any_cors(r.headers()));
    let body = r#"{"client_id": "spa2", "token_endpoint_auth_method": "none",
        "redirect_uris": ["https://spa2.example/cb"],
        "allowed_origins": ["https://spa2.example"]}"#;
    let (st, v) = call(&s, "POST", "/admin/clients", Some(body)).await;
    assert_eq!(st, 201, "{v}");
    assert_eq!(v["allowed_origins"], json!(["https://spa2.example"]));
    let (_, v) = call(&s, "GET", "/admin/clients/spa2", None).await;
    assert_eq!(v["allowed_origins"], json!(["https://spa2.example"]));
    let r = preflight(&s, "/token", "https://spa2.example", "POST").await;
    assert_preflight_allowed(&r, "https://spa2.example", "POST");
    // A PATCH replaces the list; the old origin is forgotten at once on this node.
    let (st, e) = call(
        &s,
        "PATCH",
        "/admin/clients/spa2",
        Some(r#"{"allowed_origins": ["https://spa2.example#x"]}"#),
    )
    .await;
    assert_eq!(st, 400);
    assert!(e.to_string().contains("allowed_origins[0]"), "{e}");
    let (st, v) = call(
        &s,
        "PATCH",
        "/admin/clients/spa2",
        Some(r#"{"allowed_origins": ["https://new.example"]}"#),
    )
    .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["allowed_origins"], json!(["https://new.example"]));
    let r = preflight(&s, "/token", "https://spa2.example", "POST").await;
    assert!(!has_any_cors(r.headers()));
    let r = preflight(&s, "/token", "https://new.example", "POST").await;
    assert_preflight_allowed(&r, "https://new.example", "POST");
    // Deleted: gone.
    let (st, _) = call(&s, "DELETE", "/admin/clients/spa2", None).await;
    assert_eq!(st, 204);
    let r = preflight(&s, "/token", "https://new.example", "POST").await;
    assert!(!has_any_cors(r.headers()));
}

#[tokio::test]
async fn origins_survive_a_restart() {
    let s = TestServer::start_admin("").await;
    let body = r#"{"client_id": "spa2", "token_endpoint_auth_method": "none",
        "redirect_uris": ["https://spa2.example/cb"],
        "allowed_origins": ["https://spa2.example", "http://127.0.0.1:5173"]}"#;
    let (st, _) = call(&s, "POST", "/admin/clients", Some(body)).await;
    assert_eq!(st, 201);
    let dir = s.stop().await;
    let s = TestServer::start_in(dir, baton_testkit::BASE_CLIENTS).await;
    let c = s.state().store.get_client("spa2").await.unwrap().unwrap();
    assert_eq!(
        c.allowed_origins,
        ["https://spa2.example", "http://127.0.0.1:5173"]
    );
    // Loaded at start-up: the preflight is answered before any refresh period.
    let r = preflight(&s, "/token", "http://127.0.0.1:5173", "POST").await;
    assert_preflight_allowed(&r, "http://127.0.0.1:5173", "POST");
}

#[tokio::test]
async fn redirect_uri_origins_count_only_when_configured() {
    let off = TestServer::start("").await;
    // `web` and `spa` redirect to http://127.0.0.1:9/cb and list no origins.
    let r = preflight(&off, "/token", "http://127.0.0.1:9", "POST").await;
    assert!(!has_any_cors(r.headers()));
    let on = TestServer::start("[http]\ncors_from_redirect_uris = true\n").await;
    let r = preflight(&on, "/token", "http://127.0.0.1:9", "POST").await;
    assert_preflight_allowed(&r, "http://127.0.0.1:9", "POST");
    let v = on.password_grant_public("openid offline_access").await;
    let (st, h, _) = refresh(&on, "spa", &rt(&v), Some("http://127.0.0.1:9")).await;
    assert_eq!(st, 200);
    assert_eq!(acao(&h), Some("http://127.0.0.1:9"));
}

/// A client created on one node: its origin is answered at once there, and by another
/// node sharing the PostgreSQL database within the refresh period.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_node_learns_new_origins_within_the_refresh_period() {
    use baton_server::admin::ops;
    use baton_server::caller::Caller;
    let schema = baton_testkit::pg::PgSchema::create().await;
    let a = TestServer::start_with_storage(&schema.url, "").await;
    let b = TestServer::start_with_storage(&schema.url, "").await;
    let body: baton_proto::admin::ClientCreate = serde_json::from_str(
        r#"{"client_id": "spa2", "token_endpoint_auth_method": "none",
            "redirect_uris": ["https://spa2.example/cb"],
            "allowed_origins": ["https://spa2.example"]}"#,
    )
    .unwrap();
    ops::create_client(a.state(), body, &Caller::default())
        .await
        .unwrap();
    let o = "https://spa2.example";
    assert_preflight_allowed(&preflight(&a, "/token", o, "POST").await, o, "POST");
    let seen = crate::support::eventually(
        std::time::Duration::from_secs(8),
        || async { acao(preflight(&b, "/token", o, "POST").await.headers()).map(str::to_string) },
        |v| v.is_some(),
    )
    .await;
    assert_eq!(seen.as_deref(), Some(o), "node B never learned the origin");
}
