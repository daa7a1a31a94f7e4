//! Who may see the console: signed out -> `/login` and back; signed in without
//! `admin` -> 403 (pages and forms); no admin at all -> a page saying how to make one;
//! a form without its CSRF token, or with another browser's, is refused and changes
//! nothing.

use super::*;
use baton_testkit::ALICE;

#[tokio::test]
async fn signed_out_goes_to_login_and_comes_back_to_the_page() {
    let s = server("").await;
    let b = Browser::fresh(&s);
    for path in [
        "/console",
        "/console/clients",
        "/console/keys",
        "/console/clients/web",
    ] {
        let r = b.get(path).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{path}");
        assert!(location(&r).unwrap().starts_with("/login?req="), "{path}");
    }
    let login = location(&b.get("/console/clients?q=we").await).unwrap();
    let form = page(&b, &login).await;
    assert!(form.contains("the operator console"), "{form}");
    // A form posted signed out does nothing and leads to sign-in, then the dashboard.
    let keys_before = s.state().store.list_keys().await.unwrap().len();
    let r = post_raw(&b, "/console/keys/rotate", &[]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let to = location(&r).unwrap();
    let r = b.login(&to, ROOT.0, ROOT.1).await;
    assert_eq!(location(&r).as_deref(), Some("/console"));
    assert_eq!(
        s.state().store.list_keys().await.unwrap().len(),
        keys_before
    );
    let b = signed_in(&s, ROOT, "/console/clients?q=we").await;
    let list = page(&b, "/console/clients?q=we").await;
    assert!(list.contains(">web</a>"), "{list}");
    assert!(!list.contains(">spa</a>"), "the search applies: {list}");
    // The dashboard and the keys page render for the admin.
    assert!(page(&b, "/console").await.contains("refreshes per minute"));
    assert!(page(&b, "/console/keys")
        .await
        .contains("Rotate signing keys"));
}

#[tokio::test]
async fn a_user_without_admin_is_refused() {
    let s = server("").await;
    let b = signed_in(&s, ALICE, "/console").await;
    for path in [
        "/console",
        "/console/clients",
        "/console/clients/new",
        "/console/keys",
    ] {
        let r = b.get(path).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{path}");
        let body = r.text().await.unwrap();
        assert!(body.contains("Not an administrator"), "{body}");
        assert!(body.contains("alice"), "{body}");
    }
    // Forms too, whatever they carry: nothing is created, nothing rotated.
    let keys_before = s.state().store.list_keys().await.unwrap().len();
    let r = post_raw(
        &b,
        "/console/clients/new",
        &[("client_id", "x"), ("token_endpoint_auth_method", "none")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = post_raw(&b, "/console/keys/rotate", &[]).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(api_client(&s, "x").await.0, 404);
    assert_eq!(
        s.state().store.list_keys().await.unwrap().len(),
        keys_before
    );
}

#[tokio::test]
async fn withdrawing_admin_closes_the_console_at_the_next_page() {
    let s = server("").await;
    let b = signed_in(&s, ROOT, "/console").await;
    s.api_managed_user("root").await;
    let (st, v) = call(
        &s,
        "PATCH",
        "/admin/users/root",
        Some(r#"{"admin": false}"#),
    )
    .await;
    assert_eq!((st, v["admin"].clone()), (200, Value::Bool(false)), "{v}");
    // No admin is left at all: the console says how to make one.
    let r = b.get("/console").await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(r.text().await.unwrap().contains("not enabled"));
    let ev = s.events("user.changed").await;
    assert_eq!(
        ev[0].details["changed"],
        serde_json::json!(["admin"]),
        "{:?}",
        ev[0].details
    );
}

#[tokio::test]
async fn without_any_admin_the_console_says_how_to_make_one() {
    let s = TestServer::start_admin("").await;
    let r = Browser::fresh(&s).get("/console").await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let body = r.text().await.unwrap();
    for want in ["not enabled", "admin = true", "--admin", "\"admin\": true"] {
        assert!(body.contains(want), "{want}: {body}");
    }
    // A signed-in user sees the same page, not a 403.
    let b = Browser::fresh(&s);
    let login = location(&b.get("/account").await).unwrap();
    b.login(&login, ALICE.0, ALICE.1).await;
    assert_eq!(b.get("/console").await.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn forms_without_the_right_csrf_token_change_nothing() {
    let s = server("").await;
    let b = signed_in(&s, ROOT, "/console").await;
    let other = signed_in(&s, ROOT, "/console").await;
    let foreign = csrf(&other, "/console/clients/new").await;
    let mine = csrf(&b, "/console/clients/new").await;
    assert_ne!(mine, foreign, "bound to the browser and its session");
    let keys_before = s.state().store.list_keys().await.unwrap().len();
    let settings_before = call(&s, "GET", "/admin/settings", None).await.1;
    let create = [
        ("client_id", "csrf-app"),
        ("token_endpoint_auth_method", "none"),
        ("redirect_uris", "http://127.0.0.1:9/cb"),
        ("gt_authorization_code", "on"),
    ];
    for token in [None, Some(""), Some("junk"), Some(foreign.as_str())] {
        let with = |f: &[(&'static str, &'static str)]| {
            let mut v: Vec<(&str, &str)> = f.to_vec();
            if let Some(t) = token {
                v.push(("csrf", t));
            }
            v
        };
        let posts = [
            ("/console/clients/new", with(&create)),
            (
                "/console/clients/spa",
                with(&[("token_endpoint_auth_method", "none")]),
            ),
            (
                "/console/clients/spa/refresh",
                with(&[("rt_usage", "reuse")]),
            ),
            ("/console/clients/web/secret", with(&[])),
            ("/console/clients/spa/delete", with(&[])),
            ("/console/keys/rotate", with(&[])),
            ("/console/settings", with(&[("rt_grace_period", "5")])),
        ];
        for (path, fields) in posts {
            let r = post_raw(&b, path, &fields).await;
            assert_eq!(r.status(), StatusCode::FORBIDDEN, "{path} with {token:?}");
            assert!(r.text().await.unwrap().contains("CSRF"), "{path}");
        }
    }
    assert_eq!(api_client(&s, "csrf-app").await.0, 404);
    let (st, spa) = api_client(&s, "spa").await;
    assert_eq!(st, 200);
    assert_eq!(spa["refresh_tokens"], serde_json::json!({}), "{spa}");
    assert_eq!(
        s.state().store.list_keys().await.unwrap().len(),
        keys_before
    );
    assert_eq!(
        call(&s, "GET", "/admin/settings", None).await.1,
        settings_before
    );
    assert!(s.events("client.changed").await.is_empty());
    assert!(s.events("keys.rotated").await.is_empty());
    assert!(s.events("settings.changed").await.is_empty());
    // A form not posted as a form is refused too.
    let r = b
        .http
        .post(b.url("/console/keys/rotate"))
        .header("content-type", "application/json")
        .body(format!(r#"{{"csrf":"{mine}"}}"#))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
}
