use super::*;

/// The admin API's routes (with the document itself).
const SPEC_ROUTES: &[(&str, &str)] = &[
    ("get", "/admin/clients"),
    ("post", "/admin/clients"),
    ("get", "/admin/clients/{client_id}"),
    ("patch", "/admin/clients/{client_id}"),
    ("delete", "/admin/clients/{client_id}"),
    ("post", "/admin/clients/{client_id}/secret"),
    ("get", "/admin/users"),
    ("post", "/admin/users"),
    ("get", "/admin/users/{username}"),
    ("patch", "/admin/users/{username}"),
    ("delete", "/admin/users/{username}"),
    ("get", "/admin/resources"),
    ("post", "/admin/resources"),
    ("get", "/admin/resources/{identifier}"),
    ("patch", "/admin/resources/{identifier}"),
    ("delete", "/admin/resources/{identifier}"),
    ("get", "/admin/grants"),
    ("post", "/admin/revocations"),
    ("get", "/admin/events"),
    ("get", "/admin/settings"),
    ("patch", "/admin/settings"),
    ("post", "/admin/keys/rotate"),
    ("get", "/admin/openapi.json"),
];

fn documented(doc: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for m in item.as_object().unwrap().keys() {
            if ["get", "post", "patch", "delete", "put"].contains(&m.as_str()) {
                out.push((m.clone(), path.clone()));
            }
        }
    }
    out
}

#[tokio::test]
async fn every_route_is_documented_served_and_guarded() {
    let s = TestServer::start_admin("").await;
    let (st, doc) = call(&s, "GET", "/admin/openapi.json", None).await;
    assert_eq!(st, 200, "{doc}");
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let routes = documented(&doc);
    for (m, p) in SPEC_ROUTES {
        assert!(
            routes.iter().any(|(dm, dp)| dm == m && dp == p),
            "{m} {p} missing from the OpenAPI document"
        );
    }
    // The router is built from the same annotations; every documented route is served
    // and refuses a call without the token, or with a wrong one.
    for (m, p) in &routes {
        let path = p
            .replace("{client_id}", "web")
            .replace("{username}", "alice")
            .replace("{identifier}", "https%3A%2F%2Fapi.example.com%2Finvoices");
        let body = (m != "get" && m != "delete").then_some("{}");
        for token in [None, Some("wrong-token-0123456789")] {
            let (st, v) = call_as(&s, token, &m.to_uppercase(), &path, body).await;
            assert_eq!(st, 401, "{m} {path}: {v}");
            assert_eq!(v["error"], "invalid_token", "{m} {path}");
        }
    }
    assert_eq!(routes.len(), SPEC_ROUTES.len(), "{routes:?}");
    // Only the exact token, as a bearer token (the scheme in any case), opens the API.
    let prefix = &ADMIN_TOKEN[..ADMIN_TOKEN.len() - 1];
    for (header, want) in [
        (format!("Bearer {prefix}"), 401),
        (format!("Bearer {ADMIN_TOKEN}x"), 401),
        (format!("Basic {ADMIN_TOKEN}"), 401),
        (ADMIN_TOKEN.to_string(), 401),
        (format!("bearer {ADMIN_TOKEN}"), 200),
    ] {
        let r = s
            .http
            .get(format!("{}/admin/clients", s.url))
            .header("authorization", &header)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), want, "{header}");
    }
    // And the function the CLI uses gives the same document.
    let direct = serde_json::to_value(baton_server::admin::openapi()).unwrap();
    assert_eq!(documented(&direct).len(), routes.len());
}

#[tokio::test]
async fn without_an_admin_token_the_admin_api_does_not_exist() {
    let s = TestServer::start("").await;
    for (m, p) in [("GET", "/admin/clients"), ("GET", "/admin/openapi.json")] {
        let (st, _) = call(&s, m, p, None).await;
        assert_eq!(st, 404, "{m} {p}");
    }
}
