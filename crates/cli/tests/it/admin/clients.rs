use super::*;

const NEW: &str = r#"{"client_id": "svc", "client_name": "Service",
    "grant_types": ["client_credentials"], "scopes": ["api"]}"#;

#[tokio::test]
async fn create_shows_the_secret_once_and_it_works() {
    let s = TestServer::start_admin("").await;
    let (st, v) = call(&s, "POST", "/admin/clients", Some(NEW)).await;
    assert_eq!(st, 201, "{v}");
    assert_eq!(v["token_endpoint_auth_method"], "client_secret_basic");
    let secret = v["client_secret"].as_str().unwrap().to_string();
    assert_eq!(secret.len(), 43, "256 bits, base64url");
    // The secret authenticates the client.
    let (st, t) = s
        .post_form(
            "/token",
            Some(("svc", &secret)),
            &[("grant_type", "client_credentials"), ("scope", "api")],
        )
        .await;
    assert_eq!(st, 200, "{t}");
    // It is never shown again.
    let (st, v) = call(&s, "GET", "/admin/clients/svc", None).await;
    assert_eq!(st, 200);
    assert!(v.get("client_secret").is_none(), "{v}");
    assert_eq!(v["client_name"], "Service");
    let (_, list) = call(&s, "GET", "/admin/clients", None).await;
    let ids: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["client_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["spa", "svc", "web"]);
    assert!(list["next_cursor"].is_null());
    assert!(!list.to_string().contains(&secret));
    // Taken id.
    let (st, _) = call(&s, "POST", "/admin/clients", Some(NEW)).await;
    assert_eq!(st, 409);
    let evs = s.events("client.changed").await;
    assert_eq!(evs.len(), 1);
    assert_eq!(evs[0].details["action"], "created");
    assert!(!format!("{:?}", evs[0]).contains(&secret));
}

/// `POST /admin/clients/{client_id}/secret`: a new secret, answered once; the old one
/// stops working; refused for a client without a secret (400), a configured one (409)
/// and an unknown one (404).
#[tokio::test]
async fn a_reset_secret_replaces_the_old_one() {
    let s = TestServer::start_admin("").await;
    let (_, v) = call(&s, "POST", "/admin/clients", Some(NEW)).await;
    let old = v["client_secret"].as_str().unwrap().to_string();
    let (st, v) = call(&s, "POST", "/admin/clients/svc/secret", None).await;
    assert_eq!(st, 200, "{v}");
    let new = v["client_secret"].as_str().unwrap().to_string();
    assert_ne!(new, old);
    let cc = |secret: String| {
        let s = &s;
        async move {
            s.post_form(
                "/token",
                Some(("svc", &secret)),
                &[("grant_type", "client_credentials"), ("scope", "api")],
            )
            .await
            .0
        }
    };
    assert_eq!(cc(old).await, 401);
    assert_eq!(cc(new.clone()).await, 200);
    assert!(call(&s, "GET", "/admin/clients/svc", None)
        .await
        .1
        .get("client_secret")
        .is_none());
    let evs = s.events("client.changed").await;
    assert_eq!(evs[0].details["action"], "secret_reset");
    assert!(
        evs[0].details.get("actor").is_none(),
        "the API names no person"
    );
    assert!(!format!("{:?}", evs[0]).contains(&new));
    assert_eq!(
        call(&s, "POST", "/admin/clients/spa/secret", None).await.0,
        409
    );
    assert_eq!(
        call(&s, "POST", "/admin/clients/nope/secret", None).await.0,
        404
    );
    let public = r#"{"client_id": "app", "token_endpoint_auth_method": "none", "redirect_uris": ["com.example.app:/cb"]}"#;
    call(&s, "POST", "/admin/clients", Some(public)).await;
    let (st, v) = call(&s, "POST", "/admin/clients/app/secret", None).await;
    assert_bad(st, &v, "token_endpoint_auth_method");
}

#[tokio::test]
async fn public_client_has_no_secret() {
    let s = TestServer::start_admin("").await;
    let body = r#"{"client_id": "app", "token_endpoint_auth_method": "none",
        "redirect_uris": ["com.example.app:/cb"]}"#;
    let (st, v) = call(&s, "POST", "/admin/clients", Some(body)).await;
    assert_eq!(st, 201, "{v}");
    assert!(v.get("client_secret").is_none());
    assert_eq!(
        v["grant_types"],
        serde_json::json!(["authorization_code", "refresh_token"])
    );
}

