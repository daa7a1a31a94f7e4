//! Test harness: a real Baton server on port 0 with a temporary SQLite database, driven
//! over real HTTP, with a clock tests can move forward; and the `baton` binary as a
//! child process for restart and crash tests.
// A test-support crate: a failed set-up step should stop the test with its reason.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod dpop;

pub mod flow;

pub mod conformance;

pub mod pg;
pub mod tls_servers;

use baton_core::model::SigningKey;
use baton_core::time::Dur;
use baton_server::clock::Clock;
use baton_server::config::{self, Sources};
use baton_server::state::Shared;
use reqwest::StatusCode;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The server secret every test server uses (base64 of 32 bytes).
pub const SECRET_B64: &str = "dGVzdGtpdC1zZXJ2ZXItc2VjcmV0LTAxMjM0NTY3ODk=";

/// A confidential client, a public client and a user most tests use.
pub const BASE_CLIENTS: &str = r#"
[[clients]]
client_id = "web"
client_name = "Web App"
client_secret = "web-secret-0123456789abcdef0123456789"
redirect_uris = ["http://127.0.0.1:9/cb"]
grant_types = ["authorization_code", "refresh_token", "password", "client_credentials"]
scopes = ["openid", "profile", "email", "offline_access", "online_access", "api"]

[[clients]]
client_id = "spa"
token_endpoint_auth_method = "none"
redirect_uris = ["http://127.0.0.1:9/cb"]
grant_types = ["authorization_code", "refresh_token", "password"]
scopes = ["openid", "profile", "email", "offline_access", "online_access"]

[[users]]
username = "alice"
password = "alice-password"
[users.claims]
email = "alice@example.com"
name = "Alice Example"
"#;

pub const WEB: (&str, &str) = ("web", "web-secret-0123456789abcdef0123456789");
pub const SPA: &str = "spa";
pub const ALICE: (&str, &str) = ("alice", "alice-password");
/// The admin token of [`TestServer::start_admin`].
pub const ADMIN_TOKEN: &str = "testkit-admin-token-0123456789";

/// The decoded [`SECRET_B64`].
pub fn secret_bytes() -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(SECRET_B64)
        .unwrap_or_default()
}

/// Signing keys generated once per test process (RSA generation is slow) and
/// inserted into each new test database.
fn shared_keys() -> &'static Vec<SigningKey> {
    static KEYS: OnceLock<Vec<SigningKey>> = OnceLock::new();
    KEYS.get_or_init(|| {
        baton_core::model::SigAlg::ALL
            .iter()
            .filter_map(|a| {
                baton_server::keys::new_key(&secret_bytes(), *a, baton_core::time::Timestamp(0))
                    .ok()
            })
            .collect()
    })
}

/// The SQLite storage URL of a test directory.
pub fn sqlite_url(dir: &Path) -> String {
    format!("sqlite://{}", dir.join("baton.db").display())
}

/// Writes a config file for a server at `port` in `dir`, with `extra` TOML appended.
pub fn write_config(dir: &Path, port: u16, extra: &str) -> PathBuf {
    write_config_with_storage(dir, port, &sqlite_url(dir), extra)
}

/// Writes a config file for a server at `port` in `dir` on the store at `storage_url`.
pub fn write_config_with_storage(dir: &Path, port: u16, storage_url: &str, extra: &str) -> PathBuf {
    let secret = dir.join("baton.secret");
    if !secret.exists() {
        let _ = std::fs::write(&secret, SECRET_B64);
    }
    let text = format!(
        "issuer = \"http://127.0.0.1:{port}\"\nlisten = \"127.0.0.1:{port}\"\nsecret_file = \"{}\"\n\n[storage]\nurl = \"{storage_url}\"\n\n{extra}\n",
        secret.display(),
    );
    let path = dir.join("baton.toml");
    let _ = std::fs::write(&path, text);
    path
}

/// Pre-seeds the database in `dir` with the shared signing keys.
pub async fn seed_keys(dir: &Path) {
    seed_keys_at(&sqlite_url(dir)).await;
}

/// Pre-seeds the store at `storage_url` (SQLite or PostgreSQL) with the shared
/// signing keys, unless it has keys already.
pub async fn seed_keys_at(storage_url: &str) {
    if let Ok(store) = baton_store::open(storage_url, 2).await {
        if store
            .list_keys()
            .await
            .map(|k| k.is_empty())
            .unwrap_or(false)
        {
            for k in shared_keys() {
                let _ = store.insert_key(k).await;
            }
        }
        store.close();
    }
}

