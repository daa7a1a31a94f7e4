use super::*;

#[tokio::test]
async fn grants_list_filter_page_and_never_show_tokens() {
    let s = TestServer::start_admin("").await;
    let a = s.password_grant("openid offline_access").await;
    let b = s.password_grant("openid offline_access").await;
    s.password_grant_public("openid offline_access").await;
    let (st, v) = call(&s, "GET", "/admin/grants?client_id=web", None).await;
    assert_eq!(st, 200, "{v}");
    let items = v["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    for g in items {
        assert_eq!(g["client_id"], "web");
        assert_eq!(g["status"], "active");
        assert_eq!(g["generation"], 1);
        assert!(g["grant_id"].as_str().unwrap().len() == 32);
    }
    let text = v.to_string();
    for t in [&a, &b] {
        assert!(!text.contains(t["refresh_token"].as_str().unwrap()));
        assert!(!text.contains(t["access_token"].as_str().unwrap()));
    }
    let sub = items[0]["subject"].as_str().unwrap().to_string();
    let (_, all) = call(&s, "GET", &format!("/admin/grants?subject={sub}"), None).await;
    assert_eq!(all["items"].as_array().unwrap().len(), 3);
    // Paging: one at a time, newest first, following next_cursor.
    let mut seen = Vec::new();
    let mut path = "/admin/grants?limit=1".to_string();
    loop {
        let (st, page) = call(&s, "GET", &path, None).await;
        assert_eq!(st, 200, "{page}");
        for g in page["items"].as_array().unwrap() {
            seen.push(g["grant_id"].as_str().unwrap().to_string());
        }
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/admin/grants?limit=1&cursor={c}"),
            None => break,
        }
    }
    let newest_first: Vec<String> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["grant_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(seen, newest_first);
    for (q, field) in [
        ("limit=0", "limit"),
        ("limit=5000", "limit"),
        ("cursor=zz", "cursor"),
        ("colour=red", "query"),
        ("limit=many", "query"),
    ] {
        let (st, v) = call(&s, "GET", &format!("/admin/grants?{q}"), None).await;
        assert_bad(st, &v, field);
    }
}

