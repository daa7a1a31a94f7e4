use super::*;

use crate::support::userinfo_status;

fn kid_of(jwt: &str) -> String {
    let v = baton_testkit::flow::jwt_header(jwt);
    v["kid"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn rotation_keeps_old_keys_published_and_old_tokens_valid() {
    let s = TestServer::start_admin("").await;
    let before = s.password_grant("openid offline_access").await;
    let old_at = before["access_token"].as_str().unwrap().to_string();
    let old_kid = kid_of(&old_at);
    let (st, v) = call(&s, "POST", "/admin/keys/rotate", None).await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["active"].as_array().unwrap().len(), 3);
    assert!(v["retired"]
        .as_array()
        .unwrap()
        .iter()
        .any(|k| k["kid"] == old_kid.as_str()));
    assert!(!v.to_string().contains("\"d\""), "no private material");
    let kids = jwks_kids(&s).await;
    assert!(kids.contains(&old_kid), "the retired key stays in JWKS");
    for k in v["active"].as_array().unwrap() {
        assert!(kids.contains(&k["kid"].as_str().unwrap().to_string()));
    }
    // Tokens signed before still verify; once the pre-publication delay has passed,
    // new ones use the new key.
    assert_eq!(userinfo_status(&s, &old_at).await, 200);
    s.advance(baton_core::time::Dur::secs(600));
    let after = s.password_grant("openid").await;
    let new_at = after["access_token"].as_str().unwrap();
    assert_ne!(kid_of(new_at), old_kid);
    assert_eq!(userinfo_status(&s, new_at).await, 200);
    // Once every token it signed has expired, the old key leaves JWKS (at the next load).
    s.advance(baton_core::time::Dur::secs(3 * 3600));
    baton_server::admin::ops::reload_keys(s.state())
        .await
        .unwrap();
    assert!(!jwks_kids(&s).await.contains(&old_kid));
    assert_eq!(s.events("keys.rotated").await.len(), 1);
}

/// After a rotation the new key is published in JWKS at once but signs nothing until
/// `signing_keys.pre_publication` (default 10 minutes, longer than the JWKS `max-age`)
/// has passed; until then the old key keeps signing. A relying party that cached the
/// JWKS within its max-age therefore never meets an unknown `kid`.
#[tokio::test]
async fn a_rotated_key_is_published_before_it_signs() {
    let s = TestServer::start_admin("").await;
    let old_kid = kid_of(
        s.password_grant("openid").await["access_token"]
            .as_str()
            .unwrap(),
    );
    let jwks = s.http.get(format!("{}/jwks", s.url)).send().await.unwrap();
    let cc = jwks.headers()["cache-control"]
        .to_str()
        .unwrap()
        .to_string();
    let max_age: i64 = cc
        .split("max-age=")
        .nth(1)
        .and_then(|v| v.split(',').next())
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(
        max_age < 600,
        "the JWKS max-age ({cc}) is shorter than the delay"
    );

    let (st, v) = call(&s, "POST", "/admin/keys/rotate", None).await;
    assert_eq!(st, 200, "{v}");
    let new_kid = v["active"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_string())
        .find(|k| k.starts_with("es256-"))
        .unwrap();
    let kids = jwks_kids(&s).await;
    assert!(
        kids.contains(&new_kid) && kids.contains(&old_kid),
        "{kids:?}"
    );

    // Inside the delay: still the old key, also after a restart of the keyring.
    s.advance(baton_core::time::Dur::secs(max_age + 1));
    let at = s.password_grant("openid").await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(kid_of(&at), old_kid);
    baton_server::admin::ops::reload_keys(s.state())
        .await
        .unwrap();
    let at = s.password_grant("openid").await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(kid_of(&at), old_kid);

    // After it: the new key signs, and tokens of the old key still verify.
    s.advance(baton_core::time::Dur::secs(600));
    let at2 = s.password_grant("openid").await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(kid_of(&at2), new_kid);
    assert_eq!(userinfo_status(&s, &at).await, 200);
    assert_eq!(userinfo_status(&s, &at2).await, 200);
    assert!(jwks_kids(&s).await.contains(&old_kid));
}

/// `signing_keys.pre_publication = "0s"` makes a rotation take effect at once (an
/// emergency rotation after a key leaked).
#[tokio::test]
async fn a_zero_pre_publication_switches_at_once() {
    let s = TestServer::start_admin("[signing_keys]\npre_publication = \"0s\"\n").await;
    let old_kid = kid_of(
        s.password_grant("openid").await["access_token"]
            .as_str()
            .unwrap(),
    );
    let (st, v) = call(&s, "POST", "/admin/keys/rotate", None).await;
    assert_eq!(st, 200, "{v}");
    let at = s.password_grant("openid").await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(kid_of(&at), old_kid);
}

/// The ES256 key id among the `active` keys of a rotation answer.
fn new_es256(v: &Value) -> String {
    v["active"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_string())
        .find(|k| k.starts_with("es256-"))
        .unwrap()
}

async fn signing_kid(s: &TestServer) -> String {
    kid_of(
        s.password_grant("openid").await["access_token"]
            .as_str()
            .unwrap(),
    )
}

/// An emergency rotation (`pre_publication = "0s"`) inside the delay of an earlier
/// rotation takes effect at once: the key that was still on duty (the leaked one) stops
/// signing too, not only the key that was merely pre-published.
#[tokio::test]
async fn an_emergency_rotation_inside_the_delay_stops_the_old_key_at_once() {
    let a = TestServer::start_admin("").await;
    let leaked = signing_kid(&a).await;
    let (st, v) = call(&a, "POST", "/admin/keys/rotate", None).await;
    assert_eq!(st, 200, "{v}");
    let pre_published = new_es256(&v);
    assert_eq!(signing_kid(&a).await, leaked, "still inside the delay");

    // The operator rotates again with a node configured for an emergency (same store).
    let url = baton_testkit::sqlite_url(a.dir.path());
    let b =
        TestServer::start_admin_with_storage(&url, "[signing_keys]\npre_publication = \"0s\"\n")
            .await;
    let (st, v) = call(&b, "POST", "/admin/keys/rotate", None).await;
    assert_eq!(st, 200, "{v}");
    let newest = new_es256(&v);
    assert!(
        v["retired"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["kid"] == leaked.as_str()),
        "the leaked key is reported retired: {v}"
    );
    baton_server::admin::ops::reload_keys(a.state())
        .await
        .unwrap();
    for s in [&a, &b] {
        assert_eq!(signing_kid(s).await, newest);
    }
    // Neither the leaked key nor the merely pre-published one ever signs again.
    for step in [300, 300, 120] {
        a.advance(baton_core::time::Dur::secs(step));
        let kid = signing_kid(&a).await;
        assert_ne!(kid, leaked);
        assert_ne!(kid, pre_published);
    }
}

/// Two rotations with the default delay, the second 1 minute after the first: each key
/// signs until its own retirement, then the next one; the newest signs once the second
/// delay has passed too. No key is ever skipped before relying parties could fetch it.
#[tokio::test]
async fn two_rotations_inside_the_delay_hand_over_in_turn() {
    let s = TestServer::start_admin("").await;
    let k0 = signing_kid(&s).await;
    let (_, v) = call(&s, "POST", "/admin/keys/rotate", None).await;
    let k1 = new_es256(&v);
    s.advance(baton_core::time::Dur::secs(60));
    let (st, v) = call(&s, "POST", "/admin/keys/rotate", None).await;
    assert_eq!(st, 200, "{v}");
    let k2 = new_es256(&v);
    assert_eq!(signing_kid(&s).await, k0, "t0+1m");
    s.advance(baton_core::time::Dur::secs(240));
    assert_eq!(signing_kid(&s).await, k0, "t0+5m");
    s.advance(baton_core::time::Dur::secs(330));
    assert_eq!(signing_kid(&s).await, k1, "t0+10m30s");
    s.advance(baton_core::time::Dur::secs(60));
    assert_eq!(signing_kid(&s).await, k2, "t0+11m30s");
    let kids = jwks_kids(&s).await;
    assert!(kids.contains(&k0) && kids.contains(&k1), "{kids:?}");
}