/// A server running in this process.
pub struct TestServer {
    pub url: String,
    pub clock: Clock,
    pub http: reqwest::Client,
    pub dir: tempfile::TempDir,
    running: Option<baton_server::Running>,
}

impl TestServer {
    /// Starts a server with `BASE_CLIENTS` plus `extra` TOML (sections, clients, users).
    pub async fn start(extra: &str) -> TestServer {
        Self::start_raw(&format!("{BASE_CLIENTS}\n{extra}")).await
    }

    /// Starts a server with exactly `extra` as its clients/users/sections.
    pub async fn start_raw(extra: &str) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        Self::start_in(dir, extra).await
    }

    /// Starts a server with `BASE_CLIENTS` plus `extra` on the store at `storage_url`
    /// (e.g. a PostgreSQL schema from [`pg::PgSchema`]) instead of a temporary SQLite file.
    pub async fn start_with_storage(storage_url: &str, extra: &str) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        Self::start_on(dir, storage_url, &format!("{BASE_CLIENTS}\n{extra}")).await
    }

    /// Starts a server with exactly `extra` as its clients/users/sections on the store
    /// at `storage_url`.
    pub async fn start_raw_with_storage(storage_url: &str, extra: &str) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        Self::start_on(dir, storage_url, extra).await
    }

    /// Starts a server on an existing directory (to restart on the same database).
    pub async fn start_in(dir: tempfile::TempDir, extra: &str) -> TestServer {
        let url = sqlite_url(dir.path());
        Self::start_on(dir, &url, extra).await
    }

    /// Starts a server with `BASE_CLIENTS` plus `extra` and the admin API on
    /// (`BATON_ADMIN_TOKEN` = [`ADMIN_TOKEN`]).
    pub async fn start_admin(extra: &str) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = sqlite_url(dir.path());
        let env = vec![("BATON_ADMIN_TOKEN".to_string(), ADMIN_TOKEN.to_string())];
        Self::start_on_env(dir, &url, &format!("{BASE_CLIENTS}\n{extra}"), env).await
    }

    /// Starts a server with the admin API on an existing directory (to restart on the
    /// same database), with exactly `extra` as its clients/users/sections.
    pub async fn start_admin_in(dir: tempfile::TempDir, extra: &str) -> TestServer {
        let url = sqlite_url(dir.path());
        let env = vec![("BATON_ADMIN_TOKEN".to_string(), ADMIN_TOKEN.to_string())];
        Self::start_on_env(dir, &url, extra, env).await
    }

    /// Starts a server with `BASE_CLIENTS` plus `extra`, and these `BATON_…`
    /// environment variables laid over its configuration (e.g. an https `BATON_ISSUER`
    /// while it still listens on plain http).
    pub async fn start_with_env(extra: &str, env: &[(&str, &str)]) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = sqlite_url(dir.path());
        let env = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Self::start_on_env(dir, &url, &format!("{BASE_CLIENTS}\n{extra}"), env).await
    }

    /// [`TestServer::start_admin`] on the store at `storage_url` (e.g. PostgreSQL).
    pub async fn start_admin_with_storage(storage_url: &str, extra: &str) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let env = vec![("BATON_ADMIN_TOKEN".to_string(), ADMIN_TOKEN.to_string())];
        Self::start_on_env(dir, storage_url, &format!("{BASE_CLIENTS}\n{extra}"), env).await
    }

    /// [`TestServer::start_with_storage`] with these `BATON_…` environment variables
    /// (e.g. one `BATON_ISSUER` for several nodes, as behind one load balancer).
    pub async fn start_with_storage_env(
        storage_url: &str,
        extra: &str,
        env: &[(&str, &str)],
    ) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let env = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Self::start_on_env(dir, storage_url, &format!("{BASE_CLIENTS}\n{extra}"), env).await
    }

    /// [`TestServer::start_with_storage`] without pre-seeding the shared signing keys:
    /// the server generates its own when the store has none, as a real first start
    /// does (several of these started at once on one fresh schema race to seed it).
    pub async fn start_unseeded_with_storage(storage_url: &str, extra: &str) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let extra = format!("{BASE_CLIENTS}\n{extra}");
        Self::start_seeded(dir, storage_url, &extra, vec![], false).await
    }

    async fn start_on(dir: tempfile::TempDir, storage_url: &str, extra: &str) -> TestServer {
        Self::start_on_env(dir, storage_url, extra, vec![]).await
    }

    async fn start_on_env(
        dir: tempfile::TempDir,
        storage_url: &str,
        extra: &str,
        env: Vec<(String, String)>,
    ) -> TestServer {
        Self::start_seeded(dir, storage_url, extra, env, true).await
    }

    async fn start_seeded(
        dir: tempfile::TempDir,
        storage_url: &str,
        extra: &str,
        env: Vec<(String, String)>,
        seed_keys: bool,
    ) -> TestServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let path = write_config_with_storage(dir.path(), port, storage_url, extra);
        if seed_keys {
            seed_keys_at(storage_url).await;
        }
        let cfg = config::load(
            &Sources {
                file: Some(&path),
                env,
                base_dir: dir.path().to_path_buf(),
            },
            false,
        )
        .unwrap_or_else(|e| panic!("test config rejected: {e}"));
        let clock = Clock::default();
        let state = baton_server::bootstrap::build(cfg, clock.clone())
            .await
            .expect("server state");
        let running = baton_server::start(state, listener).expect("server start");
        TestServer {
            url: format!("http://127.0.0.1:{port}"),
            clock,
            http: client(),
            dir,
            running: Some(running),
        }
    }

    pub fn state(&self) -> &Shared {
        &self.running.as_ref().expect("running").state
    }

    /// Stops the server, keeping its directory (and database) for a restart.
    pub async fn stop(mut self) -> tempfile::TempDir {
        if let Some(r) = self.running.take() {
            r.state.store_close();
            r.stop().await;
        }
        self.dir
    }

    /// Reloads the TLS certificate and key as SIGHUP does (`None`: not serving TLS).
    pub fn reload_tls(&self) -> Option<bool> {
        self.running.as_ref().expect("running").reload_tls("test")
    }

    /// Moves this server's clock forward.
    pub fn advance(&self, d: Dur) {
        self.clock.advance(d);
    }

    /// POSTs a form to `path`, with HTTP Basic when `basic` is given.
    pub async fn post_form(
        &self,
        path: &str,
        basic: Option<(&str, &str)>,
        form: &[(&str, &str)],
    ) -> (StatusCode, Value) {
        let mut req = self.http.post(format!("{}{path}", self.url)).form(form);
        if let Some((id, secret)) = basic {
            req = req.basic_auth(id, Some(secret));
        }
        let resp = req.send().await.expect("request");
        let status = resp.status();
        let body = resp.json::<Value>().await.unwrap_or(Value::Null);
        (status, body)
    }

    /// A password grant for alice with the `web` client.
    pub async fn password_grant(&self, scope: &str) -> Value {
        let (s, v) = self
            .post_form(
                "/token",
                Some(WEB),
                &[
                    ("grant_type", "password"),
                    ("username", ALICE.0),
                    ("password", ALICE.1),
                    ("scope", scope),
                ],
            )
            .await;
        assert_eq!(s, StatusCode::OK, "password grant failed: {v}");
        v
    }

    /// A password grant for alice with the public `spa` client.
    pub async fn password_grant_public(&self, scope: &str) -> Value {
        let (s, v) = self
            .post_form(
                "/token",
                None,
                &[
                    ("grant_type", "password"),
                    ("client_id", SPA),
                    ("username", ALICE.0),
                    ("password", ALICE.1),
                    ("scope", scope),
                ],
            )
            .await;
        assert_eq!(s, StatusCode::OK, "password grant failed: {v}");
        v
    }

    /// A refresh with the `web` client.
    pub async fn refresh(&self, refresh_token: &str) -> (StatusCode, Value) {
        self.post_form(
            "/token",
            Some(WEB),
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token),
            ],
        )
        .await
    }

    /// A refresh with the public `spa` client.
    pub async fn refresh_public(&self, refresh_token: &str) -> (StatusCode, Value) {
        self.post_form(
            "/token",
            None,
            &[
                ("grant_type", "refresh_token"),
                ("client_id", SPA),
                ("refresh_token", refresh_token),
            ],
        )
        .await
    }

    /// Events of a type, newest first, read from the store.
    pub async fn events(&self, kind: &str) -> Vec<baton_core::model::Event> {
        let q = baton_core::store::EventQuery {
            kind: Some(kind.into()),
            limit: 1000,
            ..Default::default()
        };
        self.state().store.list_events(&q).await.expect("events")
    }

    /// Hands a configured client over to the admin API, as a start without it in the
    /// configuration file would: for tests that change or delete the shared fixture
    /// clients through the admin API (which refuses to touch configured ones).
    pub async fn api_managed_client(&self, client_id: &str) {
        let store = &self.state().store;
        let mut c = store.get_client(client_id).await.unwrap().expect("client");
        c.managed_by = baton_core::model::ManagedBy::Api;
        store.upsert_client(&c).await.unwrap();
    }

    /// Hands a configured user over to the admin API (see
    /// [`TestServer::api_managed_client`]).
    pub async fn api_managed_user(&self, username: &str) {
        let store = &self.state().store;
        let mut u = store.get_user(username).await.unwrap().expect("user");
        u.managed_by = baton_core::model::ManagedBy::Api;
        store.upsert_user(&u).await.unwrap();
    }
}

