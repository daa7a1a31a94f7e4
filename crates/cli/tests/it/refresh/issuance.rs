//! When a refresh token is issued, and when not (and then no grant exists).

use super::*;

/// Whether a password grant for alice as `cl` with `scope` answers a refresh token;
/// checks a grant was created exactly when it did.
async fn issues(s: &TestServer, cl: Cl, scope: &str) -> bool {
    let before = s.events("grant.created").await.len();
    let v = login_as(s, cl, "alice", scope).await;
    let created = s.events("grant.created").await.len() - before;
    let has = v.get("refresh_token").is_some_and(|t| !t.is_null());
    assert_eq!(created, usize::from(has), "{} {scope}: {v}", cl.id);
    if has {
        // What was issued works.
        refresh_ok(s, cl, &rt(&v)).await;
    }
    has
}

#[tokio::test]
async fn offline_access_or_online_access_is_required_by_default() {
    let s = TestServer::start("").await;
    for cl in [WEB_C, SPA_C] {
        assert!(!issues(&s, cl, "openid").await);
        assert!(!issues(&s, cl, "openid profile email").await);
        assert!(issues(&s, cl, "openid offline_access").await);
        assert!(issues(&s, cl, "offline_access").await);
    }
}

#[tokio::test]
async fn online_access_needs_a_browser_session() {
    // The password grant has no session to bind an online_access grant to: refused,
    // and nothing is created. (Through the code flow it is issued: see sessions.rs.)
    let s = TestServer::start("").await;
    let (st, v) = s
        .post_form(
            "/token",
            Some(baton_testkit::WEB),
            &[
                ("grant_type", "password"),
                ("username", "alice"),
                ("password", "alice-password"),
                ("scope", "openid online_access"),
            ],
        )
        .await;
    assert_eq!(
        (st.as_u16(), v["error"].as_str()),
        (400, Some("invalid_scope")),
        "{v}"
    );
    assert!(s.events("grant.created").await.is_empty());
    let t = baton_testkit::flow::code_flow(&s, "web", "openid online_access").await;
    assert!(t["refresh_token"].is_string(), "{t}");
}

#[tokio::test]
async fn require_offline_access_false_issues_without_it() {
    let s = TestServer::start("[refresh_tokens]\nrequire_offline_access = false").await;
    assert!(issues(&s, WEB_C, "openid").await);
    assert!(issues(&s, SPA_C, "openid email").await);
}

#[tokio::test]
async fn public_clients_get_none_when_not_allowed() {
    let extra = format!(
        "[refresh_tokens]\nallow_public_clients = false\n{}",
        public_toml("allowed", "allow_public_clients = true")
    );
    let s = TestServer::start(&extra).await;
    assert!(!issues(&s, SPA_C, "openid offline_access").await);
    assert!(issues(&s, WEB_C, "openid offline_access").await);
    // A per-client override allows it again for that client.
    assert!(issues(&s, public("allowed"), "openid offline_access").await);
}

#[tokio::test]
async fn a_client_without_the_refresh_token_grant_type_gets_none() {
    let extra = "
[[clients]]
client_id = \"norefresh\"
client_secret = \"refresh-suite-secret-0123456789abcdef\"
grant_types = [\"password\"]
scopes = [\"openid\", \"offline_access\"]
[clients.refresh_tokens]
require_offline_access = false
";
    let s = TestServer::start(extra).await;
    assert!(!issues(&s, conf("norefresh"), "openid offline_access").await);
    assert!(!issues(&s, conf("norefresh"), "openid").await);
}

#[tokio::test]
async fn client_credentials_never_gets_a_refresh_token() {
    let s = TestServer::start("[refresh_tokens]\nrequire_offline_access = false").await;
    let form = [("grant_type", "client_credentials"), ("scope", "api")];
    let (st, v) = token_req(&s, WEB_C, &form, None).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert!(v.get("refresh_token").is_none_or(Value::is_null), "{v}");
    let form = [
        ("grant_type", "client_credentials"),
        ("scope", "api offline_access"),
    ];
    let (st, v) = token_req(&s, WEB_C, &form, None).await;
    assert!(v.get("refresh_token").is_none_or(Value::is_null), "{v}");
    assert_eq!(
        (st, &v["error"]),
        (StatusCode::BAD_REQUEST, &"invalid_scope".into())
    );
    assert!(s.events("grant.created").await.is_empty());
}

#[tokio::test]
async fn a_refresh_of_a_narrowed_scope_still_carries_the_refresh_token() {
    // The grant holds offline_access; a refresh narrowed to `openid` keeps the chain.
    let s = TestServer::start("").await;
    let t1 = login(&s, SPA_C).await;
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", t1.as_str()),
        ("scope", "openid"),
    ];
    let (st, v) = token_req(&s, SPA_C, &form, None).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let t2 = rt(&v);
    assert_eq!(grant(&s, &t2).await.generation, 2);
    refresh_ok(&s, SPA_C, &t2).await;
}
