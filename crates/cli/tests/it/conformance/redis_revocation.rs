//! Revocation of `persist = false` grants kept in Redis when Redis misbehaves: index
//! keys lost while the grant hashes survive, Redis down during a logout or a
//! revocation, and a Redis configured to evict keys.

use super::redis::{clean, hget, new_prefix, open, raw, redis_url, OwnRedis};
use crate::logout::{
    assert_invalid_grant, clients, flow, is_live, logout, refresh_as, sid_of, str_of, KEEPER, RP,
};
use crate::refresh::{self, public, public_toml, rt, SPA_C};
use baton_testkit::{TestServer, BASE_CLIENTS};
use reqwest::StatusCode;

pub(super) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `rp` keeps its grants in the cache (`persist = false`, `revoke_on_logout`);
/// `keeper`'s are persisted; `reuser` (public, persisted) revokes the client+user on
/// reuse; `volatile` (public) is cached and does the same.
fn toml(cache_url: &str, prefix: &str) -> String {
    format!(
        "cache_url = \"{cache_url}\"\ncache_prefix = \"{prefix}\"\n{BASE_CLIENTS}\n{}{}{}",
        clients(None, "persist = false"),
        public_toml("reuser", "reuse_reaction = \"revoke_client_user\""),
        public_toml(
            "volatile",
            "persist = false\nreuse_reaction = \"revoke_client_user\""
        ),
    )
}

/// Deletes every index key under `prefix`, keeping the grant hashes: what an expired
/// or evicted index looks like.
pub(super) async fn drop_indexes(prefix: &str) -> usize {
    let mut c = raw().await;
    let keys: Vec<String> = ::redis::cmd("KEYS")
        .arg(format!("{prefix}i:*"))
        .query_async(&mut c)
        .await
        .unwrap();
    for k in &keys {
        let _: i64 = ::redis::cmd("DEL")
            .arg(k)
            .query_async(&mut c)
            .await
            .unwrap();
    }
    keys.len()
}

/// A logout revokes the session's cached grants even when Redis has lost the index
/// keys that find them: the grant hash is still there, and refreshing it fails.
#[tokio::test]
async fn logout_revokes_cached_grants_whose_redis_index_is_gone() {
    let prefix = new_prefix();
    let s = TestServer::start_raw(&toml(&redis_url(), &prefix)).await;
    let offline = flow(&s, RP, "openid offline_access").await;
    let online = flow(&s, RP, "openid online_access").await;
    let t = str_of(&offline.tokens, "refresh_token").to_string();
    let c = s.state().rt_keys.open(&t).unwrap();
    assert!(!c.persist());
    assert!(drop_indexes(&prefix).await > 0);

    let r = logout(
        &s,
        &[("id_token_hint", str_of(&offline.tokens, "id_token"))],
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(!is_live(&s, &sid_of(&offline.tokens)).await);
    // Introspection sees it revoked before any refresh has caught the cache up.
    let (st, v) = s
        .post_form("/introspect", Some(RP), &[("token", t.as_str())])
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["active"], false, "{v}");
    assert_invalid_grant(refresh_as(&s, RP, &t).await);
    assert_invalid_grant(refresh_as(&s, RP, str_of(&online.tokens, "refresh_token")).await);
    // The cache caught up when the grant was next used, with its event.
    let key = format!("{prefix}g:{}", c.grant_id.to_hex());
    let mut r = raw().await;
    assert_eq!(hget(&mut r, &key, "st").await.as_deref(), Some("r"));
    let revoked = s.events("grant.revoked").await;
    assert!(
        revoked.iter().any(|e| e.grant_id == Some(c.grant_id)),
        "{revoked:?}"
    );
    s.stop().await;
    clean(open(&prefix).await.as_ref()).await;
}

/// Reuse detection with `revoke_client_user` revokes the user's other cached grants
/// of the client even when their index keys are gone.
#[tokio::test]
async fn reuse_revokes_the_client_users_cached_grants_without_their_index() {
    let prefix = new_prefix();
    let s = TestServer::start_raw(&toml(&redis_url(), &prefix)).await;
    let cl = public("volatile");
    let a1 = refresh::login(&s, cl).await;
    let other_v = refresh::login_as(&s, cl, "alice", "openid offline_access").await;
    let other = rt(&other_v);
    // Two rotations: the first token is past the grace window of the second.
    let a2 = rt(&refresh::refresh_ok(&s, cl, &a1).await);
    refresh::refresh_ok(&s, cl, &a2).await;
    drop_indexes(&prefix).await;

    let (st, v) = refresh::refresh(&s, cl, &a1).await;
    refresh::assert_invalid_grant(st, &v, "reused");
    // The access tokens of the other grant die with it (checked before the grant is
    // next refreshed, which catches the cache up).
    assert_eq!(
        refresh::userinfo(&s, &refresh::at(&other_v)).await,
        StatusCode::UNAUTHORIZED
    );
    let (st, v) = refresh::refresh(&s, cl, &other).await;
    refresh::assert_invalid_grant(st, &v, "revoked");
    s.stop().await;
    clean(open(&prefix).await.as_ref()).await;
}