/// A `reqwest` client builder for tests. Use it instead of `reqwest::Client::builder()`:
/// in a workspace build `baton-client`'s default `rustls` feature gives every `reqwest`
/// TLS without a built-in crypto provider, so one is installed first (ring, as the
/// server and `baton-client` use).
pub fn http_builder() -> reqwest::ClientBuilder {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
}

/// An HTTP client that keeps cookies and does not follow redirects.
pub fn client() -> reqwest::Client {
    http_builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("http client")
}

/// The `baton` binary as a child process (restart and crash tests).
pub struct ChildServer {
    pub url: String,
    pub child: tokio::process::Child,
    pub config: PathBuf,
}

impl ChildServer {
    /// Starts `bin serve --config` on a fresh port in `dir` and waits for `/readyz`.
    pub async fn spawn(bin: &Path, dir: &Path, extra: &str) -> ChildServer {
        Self::spawn_on(bin, dir, None, extra).await
    }

    /// As [`ChildServer::spawn`], on the store at `storage_url` when given (e.g. a
    /// PostgreSQL schema several children share) instead of `dir`'s SQLite file.
    pub async fn spawn_on(
        bin: &Path,
        dir: &Path,
        storage_url: Option<&str>,
        extra: &str,
    ) -> ChildServer {
        let http = client();
        Self::spawn_probed(bin, dir, storage_url, extra, "http", |url| {
            let http = http.clone();
            async move {
                http.get(format!("{url}/readyz"))
                    .send()
                    .await
                    .is_ok_and(|r| r.status() == StatusCode::OK)
            }
        })
        .await
    }

