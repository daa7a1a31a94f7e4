//! `/console/clients`: create (rotation, grace), the secret shown once, edit, the
//! refresh-token overrides and clearing them, delete, and configured clients shown
//! read-only (409). Checked through the admin API and the token endpoint.

use super::*;
use baton_testkit::WEB;

/// A client_credentials token request with this secret: its status.
async fn client_credentials(s: &TestServer, id: &str, secret: &str) -> StatusCode {
    s.http
        .post(format!("{}/token", s.url))
        .basic_auth(id, Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .status()
}

const NEW_APP: [(&str, &str); 9] = [
    ("client_id", "billing"),
    ("client_name", "Billing <App>"),
    ("token_endpoint_auth_method", "client_secret_basic"),
    (
        "redirect_uris",
        "https://billing.example/cb\r\nhttps://billing.example/cb2",
    ),
    ("scopes", "openid offline_access"),
    ("gt_authorization_code", "on"),
    ("gt_refresh_token", "on"),
    ("gt_client_credentials", "on"),
    ("active", "on"),
];

/// Creates `billing` with rotation on every use and a 15 s grace period; answers the
/// secret page.
async fn create_billing(b: &Browser<'_>) -> String {
    let mut f = NEW_APP.to_vec();
    f.extend([
        ("rt_usage", "one_time"),
        ("rt_grace_period", "15"),
        ("rt_reuse_reaction", ""),
    ]);
    let r = post(b, "/console/clients/new", "/console/clients/new", &f).await;
    assert_eq!(r.status(), StatusCode::OK);
    r.text().await.unwrap()
}

#[tokio::test]
async fn creating_a_client_with_rotation_and_15s_grace_stores_those_settings() {
    let s = server("").await;
    let b = signed_in(&s, ROOT, "/console/clients/new").await;
    let shown = create_billing(&b).await;
    let secret = shown_secret(&shown);
    assert_eq!(secret.len(), 43, "256 bits, base64url: {shown}");
    assert!(shown.contains("only this once"), "{shown}");
    let (st, c) = api_client(&s, "billing").await;
    assert_eq!(st, 200, "{c}");
    assert_eq!(
        c["refresh_tokens"],
        serde_json::json!({"usage": "one_time", "grace_period": "15s"})
    );
    assert_eq!(c["client_name"], "Billing <App>");
    assert_eq!(
        c["redirect_uris"],
        serde_json::json!(["https://billing.example/cb", "https://billing.example/cb2"])
    );
    assert_eq!(
        c["grant_types"],
        serde_json::json!(["authorization_code", "refresh_token", "client_credentials"])
    );
    assert_eq!(c["managed_by"], "api");
    // The secret shown is the client's.
    assert_eq!(
        client_credentials(&s, "billing", &secret).await,
        StatusCode::OK
    );
    // The event is the admin API's, with the administrator as its actor, and no secret.
    let ev = s.events("client.changed").await;
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].details["action"], "created");
    assert_eq!(ev[0].details["actor"]["via"], "console");
    assert_eq!(ev[0].details["actor"]["username"], "root");
    let root = s.state().store.get_user("root").await.unwrap().unwrap();
    assert_eq!(ev[0].details["actor"]["sub"], root.sub.as_str());
    assert!(!format!("{:?}", ev[0]).contains(&secret));
    // The list shows it, escaped, with its rotation and grace period.
    let list = page(&b, "/console/clients?q=BILL").await;
    assert!(list.contains("Billing &lt;App&gt;"), "{list}");
    assert!(list.contains("<td>rotate</td><td>15s</td>"), "{list}");
    // The edit page shows the overrides beside the server-wide values, never the secret.
    let edit = page(&b, "/console/clients/billing").await;
    assert!(
        edit.contains("<option value=\"one_time\" selected>"),
        "{edit}"
    );
    assert!(edit.contains("value=\"15\""), "{edit}");
    assert!(edit.contains("Server-wide: 30s"), "{edit}");
    assert!(!edit.contains(&secret));
}

