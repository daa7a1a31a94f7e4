//! TLS to the stores, against private servers started here (`baton_testkit::tls_servers`):
//! a PostgreSQL cluster that accepts TLS connections only and a Redis listening on a TLS
//! port only, both with certificates of a CA made for the test. The certificate checks
//! of every `sslmode`, client certificates, `rediss://` with the right and a wrong CA,
//! Redis Cluster refused, and `/readyz` naming the store that is down.

use crate::conformance::redis::OwnRedis;
use crate::refresh::{login, public, public_toml, refresh, refresh_ok, rt};
use baton_core::error::StoreError;
use baton_store::PgStore;
use baton_testkit::tls_servers::{free_port, Pki, TlsPostgres, TlsRedis};
use baton_testkit::{TestServer, BASE_CLIENTS};
use reqwest::StatusCode;
use std::path::Path;

/// Opens the store at `url` and answers the error's text, or `None` if it opened.
async fn open_err(url: &str) -> Option<String> {
    match PgStore::open(url, 2).await {
        Ok(s) => {
            s.close();
            None
        }
        Err(e) => {
            assert!(matches!(e, StoreError::Unavailable(_)), "{e:?}");
            Some(e.to_string())
        }
    }
}

fn ca(path: &Path) -> String {
    format!("sslrootcert={}", path.display())
}

/// `verify-full` against the right CA: a real server migrates, serves, and refreshes
/// on a database that accepts nothing but TLS.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_verify_full_with_the_right_ca() {
    let pki = Pki::new();
    let pg = TlsPostgres::start(&pki).await;
    let url = pg.url(
        "postgres",
        "127.0.0.1",
        &format!("sslmode=verify-full&{}", ca(&pki.ca)),
    );
    let store = PgStore::open(&url, 2).await.unwrap();
    assert_eq!(store.tls_mode().as_str(), "verify-full");
    store.close();
    // The certificate names `localhost` too.
    let by_name = pg.url(
        "postgres",
        "localhost",
        &format!("sslmode=verify-full&{}", ca(&pki.ca)),
    );
    assert_eq!(open_err(&by_name).await, None);

    let s = TestServer::start_with_storage(&url, "").await;
    let r = s
        .http
        .get(format!("{}/readyz", s.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.text().await.unwrap(), "ready");
    let t = s.password_grant_public("openid offline_access").await;
    let (st, v) = s.refresh_public(t["refresh_token"].as_str().unwrap()).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    s.stop().await;
}

/// A certificate from another CA is refused under every mode that checks it (also
/// `require` and `prefer` once a root certificate is named, as libpq does), and by the server's
/// start-up with the key named; a plain connection is refused by the server, also
/// when it is the default for a loopback host.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_wrong_ca_and_plain_connections_are_refused() {
    let pki = Pki::new();
    let pg = TlsPostgres::start(&pki).await;
    for mode in ["verify-full", "verify-ca", "require", "prefer"] {
        let url = pg
            .url(
                "postgres",
                "127.0.0.1",
                &format!("sslmode={mode}&{}", ca(&pki.other_ca)),
            )
            .replacen("postgres@", "postgres:hunter2@", 1);
        let e = open_err(&url).await.expect("a wrong CA must be refused");
        assert!(e.contains(&format!("sslmode={mode}")), "{e}");
        assert!(e.contains("not signed by a CA in `sslrootcert`"), "{e}");
        assert!(!e.contains("hunter2"), "{e}");
    }
    // `verify-full` without `sslrootcert` trusts the system's CAs only.
    let e = open_err(&pg.url("postgres", "127.0.0.1", "sslmode=verify-full"))
        .await
        .expect("the test CA is not a system CA");
    assert!(e.contains("UnknownIssuer"), "{e}");
    // `require` and `prefer` without a root certificate encrypt without checking
    // (libpq's meaning): they connect, over TLS since the server takes nothing else.
    for mode in ["require", "prefer"] {
        let url = pg.url("postgres", "127.0.0.1", &format!("sslmode={mode}"));
        assert_eq!(open_err(&url).await, None, "{mode}");
    }
    // Plain TCP: the server has no `host` line for it.
    for params in ["sslmode=disable", ""] {
        let e = open_err(&pg.url("postgres", "127.0.0.1", params))
            .await
            .expect("plain connections must be refused");
        assert!(e.contains("sslmode=disable"), "{e}");
        assert!(e.contains("no encryption"), "{e}");
        assert!(e.contains("the server requires TLS"), "{e}");
    }

    // Start-up fails, naming the key.
    let dir = tempfile::tempdir().unwrap();
    let url = pg.url(
        "postgres",
        "127.0.0.1",
        &format!("sslmode=verify-full&{}", ca(&pki.other_ca)),
    );
    let path =
        baton_testkit::write_config_with_storage(dir.path(), free_port(), &url, BASE_CLIENTS);
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
    assert!(e.starts_with("storage.url: "), "{e}");
    assert!(e.contains("not signed by a CA"), "{e}");
}

