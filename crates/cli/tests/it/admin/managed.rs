//! Who manages a client or user: the configuration file's entries are read-only through
//! the admin API (409), the API's own stay editable and survive restarts; PATCH `null`
//! clears optional keys only; client and user lists come a page at a time.

use super::*;
use serde_json::json;

const SVC: &str = r#"{"client_id": "svc", "client_name": "Service",
    "grant_types": ["client_credentials"], "scopes": ["api"]}"#;

/// Asserts the 409 that names the configuration file.
fn assert_read_only(st: u16, v: &Value) {
    assert_eq!(st, 409, "{v}");
    assert_eq!(v["error"], "invalid_request", "{v}");
    let d = v["error_description"].as_str().unwrap_or("");
    assert!(d.contains("configuration file"), "{v}");
}

#[tokio::test]
async fn configured_clients_and_users_are_read_only_api_ones_are_not() {
    let s = TestServer::start_admin("").await;
    let (_, web) = call(&s, "GET", "/admin/clients/web", None).await;
    assert_eq!(web["managed_by"], "config");
    let (_, alice) = call(&s, "GET", "/admin/users/alice", None).await;
    assert_eq!(alice["managed_by"], "config");

    // A configured client: no change, no deletion, whatever the body.
    for body in [
        r#"{"client_name": "Renamed"}"#,
        r#"{"active": false}"#,
        r#"{"client_name": null}"#,
        "{}",
    ] {
        let (st, v) = call(&s, "PATCH", "/admin/clients/web", Some(body)).await;
        assert_read_only(st, &v);
    }
    let (st, v) = call(&s, "DELETE", "/admin/clients/web", None).await;
    assert_read_only(st, &v);
    let (_, after) = call(&s, "GET", "/admin/clients/web", None).await;
    assert_eq!(after, web, "unchanged");
    s.password_grant("openid").await;

    // A configured user likewise.
    for body in [
        r#"{"active": false}"#,
        r#"{"password": "another-password"}"#,
    ] {
        let (st, v) = call(&s, "PATCH", "/admin/users/alice", Some(body)).await;
        assert_read_only(st, &v);
    }
    let (st, v) = call(&s, "DELETE", "/admin/users/alice", None).await;
    assert_read_only(st, &v);
    let (_, after) = call(&s, "GET", "/admin/users/alice", None).await;
    assert_eq!(after, alice, "unchanged");
    s.password_grant("openid").await;
    assert!(s.events("client.changed").await.is_empty());
    assert!(s.events("user.changed").await.is_empty());

    // The API's own: editable and deletable.
    let (st, v) = call(&s, "POST", "/admin/clients", Some(SVC)).await;
    assert_eq!(st, 201, "{v}");
    assert_eq!(v["managed_by"], "api");
    let (st, v) = call(
        &s,
        "PATCH",
        "/admin/clients/svc",
        Some(r#"{"client_name": "Renamed"}"#),
    )
    .await;
    assert_eq!((st, &v["client_name"]), (200, &json!("Renamed")), "{v}");
    assert_eq!(v["managed_by"], "api");
    let (st, _) = call(&s, "DELETE", "/admin/clients/svc", None).await;
    assert_eq!(st, 204);
    let bob = r#"{"username": "bob", "password": "bob-password"}"#;
    let (st, v) = call(&s, "POST", "/admin/users", Some(bob)).await;
    assert_eq!((st, &v["managed_by"]), (201, &json!("api")), "{v}");
    let (st, v) = call(
        &s,
        "PATCH",
        "/admin/users/bob",
        Some(r#"{"active": false}"#),
    )
    .await;
    assert_eq!((st, &v["active"]), (200, &json!(false)), "{v}");
    // Nor can an API user take a configured one's name.
    let (st, v) = call(
        &s,
        "PATCH",
        "/admin/users/bob",
        Some(r#"{"username": "alice"}"#),
    )
    .await;
    assert_eq!(st, 409, "{v}");
    let (st, _) = call(&s, "DELETE", "/admin/users/bob", None).await;
    assert_eq!(st, 204);
}

/// The events of `kind` whose `action` is `released`.
async fn released(s: &TestServer, kind: &str) -> Vec<baton_core::model::Event> {
    let mut evs = s.events(kind).await;
    evs.retain(|e| e.details["action"] == "released");
    evs
}

const EXTRA: &str = r#"
[[clients]]
client_id = "legacy"
client_secret = "legacy-secret-0123456789abcdef0123456789"
grant_types = ["client_credentials"]
scopes = ["api"]

[[users]]
username = "greta"
password = "greta-password"

[[resources]]
identifier = "urn:legacy:api"
scopes = ["legacy.read"]
"#;

/// A restart writes the configuration file's entries again, and nothing else: an
/// admin change to an API client stays. An entry dropped from the file stays as it
/// was, now managed through the admin API.
#[tokio::test]
async fn a_restart_keeps_admin_changes_and_releases_dropped_entries() {
    let s = TestServer::start_admin(EXTRA).await;
    let (st, _) = call(&s, "POST", "/admin/clients", Some(SVC)).await;
    assert_eq!(st, 201);
    let patch = r#"{"client_name": "Changed", "scopes": ["api", "extra"],
        "refresh_tokens": {"usage": "one_time"}}"#;
    let (st, changed) = call(&s, "PATCH", "/admin/clients/svc", Some(patch)).await;
    assert_eq!(st, 200, "{changed}");
    let bob = r#"{"username": "bob", "password": "bob-password"}"#;
    call(&s, "POST", "/admin/users", Some(bob)).await;
    let (st, bob) = call(
        &s,
        "PATCH",
        "/admin/users/bob",
        Some(r#"{"claims": {"name": "Bob"}}"#),
    )
    .await;
    assert_eq!(st, 200, "{bob}");
    let (_, legacy) = call(&s, "GET", "/admin/clients/legacy", None).await;
    assert_eq!(legacy["managed_by"], "config");
    let dir = s.stop().await;

    // Restarted without `legacy` and `greta` in the file.
    let s = TestServer::start_admin_in(dir, baton_testkit::BASE_CLIENTS).await;
    let (_, v) = call(&s, "GET", "/admin/clients/svc", None).await;
    assert_eq!(v, changed, "the admin change survived the restart");
    let (_, v) = call(&s, "GET", "/admin/users/bob", None).await;
    assert_eq!(v, bob);
    let (_, web) = call(&s, "GET", "/admin/clients/web", None).await;
    assert_eq!(web["managed_by"], "config");

    // Released: as they were (still active, the secret still works), now editable.
    let (_, v) = call(&s, "GET", "/admin/clients/legacy", None).await;
    assert_eq!(v["managed_by"], "api", "{v}");
    assert_eq!(v["active"], true);
    let (st, t) = s
        .post_form(
            "/token",
            Some(("legacy", "legacy-secret-0123456789abcdef0123456789")),
            &[("grant_type", "client_credentials"), ("scope", "api")],
        )
        .await;
    assert_eq!(st, 200, "{t}");
    let (_, v) = call(&s, "GET", "/admin/users/greta", None).await;
    assert_eq!(
        (&v["managed_by"], &v["active"]),
        (&json!("api"), &json!(true))
    );
    let evs = released(&s, "client.changed").await;
    assert_eq!(evs.len(), 1, "{evs:?}");
    assert_eq!(evs[0].client_id.as_deref(), Some("legacy"));
    let evs = released(&s, "user.changed").await;
    assert_eq!(evs.len(), 1, "{evs:?}");
    assert_eq!(evs[0].details["username"], "greta");
    let (_, v) = call(&s, "GET", "/admin/resources/urn%3Alegacy%3Aapi", None).await;
    assert_eq!(v["managed_by"], "api", "{v}");
    let evs = released(&s, "resource.changed").await;
    assert_eq!(evs.len(), 1, "{evs:?}");
    assert_eq!(evs[0].details["identifier"], "urn:legacy:api");
    let (st, v) = call(
        &s,
        "PATCH",
        "/admin/clients/legacy",
        Some(r#"{"active": false}"#),
    )
    .await;
    assert_eq!(st, 200, "{v}");
    let (st, _) = call(&s, "DELETE", "/admin/users/greta", None).await;
    assert_eq!(st, 204);
    let dir = s.stop().await;

    // Listed in the file again: the file manages it once more (its values win).
    let s =
        TestServer::start_admin_in(dir, &format!("{}{EXTRA}", baton_testkit::BASE_CLIENTS)).await;
    let (_, v) = call(&s, "GET", "/admin/clients/legacy", None).await;
    assert_eq!(
        (&v["managed_by"], &v["active"]),
        (&json!("config"), &json!(true))
    );
    let (_, v) = call(&s, "GET", "/admin/users/greta", None).await;
    assert_eq!(v["managed_by"], "config");
    let evs = released(&s, "client.changed").await;
    assert_eq!(evs.len(), 1, "released once, at the second start: {evs:?}");
    assert_eq!(released(&s, "user.changed").await.len(), 1);
    assert_eq!(released(&s, "resource.changed").await.len(), 1);
}

/// PATCH `null` clears an optional key; on a key that cannot be empty it is a 400
/// naming the key, and changes nothing.
#[tokio::test]
async fn patch_null_clears_optional_keys_only() {
    let s = TestServer::start_admin("").await;
    let body = r#"{"client_id": "svc", "client_name": "Service",
        "grant_types": ["client_credentials"], "scopes": ["api"],
        "access_token_format": "reference",
        "backchannel_logout_uri": "https://rp.example/bc"}"#;
    let (st, v) = call(&s, "POST", "/admin/clients", Some(body)).await;
    assert_eq!(st, 201, "{v}");
    let secret = v["client_secret"].as_str().unwrap().to_string();
    let (st, v) = call(
        &s,
        "PATCH",
        "/admin/clients/svc",
        Some(r#"{"client_name": null, "access_token_format": null}"#),
    )
    .await;
    assert_eq!(st, 200, "{v}");
    assert!(v["client_name"].is_null(), "{v}");
    assert!(v["access_token_format"].is_null(), "{v}");
    assert_eq!(
        v["backchannel_logout_uri"], "https://rp.example/bc",
        "absent: kept"
    );
    let (_, v) = call(&s, "GET", "/admin/clients/svc", None).await;
    assert!(
        v["client_name"].is_null() && v["access_token_format"].is_null(),
        "{v}"
    );
    let evs = s.events("client.changed").await;
    assert_eq!(
        evs[0].details["changed"],
        json!(["client_name", "access_token_format"])
    );
    let (st, v) = call(
        &s,
        "PATCH",
        "/admin/clients/svc",
        Some(r#"{"backchannel_logout_uri": null}"#),
    )
    .await;
    assert_eq!(st, 200, "{v}");
    assert!(v["backchannel_logout_uri"].is_null(), "{v}");
    // The secret survives the changes.
    let (st, t) = s
        .post_form(
            "/token",
            Some(("svc", &secret)),
            &[("grant_type", "client_credentials"), ("scope", "api")],
        )
        .await;
    assert_eq!(st, 200, "{t}");

    let (_, before) = call(&s, "GET", "/admin/clients/svc", None).await;
    for key in [
        "token_endpoint_auth_method",
        "redirect_uris",
        "post_logout_redirect_uris",
        "allowed_origins",
        "grant_types",
        "scopes",
        "id_token_signed_response_alg",
        "introspect_any",
        "dpop_bound_access_tokens",
        "active",
        "refresh_tokens",
    ] {
        let body = format!(r#"{{"{key}": null}}"#);
        let (st, v) = call(&s, "PATCH", "/admin/clients/svc", Some(&body)).await;
        assert_bad(st, &v, key);
        assert!(v.to_string().contains("cannot be null"), "{v}");
    }
    // Cleared, but validated like any change: private_key_jwt needs its JWK Set.
    let jwt = r#"{"client_id": "signer", "grant_types": ["client_credentials"],
        "jwks": {"keys": [{"kty": "EC", "crv": "P-256", "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}}"#;
    let (st, v) = call(&s, "POST", "/admin/clients", Some(jwt)).await;
    assert_eq!(st, 201, "{v}");
    let (st, v) = call(
        &s,
        "PATCH",
        "/admin/clients/signer",
        Some(r#"{"jwks": null}"#),
    )
    .await;
    assert_bad(st, &v, "jwks");
    let (_, after) = call(&s, "GET", "/admin/clients/svc", None).await;
    assert_eq!(after, before, "nothing changed");

    let bob = r#"{"username": "bob", "password": "bob-password", "claims": {"name": "Bob"}}"#;
    let (st, _) = call(&s, "POST", "/admin/users", Some(bob)).await;
    assert_eq!(st, 201);
    for key in ["username", "password", "active", "claims"] {
        let body = format!(r#"{{"{key}": null}}"#);
        let (st, v) = call(&s, "PATCH", "/admin/users/bob", Some(&body)).await;
        assert_bad(st, &v, key);
    }
    let (_, v) = call(&s, "GET", "/admin/users/bob", None).await;
    assert_eq!(
        (&v["claims"], &v["active"]),
        (&json!({"name": "Bob"}), &json!(true))
    );
    // `{}` is how claims are emptied.
    let (st, v) = call(&s, "PATCH", "/admin/users/bob", Some(r#"{"claims": {}}"#)).await;
    assert_eq!((st, &v["claims"]), (200, &json!({})), "{v}");
}

/// Walks a list with `limit`, following `next_cursor`; answers the ids and checks
/// the page sizes.
async fn walk(s: &TestServer, list: &str, key: &str, limit: usize) -> Vec<String> {
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("{list}?limit={limit}");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={}", urlencode(c)));
        }
        let (st, v) = call(s, "GET", &path, None).await;
        assert_eq!(st, 200, "{path}: {v}");
        let items = v["items"].as_array().unwrap();
        assert!(items.len() <= limit, "{v}");
        ids.extend(items.iter().map(|i| i[key].as_str().unwrap().to_string()));
        match v["next_cursor"].as_str() {
            Some(c) => {
                assert_eq!(items.len(), limit, "a page with a next one is full: {v}");
                cursor = Some(c.to_string());
            }
            None => return ids,
        }
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn client_and_user_lists_come_a_page_at_a_time() {
    let s = TestServer::start_admin("").await;
    for id in ["c-3", "C1", "c.2", "c_4", "c0", "zed", "a~b"] {
        let body = format!(
            r#"{{"client_id": "{id}", "grant_types": ["client_credentials"], "scopes": ["api"]}}"#
        );
        let (st, v) = call(&s, "POST", "/admin/clients", Some(&body)).await;
        assert_eq!(st, 201, "{id}: {v}");
    }
    let (_, all) = call(&s, "GET", "/admin/clients", None).await;
    let all: Vec<String> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["client_id"].as_str().unwrap().to_string())
        .collect();
    let mut sorted = all.clone();
    sorted.sort();
    assert_eq!(all, sorted, "client_id order (bytewise)");
    assert_eq!(all.len(), 9, "{all:?}");
    for limit in [1, 2, 4, 9, 10] {
        assert_eq!(
            walk(&s, "/admin/clients", "client_id", limit).await,
            all,
            "limit {limit}"
        );
    }
    // A page's cursor still holds when clients come and go before it.
    let (_, first) = call(&s, "GET", "/admin/clients?limit=3", None).await;
    let cursor = first["next_cursor"].as_str().unwrap().to_string();
    call(
        &s,
        "POST",
        "/admin/clients",
        Some(r#"{"client_id": "AAA", "grant_types": ["client_credentials"]}"#),
    )
    .await;
    call(&s, "DELETE", &format!("/admin/clients/{}", all[1]), None).await;
    let (_, rest) = call(
        &s,
        "GET",
        &format!("/admin/clients?limit=100&cursor={}", urlencode(&cursor)),
        None,
    )
    .await;
    let rest: Vec<&str> = rest["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["client_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        rest,
        all[3..].iter().map(String::as_str).collect::<Vec<_>>()
    );

    for name in ["bob", "Carol", "dave", "erin"] {
        let body = format!(r#"{{"username": "{name}", "password": "{name}-password"}}"#);
        let (st, v) = call(&s, "POST", "/admin/users", Some(&body)).await;
        assert_eq!(st, 201, "{v}");
    }
    let users = ["Carol", "alice", "bob", "dave", "erin"];
    for limit in [1, 2, 5, 6] {
        assert_eq!(
            walk(&s, "/admin/users", "username", limit).await,
            users,
            "limit {limit}"
        );
    }
    let (_, page) = call(&s, "GET", "/admin/users?limit=2", None).await;
    assert_eq!(page["next_cursor"], "alice");
    assert_eq!(page["items"][1]["managed_by"], "config");

    for (path, field) in [
        ("/admin/clients?limit=0", "limit"),
        ("/admin/clients?limit=1001", "limit"),
        ("/admin/users?limit=0", "limit"),
        ("/admin/clients?cursor=", "cursor"),
        ("/admin/users?cursor=", "cursor"),
        ("/admin/clients?limit=many", "query"),
        ("/admin/users?colour=blue", "query"),
    ] {
        let (st, v) = call(&s, "GET", path, None).await;
        assert_bad(st, &v, field);
    }
}
