//! Private TLS servers for tests: a certificate authority made here with the `openssl`
//! command, a PostgreSQL cluster (`initdb`, `postgres`) that accepts TLS connections
//! only, and a `redis-server` listening on a TLS port only. Each runs in a temporary
//! directory of its own on a free 127.0.0.1 port and is stopped by its PID when
//! dropped. A missing binary fails the test with a message naming it: nothing is
//! skipped.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where the test binaries are looked for (`BATON_TEST_PG_BIN` overrides PostgreSQL's
/// directory).
const OPENSSL: &str = "/usr/bin/openssl";
const REDIS_SERVER: &str = "/usr/bin/redis-server";

fn pg_bin(name: &str) -> PathBuf {
    let dir = std::env::var("BATON_TEST_PG_BIN").unwrap_or_else(|_| "/usr/local/bin".into());
    Path::new(&dir).join(name)
}

fn need(bin: &Path) {
    assert!(
        bin.exists(),
        "{} not found: the TLS storage tests need it (install it, or set BATON_TEST_PG_BIN for PostgreSQL's directory)",
        bin.display()
    );
}

fn run(cmd: &mut Command, what: &str) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot run: {e}"));
    assert!(
        out.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A free port on 127.0.0.1 (bound and released; another process could take it
/// meanwhile, which the tests would show as a start-up failure).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free port: {e}"))
}

/// A test certificate authority and the certificates it signed, in a temporary
/// directory: `ca` signed `server` (for `127.0.0.1` and `localhost`) and any client
/// certificate made with [`Pki::client`]; `other_ca` is an unrelated CA (a wrong one).
pub struct Pki {
    dir: tempfile::TempDir,
    pub ca: PathBuf,
    pub other_ca: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
}

/// The CA's OpenSSL configuration; `{name}` is its common name (the two CAs differ, so
/// a certificate of one is "unknown issuer" to the other, not a bad signature).
const CA_CONF: &str = "[req]\ndistinguished_name = dn\nprompt = no\n[dn]\nCN = {name}\n\
[v3_ca]\nbasicConstraints = critical,CA:TRUE\nkeyUsage = critical,keyCertSign,cRLSign\n\
subjectKeyIdentifier = hash\n";

impl Pki {
    pub fn new() -> Pki {
        need(Path::new(OPENSSL));
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
        let d = dir.path();
        for name in ["ca", "other-ca"] {
            let conf = format!("{name}.cnf");
            std::fs::write(
                d.join(&conf),
                CA_CONF.replace("{name}", &format!("Baton test {name}")),
            )
            .unwrap_or_else(|e| panic!("{conf}: {e}"));
            run(
                Command::new(OPENSSL)
                    .current_dir(d)
                    .args(["req", "-x509", "-config", &conf, "-extensions", "v3_ca"])
                    .args(["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"])
                    .args(["-nodes", "-days", "2", "-keyout"])
                    .arg(format!("{name}.key"))
                    .arg("-out")
                    .arg(format!("{name}.pem")),
                "openssl req (CA)",
            );
        }
        let pki = Pki {
            ca: d.join("ca.pem"),
            other_ca: d.join("other-ca.pem"),
            server_cert: d.join("server.pem"),
            server_key: d.join("server.key"),
            dir,
        };
        pki.sign(
            "server",
            "localhost",
            "subjectAltName = IP:127.0.0.1, DNS:localhost\nextendedKeyUsage = serverAuth\n",
        );
        pki
    }

    /// A client certificate for `cn` (PostgreSQL's `cert` authentication takes the
    /// user name from it): its certificate and key files.
    pub fn client(&self, cn: &str) -> (PathBuf, PathBuf) {
        let name = format!("client-{cn}");
        self.sign(&name, cn, "extendedKeyUsage = clientAuth\n");
        let d = self.dir.path();
        (d.join(format!("{name}.pem")), d.join(format!("{name}.key")))
    }

    /// Makes `name.key` and `name.pem` (for `cn`, with extensions `ext`) signed by `ca`.
    fn sign(&self, name: &str, cn: &str, ext: &str) {
        let d = self.dir.path();
        let ext_file = d.join(format!("{name}.ext"));
        std::fs::write(
            &ext_file,
            format!("basicConstraints = CA:FALSE\nkeyUsage = critical,digitalSignature,keyEncipherment\n{ext}"),
        )
        .unwrap_or_else(|e| panic!("{name}.ext: {e}"));
        run(
            Command::new(OPENSSL)
                .current_dir(d)
                .args(["req", "-new", "-newkey", "ec", "-pkeyopt"])
                .args(["ec_paramgen_curve:P-256", "-nodes", "-subj"])
                .arg(format!("/CN={cn}"))
                .arg("-keyout")
                .arg(format!("{name}.key"))
                .arg("-out")
                .arg(format!("{name}.csr")),
            "openssl req (key)",
        );
        run(
            Command::new(OPENSSL)
                .current_dir(d)
                .args(["x509", "-req", "-in"])
                .arg(format!("{name}.csr"))
                .args(["-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial"])
                .args(["-days", "2", "-extfile"])
                .arg(&ext_file)
                .arg("-out")
                .arg(format!("{name}.pem")),
            "openssl x509 (sign)",
        );
    }
}

impl Default for Pki {
    fn default() -> Self {
        Pki::new()
    }
}

/// Stops a child by its PID: `SIGINT` (PostgreSQL's fast shutdown; Redis exits on
/// it too), then `SIGKILL` if it is still there after 10 s. Runs from `Drop`, where
/// nothing can be awaited: it polls the child with a short blocking sleep.
#[allow(clippy::disallowed_methods)]
fn stop_child(child: &mut Child) {
    if matches!(child.try_wait(), Ok(Some(_))) {
        return;
    }
    let pid = child.id().to_string();
    let sent = Command::new("kill")
        .args(["-INT", &pid])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if sent.is_ok_and(|s| s.success()) {
        let until = Instant::now() + Duration::from_secs(10);
        while Instant::now() < until {
            if matches!(child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    drop(child.kill());
    drop(child.wait());
}

/// The uid and gid of a user (`id -u`, `id -g`).
fn ids(user: &str) -> (u32, u32) {
    let id = |flag: &str| -> u32 {
        let out = Command::new("id")
            .args([flag, user])
            .output()
            .unwrap_or_else(|e| panic!("id {flag} {user}: {e}"));
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .unwrap_or_else(|_| {
                panic!("no user `{user}` to run PostgreSQL as (initdb refuses root)")
            })
    };
    (id("-u"), id("-g"))
}

fn chown_tree(path: &Path, uid: u32, gid: u32) {
    std::os::unix::fs::chown(path, Some(uid), Some(gid))
        .unwrap_or_else(|e| panic!("chown {}: {e}", path.display()));
    if path.is_dir() {
        let entries = std::fs::read_dir(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for e in entries.flatten() {
            chown_tree(&e.path(), uid, gid);
        }
    }
}

/// A PostgreSQL cluster of its own that accepts TLS connections only (`hostssl` in
/// `pg_hba.conf`, no `host` line): user `postgres` with `trust`, and user
/// [`TlsPostgres::CERT_USER`] (owner of a database of that name) only with a client
/// certificate (`cert`) signed by the test CA. Run as the `postgres` user when the
/// test runs as root.
pub struct TlsPostgres {
    pub port: u16,
    child: Child,
    dir: tempfile::TempDir,
}

impl TlsPostgres {
    /// The role that must authenticate with a client certificate.
    pub const CERT_USER: &'static str = "baton_cert";

    pub async fn start(pki: &Pki) -> TlsPostgres {
        let (initdb, postgres) = (pg_bin("initdb"), pg_bin("postgres"));
        need(&initdb);
        need(&postgres);
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
        let d = dir.path().to_path_buf();
        let data = d.join("data");
        // The server reads its own copies of the key and certificates.
        for (from, to) in [
            (&pki.server_cert, "server.pem"),
            (&pki.server_key, "server.key"),
            (&pki.ca, "ca.pem"),
        ] {
            std::fs::copy(from, d.join(to)).unwrap_or_else(|e| panic!("copy {to}: {e}"));
        }
        set_mode(&d.join("server.key"), 0o600);
        let as_user = running_as_root().then(|| ids("postgres"));
        if let Some((uid, gid)) = as_user {
            chown_tree(&d, uid, gid);
        }
        let command = |bin: &Path| {
            let mut c = Command::new(bin);
            if let Some((uid, gid)) = as_user {
                use std::os::unix::process::CommandExt;
                c.uid(uid).gid(gid);
            }
            c.env_remove("PGDATA");
            c
        };
        run(
            command(&initdb).arg("-D").arg(&data).args([
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
            ]),
            "initdb",
        );
        let port = free_port();
        let mut conf = std::fs::OpenOptions::new()
            .append(true)
            .open(data.join("postgresql.conf"))
            .unwrap_or_else(|e| panic!("postgresql.conf: {e}"));
        let settings = format!(
            "\nport = {port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{}'\n\
             ssl = on\nssl_cert_file = '{}'\nssl_key_file = '{}'\nssl_ca_file = '{}'\n\
             fsync = off\nlogging_collector = off\n",
            d.display(),
            d.join("server.pem").display(),
            d.join("server.key").display(),
            d.join("ca.pem").display(),
        );
        conf.write_all(settings.as_bytes())
            .unwrap_or_else(|e| panic!("postgresql.conf: {e}"));
        let hba = format!(
            "local all all trust\n\
             hostssl all {} 127.0.0.1/32 cert\n\
             hostssl all all 127.0.0.1/32 trust\n",
            Self::CERT_USER
        );
        std::fs::write(data.join("pg_hba.conf"), hba).unwrap_or_else(|e| panic!("pg_hba: {e}"));
        if let Some((uid, gid)) = as_user {
            chown_tree(&data, uid, gid);
        }
        let log = std::fs::File::create(d.join("postgres.log"))
            .unwrap_or_else(|e| panic!("postgres.log: {e}"));
        let child = command(&postgres)
            .arg("-D")
            .arg(&data)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", postgres.display()));
        let mut pg = TlsPostgres { port, child, dir };
        pg.wait_ready().await;
        let cert_user = Self::CERT_USER;
        pg.admin(&format!("CREATE ROLE {cert_user} LOGIN")).await;
        pg.admin(&format!("CREATE DATABASE {cert_user} OWNER {cert_user}"))
            .await;
        pg
    }

    async fn wait_ready(&mut self) {
        let pid_file = self.dir.path().join("data").join("postmaster.pid");
        let until = Instant::now() + Duration::from_secs(30);
        while Instant::now() < until {
            if let Ok(Some(st)) = self.child.try_wait() {
                panic!("postgres exited ({st}): {}", self.log());
            }
            let ready = std::fs::read_to_string(&pid_file)
                .is_ok_and(|s| s.lines().nth(7).is_some_and(|l| l.trim() == "ready"));
            if ready {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("postgres did not become ready: {}", self.log());
    }

    /// The server's log so far (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("postgres.log")).unwrap_or_default()
    }

    /// Runs SQL as `postgres` over the Unix socket (no TLS involved).
    pub async fn admin(&self, sql: &str) {
        let mut c = tokio_postgres::Config::new();
        c.host_path(self.dir.path())
            .port(self.port)
            .user("postgres")
            .dbname("postgres");
        let (client, conn) = c
            .connect(tokio_postgres::NoTls)
            .await
            .unwrap_or_else(|e| panic!("admin connection: {e}"));
        let task = tokio::spawn(conn);
        client
            .batch_execute(sql)
            .await
            .unwrap_or_else(|e| panic!("`{sql}`: {e}"));
        drop(client);
        drop(task.await);
    }

    /// `postgres://USER@HOST:PORT/USER?PARAMS`: each user has a database of its own
    /// name (`postgres`, [`TlsPostgres::CERT_USER`]).
    pub fn url(&self, user: &str, host: &str, params: &str) -> String {
        let q = if params.is_empty() {
            String::new()
        } else {
            format!("?{params}")
        };
        format!("postgres://{user}@{host}:{}/{user}{q}", self.port)
    }
}

impl Drop for TlsPostgres {
    fn drop(&mut self) {
        stop_child(&mut self.child);
    }
}

/// A `redis-server` of its own listening on a TLS port only (`--port 0`), with the
/// test CA's server certificate; with `client_certs`, it requires a client
/// certificate signed by that CA (`tls-auth-clients yes`).
pub struct TlsRedis {
    pub port: u16,
    child: Child,
    dir: tempfile::TempDir,
}

impl TlsRedis {
    pub async fn start(pki: &Pki, client_certs: bool) -> TlsRedis {
        need(Path::new(REDIS_SERVER));
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
        let port = free_port();
        let child = Command::new(REDIS_SERVER)
            .current_dir(dir.path())
            .args(["--port", "0", "--bind", "127.0.0.1"])
            .args(["--tls-port", &port.to_string()])
            .arg("--tls-cert-file")
            .arg(&pki.server_cert)
            .arg("--tls-key-file")
            .arg(&pki.server_key)
            .arg("--tls-ca-cert-file")
            .arg(&pki.ca)
            .args([
                "--tls-auth-clients",
                if client_certs { "yes" } else { "no" },
            ])
            .args(["--save", "", "--appendonly", "no"])
            .args(["--logfile", "redis.log"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {REDIS_SERVER}: {e}"));
        let mut r = TlsRedis { port, child, dir };
        let until = Instant::now() + Duration::from_secs(10);
        while Instant::now() < until {
            if let Ok(Some(st)) = r.child.try_wait() {
                let log =
                    std::fs::read_to_string(r.dir.path().join("redis.log")).unwrap_or_default();
                panic!("redis-server exited ({st}); is it built with TLS? {log}");
            }
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return r;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("redis-server did not listen on its TLS port {port}");
    }

    /// `rediss://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("rediss://127.0.0.1:{}", self.port)
    }

    /// Stops the server now (by its PID).
    pub fn stop(&mut self) {
        stop_child(&mut self.child);
    }
}

impl Drop for TlsRedis {
    fn drop(&mut self) {
        stop_child(&mut self.child);
    }
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("chmod {}: {e}", path.display()));
}
