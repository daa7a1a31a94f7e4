//! The grant conformance suite against the machine's Redis (127.0.0.1:6379, or
//! `BATON_TEST_REDIS_URL`), each test under its own random key prefix whose keys are
//! deleted at the end, so parallel tests and repeated runs never collide. Then a real
//! server keeping its `persist = false` grants in Redis, start-up against an
//! unreachable Redis, and a Redis that goes away while serving.

use crate::refresh::{
    assert_invalid_grant, claims, login, public, public_toml, refresh, refresh_ok, rt, SPA_C,
};
use baton_core::store::GrantStore;
use baton_store::RedisGrants;
use baton_testkit::conformance as suite;
use baton_testkit::{TestServer, BASE_CLIENTS};
use reqwest::StatusCode;
use std::sync::Arc;
use std::time::Duration;

const DAY_MS: i64 = 86_400_000;

pub(crate) fn redis_url() -> String {
    std::env::var("BATON_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// A key prefix no other test (or run) uses.
pub(crate) fn new_prefix() -> String {
    let r: [u8; 8] = baton_core::random_bytes();
    format!("baton-test:{}:", baton_core::secret::hex(&r))
}

pub(crate) async fn open(prefix: &str) -> Arc<RedisGrants> {
    Arc::new(
        RedisGrants::connect(&redis_url(), &Default::default(), prefix, 7 * DAY_MS)
            .await
            .unwrap(),
    )
}

pub(super) async fn raw() -> ::redis::aio::MultiplexedConnection {
    ::redis::Client::open(redis_url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

pub(super) async fn keys_under(prefix: &str) -> Vec<String> {
    let mut c = raw().await;
    ::redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query_async(&mut c)
        .await
        .unwrap()
}

/// Deletes this test's keys and checks none is left.
pub(crate) async fn clean(s: &RedisGrants) {
    s.delete_all().await.unwrap();
    assert!(keys_under(s.prefix()).await.is_empty());
}

/// The grant checks on Redis, each under a fresh key prefix whose keys are deleted
/// after it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis() {
    suite::run_on_grants(
        "redis",
        || async {
            let s = open(&new_prefix()).await;
            (s.clone(), s as Arc<dyn GrantStore>)
        },
        |s| async move { clean(&s).await },
    )
    .await;
}

/// Every key has a TTL: the grant's remaining life plus the revoked retention, the
/// indexes as long as their longest-lived grant; revoking shortens the grant's to the
/// retention; an expired grant's index entry is dropped when met.
#[tokio::test]
async fn redis_keys_expire_with_the_grant() {
    let s = open(&new_prefix()).await;
    // Sliding 1 h, absolute 1 d: the sliding clock runs out first.
    let g = suite::grant("c1", "alice", Some("sa"), suite::T0);
    s.insert_grant(&g, suite::event("grant.created", suite::T0, None, None))
        .await
        .unwrap();
    let mut c = raw().await;
    let keys = keys_under(s.prefix()).await;
    assert_eq!(keys.len(), 6, "a hash and five indexes: {keys:?}");
    let want = 3_600_000 + 7 * DAY_MS;
    for k in &keys {
        let ttl: i64 = ::redis::cmd("PTTL")
            .arg(k)
            .query_async(&mut c)
            .await
            .unwrap();
        assert!(ttl > want - 60_000 && ttl <= want, "{k}: {ttl}");
    }
    // A rotation half an hour before the absolute expiry: the grant's TTL is
    // recomputed from the rotation's `now` (30 min of life left); an index never
    // shortens.
    let later = suite::T0.plus(baton_core::time::Dur::secs(86_400 - 1800));
    assert!(s.advance(g.id, 1, later).await.unwrap());
    let gk = s.grant_key(g.id);
    for k in &keys {
        let ttl: i64 = ::redis::cmd("PTTL")
            .arg(k)
            .query_async(&mut c)
            .await
            .unwrap();
        let want = if *k == gk { 1_800_000 } else { 3_600_000 } + 7 * DAY_MS;
        assert!(ttl > want - 60_000 && ttl <= want, "{k}: {ttl}");
    }
    let why = baton_core::store::Revocation {
        reason: "test".into(),
        now: later,
        ip: None,
        user_agent: None,
        extra_events: vec![],
        actor: None,
    };
    s.revoke(&baton_core::store::GrantFilter::Grant(g.id), &why)
        .await
        .unwrap();
    let ttl: i64 = ::redis::cmd("PTTL")
        .arg(s.grant_key(g.id))
        .query_async(&mut c)
        .await
        .unwrap();
    assert!(ttl > 7 * DAY_MS - 60_000 && ttl <= 7 * DAY_MS, "{ttl}");
    // The grant expires; its index entries go when met.
    let _: i64 = ::redis::cmd("DEL")
        .arg(s.grant_key(g.id))
        .query_async(&mut c)
        .await
        .unwrap();
    assert!(s.list_grants(None, None, 10).await.unwrap().is_empty());
    let filter = baton_core::store::GrantFilter::Client("c1".into());
    assert!(s.revoke(&filter, &why).await.unwrap().is_empty());
    let members: i64 = ::redis::cmd("ZCARD")
        .arg(format!(
            "{}i:c:{}",
            s.prefix(),
            baton_core::secret::hex(b"c1")
        ))
        .query_async(&mut c)
        .await
        .unwrap();
    assert_eq!(members, 0);
    clean(&s).await;
}

/// The server config for these tests: `storage.cache_url`/`cache_prefix` (the
/// harness opens `[storage]` just before), the base clients, and a public client
/// `volatile` with `persist = false`.
fn server_toml(cache_url: &str, prefix: &str) -> String {
    format!(
        "cache_url = \"{cache_url}\"\ncache_prefix = \"{prefix}\"\n{BASE_CLIENTS}\n{}",
        public_toml("volatile", "persist = false")
    )
}

pub(super) async fn hget(
    c: &mut ::redis::aio::MultiplexedConnection,
    key: &str,
    f: &str,
) -> Option<String> {
    ::redis::cmd("HGET")
        .arg(key)
        .arg(f)
        .query_async(c)
        .await
        .unwrap()
}

async fn pttl(c: &mut ::redis::aio::MultiplexedConnection, key: &str) -> i64 {
    ::redis::cmd("PTTL").arg(key).query_async(c).await.unwrap()
}

/// SPEC §2.8 with `storage.cache_url`: a `persist = false` grant lives in Redis with a
/// TTL, rotates, answers a grace replay, and a reuse revokes it there.
#[tokio::test]
async fn redis_unpersisted_grants_live_in_redis() {
    let prefix = new_prefix();
    let s = TestServer::start_raw(&server_toml(&redis_url(), &prefix)).await;
    let cl = public("volatile");
    let t1 = login(&s, cl).await;
    let c = claims(&s, &t1);
    assert!(!c.persist());
    let main = s.state().grants(true).get_grant(c.grant_id).await.unwrap();
    assert!(main.is_none(), "not in the main store");
    let key = format!("{prefix}g:{}", c.grant_id.to_hex());
    let mut r = raw().await;
    assert_eq!(hget(&mut r, &key, "gen").await.as_deref(), Some("1"));
    assert_eq!(hget(&mut r, &key, "st").await.as_deref(), Some("a"));
    // Defaults: sliding 7 d (before absolute 30 d) + retain_revoked 7 d.
    let ttl = pttl(&mut r, &key).await;
    assert!(ttl > 14 * DAY_MS - 60_000 && ttl <= 14 * DAY_MS, "{ttl}");

    let t2 = rt(&refresh_ok(&s, cl, &t1).await);
    assert_eq!(rt(&refresh_ok(&s, cl, &t1).await), t2, "grace replay");
    let t3 = rt(&refresh_ok(&s, cl, &t2).await);
    assert_eq!(hget(&mut r, &key, "gen").await.as_deref(), Some("3"));

    let (st, v) = refresh(&s, cl, &t1).await;
    assert_invalid_grant(st, &v, "reused");
    let (st, v) = refresh(&s, cl, &t3).await;
    assert_invalid_grant(st, &v, "revoked");
    assert_eq!(hget(&mut r, &key, "st").await.as_deref(), Some("r"));
    let ttl = pttl(&mut r, &key).await;
    assert!(ttl > 7 * DAY_MS - 60_000 && ttl <= 7 * DAY_MS, "{ttl}");
    for kind in ["grant.created", "token.reuse_detected", "grant.revoked"] {
        let ev = s.events(kind).await;
        assert_eq!(ev.len(), 1, "{kind}: {ev:?}");
        assert_eq!(ev[0].grant_id, Some(c.grant_id));
    }
    s.stop().await;
    clean(open(&prefix).await.as_ref()).await;
}

/// Start-up with a Redis that does not answer fails, naming the URL without its
/// password.
#[tokio::test]
async fn redis_unreachable_at_start_up_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let toml = server_toml("redis://baton:hunter2@127.0.0.1:1", &new_prefix());
    let path = baton_testkit::write_config(dir.path(), 9, &toml);
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
    assert!(e.contains("redis://baton:***@127.0.0.1:1"), "{e}");
    assert!(!e.contains("hunter2"), "{e}");
}

/// A Redis server of this test's own, on a free port.
pub(crate) struct OwnRedis {
    pub(crate) port: u16,
    child: tokio::process::Child,
}

impl OwnRedis {
    pub(crate) async fn start(port: u16) -> Option<OwnRedis> {
        Self::start_with(port, &[]).await
    }

    /// [`OwnRedis::start`] with more `redis-server` arguments (they override the
    /// defaults: `--save ''`, no append-only file).
    pub(crate) async fn start_with(port: u16, extra: &[&str]) -> Option<OwnRedis> {
        let child = tokio::process::Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .args(extra)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .ok()?;
        let url = format!("redis://127.0.0.1:{port}");
        for _ in 0..100 {
            if let Ok(client) = ::redis::Client::open(url.as_str()) {
                if let Ok(mut c) = client.get_multiplexed_async_connection().await {
                    let pong: Result<String, _> = ::redis::cmd("PING").query_async(&mut c).await;
                    if pong.is_ok() {
                        return Some(OwnRedis { port, child });
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("redis-server on port {port} did not answer");
    }

    pub(crate) fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    pub(crate) async fn kill(mut self) {
        self.child.kill().await.unwrap();
    }
}

/// Redis goes away while serving: `persist = false` refreshes (and new such grants)
/// answer 503 `temporarily_unavailable`, never `invalid_grant`; persisted grants
/// refresh as before; once Redis is back the server uses it again by itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_outage_fails_unpersisted_refreshes_only() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let Some(redis) = OwnRedis::start(port).await else {
        eprintln!("redis-server not found: skipping the outage test");
        return;
    };
    let s = TestServer::start_raw(&server_toml(&redis.url(), "baton:")).await;
    let cl = public("volatile");
    let v1 = login(&s, cl).await;
    let p1 = login(&s, SPA_C).await;
    let v2 = rt(&refresh_ok(&s, cl, &v1).await);
    let p2 = rt(&refresh_ok(&s, SPA_C, &p1).await);
    let url = redis.url();
    redis.kill().await;

    for _ in 0..3 {
        let (st, v) = refresh(&s, cl, &v2).await;
        assert_eq!(st, StatusCode::SERVICE_UNAVAILABLE, "{v}");
        assert_eq!(v["error"], "temporarily_unavailable", "{v}");
    }
    let (st, v) = s
        .post_form(
            "/token",
            None,
            &[
                ("grant_type", "password"),
                ("client_id", "volatile"),
                ("username", baton_testkit::ALICE.0),
                ("password", baton_testkit::ALICE.1),
                ("scope", "openid offline_access"),
            ],
        )
        .await;
    assert_eq!(st, StatusCode::SERVICE_UNAVAILABLE, "{v}");
    let p3 = rt(&refresh_ok(&s, SPA_C, &p2).await);
    // Revoking a persisted grant does not need Redis either.
    let p_other = login(&s, SPA_C).await;
    let (st, v) = s
        .post_form(
            "/revoke",
            None,
            &[("client_id", SPA_C.id), ("token", &p_other)],
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let (st, v) = refresh(&s, SPA_C, &p_other).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");

    // Redis returns (empty: not durable); the server reconnects by itself.
    let again = OwnRedis::start(port).await.unwrap();
    assert_eq!(again.url(), url);
    let mut ok = false;
    for _ in 0..50 {
        let (st, v) = refresh(&s, cl, &v2).await;
        if st == StatusCode::BAD_REQUEST {
            assert_invalid_grant(st, &v, "");
            ok = true;
            break;
        }
        assert_eq!(st, StatusCode::SERVICE_UNAVAILABLE, "{v}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ok, "the server did not reconnect to redis");
    let w1 = login(&s, cl).await;
    refresh_ok(&s, cl, &w1).await;
    refresh_ok(&s, SPA_C, &p3).await;
    s.stop().await;
    again.kill().await;
}
