use super::*;
use crate::support::userinfo_status;

/// Whether a refresh of `rt` answered a new refresh token (rotation) or the same one.
async fn rotates(s: &TestServer, rt: &str) -> bool {
    let (st, v) = s.refresh(rt).await;
    assert_eq!(st, 200, "{v}");
    v["refresh_token"].as_str().unwrap() != rt
}

#[tokio::test]
async fn get_shows_the_effective_server_wide_settings() {
    let s = TestServer::start_admin("[refresh_tokens]\ngrace_period = \"10s\"\n").await;
    let (st, v) = call(&s, "GET", "/admin/settings", None).await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["refresh_tokens"]["grace_period"], "10s");
    assert_eq!(v["refresh_tokens"]["usage"], "auto");
    assert_eq!(v["refresh_tokens"]["absolute_lifetime"], "30d");
    assert_eq!(v["access_tokens"]["lifetime"], "1h");
    assert_eq!(v["access_tokens"]["signing_alg"], "ES256");
}

#[tokio::test]
async fn a_server_wide_patch_is_stored_applies_to_new_grants_only_and_survives_a_restart() {
    let s = TestServer::start_admin("").await;
    // The confidential client reuses its refresh token under `auto`.
    let old = s.password_grant("openid offline_access").await;
    let old_rt = old["refresh_token"].as_str().unwrap().to_string();
    assert!(!rotates(&s, &old_rt).await);
    let (st, v) = call(
        &s,
        "PATCH",
        "/admin/settings",
        Some(r#"{"refresh_tokens": {"usage": "one_time", "grace_period": "5s"}}"#),
    )
    .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["refresh_tokens"]["usage"], "one_time");
    assert_eq!(v["refresh_tokens"]["grace_period"], "5s");
    // A later PATCH merges with the stored one.
    let (_, v) = call(
        &s,
        "PATCH",
        "/admin/settings",
        Some(r#"{"refresh_tokens": {"sliding_lifetime": "1d"}}"#),
    )
    .await;
    assert_eq!(v["refresh_tokens"]["usage"], "one_time");
    assert_eq!(v["refresh_tokens"]["sliding_lifetime"], "1d");
    // New grants follow; the old grant keeps what it was created with.
    let new = s.password_grant("openid offline_access").await;
    assert!(rotates(&s, new["refresh_token"].as_str().unwrap()).await);
    assert!(!rotates(&s, &old_rt).await);
    let evs = s.events("settings.changed").await;
    assert_eq!(evs.len(), 2);
    // Stored: another node on the same store (here: a restart) applies it.
    let dir = s.stop().await;
    let s2 = TestServer::start_in(dir, baton_testkit::BASE_CLIENTS).await;
    let eff = s2.state().server_refresh_settings();
    assert_eq!(eff.usage.as_str(), "one_time");
    assert_eq!(eff.grace_period, baton_core::time::Dur::secs(5));
}

#[tokio::test]
async fn bad_settings_are_400_naming_the_key() {
    let s = TestServer::start_admin("").await;
    for (body, field) in [
        (
            r#"{"refresh_tokens": {"grace_period": "61s"}}"#,
            "refresh_tokens.grace_period",
        ),
        (
            r#"{"refresh_tokens": {"grace_period": "-1s"}}"#,
            "refresh_tokens.grace_period",
        ),
        (
            r#"{"refresh_tokens": {"absolute_lifetime": "forever"}}"#,
            "refresh_tokens.absolute_lifetime",
        ),
        (
            r#"{"refresh_tokens": {"sliding_lifetime": "soon"}}"#,
            "refresh_tokens.sliding_lifetime",
        ),
        (
            r#"{"refresh_tokens": {"reuse_reaction": "shrug"}}"#,
            "refresh_tokens.reuse_reaction",
        ),
        (
            r#"{"refresh_tokens": {"absolute_lifetime": "1h", "sliding_lifetime": "2h"}}"#,
            "refresh_tokens.sliding_lifetime",
        ),
        (
            r#"{"refresh_tokens": {"persist": "no"}}"#,
            "refresh_tokens.persist",
        ),
        (r#"{"refresh_tokens": {"colour": "red"}}"#, "colour"),
        (r#"{"cookies": {}}"#, "cookies"),
        (
            r#"{"access_tokens": {"lifetime": "soon"}}"#,
            "access_tokens.lifetime",
        ),
        (
            r#"{"access_tokens": {"lifetime": "0s"}}"#,
            "access_tokens.lifetime",
        ),
        (
            r#"{"access_tokens": {"format": "cbor"}}"#,
            "access_tokens.format",
        ),
        (
            r#"{"access_tokens": {"signing_alg": "HS256"}}"#,
            "access_tokens.signing_alg",
        ),
        ("{\"refresh_tokens\":", "body"),
    ] {
        let (st, v) = call(&s, "PATCH", "/admin/settings", Some(body)).await;
        assert_bad(st, &v, field);
    }
    let (_, v) = call(&s, "GET", "/admin/settings", None).await;
    assert_eq!(
        v["refresh_tokens"]["grace_period"], "30s",
        "nothing was stored"
    );
    assert!(s.events("settings.changed").await.is_empty());
}

/// A client's settings changed through the admin API apply to grants
/// created afterwards; grants created before keep theirs.
#[tokio::test]
async fn client_refresh_settings_apply_to_new_grants_while_old_grants_keep_theirs() {
    let s = TestServer::start_admin("").await;
    let old = s.password_grant("openid offline_access").await;
    let old_rt = old["refresh_token"].as_str().unwrap().to_string();
    s.api_managed_client("web").await;
    let (st, v) = call(
        &s,
        "PATCH",
        "/admin/clients/web",
        Some(r#"{"refresh_tokens": {"usage": "one_time", "absolute_lifetime": "1h", "sliding_lifetime": "off"}}"#),
    )
    .await;
    assert_eq!(st, 200, "{v}");
    let new = s.password_grant("openid offline_access").await;
    let new_rt = new["refresh_token"].as_str().unwrap().to_string();
    // The new grant rotates, the old one still reuses its token.
    assert!(rotates(&s, &new_rt).await);
    assert!(!rotates(&s, &old_rt).await);
    let (_, grants) = call(&s, "GET", "/admin/grants?client_id=web", None).await;
    let items = grants["items"].as_array().unwrap();
    let created = |g: &Value| {
        baton_core::time::Timestamp::parse_rfc3339(g["created_at"].as_str().unwrap()).unwrap()
    };
    let expires = |g: &Value| {
        baton_core::time::Timestamp::parse_rfc3339(g["expires_at"].as_str().unwrap()).unwrap()
    };
    // Newest first: the new grant dies within the hour, the old one in 7 days (sliding).
    assert_eq!(
        expires(&items[0]).since(created(&items[0])),
        baton_core::time::Dur::secs(3600)
    );
    assert!(expires(&items[1]).since(created(&items[1])) > baton_core::time::Dur::secs(86_400));
    // Two hours on, only the old grant refreshes.
    s.advance(baton_core::time::Dur::secs(7200));
    let (st, _) = s.refresh(&old_rt).await;
    assert_eq!(st, 200);
    let (_, v) = s.refresh(&new_rt).await;
    assert_eq!(v["error"], "invalid_grant", "{v}");
}

#[tokio::test]
async fn access_token_settings_apply_to_the_next_token() {
    let s = TestServer::start_admin("").await;
    assert_eq!(s.password_grant("openid").await["expires_in"], 3600);
    let (st, v) = call(
        &s,
        "PATCH",
        "/admin/settings",
        Some(r#"{"access_tokens": {"lifetime": "5m", "signing_alg": "EdDSA"}}"#),
    )
    .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["access_tokens"]["lifetime"], "5m");
    assert_eq!(v["access_tokens"]["signing_alg"], "EdDSA");
    assert_eq!(v["access_tokens"]["format"], "jwt");
    let t = s.password_grant("openid").await;
    assert_eq!(t["expires_in"], 300);
    let at = t["access_token"].as_str().unwrap();
    let header = at.split('.').next().unwrap();
    // {"alg":"EdDSA" … base64url-encoded starts with eyJhbGciOiJFZERTQS
    assert!(header.starts_with("eyJhbGciOiJFZERTQS"), "{header}");
    assert_eq!(userinfo_status(&s, at).await, 200);
    // The reference format too.
    call(
        &s,
        "PATCH",
        "/admin/settings",
        Some(r#"{"access_tokens": {"format": "reference"}}"#),
    )
    .await;
    let t = s.password_grant("openid").await;
    assert!(
        t["access_token"].as_str().unwrap().starts_with("bat_"),
        "{t}"
    );
}