    /// As [`ChildServer::spawn_on`], its URL with `scheme` (`https` for a server that
    /// serves TLS), ready once `ready(url)` answers true (tried every 50 ms, 10 s at most).
    pub async fn spawn_probed<F, Fut>(
        bin: &Path,
        dir: &Path,
        storage_url: Option<&str>,
        extra: &str,
        scheme: &str,
        ready: F,
    ) -> ChildServer
    where
        F: Fn(String) -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
            l.local_addr().expect("addr").port()
        };
        let storage = storage_url.map_or_else(|| sqlite_url(dir), str::to_string);
        let config =
            write_config_with_storage(dir, port, &storage, &format!("{BASE_CLIENTS}\n{extra}"));
        seed_keys_at(&storage).await;
        let child = tokio::process::Command::new(bin)
            .args(["serve", "--config"])
            .arg(&config)
            .env_remove("BATON_SECRET")
            .env("BATON_LOG", "warn")
            .kill_on_drop(true)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn baton");
        let url = format!("{scheme}://127.0.0.1:{port}");
        for _ in 0..200 {
            if ready(url.clone()).await {
                return ChildServer { url, child, config };
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("baton did not become ready at {url}");
    }

    /// SIGKILL: no chance to flush anything.
    pub async fn kill(mut self) {
        let _ = self.child.kill().await;
        let _ = self.child.wait().await;
    }

    /// SIGTERM and wait for a clean exit.
    pub async fn terminate(mut self) {
        if let Some(pid) = self.child.id() {
            let _ = std::process::Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status();
        }
        let _ = tokio::time::timeout(std::time::Duration::from_secs(10), self.child.wait()).await;
    }
}
