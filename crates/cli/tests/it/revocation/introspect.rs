use super::*;
use baton_core::time::Dur;
use baton_testkit::{TestServer, SPA};
use serde_json::json;

#[tokio::test]
async fn active_tokens_carry_the_rfc7662_members() {
    let s = TestServer::start(EXTRA).await;
    let t = s.password_grant("openid email offline_access").await;
    let at = introspect(&s, web(), t["access_token"].as_str().unwrap()).await;
    assert_eq!(at["active"], true);
    assert_eq!(at["client_id"], "web");
    assert_eq!(at["scope"], "openid email offline_access");
    assert_eq!(at["token_type"], "Bearer");
    assert_eq!(at["username"], "alice");
    assert_eq!(at["iss"], s.url);
    for k in ["sub", "exp", "iat", "jti"] {
        assert!(at.get(k).is_some(), "missing {k}: {at}");
    }
    let rt = introspect(&s, web(), t["refresh_token"].as_str().unwrap()).await;
    assert_eq!(rt["active"], true);
    assert_eq!(rt["token_type"], "refresh_token");
    assert_eq!(rt["client_id"], "web");
    assert_eq!(rt["sub"], at["sub"]);
    assert!(rt["exp"].as_i64().unwrap() > at["exp"].as_i64().unwrap());
}

#[tokio::test]
async fn other_clients_see_inactive_unless_introspect_any() {
    let s = TestServer::start(EXTRA).await;
    let t = s.password_grant("openid offline_access").await;
    for token in [
        t["access_token"].as_str().unwrap(),
        t["refresh_token"].as_str().unwrap(),
    ] {
        assert_eq!(introspect(&s, OTHER, token).await, json!({"active": false}));
        assert_eq!(introspect(&s, RS, token).await["active"], true);
    }
}

#[tokio::test]
async fn public_clients_and_bad_credentials_cannot_introspect() {
    let s = TestServer::start(EXTRA).await;
    let t = s.password_grant("openid offline_access").await;
    let at = t["access_token"].as_str().unwrap();
    let (st, v) = s
        .post_form("/introspect", None, &[("client_id", SPA), ("token", at)])
        .await;
    assert_eq!(
        (st.as_u16(), v["error"].as_str()),
        (401, Some("invalid_client"))
    );
    let (st, _) = s
        .post_form("/introspect", Some(("web", "nope")), &[("token", at)])
        .await;
    assert_eq!(st, 401);
    let (st, v) = s.post_form("/introspect", Some(web()), &[]).await;
    assert_eq!(
        (st.as_u16(), v["error"].as_str()),
        (400, Some("invalid_request"))
    );
}

#[tokio::test]
async fn rotated_refresh_tokens_are_active_only_inside_the_grace_period() {
    let s = TestServer::start(
        "[[clients]]\nclient_id = \"rot\"\nclient_secret = \"rot-secret-0123456789abcdef0123456789ab\"\ngrant_types = [\"password\", \"refresh_token\"]\nscopes = [\"offline_access\"]\n[clients.refresh_tokens]\nusage = \"one_time\"\ngrace_period = \"10s\"\n",
    )
    .await;
    let rot = ("rot", "rot-secret-0123456789abcdef0123456789ab");
    let t = grant_for(&s, rot, "offline_access").await;
    let rt1 = t["refresh_token"].as_str().unwrap().to_string();
    let (_, t2) = s
        .post_form(
            "/token",
            Some(rot),
            &[("grant_type", "refresh_token"), ("refresh_token", &rt1)],
        )
        .await;
    let rt2 = t2["refresh_token"].as_str().unwrap();
    assert_eq!(
        introspect(&s, rot, &rt1).await["active"],
        true,
        "previous generation inside grace"
    );
    assert_eq!(introspect(&s, rot, rt2).await["active"], true);
    s.advance(Dur::secs(11));
    assert_eq!(introspect(&s, rot, &rt1).await, json!({"active": false}));
    assert_eq!(introspect(&s, rot, rt2).await["active"], true);
    // Introspecting a rotated token is not a refresh: nothing was revoked.
    assert!(s.events("token.reuse_detected").await.is_empty());
}

#[tokio::test]
async fn introspection_never_extends_a_sliding_lifetime() {
    let s = TestServer::start("[refresh_tokens]\nsliding_lifetime = \"1h\"\n").await;
    let t = s.password_grant("offline_access").await;
    let rt = t["refresh_token"].as_str().unwrap();
    for _ in 0..3 {
        s.advance(Dur::secs(20 * 60));
        let _ = introspect(&s, web(), rt).await;
    }
    assert_eq!(introspect(&s, web(), rt).await, json!({"active": false}));
    let (st, v) = s.refresh(rt).await;
    assert_eq!(st, 400);
    assert!(
        v["error_description"].as_str().unwrap().contains("expired"),
        "{v}"
    );
}

#[tokio::test]
async fn expired_and_unknown_tokens_are_exactly_inactive() {
    let s = TestServer::start("[access_tokens]\nlifetime = \"5m\"\n").await;
    let t = s.password_grant("openid offline_access").await;
    let at = t["access_token"].as_str().unwrap();
    s.advance(Dur::secs(301));
    for token in [at, "junk", "brt_x", "bat_y", "a.b.c"] {
        assert_eq!(
            introspect(&s, web(), token).await,
            json!({"active": false}),
            "{token:.20}"
        );
    }
}
