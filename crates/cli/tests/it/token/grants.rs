//! The token endpoint's other grants and its response headers.

use crate::support::{assert_oauth_error, snapshot};
use baton_testkit::flow::jwt_claims;
use baton_testkit::{TestServer, ALICE, WEB};

#[tokio::test]
async fn client_credentials_never_returns_a_refresh_token() {
    let s = TestServer::start("").await;
    let before = snapshot(&s).await;
    for scope in [None, Some("api")] {
        let mut form = vec![("grant_type", "client_credentials")];
        if let Some(sc) = scope {
            form.push(("scope", sc));
        }
        let (st, t) = s.post_form("/token", Some(WEB), &form).await;
        assert_eq!(st, 200, "{t}");
        assert!(t.get("refresh_token").is_none(), "{t}");
        assert!(t.get("id_token").is_none(), "{t}");
        let at = jwt_claims(t["access_token"].as_str().unwrap());
        assert_eq!(at["sub"], "web");
        assert_eq!(at["client_id"], "web");
    }
    for scope in ["offline_access", "openid", "api offline_access"] {
        let (st, t) = s
            .post_form(
                "/token",
                Some(WEB),
                &[("grant_type", "client_credentials"), ("scope", scope)],
            )
            .await;
        assert_oauth_error((st, &t), 400, "invalid_scope");
    }
    let (st, t) = s
        .post_form(
            "/token",
            None,
            &[("grant_type", "client_credentials"), ("client_id", "spa")],
        )
        .await;
    assert_oauth_error((st, &t), 400, "unauthorized_client");
    assert_eq!(snapshot(&s).await.1, before.1, "no grant is ever created");
}

#[tokio::test]
async fn password_grant_issues_tokens_and_hides_which_part_was_wrong() {
    let s = TestServer::start("").await;
    let t = s.password_grant("openid email offline_access").await;
    assert!(
        t["refresh_token"].is_string() && t["id_token"].is_string(),
        "{t}"
    );
    assert_eq!(
        jwt_claims(t["id_token"].as_str().unwrap())["email"],
        "alice@example.com"
    );

    let mut descriptions = Vec::new();
    for (user, pw) in [(ALICE.0, "wrong-password"), ("nobody", ALICE.1)] {
        let (st, r) = s
            .post_form(
                "/token",
                Some(WEB),
                &[
                    ("grant_type", "password"),
                    ("username", user),
                    ("password", pw),
                ],
            )
            .await;
        assert_oauth_error((st, &r), 400, "invalid_grant");
        descriptions.push(r["error_description"].clone());
    }
    assert_eq!(descriptions[0], descriptions[1]);
    assert_eq!(s.events("login.failed").await.len(), 2);
    assert_eq!(s.events("grant.created").await.len(), 1);
}

#[tokio::test]
async fn token_responses_are_never_cached() {
    let s = TestServer::start("").await;
    let ok = s
        .http
        .post(format!("{}/token", s.url))
        .basic_auth(WEB.0, Some(WEB.1))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    let err = s
        .http
        .post(format!("{}/token", s.url))
        .basic_auth(WEB.0, Some("wrong"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    for (r, status) in [(ok, 200), (err, 401)] {
        assert_eq!(r.status(), status);
        assert_eq!(r.headers()["cache-control"], "no-store");
        assert!(r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json"));
    }
}

#[tokio::test]
async fn unknown_or_missing_grant_type() {
    let s = TestServer::start("").await;
    for g in [
        "implicit",
        "urn:ietf:params:oauth:grant-type:device_code",
        "Password",
    ] {
        let (st, r) = s.post_form("/token", Some(WEB), &[("grant_type", g)]).await;
        assert_oauth_error((st, &r), 400, "unsupported_grant_type");
    }
    let (st, r) = s.post_form("/token", Some(WEB), &[("scope", "api")]).await;
    assert_oauth_error((st, &r), 400, "invalid_request");
}

#[tokio::test]
async fn other_methods_at_post_only_endpoints_answer_a_json_405() {
    let s = TestServer::start("[registration]\nenabled = true\n").await;
    for (method, path) in [
        (reqwest::Method::GET, "/token"),
        (reqwest::Method::PUT, "/token"),
        (reqwest::Method::GET, "/revoke"),
        (reqwest::Method::GET, "/introspect"),
        (reqwest::Method::DELETE, "/register"),
    ] {
        let r = s
            .http
            .request(method.clone(), format!("{}{path}", s.url))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 405, "{method} {path}");
        assert_eq!(r.headers()["allow"], "POST", "{method} {path}");
        assert_eq!(r.headers()["cache-control"], "no-store");
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["error"], "invalid_request", "{method} {path}: {body}");
        assert!(body["error_description"].as_str().unwrap().contains("POST"));
    }
}
