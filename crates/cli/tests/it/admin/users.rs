use super::*;

#[tokio::test]
async fn create_read_rename_and_delete() {
    let s = TestServer::start_admin("").await;
    let (st, v) = call(
        &s,
        "POST",
        "/admin/users",
        Some(r#"{"username": "bob", "password": "bob-password", "claims": {"email": "bob@example.com"}}"#),
    )
    .await;
    assert_eq!(st, 201, "{v}");
    let sub = v["sub"].as_str().unwrap().to_string();
    assert!(
        v.get("password").is_none() && v.get("password_hash").is_none(),
        "{v}"
    );
    assert!(!v.to_string().contains("argon2"));
    assert_eq!(v["active"], true);
    // Bob can sign in.
    let (st, t) = s
        .post_form(
            "/token",
            Some(baton_testkit::WEB),
            &[
                ("grant_type", "password"),
                ("username", "bob"),
                ("password", "bob-password"),
                ("scope", "openid"),
            ],
        )
        .await;
    assert_eq!(st, 200, "{t}");
    let (st, _) = call(
        &s,
        "POST",
        "/admin/users",
        Some(r#"{"username": "bob", "password": "x"}"#),
    )
    .await;
    assert_eq!(st, 409);
    // Rename keeps the sub; a new password replaces the old.
    let (st, v) = call(
        &s,
        "PATCH",
        "/admin/users/bob",
        Some(r#"{"username": "robert", "password": "new-password"}"#),
    )
    .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["sub"], sub.as_str());
    assert_eq!(v["username"], "robert");
    let (st, _) = call(&s, "GET", "/admin/users/bob", None).await;
    assert_eq!(st, 404);
    let (_, list) = call(&s, "GET", "/admin/users", None).await;
    let names: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["alice", "robert"]);
    let (st, _) = s
        .post_form(
            "/token",
            Some(baton_testkit::WEB),
            &[
                ("grant_type", "password"),
                ("username", "robert"),
                ("password", "new-password"),
                ("scope", "openid"),
            ],
        )
        .await;
    assert_eq!(st, 200);
    let (st, _) = call(&s, "DELETE", "/admin/users/robert", None).await;
    assert_eq!(st, 204);
    let (st, _) = call(&s, "DELETE", "/admin/users/robert", None).await;
    assert_eq!(st, 404);
    let evs = s.events("user.changed").await;
    let actions: Vec<&str> = evs
        .iter()
        .map(|e| e.details["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["deleted", "updated", "created"]);
    assert!(evs
        .iter()
        .all(|e| e.subject.as_deref() == Some(sub.as_str())));
    let all = format!("{evs:?}");
    assert!(!all.contains("new-password") && !all.contains("bob-password"));
}

#[tokio::test]
async fn disabling_a_user_fails_their_next_refresh() {
    let s = TestServer::start_admin("").await;
    let t = s.password_grant("openid offline_access").await;
    let rt = t["refresh_token"].as_str().unwrap();
    let (st, _) = s.refresh(rt).await;
    assert_eq!(st, 200);
    s.api_managed_user("alice").await;
    let (st, v) = call(
        &s,
        "PATCH",
        "/admin/users/alice",
        Some(r#"{"active": false}"#),
    )
    .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["active"], false);
    let (st, v) = s.refresh(rt).await;
    assert_eq!(st, 400, "{v}");
    assert_eq!(v["error"], "invalid_grant");
    // And enabling again lets the grant refresh (it was not revoked).
    call(
        &s,
        "PATCH",
        "/admin/users/alice",
        Some(r#"{"active": true}"#),
    )
    .await;
    let (st, _) = s.refresh(rt).await;
    assert_eq!(st, 200);
}

#[tokio::test]
async fn bad_user_bodies_and_unknown_users() {
    let s = TestServer::start_admin("").await;
    for (body, field) in [
        (
            r#"{"username": "c", "password": "p", "role": "admin"}"#,
            "role",
        ),
        (r#"{"username": "c"}"#, "password"),
        (r#"{"username": "c", "password": ""}"#, "password"),
        (r#"{"username": "", "password": "p"}"#, "username"),
        (
            r#"{"username": "c", "password": "p", "claims": {"sub": "me"}}"#,
            "claims.sub",
        ),
        (
            r#"{"username": "c", "password": "p", "active": "yes"}"#,
            "active",
        ),
        ("not json", "body"),
    ] {
        let (st, v) = call(&s, "POST", "/admin/users", Some(body)).await;
        assert_bad(st, &v, field);
    }
    let (st, v) = call(&s, "PATCH", "/admin/users/alice", Some(r#"{"sub": "x"}"#)).await;
    assert_bad(st, &v, "sub");
    for m in ["GET", "DELETE"] {
        let (st, _) = call(&s, m, "/admin/users/nobody", None).await;
        assert_eq!(st, 404);
    }
    let (st, _) = call(&s, "PATCH", "/admin/users/nobody", Some("{}")).await;
    assert_eq!(st, 404);
}

#[tokio::test]
async fn disabling_a_user_ends_their_browser_sessions() {
    let s = TestServer::start_admin("").await;
    let online = baton_testkit::flow::code_flow(&s, "web", "openid online_access").await;
    let offline = s.password_grant("openid offline_access").await;
    s.api_managed_user("alice").await;
    let (st, v) = call(
        &s,
        "PATCH",
        "/admin/users/alice",
        Some(r#"{"active": false}"#),
    )
    .await;
    assert_eq!(st, 200, "{v}");
    let ended = s.events("session.ended").await;
    assert_eq!(ended.len(), 1, "the session ended");
    assert_eq!(ended[0].details["reason"], "admin");
    // The online grant died with the session, for good; the offline one is only
    // refused while the user is disabled.
    call(
        &s,
        "PATCH",
        "/admin/users/alice",
        Some(r#"{"active": true}"#),
    )
    .await;
    let (st, v) = s.refresh(online["refresh_token"].as_str().unwrap()).await;
    assert_eq!(
        (st.as_u16(), v["error"].as_str()),
        (400, Some("invalid_grant")),
        "{v}"
    );
    let (st, v) = s.refresh(offline["refresh_token"].as_str().unwrap()).await;
    assert_eq!(st, 200, "{v}");
}

/// `admin` (the operator console): false unless given, set and withdrawn by PATCH,
/// recorded as a change of `admin`; `null` or a non-boolean is refused.
#[tokio::test]
async fn the_admin_attribute() {
    let s = TestServer::start_admin("").await;
    let (st, v) = call(
        &s,
        "POST",
        "/admin/users",
        Some(r#"{"username": "ops", "password": "ops-password", "admin": true}"#),
    )
    .await;
    assert_eq!(
        (st, v["admin"].clone()),
        (201, serde_json::json!(true)),
        "{v}"
    );
    let (_, v) = call(
        &s,
        "POST",
        "/admin/users",
        Some(r#"{"username": "dave", "password": "dave-password"}"#),
    )
    .await;
    assert_eq!(v["admin"], false, "{v}");
    let (st, v) = call(&s, "PATCH", "/admin/users/ops", Some(r#"{"admin": false}"#)).await;
    assert_eq!(
        (st, v["admin"].clone()),
        (200, serde_json::json!(false)),
        "{v}"
    );
    assert_eq!(
        call(&s, "GET", "/admin/users/ops", None).await.1["admin"],
        false
    );
    let ev = s.events("user.changed").await;
    assert_eq!(ev[0].details["changed"], serde_json::json!(["admin"]));
    assert_eq!(ev[2].details["admin"], true, "the creation says so");
    for bad in [r#"{"admin": null}"#, r#"{"admin": "yes"}"#] {
        let (st, v) = call(&s, "PATCH", "/admin/users/ops", Some(bad)).await;
        assert_bad(st, &v, "admin");
    }
    assert_eq!(s.events("user.changed").await.len(), 3);
}