/// `verify-full` checks the host name: the server's certificate names 127.0.0.1 and
/// localhost, not `db.invalid` (reached at 127.0.0.1 through `hostaddr`). `verify-ca`
/// checks the chain only and accepts it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_host_name_is_checked_by_verify_full_only() {
    let pki = Pki::new();
    let pg = TlsPostgres::start(&pki).await;
    let url = |mode: &str| {
        pg.url(
            "postgres",
            "db.invalid",
            &format!("hostaddr=127.0.0.1&sslmode={mode}&{}", ca(&pki.ca)),
        )
    };
    let e = open_err(&url("verify-full"))
        .await
        .expect("a name mismatch must be refused under verify-full");
    assert!(e.contains("not valid for name \"db.invalid\""), "{e}");
    assert!(e.contains("does not name this host"), "{e}");
    assert_eq!(open_err(&url("verify-ca")).await, None);
    // Without sslmode, a host that is not this machine gets verify-full.
    let e = open_err(&pg.url(
        "postgres",
        "db.invalid",
        &format!("hostaddr=127.0.0.1&{}", ca(&pki.ca)),
    ))
    .await
    .expect("the default for a remote host checks its name");
    assert!(e.contains("sslmode=verify-full"), "{e}");
}

/// A role whose `pg_hba.conf` line is `cert` connects with a client certificate
/// signed by the server's CA, and not without one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_client_certificate() {
    let pki = Pki::new();
    let pg = TlsPostgres::start(&pki).await;
    let user = TlsPostgres::CERT_USER;
    let (cert, key) = pki.client(user);
    let with_cert = pg.url(
        user,
        "127.0.0.1",
        &format!(
            "sslmode=verify-full&{}&sslcert={}&sslkey={}",
            ca(&pki.ca),
            cert.display(),
            key.display()
        ),
    );
    assert_eq!(open_err(&with_cert).await, None);
    let without = pg.url(
        user,
        "127.0.0.1",
        &format!("sslmode=verify-full&{}", ca(&pki.ca)),
    );
    let e = open_err(&without)
        .await
        .expect("cert authentication needs a certificate");
    assert!(e.contains("certificate"), "{e}");
    // Another user's certificate is refused too (its name must match the role).
    let (other_cert, other_key) = pki.client("someone_else");
    let e = open_err(&pg.url(
        user,
        "127.0.0.1",
        &format!(
            "sslmode=verify-full&{}&sslcert={}&sslkey={}",
            ca(&pki.ca),
            other_cert.display(),
            other_key.display()
        ),
    ))
    .await
    .expect("a certificate for another name is refused");
    assert!(e.contains("certificate authentication failed"), "{e}");
}

fn cache_toml(url: &str, tls: &str) -> String {
    format!(
        "cache_url = \"{url}\"\n{tls}\n{BASE_CLIENTS}\n{}",
        public_toml("volatile", "persist = false")
    )
}

async fn start_error(extra: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = baton_testkit::write_config(dir.path(), free_port(), extra);
    let cfg = baton_server::config::load(
        &baton_server::config::Sources {
            file: Some(&path),
            env: vec![],
            base_dir: dir.path().to_path_buf(),
        },
        false,
    )
    .unwrap();
    baton_server::bootstrap::build(cfg, baton_server::clock::Clock::default())
        .await
        .err()
        .expect("start-up must fail")
}

async fn readyz(s: &TestServer) -> (StatusCode, String) {
    let r = s
        .http
        .get(format!("{}/readyz", s.url))
        .send()
        .await
        .unwrap();
    (r.status(), r.text().await.unwrap())
}