/// Redis down: a logout still ends the session and revokes what the main store
/// holds; when Redis returns (with its data), the session's cached grants are
/// revoked too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_with_redis_down_ends_the_session_and_cached_grants_follow() {
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let durable = [
        "--dir",
        dir.path().to_str().unwrap(),
        "--appendonly",
        "yes",
        "--appendfsync",
        "always",
    ];
    let Some(redis) = OwnRedis::start_with(port, &durable).await else {
        eprintln!("redis-server not found: skipping");
        return;
    };
    let s = TestServer::start_raw(&toml(&redis.url(), "baton:")).await;
    let cached = flow(&s, RP, "openid offline_access").await;
    let persisted = flow(&s, KEEPER, "openid online_access").await;
    let kept = flow(&s, KEEPER, "openid offline_access").await;
    let sid = sid_of(&cached.tokens);
    redis.kill().await;

    let r = logout(&s, &[("id_token_hint", str_of(&cached.tokens, "id_token"))]).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(!is_live(&s, &sid).await, "the session ended");
    assert_invalid_grant(refresh_as(&s, KEEPER, str_of(&persisted.tokens, "refresh_token")).await);
    let (st, v) = refresh_as(&s, KEEPER, str_of(&kept.tokens, "refresh_token")).await;
    assert_eq!(st, StatusCode::OK, "revoke_on_logout = false keeps it: {v}");
    let (st, _) = refresh_as(&s, RP, str_of(&cached.tokens, "refresh_token")).await;
    assert_eq!(st, StatusCode::SERVICE_UNAVAILABLE, "the cache is down");

    let again = OwnRedis::start_with(port, &durable).await.unwrap();
    let t = str_of(&cached.tokens, "refresh_token");
    let mut answered = false;
    for _ in 0..50 {
        let (st, v) = refresh_as(&s, RP, t).await;
        if st != StatusCode::SERVICE_UNAVAILABLE {
            assert_invalid_grant((st, v));
            answered = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(answered, "the server did not reconnect to redis");
    let c = s.state().rt_keys.open(t).unwrap();
    let g = s.state().grants(false).get_grant(c.grant_id).await.unwrap();
    assert!(g.is_some_and(|g| !g.is_active()), "the cache caught up");
    s.stop().await;
    again.kill().await;
}

/// A server on a Redis of its own (stopped by the test), with [`toml`]'s clients.
async fn with_own_redis() -> Option<(OwnRedis, TestServer)> {
    let Some(redis) = OwnRedis::start(free_port()).await else {
        eprintln!("redis-server not found: skipping");
        return None;
    };
    let s = TestServer::start_raw(&toml(&redis.url(), "baton:")).await;
    Some((redis, s))
}

/// Redis down: revoking an already revoked persisted token answers 200 (the token
/// says its grant is in the main store; Redis is not asked).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoking_a_revoked_persisted_token_with_redis_down_answers_200() {
    let Some((redis, s)) = with_own_redis().await else {
        return;
    };
    let gone = refresh::login(&s, SPA_C).await;
    let form = [("client_id", SPA_C.id), ("token", gone.as_str())];
    let revoke = || s.post_form("/revoke", None, &form);
    assert_eq!(revoke().await.0, StatusCode::OK);
    redis.kill().await;
    let (st, v) = revoke().await;
    assert_eq!(st, StatusCode::OK, "{v}");
    s.stop().await;
}

