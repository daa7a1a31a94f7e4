//! SPEC §2.3: `one_time` rotates, `reuse` repeats, `auto` picks by client type, and
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