#[tokio::test]
async fn a_refused_create_shows_the_form_again_and_creates_nothing() {
    let s = server("").await;
    let b = signed_in(&s, ROOT, "/console/clients/new").await;
    let mut f = NEW_APP.to_vec();
    f.push(("rt_grace_period", "61"));
    let r = post(&b, "/console/clients/new", "/console/clients/new", &f).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let body = r.text().await.unwrap();
    assert!(body.contains("refresh_tokens.grace_period"), "{body}");
    assert!(
        body.contains("value=\"billing\""),
        "the form keeps what was typed: {body}"
    );
    assert_eq!(api_client(&s, "billing").await.0, 404);
    // A taken id is a conflict.
    let mut f = NEW_APP.to_vec();
    f[0] = ("client_id", "web");
    let r = post(&b, "/console/clients/new", "/console/clients/new", &f).await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    // An unknown field is refused.
    let r = post(
        &b,
        "/console/clients/new",
        "/console/clients/new",
        &[("client_id", "x"), ("nope", "1")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(s.events("client.changed").await.is_empty());
}

#[tokio::test]
async fn a_reset_secret_is_shown_once_and_replaces_the_old_one() {
    let s = server("").await;
    let b = signed_in(&s, ROOT, "/console/clients/new").await;
    let first = shown_secret(&create_billing(&b).await);
    let r = post(
        &b,
        "/console/clients/billing",
        "/console/clients/billing/secret",
        &[],
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let body = r.text().await.unwrap();
    let second = shown_secret(&body);
    assert_ne!(first, second);
    assert_eq!(
        client_credentials(&s, "billing", &first).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        client_credentials(&s, "billing", &second).await,
        StatusCode::OK
    );
    // Never shown again.
    for path in ["/console/clients/billing", "/console/clients?q=billing"] {
        assert!(!page(&b, path).await.contains(&second), "{path}");
    }
    let ev = s.events("client.changed").await;
    assert_eq!(ev[0].details["action"], "secret_reset");
    assert_eq!(ev[0].details["actor"]["username"], "root");
    assert!(!format!("{:?}", ev[0]).contains(&second));
    // A public client has no secret to reset.
    let r = post(
        &b,
        "/console/clients/new",
        "/console/clients/new",
        &[
            ("client_id", "pub"),
            ("token_endpoint_auth_method", "none"),
            ("redirect_uris", "http://127.0.0.1:9/cb"),
            ("gt_authorization_code", "on"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&r).as_deref(),
        Some("/console/clients/pub?saved=created")
    );
    let r = post(
        &b,
        "/console/clients/pub",
        "/console/clients/pub/secret",
        &[],
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn editing_and_clearing_overrides_back_to_inherited() {
    let s = server("").await;
    let b = signed_in(&s, ROOT, "/console/clients/new").await;
    create_billing(&b).await;
    let r = post(
        &b,
        "/console/clients/billing",
        "/console/clients/billing/refresh",
        &[
            ("rt_usage", "reuse"),
            ("rt_grace_period", ""),
            ("rt_reuse_reaction", "revoke_session"),
            ("rt_absolute_lifetime", "90d"),
            ("rt_persist", "true"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let c = api_client(&s, "billing").await.1;
    assert_eq!(
        c["refresh_tokens"],
        serde_json::json!({"usage": "reuse", "reuse_reaction": "revoke_session", "absolute_lifetime": "90d", "persist": true}),
        "the empty grace period is inherited again"
    );
    // Every control on inherit: no override left.
    let r = post(
        &b,
        "/console/clients/billing",
        "/console/clients/billing/refresh",
        &[("rt_usage", ""), ("rt_persist", "")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        api_client(&s, "billing").await.1["refresh_tokens"],
        serde_json::json!({})
    );
    // The main settings form: a rename and a new redirect URI; other keys stay.
    let r = post(
        &b,
        "/console/clients/billing",
        "/console/clients/billing",
        &[
            ("client_name", "Billing"),
            ("token_endpoint_auth_method", "client_secret_basic"),
            ("redirect_uris", "https://billing.example/new"),
            ("scopes", "openid"),
            ("gt_authorization_code", "on"),
            ("active", "on"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let c = api_client(&s, "billing").await.1;
    assert_eq!(
        (c["client_name"].as_str(), c["redirect_uris"].clone()),
        (
            Some("Billing"),
            serde_json::json!(["https://billing.example/new"])
        )
    );
    let kinds: Vec<String> = s
        .events("client.changed")
        .await
        .iter()
        .map(|e| e.details["action"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(kinds, ["updated", "updated", "updated", "created"]);
    // Bad input: the edit page again with the message, nothing changed.
    let r = post(
        &b,
        "/console/clients/billing",
        "/console/clients/billing/refresh",
        &[("rt_sliding_lifetime", "soon")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("refresh_tokens.sliding_lifetime"));
    assert_eq!(
        api_client(&s, "billing").await.1["refresh_tokens"],
        serde_json::json!({})
    );
}

#[tokio::test]
async fn delete_asks_first_then_removes_the_client() {
    let s = server("").await;
    let b = signed_in(&s, ROOT, "/console/clients/new").await;
    create_billing(&b).await;
    let confirm = page(&b, "/console/clients/billing/delete").await;
    assert!(confirm.contains("cannot be undone"), "{confirm}");
    let r = post(
        &b,
        "/console/clients/billing/delete",
        "/console/clients/billing/delete",
        &[],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&r).as_deref(),
        Some("/console/clients?deleted=billing")
    );
    assert_eq!(api_client(&s, "billing").await.0, 404);
    assert!(page(&b, "/console/clients?deleted=billing")
        .await
        .contains("was deleted"));
    let ev = s.events("client.changed").await;
    assert_eq!(
        (
            ev[0].details["action"].as_str(),
            ev[0].details["actor"]["via"].as_str()
        ),
        (Some("deleted"), Some("console"))
    );
    // Gone: its page is a 404 in the console's layout.
    let r = b.get("/console/clients/billing").await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_configured_client_is_read_only_and_changes_are_refused_with_409() {
    let s = server("").await;
    let b = signed_in(&s, ROOT, "/console/clients/web").await;
    let edit = page(&b, "/console/clients/web").await;
    assert!(edit.contains("Read-only:"), "{edit}");
    assert!(
        edit.contains("Save settings</button>") && edit.contains(" disabled>Save settings"),
        "{edit}"
    );
    let before = api_client(&s, "web").await.1;
    for (path, fields) in [
        (
            "/console/clients/web",
            vec![
                ("client_name", "X"),
                ("token_endpoint_auth_method", "client_secret_basic"),
            ],
        ),
        (
            "/console/clients/web/refresh",
            vec![("rt_usage", "one_time")],
        ),
        ("/console/clients/web/secret", vec![]),
        ("/console/clients/web/delete", vec![]),
    ] {
        let r = post(&b, "/console/clients/web", path, &fields).await;
        assert_eq!(r.status(), StatusCode::CONFLICT, "{path}");
        assert!(
            r.text().await.unwrap().contains("configuration file"),
            "{path}"
        );
    }
    assert_eq!(api_client(&s, "web").await.1, before);
    assert_eq!(
        client_credentials(&s, WEB.0, WEB.1).await,
        StatusCode::OK,
        "the secret still works"
    );
}

#[tokio::test]
async fn the_list_pages_and_searches_by_id_or_name() {
    let s = server("").await;
    for i in 0..60 {
        let body = format!(
            r#"{{"client_id": "app-{i:02}", "client_name": "Name {i:02}", "token_endpoint_auth_method": "none", "redirect_uris": ["http://127.0.0.1:9/cb"]}}"#
        );
        assert_eq!(call(&s, "POST", "/admin/clients", Some(&body)).await.0, 201);
    }
    let b = signed_in(&s, ROOT, "/console/clients").await;
    let first = page(&b, "/console/clients").await;
    assert!(
        first.contains(">app-00</a>") && first.contains(">app-49</a>"),
        "{first}"
    );
    assert!(!first.contains(">app-50</a>"));
    assert!(
        first.contains("href=\"/console/clients?after=app-49\">Next page"),
        "{first}"
    );
    let second = page(&b, "/console/clients?after=app-49").await;
    assert!(
        second.contains(">app-50</a>") && second.contains(">web</a>"),
        "{second}"
    );
    assert!(!second.contains("Next page"));
    let found = page(&b, "/console/clients?q=name+07").await;
    assert!(
        found.contains(">app-07</a>") && !found.contains(">app-08</a>"),
        "{found}"
    );
    assert_eq!(
        b.get("/console/clients?x=1").await.status(),
        StatusCode::BAD_REQUEST
    );
}