/// `rediss://` with the right CA: `persist = false` grants live in the TLS Redis (a
/// refresh round trip, and with Redis stopped they answer 503); `/readyz` then says
/// the cache is down and the main store is fine.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rediss_with_the_right_ca_and_readyz_when_it_stops() {
    let pki = Pki::new();
    let mut redis = TlsRedis::start(&pki, false).await;
    let s = TestServer::start_raw(&cache_toml(
        &redis.url(),
        &format!("cache_ca_file = \"{}\"", pki.ca.display()),
    ))
    .await;
    assert_eq!(readyz(&s).await, (StatusCode::OK, "ready".to_string()));
    let cl = public("volatile");
    let t1 = login(&s, cl).await;
    let t2 = rt(&refresh_ok(&s, cl, &t1).await);
    let t3 = rt(&refresh_ok(&s, cl, &t2).await);
    assert_ne!(t2, t3);

    redis.stop();
    let (st, v) = refresh(&s, cl, &t3).await;
    assert_eq!(st, StatusCode::SERVICE_UNAVAILABLE, "{v}");
    assert_eq!(v["error"], "temporarily_unavailable", "{v}");
    let (st, body) = readyz(&s).await;
    assert_eq!(st, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["status"], "unavailable", "{v}");
    assert_eq!(v["checks"]["storage"], "ok", "{v}");
    assert!(
        v["checks"]["cache"].as_str().unwrap().starts_with("down"),
        "{v}"
    );
    assert!(
        !body.contains("rediss://") && !body.contains("127.0.0.1"),
        "{body}"
    );
    s.stop().await;
}

/// A Redis whose certificate is not signed by `cache_ca_file` (or, without it, by a
/// system CA) is refused at start-up, naming the key; so is a `redis://` URL (no TLS)
/// to a TLS port.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rediss_with_a_wrong_ca_is_refused_at_start_up() {
    let pki = Pki::new();
    let redis = TlsRedis::start(&pki, false).await;
    for tls in [
        format!("cache_ca_file = \"{}\"", pki.other_ca.display()),
        String::new(),
    ] {
        let e = start_error(&cache_toml(&redis.url(), &tls)).await;
        assert!(e.starts_with("storage.cache_url: "), "{e}");
        assert!(e.contains("cannot reach redis"), "{e}");
        assert!(e.contains("invalid peer certificate: UnknownIssuer"), "{e}");
        assert!(
            e.contains("does not verify against `storage.cache_ca_file`"),
            "{e}"
        );
    }
}

/// A Redis that requires client certificates (`tls-auth-clients yes`) takes Baton's
/// `cache_cert_file` / `cache_key_file`, and refuses it without them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rediss_client_certificate() {
    let pki = Pki::new();
    let redis = TlsRedis::start(&pki, true).await;
    let ca_line = format!("cache_ca_file = \"{}\"", pki.ca.display());
    let e = start_error(&cache_toml(&redis.url(), &ca_line)).await;
    assert!(e.starts_with("storage.cache_url: "), "{e}");
    assert!(e.contains("CertificateRequired"), "{e}");
    assert!(e.contains("set `storage.cache_cert_file`"), "{e}");
    let (cert, key) = pki.client("baton");
    let s = TestServer::start_raw(&cache_toml(
        &redis.url(),
        &format!(
            "{ca_line}\ncache_cert_file = \"{}\"\ncache_key_file = \"{}\"",
            cert.display(),
            key.display()
        ),
    ))
    .await;
    let cl = public("volatile");
    let t1 = login(&s, cl).await;
    refresh_ok(&s, cl, &t1).await;
    assert_eq!(readyz(&s).await.0, StatusCode::OK);
    s.stop().await;
}

/// Redis Cluster is refused at start-up: a server in cluster mode says
/// `cluster_enabled:1` in `INFO cluster`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_cluster_is_refused_at_start_up() {
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let nodes = dir.path().join("nodes.conf");
    let redis = OwnRedis::start_with(
        port,
        &[
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            nodes.to_str().unwrap(),
        ],
    )
    .await
    .expect("redis-server is needed");
    let e = start_error(&cache_toml(&redis.url(), "")).await;
    assert!(e.contains("Redis Cluster is not supported"), "{e}");
    redis.kill().await;
}
