//! The full authorization-code flow through the HTML forms, for both kinds of client.

use baton_testkit::flow::{code_flow, code_flow_full, jwt_claims};
use baton_testkit::TestServer;

#[tokio::test]
async fn confidential_client_completes_the_code_flow() {
    let s = TestServer::start("").await;
    let f = code_flow_full(&s, "web", "openid email offline_access").await;
    assert!(f.tokens["access_token"].is_string(), "{}", f.tokens);
    assert!(f.tokens["refresh_token"].is_string(), "{}", f.tokens);
    assert_eq!(f.tokens["scope"], "openid email offline_access");
    assert_eq!(
        jwt_claims(f.tokens["id_token"].as_str().unwrap())["aud"],
        "web"
    );
    let (st, r) = s.refresh(f.tokens["refresh_token"].as_str().unwrap()).await;
    assert_eq!(st, 200, "{r}");
    let created = s.events("grant.created").await;
    assert_eq!(created.len(), 1);
    assert_eq!(created[0].client_id.as_deref(), Some("web"));
}

#[tokio::test]
async fn public_client_completes_the_code_flow_with_pkce() {
    let s = TestServer::start("").await;
    let t = code_flow(&s, "spa", "openid offline_access").await;
    let rt = t["refresh_token"].as_str().unwrap();
    assert_eq!(jwt_claims(t["id_token"].as_str().unwrap())["aud"], "spa");
    let (st, r) = s.refresh_public(rt).await;
    assert_eq!(st, 200, "{r}");
    assert_ne!(
        r["refresh_token"].as_str().unwrap(),
        rt,
        "public clients rotate"
    );
}

#[tokio::test]
async fn without_offline_access_no_refresh_token() {
    let s = TestServer::start("").await;
    let t = code_flow(&s, "web", "openid").await;
    assert!(t.get("refresh_token").is_none(), "{t}");
    assert!(s.events("grant.created").await.is_empty());
}
