//! The cleanup job in a running server: alone (SQLite) and on two nodes sharing one
//! PostgreSQL schema at once.

use crate::support::eventually;
use baton_core::time::Dur;
use baton_testkit::pg::{self, PgSchema};
use baton_testkit::{TestServer, WEB};
use reqwest::StatusCode;
use std::time::Duration;

const CLEANUP: &str = "[cleanup]\ninterval = \"100ms\"\nretain_revoked = \"1d\"\n";

fn grant_id(s: &TestServer, token: &str) -> baton_core::model::GrantId {
    s.state().rt_keys.open(token).unwrap().grant_id
}

/// One run of the cleanup job now, as its next tick would run it (for checking what it
/// keeps without waiting for a tick).
async fn cleanup_now(s: &TestServer) {
    baton_server::cleanup::run(s.state(), s.clock.now())
        .await
        .expect("cleanup run");
}

#[tokio::test]
async fn cleanup_deletes_expired_and_revoked_grants_after_retention() {
    let s = TestServer::start(CLEANUP).await;
    let expiring = s.password_grant("openid offline_access").await["refresh_token"]
        .as_str()
        .unwrap()
        .to_string();
    let revoked = s.password_grant("openid offline_access").await["refresh_token"]
        .as_str()
        .unwrap()
        .to_string();
    let (st, _) = s
        .post_form("/revoke", Some(WEB), &[("token", revoked.as_str())])
        .await;
    assert_eq!(st, StatusCode::OK);
    let (gx, gr) = (grant_id(&s, &expiring), grant_id(&s, &revoked));
    // Inside the retention (an hour after revocation) the revoked grant is kept.
    s.advance(Dur::secs(3600));
    cleanup_now(&s).await;
    assert!(s.state().store.get_grant(gr).await.unwrap().is_some());
    // Past the sliding lifetime (7 d) plus the retention (1 d): both go.
    s.advance(Dur::secs(9 * 86_400));
    let live = s.password_grant("openid offline_access").await["refresh_token"]
        .as_str()
        .unwrap()
        .to_string();
    let store = &s.state().store;
    let gone = eventually(
        Duration::from_secs(5),
        || async {
            store.get_grant(gx).await.unwrap().is_none()
                && store.get_grant(gr).await.unwrap().is_none()
        },
        |gone| *gone,
    )
    .await;
    assert!(gone, "cleanup removed the expired and the revoked grant");
    let expired = s.events("grant.expired").await;
    assert_eq!(
        expired.len(),
        1,
        "only the expired grant records grant.expired"
    );
    assert_eq!(expired[0].grant_id, Some(gx));
    assert_eq!(expired[0].client_id.as_deref(), Some("web"));
    assert!(!expired[0].details.to_string().contains("brt_"));
    // The live grant is untouched and refreshes.
    let (st, v) = s.refresh(&live).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let (st, v) = s.refresh(&expiring).await;
    assert_eq!(
        (st, &v["error"]),
        (StatusCode::BAD_REQUEST, &"invalid_grant".into())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cleanup_on_two_nodes_at_once_removes_each_grant_once() {
    const N: usize = 30;
    let schema = PgSchema::create().await;
    let a = TestServer::start_with_storage(&schema.url, CLEANUP).await;
    let b = TestServer::start_with_storage(&schema.url, CLEANUP).await;
    for _ in 0..N {
        a.password_grant("openid offline_access").await;
    }
    let count = |sql: &'static str| {
        let url = schema.url.clone();
        async move { pg::query_i64(&url, sql).await.unwrap() }
    };
    assert_eq!(count("SELECT COUNT(*) FROM grants").await, N as i64);
    a.advance(Dur::secs(9 * 86_400));
    b.advance(Dur::secs(9 * 86_400));
    let left = eventually(
        Duration::from_secs(5),
        || count("SELECT COUNT(*) FROM grants"),
        |left| *left == 0,
    )
    .await;
    assert_eq!(left, 0, "both nodes' cleanup removed every expired grant");
    let events = count("SELECT COUNT(*) FROM events WHERE \"type\" = 'grant.expired'").await;
    assert_eq!(
        events, N as i64,
        "one grant.expired per grant, whichever node removed it"
    );
    let distinct =
        count("SELECT COUNT(DISTINCT grant_id) FROM events WHERE \"type\" = 'grant.expired'").await;
    assert_eq!(distinct, N as i64);
}

/// Revocation markers (written for bulk revocations when cached grants live in Redis)
/// are deleted once no grant they cover can still be presented: older than the longest
/// grant life under the effective settings (here the default 30 d absolute lifetime)
/// plus `retain_revoked` (1 d). Younger ones stay.
#[tokio::test]
async fn cleanup_deletes_revocation_markers_no_grant_can_outlive() {
    use crate::conformance::redis::{clean, new_prefix, open, redis_url};
    use crate::logout::{clients, flow, logout, str_of, RP};
    let prefix = new_prefix();
    let s = TestServer::start_raw(&format!(
        "cache_url = \"{}\"\ncache_prefix = \"{prefix}\"\n{}\n{}\n{CLEANUP}",
        redis_url(),
        baton_testkit::BASE_CLIENTS,
        clients(None, "persist = false"),
    ))
    .await;
    let scopes_after_logout = || async {
        let f = flow(&s, RP, "openid offline_access").await;
        let c = s
            .state()
            .rt_keys
            .open(str_of(&f.tokens, "refresh_token"))
            .unwrap();
        let g = s.state().grants(false).get_grant(c.grant_id).await.unwrap();
        let r = logout(&s, &[("id_token_hint", str_of(&f.tokens, "id_token"))]).await;
        assert_eq!(r.status(), StatusCode::OK);
        baton_core::store::grant_marker_scopes(&g.unwrap())[3..].to_vec()
    };
    let marker = |scopes: Vec<String>| {
        let st = s.state();
        async move { st.store.revocation_marker(&scopes).await.unwrap() }
    };
    let old = scopes_after_logout().await;
    assert!(marker(old.clone()).await.is_some());
    s.advance(Dur::secs(20 * 86_400));
    cleanup_now(&s).await;
    assert!(marker(old.clone()).await.is_some(), "20 d old: kept");
    // A bulk revocation 20 d in (its marker written as a logout's would be).
    let young_filter = baton_core::store::GrantFilter::Session("young".into());
    let why = baton_core::store::Revocation {
        reason: "session_ended:logout".into(),
        now: s.clock.now(),
        ip: None,
        user_agent: None,
        extra_events: vec![],
        actor: None,
    };
    s.state()
        .store
        .revoke_marking(&young_filter, &why)
        .await
        .unwrap();
    let young = baton_core::store::marker_scopes(&young_filter);
    s.advance(Dur::secs(12 * 86_400));
    let gone = eventually(
        Duration::from_secs(5),
        || async { marker(old.clone()).await.is_none() },
        |gone| *gone,
    )
    .await;
    assert!(gone, "a 32 d old marker is deleted");
    assert!(marker(young).await.is_some(), "a 12 d old marker is kept");
    s.stop().await;
    clean(open(&prefix).await.as_ref()).await;
}

/// A client whose grants never expire (no absolute, no sliding lifetime): no marker can
/// be known to be outlived, so the cleanup job keeps them all.
#[tokio::test]
async fn cleanup_keeps_revocation_markers_while_grants_can_live_forever() {
    use crate::conformance::redis::{clean, new_prefix, open, redis_url};
    use crate::logout::clients;
    use baton_core::store::{marker_scopes, GrantFilter, Revocation};
    let prefix = new_prefix();
    let forever = "persist = false\nabsolute_lifetime = \"unlimited\"\nsliding_lifetime = \"off\"";
    let s = TestServer::start_raw(&format!(
        "cache_url = \"{}\"\ncache_prefix = \"{prefix}\"\n{}\n{}\n{CLEANUP}",
        redis_url(),
        baton_testkit::BASE_CLIENTS,
        clients(None, forever),
    ))
    .await;
    let f = GrantFilter::Client("rp".into());
    let why = Revocation {
        reason: "admin".into(),
        now: s.clock.now(),
        ip: None,
        user_agent: None,
        extra_events: vec![],
        actor: None,
    };
    s.state().store.revoke_marking(&f, &why).await.unwrap();
    s.advance(Dur::secs(400 * 86_400));
    cleanup_now(&s).await;
    let m = s.state().store.revocation_marker(&marker_scopes(&f)).await;
    assert!(m.unwrap().is_some(), "kept");
    s.stop().await;
    clean(open(&prefix).await.as_ref()).await;
}