#[tokio::test]
async fn bad_bodies_are_400_naming_the_field() {
    let s = TestServer::start_admin("").await;
    let cases: &[(&str, &str)] = &[
        (r#"{"client_id": "x", "#, "body"),
        (r#"{"client_id": "x", "colour": "blue"}"#, "colour"),
        (
            r#"{"client_id": "x", "redirect_uris": ["http://evil.example/cb"]}"#,
            "redirect_uris[0]",
        ),
        (
            r#"{"client_id": "x", "redirect_uris": ["https://a.example/cb#frag"]}"#,
            "redirect_uris[0]",
        ),
        (
            r#"{"client_id": "x", "redirect_uris": [7]}"#,
            "redirect_uris[0]",
        ),
        (
            r#"{"client_id": "x", "token_endpoint_auth_method": "magic"}"#,
            "token_endpoint_auth_method",
        ),
        (
            r#"{"client_id": "x", "grant_types": ["implicit"]}"#,
            "grant_types",
        ),
        (
            r#"{"client_id": "x", "grant_types": ["client_credentials"], "scopes": ["two words"]}"#,
            "scopes",
        ),
        (
            r#"{"client_id": "x", "grant_types": ["client_credentials"], "refresh_tokens": {"sliding_lifetime": "soon"}}"#,
            "refresh_tokens.sliding_lifetime",
        ),
        (
            r#"{"client_id": "x", "grant_types": ["client_credentials"], "refresh_tokens": {"grace_period": "61s"}}"#,
            "refresh_tokens.grace_period",
        ),
        (
            r#"{"client_id": "x", "grant_types": ["client_credentials"], "refresh_tokens": {"usage": "sometimes"}}"#,
            "refresh_tokens.usage",
        ),
        (
            r#"{"client_id": "x", "grant_types": ["client_credentials"], "refresh_tokens": {"shelf_life": "1d"}}"#,
            "shelf_life",
        ),
        (
            r#"{"client_id": "has space", "grant_types": ["client_credentials"]}"#,
            "client_id",
        ),
    ];
    for (body, field) in cases {
        let (st, v) = call(&s, "POST", "/admin/clients", Some(body)).await;
        assert_bad(st, &v, field);
    }
    // PATCH validates the same way (on a client the admin API manages).
    s.api_managed_client("web").await;
    for (body, field) in [
        (r#"{"redirect_uris": ["ftp://x/cb"]}"#, "redirect_uris[0]"),
        (
            r#"{"refresh_tokens": {"grace_period": "2m"}}"#,
            "refresh_tokens.grace_period",
        ),
        (r#"{"client_id": "renamed"}"#, "client_id"),
        ("[]", "body"),
    ] {
        let (st, v) = call(&s, "PATCH", "/admin/clients/web", Some(body)).await;
        assert_eq!(st, 400, "{body}: {v}");
        if field != "body" {
            assert_bad(st, &v, field);
        }
    }
    assert!(
        s.events("client.changed").await.is_empty(),
        "nothing changed"
    );
}

#[tokio::test]
async fn unknown_clients_are_404_and_delete_removes() {
    let s = TestServer::start_admin("").await;
    for m in ["GET", "DELETE"] {
        let (st, v) = call(&s, m, "/admin/clients/nope", None).await;
        assert_eq!(st, 404, "{m}: {v}");
    }
    let (st, _) = call(&s, "PATCH", "/admin/clients/nope", Some("{}")).await;
    assert_eq!(st, 404);
    let t = s.password_grant("openid offline_access").await;
    s.api_managed_client("web").await;
    let (st, _) = call(&s, "DELETE", "/admin/clients/web", None).await;
    assert_eq!(st, 204);
    let (st, _) = call(&s, "GET", "/admin/clients/web", None).await;
    assert_eq!(st, 404);
    // Its grants went with it.
    let (st, _) = s.refresh(t["refresh_token"].as_str().unwrap()).await;
    assert_ne!(st, 200);
    let revoked = s.events("grant.revoked").await;
    assert_eq!(revoked[0].details["reason"], "admin");
}

/// A PATCH never brings back a deleted client: one after the DELETE answers 404 and
/// the client stays gone, and so it does when PATCHes race the DELETE (whichever
/// order they land in, the DELETE wins and nothing re-creates the client).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn patch_cannot_resurrect_a_deleted_client() {
    let s = TestServer::start_admin("").await;
    let rename = Some(r#"{"client_name": "Back again"}"#);
    let (st, _) = call(&s, "POST", "/admin/clients", Some(NEW)).await;
    assert_eq!(st, 201);
    let (st, _) = call(&s, "DELETE", "/admin/clients/svc", None).await;
    assert_eq!(st, 204);
    let (st, v) = call(&s, "PATCH", "/admin/clients/svc", rename).await;
    assert_eq!(st, 404, "{v}");
    let (st, v) = call(&s, "GET", "/admin/clients/svc", None).await;
    assert_eq!(st, 404, "{v}");
    assert!(s.state().store.get_client("svc").await.unwrap().is_none());

    for _ in 0..5 {
        let (st, _) = call(&s, "POST", "/admin/clients", Some(NEW)).await;
        assert_eq!(st, 201);
        let patches = async {
            let mut sts = Vec::new();
            for _ in 0..8 {
                sts.push(call(&s, "PATCH", "/admin/clients/svc", rename).await.0);
            }
            sts
        };
        let ((del, _), sts) = tokio::join!(call(&s, "DELETE", "/admin/clients/svc", None), patches);
        assert_eq!(del, 204);
        assert!(sts.iter().all(|st| *st == 200 || *st == 404), "{sts:?}");
        let (st, v) = call(&s, "GET", "/admin/clients/svc", None).await;
        assert_eq!(st, 404, "resurrected: {v}");
    }
}

#[tokio::test]
async fn patch_changes_what_it_names_and_keeps_the_secret() {
    let s = TestServer::start_admin("").await;
    s.api_managed_client("web").await;
    let (st, v) = call(
        &s,
        "PATCH",
        "/admin/clients/web",
        Some(r#"{"client_name": "Renamed", "refresh_tokens": {"grace_period": "10s"}}"#),
    )
    .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["client_name"], "Renamed");
    assert_eq!(
        v["refresh_tokens"],
        serde_json::json!({"grace_period": "10s"})
    );
    assert!(v.get("client_secret").is_none());
    // Overrides merge key by key.
    let (_, v) = call(
        &s,
        "PATCH",
        "/admin/clients/web",
        Some(r#"{"refresh_tokens": {"usage": "one_time"}}"#),
    )
    .await;
    assert_eq!(
        v["refresh_tokens"],
        serde_json::json!({"grace_period": "10s", "usage": "one_time"})
    );
    // The configured secret still works.
    s.password_grant("openid").await;
    let evs = s.events("client.changed").await;
    assert_eq!(evs.len(), 2);
    assert_eq!(
        evs[1].details["changed"],
        serde_json::json!(["client_name", "refresh_tokens"])
    );
}

#[tokio::test]
async fn deleting_a_client_revokes_its_grants_and_forgets_its_consents() {
    use baton_testkit::flow::{code_flow, location, AuthParams, Browser, Callback};
    let s = TestServer::start_admin("").await;
    let alice = s
        .state()
        .store
        .get_user("alice")
        .await
        .unwrap()
        .unwrap()
        .sub;
    // Alice consented in the browser; she holds a grant from it, and one from the
    // password grant.
    let flow = code_flow(&s, "web", "openid offline_access").await;
    let password = s.password_grant("openid offline_access").await;
    assert!(!s
        .state()
        .store
        .get_consent(&alice, "web")
        .await
        .unwrap()
        .scopes
        .is_empty());

    s.api_managed_client("web").await;
    let (st, _) = call(&s, "DELETE", "/admin/clients/web", None).await;
    assert_eq!(st, 204);
    let revoked = s.events("grant.revoked").await;
    assert_eq!(revoked.len(), 2, "both grants revoked: {revoked:?}");
    assert!(revoked.iter().all(|e| e.details["reason"] == "admin"));
    assert!(revoked
        .iter()
        .all(|e| e.client_id.as_deref() == Some("web")));
    for t in [&flow, &password] {
        let (st, _) = s.refresh(t["refresh_token"].as_str().unwrap()).await;
        assert_ne!(st, 200);
    }
    assert!(
        s.state()
            .store
            .get_consent(&alice, "web")
            .await
            .unwrap()
            .scopes
            .is_empty(),
        "consents deleted"
    );
    let deleted = s.events("client.changed").await;
    assert_eq!(deleted[0].details["action"], "deleted");
    assert_eq!(deleted[0].details["revoked"], 2);

    // A new client with the same id inherits nothing: consent is asked again.
    let body = r#"{"client_id": "web", "token_endpoint_auth_method": "none",
        "redirect_uris": ["http://127.0.0.1:9/cb"], "scopes": ["openid", "offline_access"]}"#;
    let (st, v) = call(&s, "POST", "/admin/clients", Some(body)).await;
    assert_eq!(st, 201, "{v}");
    let mut p = AuthParams::new("web", "openid offline_access");
    p.prompt = Some("none".into());
    let b = Browser::shared(&s);
    let cb = Callback::parse(&location(&b.authorize(&p).await).unwrap());
    assert_eq!(cb.error(), Some("consent_required"), "{}", cb.url);
    p.prompt = None;
    let next = location(&b.authorize(&p).await).unwrap();
    assert!(next.starts_with("/consent"), "{next}");
    // Deleting it again: the same steps, and then 404.
    let (st, _) = call(&s, "DELETE", "/admin/clients/web", None).await;
    assert_eq!(st, 204);
    let (st, _) = call(&s, "DELETE", "/admin/clients/web", None).await;
    assert_eq!(st, 404);
}
