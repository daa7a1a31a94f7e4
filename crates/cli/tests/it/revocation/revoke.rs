use super::*;
use crate::support::userinfo_status;
use baton_testkit::TestServer;

#[tokio::test]
async fn revoking_a_refresh_token_revokes_its_grant_and_its_access_tokens() {
    let s = TestServer::start(EXTRA).await;
    let t = s.password_grant("openid offline_access").await;
    let (rt, at) = (
        t["refresh_token"].as_str().unwrap(),
        t["access_token"].as_str().unwrap(),
    );
    assert_eq!(introspect(&s, web(), at).await["active"], true);
    let (st, _) = revoke(&s, web(), rt).await;
    assert_eq!(st, 200);
    assert_eq!(
        introspect(&s, web(), at).await,
        serde_json::json!({"active": false})
    );
    assert_eq!(
        introspect(&s, web(), rt).await,
        serde_json::json!({"active": false})
    );
    let (st, v) = s.refresh(rt).await;
    assert_eq!(st, 400);
    assert_eq!(v["error"], "invalid_grant");
    assert!(
        v["error_description"].as_str().unwrap().contains("revoked"),
        "{v}"
    );
    let revoked = s.events("grant.revoked").await;
    assert_eq!(revoked.len(), 1);
    assert_eq!(revoked[0].details["reason"], "revoked_by_client");
    // The userinfo endpoint refuses the grant's access token too.
    assert_eq!(userinfo_status(&s, at).await, 401);
}

#[tokio::test]
async fn revoking_an_access_token_leaves_the_refresh_token_alone() {
    let s = TestServer::start(EXTRA).await;
    let t = s.password_grant("openid offline_access").await;
    let (rt, at) = (
        t["refresh_token"].as_str().unwrap(),
        t["access_token"].as_str().unwrap(),
    );
    let (st, _) = s
        .post_form(
            "/revoke",
            Some(web()),
            &[("token", at), ("token_type_hint", "access_token")],
        )
        .await;
    assert_eq!(st, 200);
    assert_eq!(
        introspect(&s, web(), at).await,
        serde_json::json!({"active": false})
    );
    let (st, v) = s.refresh(rt).await;
    assert_eq!(st, 200, "{v}");
    // A wrong hint is only a lookup order: the refresh token is still found and revoked.
    let (st, _) = s
        .post_form(
            "/revoke",
            Some(web()),
            &[("token", rt), ("token_type_hint", "access_token")],
        )
        .await;
    assert_eq!(st, 200);
    assert_eq!(s.refresh(rt).await.0, 400);
}

#[tokio::test]
async fn a_client_cannot_revoke_another_clients_tokens() {
    let s = TestServer::start(EXTRA).await;
    let t = s.password_grant("openid offline_access").await;
    let (rt, at) = (
        t["refresh_token"].as_str().unwrap(),
        t["access_token"].as_str().unwrap(),
    );
    for token in [rt, at] {
        let (st, v) = revoke(&s, OTHER, token).await;
        assert_eq!(st, 400, "{v}");
        assert_eq!(v["error"], "unauthorized_client");
    }
    assert_eq!(introspect(&s, web(), at).await["active"], true);
    assert_eq!(s.refresh(rt).await.0, 200);
    assert!(s.events("grant.revoked").await.is_empty());
}

#[tokio::test]
async fn unknown_and_junk_tokens_answer_200_and_change_nothing() {
    let s = TestServer::start(EXTRA).await;
    let t = s.password_grant("openid offline_access").await;
    let rt = t["refresh_token"].as_str().unwrap();
    let long = "x".repeat(5000);
    // The last character changed (to `A`, or to `B` if it was `A`: a token ending in `A`
    // would otherwise be "flipped" into itself and revoke the grant in some runs).
    let last = if rt.ends_with('A') { 'B' } else { 'A' };
    let flipped = format!("{}{last}", &rt[..rt.len() - 1]);
    assert_ne!(flipped, rt);
    for junk in [
        "brt_AAAA",
        "eyJhbGciOiJub25lIn0.e30.",
        "bat_nothing",
        "☃☃☃",
        long.as_str(),
        flipped.as_str(),
    ] {
        let (st, v) = revoke(&s, web(), junk).await;
        assert_eq!(st, 200, "{junk:.40}: {v}");
    }
    assert_eq!(s.refresh(rt).await.0, 200);
    assert!(s.events("grant.revoked").await.is_empty());
}

#[tokio::test]
async fn malformed_revocation_requests_are_clear_4xx() {
    let s = TestServer::start(EXTRA).await;
    let (st, v) = s.post_form("/revoke", Some(web()), &[]).await;
    assert_eq!(
        (st.as_u16(), v["error"].as_str()),
        (400, Some("invalid_request"))
    );
    let (st, v) = s.post_form("/revoke", None, &[("token", "x")]).await;
    assert_eq!(
        (st.as_u16(), v["error"].as_str()),
        (401, Some("invalid_client"))
    );
    let (st, v) = s
        .post_form("/revoke", Some(("web", "wrong-secret")), &[("token", "x")])
        .await;
    assert_eq!(
        (st.as_u16(), v["error"].as_str()),
        (401, Some("invalid_client"))
    );
    let r = s
        .http
        .post(format!("{}/revoke", s.url))
        .basic_auth(web().0, Some(web().1))
        .header("content-type", "application/json")
        .body("{\"token\":\"x\"}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    let big = "t".repeat(70 * 1024);
    let (st, v) = s
        .post_form("/revoke", Some(web()), &[("token", &big)])
        .await;
    assert_eq!(st, 413, "{v}");
    let r = s
        .http
        .post(format!("{}/revoke", s.url))
        .basic_auth(web().0, Some(web().1))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("token=a&token=b")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
}

#[tokio::test]
async fn an_unknown_token_type_hint_is_ignored() {
    // RFC 7009 §2.1: a hint the server does not understand is ignored, the token is
    // still looked up and revoked.
    let s = TestServer::start(EXTRA).await;
    let t = s.password_grant("openid offline_access").await;
    let rt = t["refresh_token"].as_str().unwrap();
    let at = t["access_token"].as_str().unwrap();
    for (token, hint) in [(at, "id_token"), (rt, "urn:example:unknown")] {
        let (st, v) = s
            .post_form(
                "/revoke",
                Some(web()),
                &[("token", token), ("token_type_hint", hint)],
            )
            .await;
        assert_eq!(st, 200, "{hint}: {v}");
    }
    assert_eq!(introspect(&s, web(), at).await["active"], false);
    assert_eq!(s.refresh(rt).await.0, 400);
    assert_eq!(s.events("grant.revoked").await.len(), 1);
}