/// Redis down: reuse of a persisted grant whose reaction (`revoke_client_user`) reaches
/// the cache too answers `invalid_grant`, having revoked and recorded it: a 503 would
/// say nothing changed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reuse_of_a_persisted_grant_with_redis_down_answers_invalid_grant() {
    let Some((redis, s)) = with_own_redis().await else {
        return;
    };
    let cl = public("reuser");
    let p1 = refresh::login(&s, cl).await;
    let sibling = refresh::login(&s, cl).await;
    let p2 = rt(&refresh::refresh_ok(&s, cl, &p1).await);
    refresh::refresh_ok(&s, cl, &p2).await;
    redis.kill().await;

    let (st, v) = refresh::refresh(&s, cl, &p1).await;
    refresh::assert_invalid_grant(st, &v, "reused");
    let (st, v) = refresh::refresh(&s, cl, &sibling).await;
    refresh::assert_invalid_grant(st, &v, "revoked");
    assert_eq!(s.events("token.reuse_detected").await.len(), 1);
    s.stop().await;
}

/// Start-up refuses a Redis that may evict keys, also when CONFIG is disabled (the
/// policy is read from INFO then); `/readyz` reports a policy changed later, and a
/// Redis that stopped answering.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_that_may_evict_keys_is_refused() {
    let port = free_port();
    let args = [
        "--maxmemory-policy",
        "allkeys-lru",
        "--rename-command",
        "CONFIG",
        "",
    ];
    let Some(evicting) = OwnRedis::start_with(port, &args).await else {
        eprintln!("redis-server not found: skipping");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let path = baton_testkit::write_config(dir.path(), 9, &toml(&evicting.url(), "baton:"));
    let cfg = baton_server::config::load(
        &baton_server::config::Sources {
            file: Some(&path),
            env: vec![],
            base_dir: dir.path().to_path_buf(),
        },
        false,
    )
    .unwrap();
    let e = baton_server::bootstrap::build(cfg, baton_server::clock::Clock::default())
        .await
        .err()
        .unwrap();
    assert!(e.contains("storage.cache_url"), "{e}");
    assert!(e.contains("allkeys-lru") && e.contains("noeviction"), "{e}");
    evicting.kill().await;

    let port = free_port();
    let redis = OwnRedis::start(port).await.unwrap();
    let s = TestServer::start_raw(&toml(&redis.url(), "baton:")).await;
    let ready = || async {
        let r = s
            .http
            .get(format!("{}/readyz", s.url))
            .send()
            .await
            .unwrap();
        (r.status(), r.text().await.unwrap())
    };
    assert_eq!(ready().await.0, StatusCode::OK);
    let mut c = ::redis::Client::open(redis.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let _: () = ::redis::cmd("CONFIG")
        .arg("SET")
        .arg("maxmemory-policy")
        .arg("volatile-lru")
        .query_async(&mut c)
        .await
        .unwrap();
    let (st, body) = ready().await;
    assert_eq!(st, StatusCode::SERVICE_UNAVAILABLE);
    assert!(body.contains("volatile-lru"), "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["checks"]["storage"], "ok", "{v}");
    assert!(
        v["checks"]["cache"]
            .as_str()
            .unwrap()
            .starts_with("misconfigured: maxmemory-policy is `volatile-lru`"),
        "{v}"
    );
    // A Redis that does not answer makes the node not ready, naming the cache.
    redis.kill().await;
    assert_cache_down(ready().await);
    s.stop().await;
}

/// `/readyz` with Redis down: 503, the body naming the cache as down and the main
/// store as fine.
fn assert_cache_down((st, body): (StatusCode, String)) {
    assert_eq!(st, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["status"], "unavailable", "{v}");
    assert_eq!(v["checks"]["storage"], "ok", "{v}");
    assert!(
        v["checks"]["cache"].as_str().unwrap().starts_with("down"),
        "{v}"
    );
}

/// A Redis that answers but will not tell its eviction policy (an ACL refusing both
/// CONFIG and INFO) makes `/readyz` not ready, as it makes start-up fail; so does a
/// Redis that does not answer at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_whose_eviction_policy_cannot_be_read_is_not_ready() {
    let Some((redis, s)) = with_own_redis().await else {
        return;
    };
    let ready = || async {
        let r = s
            .http
            .get(format!("{}/readyz", s.url))
            .send()
            .await
            .unwrap();
        (r.status(), r.text().await.unwrap())
    };
    assert_eq!(ready().await.0, StatusCode::OK);
    let mut c = ::redis::Client::open(redis.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let _: () = ::redis::cmd("ACL")
        .arg("SETUSER")
        .arg("default")
        .arg("-config")
        .arg("-info")
        .query_async(&mut c)
        .await
        .unwrap();
    let (st, body) = ready().await;
    assert_eq!(st, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(body.contains("maxmemory-policy"), "{body}");
    redis.kill().await;
    assert_cache_down(ready().await);
    s.stop().await;
}