#[tokio::test]
async fn revocations_count_what_they_revoke() {
    let s = TestServer::start_admin("").await;
    let a = s.password_grant("openid offline_access").await;
    s.password_grant("openid offline_access").await;
    s.password_grant_public("openid offline_access").await;
    let (_, v) = call(&s, "GET", "/admin/grants?client_id=spa", None).await;
    let spa_grant = v["items"][0]["grant_id"].as_str().unwrap().to_string();
    let sub = v["items"][0]["subject"].as_str().unwrap().to_string();

    let (st, v) = call(
        &s,
        "POST",
        "/admin/revocations",
        Some(&format!(r#"{{"grant_id": "{spa_grant}"}}"#)),
    )
    .await;
    assert_eq!((st, v), (200, serde_json::json!({"revoked": 1})));
    let (st, v) = call(
        &s,
        "POST",
        "/admin/revocations",
        Some(&format!(r#"{{"client_id": "web", "subject": "{sub}"}}"#)),
    )
    .await;
    assert_eq!((st, v), (200, serde_json::json!({"revoked": 2})));
    // Already revoked: nothing more.
    let (_, v) = call(
        &s,
        "POST",
        "/admin/revocations",
        Some(&format!(r#"{{"subject": "{sub}"}}"#)),
    )
    .await;
    assert_eq!(v, serde_json::json!({"revoked": 0}));
    let (st, _) = s.refresh(a["refresh_token"].as_str().unwrap()).await;
    assert_eq!(st, 400);
    let (_, v) = call(&s, "GET", "/admin/grants", None).await;
    for g in v["items"].as_array().unwrap() {
        assert_eq!(g["status"], "revoked");
        assert_eq!(g["revoked_reason"], "admin");
    }
    let evs = s.events("grant.revoked").await;
    assert_eq!(evs.len(), 3);
    assert!(evs.iter().all(|e| e.details["reason"] == "admin"));
    for (body, field) in [
        ("{}", "client_id"),
        (r#"{"grant_id": "nothex"}"#, "grant_id"),
        (
            r#"{"grant_id": "00000000000000000000000000000000", "client_id": "web"}"#,
            "grant_id",
        ),
        (r#"{"everyone": true}"#, "everyone"),
        ("{", "body"),
    ] {
        let (st, v) = call(&s, "POST", "/admin/revocations", Some(body)).await;
        assert_bad(st, &v, field);
    }
}

#[tokio::test]
async fn events_filter_and_page_newest_first() {
    let s = TestServer::start_admin("").await;
    for _ in 0..3 {
        s.password_grant("openid offline_access").await;
    }
    s.password_grant_public("openid offline_access").await;
    let (st, v) = call(
        &s,
        "GET",
        "/admin/events?type=grant.created&client_id=web",
        None,
    )
    .await;
    assert_eq!(st, 200, "{v}");
    let items = v["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert!(items
        .iter()
        .all(|e| e["type"] == "grant.created" && e["client_id"] == "web"));
    let times: Vec<&str> = items.iter().map(|e| e["id"].as_str().unwrap()).collect();
    let mut sorted = times.clone();
    sorted.sort();
    sorted.reverse();
    assert_eq!(times, sorted, "newest first");
    let sub = items[0]["subject"].as_str().unwrap();
    // Pages of two.
    let (_, p1) = call(
        &s,
        "GET",
        &format!("/admin/events?type=grant.created&subject={sub}&limit=2"),
        None,
    )
    .await;
    assert_eq!(p1["items"].as_array().unwrap().len(), 2);
    let c = p1["next_cursor"].as_str().unwrap();
    let (_, p2) = call(
        &s,
        "GET",
        &format!("/admin/events?type=grant.created&subject={sub}&limit=2&cursor={c}"),
        None,
    )
    .await;
    assert_eq!(p2["items"].as_array().unwrap().len(), 2);
    assert!(p2["next_cursor"].is_null());
    assert_ne!(p1["items"][1]["id"], p2["items"][0]["id"]);
    // since: nothing after an hour from now.
    let later = (s.clock.now().plus(baton_core::time::Dur::secs(3600))).rfc3339();
    let (_, v) = call(&s, "GET", &format!("/admin/events?since={later}"), None).await;
    assert_eq!(v["items"], serde_json::json!([]));
    for (q, field) in [
        ("since=yesterday", "since"),
        ("limit=0", "limit"),
        ("cursor=abc", "cursor"),
        ("kind=x", "query"),
    ] {
        let (st, v) = call(&s, "GET", &format!("/admin/events?{q}"), None).await;
        assert_bad(st, &v, field);
    }
}

const EPHEMERAL: &str = r#"
[[clients]]
client_id = "eph"
client_secret = "eph-secret-0123456789abcdef0123456789ab"
grant_types = ["password", "refresh_token"]
scopes = ["openid", "offline_access"]
[clients.refresh_tokens]
persist = false
"#;

/// Grants kept only in the cache (`persist = false`) are listed after the main store's,
/// and revoked like the others.
#[tokio::test]
async fn cached_grants_are_listed_and_revoked_too() {
    let s = TestServer::start_admin(EPHEMERAL).await;
    s.password_grant("openid offline_access").await;
    s.password_grant("openid offline_access").await;
    for _ in 0..2 {
        let (st, v) = s
            .post_form(
                "/token",
                Some(("eph", "eph-secret-0123456789abcdef0123456789ab")),
                &[
                    ("grant_type", "password"),
                    ("username", "alice"),
                    ("password", "alice-password"),
                    ("scope", "openid offline_access"),
                ],
            )
            .await;
        assert_eq!(st, 200, "{v}");
    }
    for limit in [1, 2, 3, 100] {
        let mut clients = Vec::new();
        let mut path = format!("/admin/grants?limit={limit}");
        loop {
            let (st, page) = call(&s, "GET", &path, None).await;
            assert_eq!(st, 200, "{page}");
            assert!(page["items"].as_array().unwrap().len() <= limit);
            for g in page["items"].as_array().unwrap() {
                clients.push(g["client_id"].as_str().unwrap().to_string());
            }
            match page["next_cursor"].as_str() {
                Some(c) => path = format!("/admin/grants?limit={limit}&cursor={c}"),
                None => break,
            }
        }
        assert_eq!(clients, ["web", "web", "eph", "eph"], "limit {limit}");
    }
    let (_, v) = call(&s, "GET", "/admin/grants?client_id=eph", None).await;
    assert_eq!(v["items"].as_array().unwrap().len(), 2);
    let sub = v["items"][0]["subject"].as_str().unwrap().to_string();
    let (_, v) = call(
        &s,
        "POST",
        "/admin/revocations",
        Some(&format!(r#"{{"subject": "{sub}"}}"#)),
    )
    .await;
    assert_eq!(v, serde_json::json!({"revoked": 4}));
}
