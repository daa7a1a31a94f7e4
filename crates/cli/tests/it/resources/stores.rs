//! A grant's resources live wherever the grant does: PostgreSQL (two nodes sharing
//! it), and the Redis cache for `persist = false` grants.

use super::*;

/// Alternates audiences with one rotating refresh token, each refresh on the other
/// node: the grant's resources are read back from the store every time.
async fn alternate(a: &TestServer, b: &TestServer) {
    let (code, ver) = authorize(
        a,
        "app",
        "offline_access invoices.read orders.read",
        &[INVOICES, ORDERS],
    )
    .await;
    let (st, v) = exchange_for(a, APP, &code, &ver, Some(ORDERS)).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let mut t = rt(&v);
    for (i, r) in [INVOICES, ORDERS, INVOICES].iter().enumerate() {
        let node = if i % 2 == 0 { b } else { a };
        let (st, v) = refresh(node, APP, &t, Some(r)).await;
        assert_eq!(st, StatusCode::OK, "{r}: {v}");
        assert_eq!(
            v["scope"],
            if *r == ORDERS {
                "orders.read"
            } else {
                "invoices.read"
            }
        );
        t = rt(&v);
    }
    let got = refresh(a, APP, &t, Some(HIDDEN)).await;
    assert_invalid_target(&got, "not one this grant holds");
    let (st, v) = refresh(b, APP, &t, Some(ORDERS)).await;
    assert_eq!(st, StatusCode::OK, "still usable after invalid_target: {v}");
}

#[tokio::test]
async fn resources_on_postgresql_across_two_nodes() {
    let pg = baton_testkit::pg::PgSchema::create().await;
    let a = TestServer::start_raw_with_storage(&pg.url, &fixture("")).await;
    let b = TestServer::start_raw_with_storage(&pg.url, &fixture("")).await;
    alternate(&a, &b).await;
}

#[tokio::test]
async fn resources_of_a_grant_kept_in_redis() {
    use crate::conformance::redis::{new_prefix, redis_url};
    let prefix = new_prefix();
    let extra = format!(
        "cache_url = \"{}\"\ncache_prefix = \"{prefix}\"\n{}",
        redis_url(),
        fixture("persist = false")
    );
    let s = TestServer::start_raw(&extra).await;
    let (code, ver) = authorize(
        &s,
        "app",
        "offline_access invoices.read orders.read",
        &[INVOICES, ORDERS],
    )
    .await;
    let (_, v) = exchange_for(&s, APP, &code, &ver, None).await;
    let t = rt(&v);
    let c = s.state().rt_keys.open(&t).unwrap();
    let g = s
        .state()
        .grants(false)
        .get_grant(c.grant_id)
        .await
        .unwrap()
        .unwrap();
    assert!(!g.persist);
    assert_eq!(g.resources, vec![INVOICES.to_string(), ORDERS.to_string()]);
    alternate(&s, &s).await;
}
