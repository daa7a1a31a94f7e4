//! Absolute and sliding lifetimes (the clock is moved, never slept on).

use super::*;

fn lifetimes(absolute: &str, sliding: &str) -> String {
    let rt = format!("absolute_lifetime = \"{absolute}\"\nsliding_lifetime = \"{sliding}\"");
    format!(
        "{}{}",
        conf_toml("rot", &format!("usage = \"one_time\"\n{rt}")),
        conf_toml("reu", &format!("usage = \"reuse\"\n{rt}"))
    )
}

/// Both test clients (rotating and reusing) with a grant each.
async fn both(s: &TestServer) -> Vec<(Cl, String)> {
    let mut v = Vec::new();
    for cl in [conf("rot"), conf("reu")] {
        v.push((cl, login(s, cl).await));
    }
    v
}

/// Refreshes every grant (each must succeed), keeping the chains' current tokens.
async fn use_all(s: &TestServer, grants: &mut [(Cl, String)]) {
    for (cl, t) in grants.iter_mut() {
        *t = rt(&refresh_ok(s, *cl, t).await);
    }
}

async fn all_expired(s: &TestServer, grants: &[(Cl, String)]) {
    for (cl, t) in grants {
        let (st, v) = refresh(s, *cl, t).await;
        assert_invalid_grant(st, &v, "expired");
    }
}

#[tokio::test]
async fn absolute_lifetime_ends_the_grant_whatever_happens() {
    let s = TestServer::start(&lifetimes("1h", "off")).await;
    let mut grants = both(&s).await;
    for (_, t) in &grants {
        let g = grant(&s, t).await;
        assert_eq!(g.expires_at, Some(g.created_at.plus(secs(3600))));
        assert_eq!(g.sliding, None);
    }
    // Used throughout, yet it dies at the hour.
    for _ in 0..3 {
        s.advance(secs(19 * 60));
        use_all(&s, &mut grants).await;
    }
    s.advance(secs(4 * 60));
    all_expired(&s, &grants).await;
}

#[tokio::test]
async fn unlimited_absolute_lifetime_never_expires() {
    let s = TestServer::start(&lifetimes("unlimited", "off")).await;
    let mut grants = both(&s).await;
    for (_, t) in &grants {
        assert_eq!(grant(&s, t).await.expires_at, None);
    }
    s.advance(secs(5 * 365 * 86_400));
    use_all(&s, &mut grants).await;
}

#[tokio::test]
async fn sliding_lifetime_is_extended_by_use_and_ends_when_idle() {
    let s = TestServer::start(&lifetimes("1h", "10m")).await;
    let mut grants = both(&s).await;
    // Used every 9 minutes: 36 minutes on, still alive.
    for _ in 0..4 {
        s.advance(secs(9 * 60));
        use_all(&s, &mut grants).await;
    }
    // Idle past the window: expired, though the absolute hour is not over.
    s.advance(secs(10 * 60 + 1));
    all_expired(&s, &grants).await;
}

#[tokio::test]
async fn sliding_never_extends_past_the_absolute_expiry() {
    let s = TestServer::start(&lifetimes("30m", "10m")).await;
    let mut grants = both(&s).await;
    for _ in 0..3 {
        s.advance(secs(9 * 60));
        use_all(&s, &mut grants).await;
    }
    // 27 minutes in and just used; 4 minutes later the sliding window is still open
    // but the absolute expiry has passed.
    s.advance(secs(4 * 60));
    all_expired(&s, &grants).await;
}

#[tokio::test]
async fn sliding_off_lets_a_grant_idle_until_its_absolute_expiry() {
    let s = TestServer::start(&lifetimes("1h", "off")).await;
    let cl = conf("rot");
    let t = login(&s, cl).await;
    s.advance(secs(59 * 60));
    let t2 = rt(&refresh_ok(&s, cl, &t).await);
    s.advance(secs(2 * 60));
    let (st, v) = refresh(&s, cl, &t2).await;
    assert_invalid_grant(st, &v, "expired");
}

#[tokio::test]
async fn default_sliding_window_is_seven_days() {
    let s = TestServer::start("").await;
    let t = login(&s, WEB_C).await;
    let g = grant(&s, &t).await;
    assert_eq!(g.sliding, Some(secs(7 * 86_400)));
    assert_eq!(g.expires_at, Some(g.created_at.plus(secs(30 * 86_400))));
    s.advance(secs(6 * 86_400));
    refresh_ok(&s, WEB_C, &t).await;
    s.advance(secs(6 * 86_400));
    refresh_ok(&s, WEB_C, &t).await;
    s.advance(secs(7 * 86_400 + 60));
    let (st, v) = refresh(&s, WEB_C, &t).await;
    assert_invalid_grant(st, &v, "expired");
}
