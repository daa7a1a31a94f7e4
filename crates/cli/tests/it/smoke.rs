use baton_testkit::TestServer;

#[tokio::test]
async fn password_grant_then_rotation_for_a_public_client() {
    let s = TestServer::start("").await;
    let t = s.password_grant_public("openid offline_access").await;
    let rt1 = t["refresh_token"].as_str().unwrap().to_string();
    let (st, r2) = s.refresh_public(&rt1).await;
    assert_eq!(st, 200, "{r2}");
    let rt2 = r2["refresh_token"].as_str().unwrap();
    assert_ne!(rt1, rt2, "public clients rotate");
    // A retry of rt1 inside the grace period answers the same successor, byte for byte.
    let (st, r3) = s.refresh_public(&rt1).await;
    assert_eq!(st, 200, "{r3}");
    assert_eq!(r3["refresh_token"].as_str().unwrap(), rt2);
}
