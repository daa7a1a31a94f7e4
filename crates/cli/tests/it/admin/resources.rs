//! `/admin/resources` over real HTTP: create, read (the identifier percent-encoded in
//! the path), page, change (`null` clears), delete; 400 naming the key; 409 for a taken
//! identifier, a configured resource and one that clients still name. Clients may name
//! only resources that exist; users' roles and groups round-trip.

use super::*;
use serde_json::json;

const INVOICES: &str = "https://api.example.com/invoices";

/// Percent-encodes everything but unreserved characters (RFC 3986 §2.3).
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `/admin/resources/{identifier}` with the identifier percent-encoded as one segment.
fn path(identifier: &str) -> String {
    format!("/admin/resources/{}", encode(identifier))
}

async fn create(s: &TestServer, body: Value) -> Value {
    let (st, v) = call(s, "POST", "/admin/resources", Some(&body.to_string())).await;
    assert_eq!(st, 201, "{v}");
    v
}

#[tokio::test]
async fn create_read_change_and_delete() {
    let s = TestServer::start_admin("").await;
    let v = create(
        &s,
        json!({
            "identifier": INVOICES, "name": "Invoices",
            "scopes": ["invoices.read", "invoices.write", "invoices.read"],
            "scope_descriptions": {"invoices.read": "see your invoices"},
            "access_token_format": "reference", "access_token_lifetime": "5m",
            "signing_alg": "ES256", "claims": ["roles", "department"]
        }),
    )
    .await;
    assert_eq!(v["identifier"], INVOICES);
    assert_eq!(
        v["scopes"],
        json!(["invoices.read", "invoices.write"]),
        "repeats dropped"
    );
    assert_eq!(
        v["scope_descriptions"]["invoices.read"],
        "see your invoices"
    );
    assert_eq!(
        (
            &v["access_token_format"],
            &v["access_token_lifetime"],
            &v["signing_alg"]
        ),
        (&json!("reference"), &json!("5m"), &json!("ES256"))
    );
    assert_eq!(v["claims"], json!(["roles", "department"]));
    assert_eq!(
        (&v["active"], &v["managed_by"]),
        (&json!(true), &json!("api"))
    );
    assert_eq!(v["clients"], json!([]));
    let created_at = v["created_at"].clone();

    let (st, got) = call(&s, "GET", &path(INVOICES), None).await;
    assert_eq!((st, &got), (200, &v));
    let (st, e) = call(
        &s,
        "POST",
        "/admin/resources",
        Some(&json!({"identifier": INVOICES}).to_string()),
    )
    .await;
    assert_eq!((st, &e["error"]), (409, &json!("invalid_request")), "{e}");
    assert!(
        e["error_description"].as_str().unwrap().contains("exists"),
        "{e}"
    );
    let (_, got) = call(&s, "GET", &path(INVOICES), None).await;
    assert_eq!(got, v, "the refused create changed nothing");

    // PATCH: the keys given replace their values; `null` clears the optional ones.
    let (st, p) = call(
        &s,
        "PATCH",
        &path(INVOICES),
        Some(
            r#"{"name": null, "access_token_lifetime": null, "signing_alg": "EdDSA",
                "scopes": ["invoices.read"], "scope_descriptions": {}, "active": false}"#,
        ),
    )
    .await;
    assert_eq!(st, 200, "{p}");
    assert_eq!(p["name"], Value::Null);
    assert_eq!(p["access_token_lifetime"], Value::Null);
    assert_eq!(p["signing_alg"], "EdDSA");
    assert_eq!(p["access_token_format"], "reference", "left alone");
    assert_eq!(p["claims"], json!(["roles", "department"]), "left alone");
    assert_eq!(p["scopes"], json!(["invoices.read"]));
    assert_eq!(p["scope_descriptions"], json!({}));
    assert_eq!(p["active"], false);
    assert_eq!(p["created_at"], created_at, "the creation time stays");
    let (_, got) = call(&s, "GET", &path(INVOICES), None).await;
    assert_eq!(got, p, "stored");
    // The whole result is validated again: a description of a scope no longer defined.
    let (st, e) = call(
        &s,
        "PATCH",
        &path(INVOICES),
        Some(r#"{"scope_descriptions": {"invoices.write": "change them"}}"#),
    )
    .await;
    assert_bad(st, &e, "scope_descriptions.invoices.write");

    let (st, _) = call(&s, "DELETE", &path(INVOICES), None).await;
    assert_eq!(st, 204);
    for (m, body) in [("GET", None), ("DELETE", None), ("PATCH", Some("{}"))] {
        let (st, e) = call(&s, m, &path(INVOICES), body).await;
        assert_eq!(st, 404, "{m}: {e}");
    }
    // The identifier must be encoded: unencoded, it is some other path.
    let (st, _) = call(&s, "GET", "/admin/resources/urn:example:none", None).await;
    assert_eq!(st, 404);
    // Each change is recorded, with what changed; refusals record nothing.
    let evs = s.events("resource.changed").await;
    let actions: Vec<&str> = evs
        .iter()
        .map(|e| e.details["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["deleted", "updated", "created"], "newest first");
    assert!(evs.iter().all(|e| e.details["identifier"] == INVOICES));
    assert_eq!(
        evs[1].details["changed"].as_array().unwrap().len(),
        6,
        "{:?}",
        evs[1].details
    );
}

/// Pages in bytewise identifier order; each item shows the clients listing it.
#[tokio::test]
async fn pages_in_identifier_order() {
    let s = TestServer::start_admin("").await;
    let ids = [
        "urn:example:b",
        "https://api.example/a1",
        "https://API.example/x",
        "urn:example:1",
        "https://api.example/a/b",
    ];
    for id in ids {
        create(&s, json!({"identifier": id, "scopes": ["read"]})).await;
    }
    let (st, v) = call(
        &s,
        "POST",
        "/admin/clients",
        Some(
            &json!({"client_id": "svc", "grant_types": ["client_credentials"],
                "scopes": ["read"], "resources": ["urn:example:1", "urn:example:b"]})
            .to_string(),
        ),
    )
    .await;
    assert_eq!(st, 201, "{v}");
    let mut sorted = ids.to_vec();
    sorted.sort_unstable();
    let mut walked: Vec<Value> = Vec::new();
    let mut q = "/admin/resources?limit=2".to_string();
    for _ in 0..10 {
        let (st, page) = call(&s, "GET", &q, None).await;
        assert_eq!(st, 200, "{page}");
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        walked.extend(items.iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => q = format!("/admin/resources?limit=2&cursor={}", encode(c)),
            None => break,
        }
    }
    let got: Vec<&str> = walked
        .iter()
        .map(|r| r["identifier"].as_str().unwrap())
        .collect();
    assert_eq!(got, sorted);
    for r in &walked {
        let listed = r["identifier"].as_str().unwrap().starts_with("urn:");
        let want = if listed { json!(["svc"]) } else { json!([]) };
        assert_eq!(r["clients"], want, "{r}");
    }
    for (q, field) in [
        ("/admin/resources?limit=0", "limit"),
        ("/admin/resources?limit=1001", "limit"),
        ("/admin/resources?cursor=", "cursor"),
        ("/admin/resources?colour=red", "query"),
    ] {
        let (st, v) = call(&s, "GET", q, None).await;
        assert_bad(st, &v, field);
    }
}

#[tokio::test]
async fn bad_resource_bodies_name_the_key() {
    let s = TestServer::start_admin("").await;
    for (body, field) in [
        (json!({"identifier": "not a uri"}), "identifier"),
        (json!({"identifier": "/relative"}), "identifier"),
        (
            json!({"identifier": "https://api.example/#f"}),
            "identifier",
        ),
        (
            json!({"identifier": format!("urn:x:{}", "a".repeat(260))}),
            "identifier",
        ),
        (
            json!({"identifier": "urn:x:a", "scopes": ["ok", "two words"]}),
            "scopes[1]",
        ),
        (
            json!({"identifier": "urn:x:a", "scopes": ["openid"]}),
            "scopes[0]",
        ),
        (
            json!({"identifier": "urn:x:a", "scopes": ["a"], "scope_descriptions": {"b": "x"}}),
            "scope_descriptions.b",
        ),
        (
            json!({"identifier": "urn:x:a", "claims": ["roles", "aud"]}),
            "claims[1]",
        ),
        (
            json!({"identifier": "urn:x:a", "claims": [""]}),
            "claims[0]",
        ),
        (
            json!({"identifier": "urn:x:a", "access_token_format": "paseto"}),
            "access_token_format",
        ),
        (
            json!({"identifier": "urn:x:a", "access_token_lifetime": "soon"}),
            "access_token_lifetime",
        ),
        (
            json!({"identifier": "urn:x:a", "signing_alg": "HS256"}),
            "signing_alg",
        ),
        (json!({"identifier": "urn:x:a", "name": " "}), "name"),
        (json!({"identifier": "urn:x:a", "scopes": "read"}), "scopes"),
        (
            json!({"identifier": "urn:x:a", "audience": "x"}),
            "audience",
        ),
        (json!({"name": "no identifier"}), "identifier"),
    ] {
        let (st, v) = call(&s, "POST", "/admin/resources", Some(&body.to_string())).await;
        assert_bad(st, &v, field);
    }
    let (st, v) = call(&s, "POST", "/admin/resources", Some("[]")).await;
    assert_bad(st, &v, "body");
    let (st, v) = call(&s, "GET", "/admin/resources", None).await;
    assert_eq!((st, &v["items"]), (200, &json!([])), "nothing was created");

    create(&s, json!({"identifier": INVOICES, "scopes": ["read"]})).await;
    for (body, field) in [
        (r#"{"identifier": "urn:x:other"}"#, "identifier"),
        (r#"{"scopes": null}"#, "scopes"),
        (r#"{"claims": null}"#, "claims"),
        (r#"{"active": null}"#, "active"),
        (r#"{"scope_descriptions": null}"#, "scope_descriptions"),
        (r#"{"scopes": ["read", "x y"]}"#, "scopes[1]"),
        (r#"{"claims": ["nonce"]}"#, "claims[0]"),
        (
            r#"{"access_token_lifetime": "0s"}"#,
            "access_token_lifetime",
        ),
    ] {
        let (st, v) = call(&s, "PATCH", &path(INVOICES), Some(body)).await;
        assert_bad(st, &v, field);
    }
    let (_, v) = call(&s, "GET", &path(INVOICES), None).await;
    assert_eq!(v["scopes"], json!(["read"]), "nothing was changed");
}

const CONFIGURED: &str = r#"
[[resources]]
identifier = "https://api.example.com/reports"
name = "Reports"
scopes = ["reports.read"]
claims = ["groups"]

[[clients]]
client_id = "reporter"
client_secret = "reporter-secret-0123456789abcdef0123456789"
grant_types = ["client_credentials"]
scopes = ["reports.read"]
resources = ["https://api.example.com/reports"]
default_resource = "https://api.example.com/reports"
"#;

/// A `[[resources]]` entry is read-only here, as configured clients are; reading works.
#[tokio::test]
async fn configured_resources_are_read_only() {
    let s = TestServer::start_admin(CONFIGURED).await;
    let reports = "https://api.example.com/reports";
    let (st, v) = call(&s, "GET", &path(reports), None).await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(
        (&v["managed_by"], &v["name"]),
        (&json!("config"), &json!("Reports"))
    );
    assert_eq!(v["clients"], json!(["reporter"]));
    for body in [r#"{"name": "Renamed"}"#, r#"{"active": false}"#, "{}"] {
        let (st, e) = call(&s, "PATCH", &path(reports), Some(body)).await;
        assert_eq!(st, 409, "{e}");
        assert!(
            e["error_description"]
                .as_str()
                .unwrap()
                .contains("configuration file"),
            "{e}"
        );
    }
    let (st, e) = call(&s, "DELETE", &path(reports), None).await;
    assert_eq!(st, 409, "{e}");
    assert!(e["error_description"]
        .as_str()
        .unwrap()
        .contains("configuration file"));
    let (_, after) = call(&s, "GET", &path(reports), None).await;
    assert_eq!(after, v, "unchanged");
    let (_, list) = call(&s, "GET", "/admin/resources", None).await;
    assert_eq!(list["items"], json!([v]));
}

fn svc(resources: Value) -> String {
    json!({"client_id": "svc", "grant_types": ["client_credentials"],
        "scopes": ["invoices.read", "orders.read"], "resources": resources})
    .to_string()
}

/// Clients may name only resources that exist (400 naming the key); a resource named
/// by clients cannot be deleted (409 naming them); the client's new keys round-trip
/// and its token for the resource carries the resource as `aud`.
#[tokio::test]
async fn clients_name_only_existing_resources() {
    let s = TestServer::start_admin("").await;
    let orders = "urn:example:orders";
    create(
        &s,
        json!({"identifier": INVOICES, "scopes": ["invoices.read"]}),
    )
    .await;
    for (body, field) in [
        (svc(json!([INVOICES, "urn:example:nope"])), "resources[1]"),
        (svc(json!(["urn:example:nope"])), "resources[0]"),
        (svc(json!(["not a uri"])), "resources[0]"),
        (
            json!({"client_id": "svc", "grant_types": ["client_credentials"],
                "introspect_resources": [INVOICES, orders]})
            .to_string(),
            "introspect_resources[1]",
        ),
        (
            json!({"client_id": "svc", "grant_types": ["client_credentials"],
                "resources": [INVOICES], "default_resource": orders})
            .to_string(),
            "default_resource",
        ),
        (
            json!({"client_id": "svc", "grant_types": ["client_credentials"],
                "id_token_claims": ["roles", "sub"]})
            .to_string(),
            "id_token_claims[1]",
        ),
        (
            json!({"client_id": "svc", "grant_types": ["client_credentials"],
                "access_token_claims": ["aud"]})
            .to_string(),
            "access_token_claims[0]",
        ),
        (
            json!({"client_id": "svc", "grant_types": ["client_credentials"],
                "userinfo_claims": ["department", "a b"]})
            .to_string(),
            "userinfo_claims[1]",
        ),
    ] {
        let (st, v) = call(&s, "POST", "/admin/clients", Some(&body)).await;
        assert_bad(st, &v, field);
    }
    let (st, _) = call(&s, "GET", "/admin/clients/svc", None).await;
    assert_eq!(st, 404, "nothing was created");

    create(&s, json!({"identifier": orders, "scopes": ["orders.read"]})).await;
    let body = json!({"client_id": "svc", "grant_types": ["client_credentials"],
        "scopes": ["invoices.read", "orders.read"],
        "resources": [INVOICES, orders], "default_resource": orders,
        "introspect_resources": [INVOICES],
        "id_token_claims": ["roles"], "userinfo_claims": ["groups", "department"],
        "access_token_claims": ["roles"]});
    let (st, c) = call(&s, "POST", "/admin/clients", Some(&body.to_string())).await;
    assert_eq!(st, 201, "{c}");
    for k in [
        "resources",
        "default_resource",
        "introspect_resources",
        "id_token_claims",
        "userinfo_claims",
        "access_token_claims",
    ] {
        assert_eq!(c[k], body[k], "{k}: {c}");
    }
    let secret = c["client_secret"].as_str().unwrap().to_string();
    let (_, r) = call(&s, "GET", &path(orders), None).await;
    assert_eq!(r["clients"], json!(["svc"]));

    // The client's token for its default resource: aud is the resource, scope only its.
    let (st, t) = s
        .post_form(
            "/token",
            Some(("svc", &secret)),
            &[("grant_type", "client_credentials")],
        )
        .await;
    assert_eq!(st, 200, "{t}");
    assert_eq!(t["scope"], "orders.read", "{t}");
    let claims = baton_testkit::flow::jwt_claims(t["access_token"].as_str().unwrap());
    assert_eq!(claims["aud"], orders, "{claims}");

    // PATCH: a resource that does not exist is refused, naming the key; `null` clears
    // default_resource; lists are replaced.
    let (st, v) = call(
        &s,
        "PATCH",
        "/admin/clients/svc",
        Some(&json!({"resources": [orders, "urn:example:gone"]}).to_string()),
    )
    .await;
    assert_bad(st, &v, "resources[1]");
    let (st, v) = call(
        &s,
        "PATCH",
        "/admin/clients/svc",
        Some(&json!({"introspect_resources": ["urn:example:gone"]}).to_string()),
    )
    .await;
    assert_bad(st, &v, "introspect_resources[0]");
    let (_, same) = call(&s, "GET", "/admin/clients/svc", None).await;
    assert_eq!(same["resources"], json!([INVOICES, orders]), "unchanged");

    // Named by the client: the resource cannot be deleted.
    for id in [INVOICES, orders] {
        let (st, e) = call(&s, "DELETE", &path(id), None).await;
        assert_eq!(st, 409, "{e}");
        let d = e["error_description"].as_str().unwrap();
        assert!(d.contains("svc"), "names the client: {e}");
    }
    let (st, e) = call(&s, "DELETE", &path(INVOICES), None).await;
    assert!(
        st == 409
            && e["error_description"]
                .as_str()
                .unwrap()
                .contains("introspect_resources"),
        "{e}"
    );
    let (st, v) = call(
        &s,
        "PATCH",
        "/admin/clients/svc",
        Some(r#"{"default_resource": null, "resources": ["https://api.example.com/invoices"]}"#),
    )
    .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["default_resource"], Value::Null);
    assert_eq!(v["resources"], json!([INVOICES]));
    assert_eq!(
        v["userinfo_claims"],
        json!(["groups", "department"]),
        "left alone"
    );
    let (_, r) = call(&s, "GET", &path(orders), None).await;
    assert_eq!(r["clients"], json!([]));
    let (st, _) = call(&s, "DELETE", &path(orders), None).await;
    assert_eq!(st, 204, "no client names it any more");
    // Still named in introspect_resources (and resources) by svc.
    let (st, _) = call(&s, "DELETE", &path(INVOICES), None).await;
    assert_eq!(st, 409);
    let (st, _) = call(&s, "DELETE", "/admin/clients/svc", None).await;
    assert_eq!(st, 204);
    let (st, _) = call(&s, "DELETE", &path(INVOICES), None).await;
    assert_eq!(st, 204);
}

#[tokio::test]
async fn user_roles_and_groups_round_trip() {
    let s = TestServer::start_admin("").await;
    let (st, v) = call(
        &s,
        "POST",
        "/admin/users",
        Some(
            r#"{"username": "bob", "password": "bob-password",
                "roles": ["accountant", "Read Only", "accountant"], "groups": ["finance"]}"#,
        ),
    )
    .await;
    assert_eq!(st, 201, "{v}");
    assert_eq!(
        v["roles"],
        json!(["accountant", "Read Only"]),
        "repeats dropped"
    );
    assert_eq!(v["groups"], json!(["finance"]));
    let (_, got) = call(&s, "GET", "/admin/users/bob", None).await;
    assert_eq!(got, v);
    let stored = s.state().store.get_user("bob").await.unwrap().unwrap();
    assert_eq!(stored.roles, ["accountant", "Read Only"]);

    let (st, v) = call(
        &s,
        "PATCH",
        "/admin/users/bob",
        Some(r#"{"roles": ["admin"]}"#),
    )
    .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(
        (&v["roles"], &v["groups"]),
        (&json!(["admin"]), &json!(["finance"]))
    );
    let (st, v) = call(
        &s,
        "PATCH",
        "/admin/users/bob",
        Some(r#"{"groups": [], "claims": {"department": "sales"}}"#),
    )
    .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!((&v["roles"], &v["groups"]), (&json!(["admin"]), &json!([])));
    let (_, list) = call(&s, "GET", "/admin/users", None).await;
    let bob = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "bob")
        .unwrap();
    assert_eq!(bob["roles"], json!(["admin"]));
    let changed: Vec<Value> = s
        .events("user.changed")
        .await
        .iter()
        .map(|e| e.details["changed"].clone())
        .collect();
    assert_eq!(changed[0], json!(["claims", "groups"]), "{changed:?}");
    assert_eq!(changed[1], json!(["roles"]), "{changed:?}");

    for (body, field) in [
        (r#"{"roles": [""]}"#, "roles[0]"),
        (r#"{"groups": ["ok", "a\u0007"]}"#, "groups[1]"),
        (r#"{"roles": null}"#, "roles"),
        (r#"{"groups": "finance"}"#, "groups"),
        (r#"{"claims": {"roles": ["admin"]}}"#, "claims.roles"),
        (r#"{"claims": {"groups": []}}"#, "claims.groups"),
    ] {
        let (st, v) = call(&s, "PATCH", "/admin/users/bob", Some(body)).await;
        assert_bad(st, &v, field);
    }
    let many: Vec<String> = (0..101).map(|i| format!("r{i}")).collect();
    let body = json!({"username": "carl", "password": "carl-password", "roles": many});
    let (st, v) = call(&s, "POST", "/admin/users", Some(&body.to_string())).await;
    assert_bad(st, &v, "roles");
    let body =
        json!({"username": "carl", "password": "carl-password", "groups": ["x".repeat(201)]});
    let (st, v) = call(&s, "POST", "/admin/users", Some(&body.to_string())).await;
    assert_bad(st, &v, "groups[0]");
    let (_, v) = call(&s, "GET", "/admin/users/bob", None).await;
    assert_eq!(
        (&v["roles"], &v["groups"]),
        (&json!(["admin"]), &json!([])),
        "unchanged"
    );
}
