//! Rotation: `one_time` rotates, `reuse` repeats, `auto` picks by client type, and
//! public clients always rotate.

use super::*;

#[tokio::test]
async fn one_time_rotates_each_refresh_and_the_chain_continues() {
    let s = TestServer::start(&conf_toml("rot", "usage = \"one_time\"")).await;
    let cl = conf("rot");
    let t1 = login(&s, cl).await;
    assert_eq!(grant(&s, &t1).await.generation, 1);
    let r2 = refresh_ok(&s, cl, &t1).await;
    let t2 = rt(&r2);
    assert_ne!(t2, t1, "one_time answers a new refresh token");
    let g = grant(&s, &t2).await;
    assert_eq!((g.generation, g.rotate), (2, true));
    assert_eq!(claims(&s, &t2).grant_id, claims(&s, &t1).grant_id);
    let r3 = refresh_ok(&s, cl, &t2).await;
    let t3 = rt(&r3);
    assert!(t3 != t2 && t3 != t1);
    assert_ne!(at(&r3), at(&r2), "each refresh issues a fresh access token");
    assert_eq!(grant(&s, &t3).await.generation, 3);
}

#[tokio::test]
async fn reuse_answers_the_same_token_and_never_advances() {
    let s = TestServer::start(&conf_toml("reu", "usage = \"reuse\"")).await;
    let cl = conf("reu");
    let t = login(&s, cl).await;
    let mut access = Vec::new();
    for _ in 0..3 {
        let r = refresh_ok(&s, cl, &t).await;
        assert_eq!(rt(&r), t, "reuse repeats the presented token unchanged");
        access.push(at(&r));
    }
    access.dedup();
    assert_eq!(access.len(), 3, "fresh access tokens each time");
    let g = grant(&s, &t).await;
    assert_eq!((g.generation, g.rotate), (1, false));
    // An hour later (well past any grace) the token is still the live one.
    s.advance(secs(3600));
    assert_eq!(rt(&refresh_ok(&s, cl, &t).await), t);
}

#[tokio::test]
async fn auto_reuses_for_confidential_and_rotates_for_public_clients() {
    let s = TestServer::start("").await; // usage defaults to auto
    let w = login(&s, WEB_C).await;
    assert_eq!(rt(&refresh_ok(&s, WEB_C, &w).await), w);
    assert_eq!(rt(&refresh_ok(&s, WEB_C, &w).await), w);
    assert!(!grant(&s, &w).await.rotate);

    let p = login(&s, SPA_C).await;
    let p2 = rt(&refresh_ok(&s, SPA_C, &p).await);
    assert_ne!(p2, p);
    let g = grant(&s, &p2).await;
    assert_eq!((g.generation, g.rotate), (2, true));
}

#[tokio::test]
async fn public_clients_rotate_even_when_reuse_is_configured() {
    let extra = format!(
        "[refresh_tokens]\nusage = \"reuse\"\n{}",
        public_toml("pubreuse", "usage = \"reuse\"")
    );
    let s = TestServer::start(&extra).await;
    // Server-wide reuse: the confidential client reuses...
    let w = login(&s, WEB_C).await;
    assert_eq!(rt(&refresh_ok(&s, WEB_C, &w).await), w);
    // ...the public ones rotate, whether reuse is server-wide or their own override.
    for cl in [SPA_C, public("pubreuse")] {
        let t1 = login(&s, cl).await;
        let t2 = rt(&refresh_ok(&s, cl, &t1).await);
        assert_ne!(t2, t1, "{} must rotate", cl.id);
        let t3 = rt(&refresh_ok(&s, cl, &t2).await);
        assert_ne!(t3, t2);
        let g = grant(&s, &t3).await;
        assert_eq!((g.generation, g.rotate), (3, true), "{}", cl.id);
    }
}

/// Makes client `id` public (`token_endpoint_auth_method = "none"`, no secret).
async fn make_public(s: &TestServer, id: &str) {
    change_client(s, id, |c| {
        c.auth_method = baton_core::model::AuthMethod::None;
        c.secret_sha256 = None;
    })
    .await;
}

#[tokio::test]
async fn a_grant_rotates_once_its_client_is_made_public() {
    let s = TestServer::start(&conf_toml("c", "")).await; // auto: reuse when confidential
    let t1 = login(&s, conf("c")).await;
    assert!(!grant(&s, &t1).await.rotate);
    assert_eq!(rt(&refresh_ok(&s, conf("c"), &t1).await), t1);
    make_public(&s, "c").await;
    // Without a secret, the same token is never answered twice.
    let t2 = rt(&refresh_ok(&s, public("c"), &t1).await);
    assert_ne!(t2, t1);
    assert_eq!(grant(&s, &t2).await.generation, 2);
    let t3 = rt(&refresh_ok(&s, public("c"), &t2).await);
    assert_ne!(t3, t2);
    // The rotated tokens are reuse after the grace period, as for any rotating grant.
    s.advance(secs(31));
    let (st, v) = refresh(&s, public("c"), &t1).await;
    assert_invalid_grant(st, &v, "reused");
}

#[tokio::test]
async fn a_client_made_public_keeps_no_refresh_without_allow_public_clients() {
    let s = TestServer::start(&conf_toml("c", "allow_public_clients = false")).await;
    let t1 = login(&s, conf("c")).await;
    refresh_ok(&s, conf("c"), &t1).await;
    make_public(&s, "c").await;
    let (st, v) = refresh(&s, public("c"), &t1).await;
    assert_invalid_grant(st, &v, "no longer allowed");
    assert_eq!(grant(&s, &t1).await.generation, 1);
}

#[tokio::test]
async fn require_offline_access_turned_on_stops_refreshing_grants_without_it() {
    let s = TestServer::start(&conf_toml("c", "require_offline_access = false")).await;
    let t1 = rt(&login_as(&s, conf("c"), baton_testkit::ALICE.0, "openid").await);
    refresh_ok(&s, conf("c"), &t1).await;
    change_client(&s, "c", |c| c.refresh.require_offline_access = Some(true)).await;
    let (st, v) = refresh(&s, conf("c"), &t1).await;
    assert_invalid_grant(st, &v, "no longer allowed");
}
