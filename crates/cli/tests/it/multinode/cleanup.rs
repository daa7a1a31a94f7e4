//! The cleanup job in a running server: alone (SQLite) and on two nodes sharing one
//! PostgreSQL schema at once.

use baton_core::time::Dur;
use baton_testkit::pg::{self, PgSchema};
use baton_testkit::{TestServer, WEB};
use reqwest::StatusCode;
use std::time::Duration;

const CLEANUP: &str = "[cleanup]\ninterval = \"100ms\"\nretain_revoked = \"1d\"\n";

fn grant_id(s: &TestServer, token: &str) -> baton_core::model::GrantId {
    s.state().rt_keys.open(token).unwrap().grant_id
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
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(s.state().store.get_grant(gr).await.unwrap().is_some());
    // Past the sliding lifetime (7 d) plus the retention (1 d): both go.
    s.advance(Dur::secs(9 * 86_400));
    let live = s.password_grant("openid offline_access").await["refresh_token"]
        .as_str()
        .unwrap()
        .to_string();
    let mut gone = false;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let store = &s.state().store;
        if store.get_grant(gx).await.unwrap().is_none()
            && store.get_grant(gr).await.unwrap().is_none()
        {
            gone = true;
            break;
        }
    }
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
    let mut left = N as i64;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        left = count("SELECT COUNT(*) FROM grants").await;
        if left == 0 {
            break;
        }
    }
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
