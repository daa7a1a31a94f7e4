use super::*;
use baton_testkit::TestServer;
use serde_json::json;

#[tokio::test]
async fn reference_tokens_are_opaque_introspectable_and_revocable() {
    let s = TestServer::start(EXTRA).await;
    let t = grant_for(&s, OPAQUE, "openid email offline_access").await;
    let at = t["access_token"].as_str().unwrap();
    assert!(at.starts_with("bat_") && !at.contains('.'), "opaque: {at}");
    let v = introspect(&s, OPAQUE, at).await;
    assert_eq!(v["active"], true);
    assert_eq!(v["client_id"], "opaque");
    assert_eq!(v["scope"], "openid email offline_access");
    assert_eq!(v["username"], "alice");
    // Userinfo accepts it.
    let r = s
        .http
        .get(format!("{}/userinfo", s.url))
        .bearer_auth(at)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.json::<Value>().await.unwrap()["email"],
        "alice@example.com"
    );
    // Only its digest is stored.
    let db = std::fs::read(s.dir.path().join("baton.db")).unwrap();
    assert!(!db.windows(at.len()).any(|w| w == at.as_bytes()));
    let (st, _) = revoke(&s, OPAQUE, at).await;
    assert_eq!(st, 200);
    assert_eq!(introspect(&s, OPAQUE, at).await, json!({"active": false}));
    // The refresh token is untouched and yields a new opaque access token.
    let (st, v) = s
        .post_form(
            "/token",
            Some(OPAQUE),
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", t["refresh_token"].as_str().unwrap()),
            ],
        )
        .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(
        introspect(&s, OPAQUE, v["access_token"].as_str().unwrap()).await["active"],
        true
    );
}

#[tokio::test]
async fn a_reference_token_dies_with_its_grant() {
    let s = TestServer::start(EXTRA).await;
    let t = grant_for(&s, OPAQUE, "openid offline_access").await;
    let at = t["access_token"].as_str().unwrap();
    let (st, _) = revoke(&s, OPAQUE, t["refresh_token"].as_str().unwrap()).await;
    assert_eq!(st, 200);
    assert_eq!(introspect(&s, OPAQUE, at).await, json!({"active": false}));
    assert_eq!(introspect(&s, RS, at).await, json!({"active": false}));
}
