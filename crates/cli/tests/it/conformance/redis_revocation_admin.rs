//! Bulk revocations through the admin API (by client, by subject, deleting the
//! client) reach `persist = false` grants kept in Redis even when Redis has lost the
//! index keys that find them; and without Redis no revocation marker is written.

use super::redis::{clean, hget, new_prefix, open, raw, redis_url};
use super::redis_revocation::drop_indexes;
use crate::logout::{assert_invalid_grant, clients, flow, refresh_as, str_of, RP};
use baton_core::model::GrantId;
use baton_core::store::grant_marker_scopes;
use baton_testkit::{TestServer, ADMIN_TOKEN};
use reqwest::StatusCode;
use serde_json::Value;

/// A server with the admin API on and `rp`'s grants cached in Redis under `prefix`.
async fn admin_on_redis(prefix: &str) -> TestServer {
    let url = redis_url();
    TestServer::start_with_env(
        &clients(None, "persist = false"),
        &[
            ("BATON_ADMIN_TOKEN", ADMIN_TOKEN),
            ("BATON_STORAGE__CACHE_URL", url.as_str()),
            ("BATON_STORAGE__CACHE_PREFIX", prefix),
        ],
    )
    .await
}

async fn admin(s: &TestServer, method: &str, path: &str, body: Option<Value>) -> StatusCode {
    let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = s
        .http
        .request(m, format!("{}{path}", s.url))
        .bearer_auth(ADMIN_TOKEN);
    if let Some(b) = body {
        req = req.json(&b);
    }
    req.send().await.unwrap().status()
}

/// A cached grant of `rp` (its tokens), with every Redis index key deleted after.
async fn cached_grant_without_index(s: &TestServer, prefix: &str) -> (Value, GrantId, String) {
    let f = flow(s, RP, "openid offline_access").await;
    let c = s
        .state()
        .rt_keys
        .open(str_of(&f.tokens, "refresh_token"))
        .unwrap();
    assert!(!c.persist());
    let g = s.state().grants(false).get_grant(c.grant_id).await.unwrap();
    let subject = g.unwrap().subject;
    assert!(drop_indexes(prefix).await > 0);
    (f.tokens, c.grant_id, subject)
}

/// The grant's access token is refused and the cache has caught up with the revocation.
async fn assert_refused(s: &TestServer, prefix: &str, tokens: &Value, id: GrantId) {
    let r = s
        .http
        .get(format!("{}/userinfo", s.url))
        .bearer_auth(str_of(tokens, "access_token"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let key = format!("{prefix}g:{}", id.to_hex());
    assert_eq!(
        hget(&mut raw().await, &key, "st").await.as_deref(),
        Some("r")
    );
}

#[tokio::test]
async fn admin_revocation_by_client_revokes_cached_grants_without_their_index() {
    let prefix = new_prefix();
    let s = admin_on_redis(&prefix).await;
    let (tokens, id, _) = cached_grant_without_index(&s, &prefix).await;
    let body = serde_json::json!({"client_id": "rp"});
    let st = admin(&s, "POST", "/admin/revocations", Some(body)).await;
    assert_eq!(st, StatusCode::OK);
    assert_invalid_grant(refresh_as(&s, RP, str_of(&tokens, "refresh_token")).await);
    assert_refused(&s, &prefix, &tokens, id).await;
    s.stop().await;
    clean(open(&prefix).await.as_ref()).await;
}

#[tokio::test]
async fn admin_revocation_by_subject_revokes_cached_grants_without_their_index() {
    let prefix = new_prefix();
    let s = admin_on_redis(&prefix).await;
    let (tokens, id, subject) = cached_grant_without_index(&s, &prefix).await;
    let body = serde_json::json!({ "subject": subject });
    let st = admin(&s, "POST", "/admin/revocations", Some(body)).await;
    assert_eq!(st, StatusCode::OK);
    assert_invalid_grant(refresh_as(&s, RP, str_of(&tokens, "refresh_token")).await);
    assert_refused(&s, &prefix, &tokens, id).await;
    s.stop().await;
    clean(open(&prefix).await.as_ref()).await;
}

#[tokio::test]
async fn deleting_a_client_revokes_its_cached_grants_without_their_index() {
    let prefix = new_prefix();
    let s = admin_on_redis(&prefix).await;
    let (tokens, id, _) = cached_grant_without_index(&s, &prefix).await;
    s.api_managed_client("rp").await;
    let st = admin(&s, "DELETE", "/admin/clients/rp", None).await;
    assert!(st.is_success(), "{st}");
    assert_refused(&s, &prefix, &tokens, id).await;
    s.stop().await;
    clean(open(&prefix).await.as_ref()).await;
}

/// The in-process cache cannot lose an index or be down: its own sweep revokes the
/// cached grants, and no revocation marker is written (they would only pile up).
#[tokio::test]
async fn without_redis_a_logout_writes_no_revocation_marker() {
    let s = TestServer::start_raw(&format!(
        "{}\n{}",
        baton_testkit::BASE_CLIENTS,
        clients(None, "persist = false")
    ))
    .await;
    let f = flow(&s, RP, "openid offline_access online_access").await;
    let t = str_of(&f.tokens, "refresh_token").to_string();
    let c = s.state().rt_keys.open(&t).unwrap();
    let g = s.state().grants(false).get_grant(c.grant_id).await.unwrap();
    let scopes = grant_marker_scopes(&g.unwrap());
    let r = crate::logout::logout(&s, &[("id_token_hint", str_of(&f.tokens, "id_token"))]).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_invalid_grant(refresh_as(&s, RP, &t).await);
    assert_eq!(
        s.state().store.revocation_marker(&scopes).await.unwrap(),
        None
    );
    s.stop().await;
}
