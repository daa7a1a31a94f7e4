//! Serving TLS (`http.tls_cert_file`, `http.tls_key_file`): a rustls client that trusts
//! only a CA the test made (with the openssl command) negotiates HTTP/2 or HTTP/1.1 by
//! ALPN and gets the configured certificate; rewriting the files changes the served
//! certificate after the change check, after the reload SIGHUP triggers (in process,
//! and SIGHUP itself on the `baton` binary), and a reload that fails keeps the old one.
//! Plain HTTP answers HTTP/2 with prior knowledge too.

use baton_testkit::{ChildServer, TestServer, ALICE, WEB};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};

/// A test CA in a temporary directory and the certificates it signs.
struct Pki {
    dir: tempfile::TempDir,
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the openssl command");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Pki {
    fn new() -> Pki {
        let dir = tempfile::tempdir().unwrap();
        openssl(
            dir.path(),
            &[
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
                "-days",
                "2",
                "-subj",
                "/CN=baton test CA",
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
            ],
        );
        Pki { dir }
    }

    fn ca(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// A new certificate for 127.0.0.1 and localhost: `(cert.pem, key.pem)` paths in
    /// the PKI directory, named after `name`.
    fn leaf(&self, name: &str) -> (PathBuf, PathBuf) {
        let d = self.dir.path();
        std::fs::write(
            d.join("leaf.ext"),
            "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n",
        )
        .unwrap();
        let (key, csr, cert) = (
            format!("{name}.key"),
            format!("{name}.csr"),
            format!("{name}.pem"),
        );
        openssl(
            d,
            &[
                "req",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-keyout",
                &key,
                "-out",
                &csr,
                "-subj",
                &format!("/CN={name}"),
            ],
        );
        openssl(
            d,
            &[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                &cert,
                "-days",
                "2",
                "-extfile",
                "leaf.ext",
            ],
        );
        (d.join(cert), d.join(key))
    }
}

/// The DER of the first certificate in a PEM file.
fn der(pem: &Path) -> Vec<u8> {
    CertificateDer::from_pem_file(pem)
        .unwrap()
        .as_ref()
        .to_vec()
}

/// Copies a certificate and key over the files the server reads (in place, as an
/// operator's `cp` would).
fn install(from: &(PathBuf, PathBuf), to: &(PathBuf, PathBuf)) {
    std::fs::copy(&from.0, &to.0).unwrap();
    std::fs::copy(&from.1, &to.1).unwrap();
}

fn tls_section(files: &(PathBuf, PathBuf), check: &str) -> String {
    format!(
        "[http]\ntls_cert_file = \"{}\"\ntls_key_file = \"{}\"\ntls_check_interval = \"{check}\"\n",
        files.0.display(),
        files.1.display()
    )
}

/// A TLS connection to `addr` trusting only `ca`, offering `alpn`.
async fn connect(addr: &str, ca: &Path, alpn: &[&[u8]]) -> std::io::Result<TlsStream<TcpStream>> {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(ca).unwrap())
        .unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    let tcp = TcpStream::connect(addr).await?;
    let name = ServerName::try_from("127.0.0.1").unwrap();
    tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
}

/// The end-entity certificate a connection got.
fn served(conn: &TlsStream<TcpStream>) -> Vec<u8> {
    conn.get_ref().1.peer_certificates().unwrap()[0]
        .as_ref()
        .to_vec()
}

/// The certificate `addr` serves now.
async fn served_now(addr: &str, ca: &Path) -> Vec<u8> {
    served(&connect(addr, ca, &[b"http/1.1"]).await.unwrap())
}

/// One request on a connection, over HTTP/2 when ALPN chose it, else HTTP/1.1:
/// the version, the status and the body.
async fn request(
    conn: TlsStream<TcpStream>,
    req: hyper::Request<Full<Bytes>>,
) -> (hyper::Version, u16, String) {
    let h2 = conn.get_ref().1.alpn_protocol() == Some(b"h2");
    let io = TokioIo::new(conn);
    let resp = if h2 {
        let (mut send, c) = hyper::client::conn::http2::handshake(TokioExecutor::new(), io)
            .await
            .unwrap();
        tokio::spawn(c);
        send.send_request(req).await.unwrap()
    } else {
        let (mut send, c) = hyper::client::conn::http1::handshake(io).await.unwrap();
        tokio::spawn(c);
        send.send_request(req).await.unwrap()
    };
    let version = resp.version();
    let status = resp.status().as_u16();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (version, status, String::from_utf8_lossy(&body).into_owned())
}

fn get(addr: &str, path: &str) -> hyper::Request<Full<Bytes>> {
    hyper::Request::get(format!("https://{addr}{path}"))
        .header("host", addr)
        .body(Full::default())
        .unwrap()
}

/// How many `/token` requests the latency histogram has counted (process-wide).
async fn token_requests_timed(addr: &str, ca: &Path) -> u64 {
    let conn = connect(addr, ca, &[b"h2"]).await.unwrap();
    let (_, status, metrics) = request(conn, get(addr, "/metrics")).await;
    assert_eq!(status, 200);
    metrics
        .lines()
        .find_map(|l| {
            l.strip_prefix("baton_http_request_duration_seconds_count{endpoint=\"/token\"} ")
        })
        .unwrap_or_else(|| panic!("no /token latency count in {metrics}"))
        .trim()
        .parse()
        .unwrap()
}

/// Waits (10 s at most) until `addr` serves `want`.
async fn until_served(addr: &str, ca: &Path, want: &[u8]) -> bool {
    for _ in 0..100 {
        if served_now(addr, ca).await == want {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

fn addr_of(url: &str) -> String {
    url.split("://").nth(1).unwrap().to_string()
}

#[tokio::test]
async fn https_with_http2_and_http1_by_alpn() {
    let pki = Pki::new();
    let files = pki.leaf("one");
    let s = TestServer::start(&tls_section(&files, "5s")).await;
    let addr = addr_of(&s.url);

    // HTTP/2 when the client offers it.
    let conn = connect(&addr, &pki.ca(), &[b"h2", b"http/1.1"])
        .await
        .unwrap();
    assert_eq!(conn.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    assert_eq!(served(&conn), der(&files.0), "the configured certificate");
    let (version, status, body) = request(conn, get(&addr, "/readyz")).await;
    assert_eq!(
        (version, status, body.as_str()),
        (hyper::Version::HTTP_2, 200, "ready")
    );

    // A token request over HTTP/2: bodies, client authentication, events all work, and
    // the latency middleware times it.
    let timed_before = token_requests_timed(&addr, &pki.ca()).await;
    let conn = connect(&addr, &pki.ca(), &[b"h2"]).await.unwrap();
    let form = format!(
        "grant_type=password&username={}&password={}&scope=openid%20offline_access",
        ALICE.0, ALICE.1
    );
    use base64::Engine;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", WEB.0, WEB.1));
    let req = hyper::Request::post(format!("https://{addr}/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("authorization", format!("Basic {basic}"))
        .body(Full::new(Bytes::from(form)))
        .unwrap();
    let (version, status, body) = request(conn, req).await;
    assert_eq!((version, status), (hyper::Version::HTTP_2, 200), "{body}");
    assert!(body.contains("access_token"), "{body}");
    assert_eq!(
        s.events("grant.created").await[0].ip.as_deref(),
        Some("127.0.0.1"),
        "the peer address reaches the events over TLS too"
    );

    // HTTP/1.1 when that is all the client offers, and without ALPN at all.
    for alpn in [&[&b"http/1.1"[..]][..], &[]] {
        let conn = connect(&addr, &pki.ca(), alpn).await.unwrap();
        let (version, status, body) = request(conn, get(&addr, "/healthz")).await;
        assert_eq!(
            (version, status, body.as_str()),
            (hyper::Version::HTTP_11, 200, "ok")
        );
    }

    // A client that does not trust the CA gets no connection.
    let other = Pki::new();
    assert!(connect(&addr, &other.ca(), &[b"h2"]).await.is_err());
    // Plain HTTP on the TLS port is not served.
    let plain = baton_testkit::client()
        .get(format!("{}/healthz", s.url))
        .timeout(Duration::from_secs(5))
        .send()
        .await;
    assert!(plain.is_err() || plain.unwrap().status() != 200);

    assert!(token_requests_timed(&addr, &pki.ca()).await > timed_before);
    s.stop().await;
}

#[tokio::test]
async fn changed_files_are_served_after_the_change_check_and_a_bad_pair_keeps_the_old() {
    let pki = Pki::new();
    let one = pki.leaf("one");
    let two = pki.leaf("two");
    let live = (
        pki.dir.path().join("live.pem"),
        pki.dir.path().join("live.key"),
    );
    install(&one, &live);
    let s = TestServer::start(&tls_section(&live, "100ms")).await;
    let addr = addr_of(&s.url);
    assert_eq!(served_now(&addr, &pki.ca()).await, der(&one.0));

    install(&two, &live);
    assert!(
        until_served(&addr, &pki.ca(), &der(&two.0)).await,
        "the new certificate is served without a restart"
    );

    // A certificate whose key does not match, then a file that is not PEM: the check
    // tries each and keeps serving the last good pair.
    std::fs::copy(&one.0, &live.0).unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(served_now(&addr, &pki.ca()).await, der(&two.0));
    std::fs::write(&live.1, "not a key").unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(served_now(&addr, &pki.ca()).await, der(&two.0));
    assert_eq!(s.reload_tls(), Some(false), "the reload fails");

    // Once the pair is whole again it is picked up.
    std::fs::copy(&one.1, &live.1).unwrap();
    assert!(until_served(&addr, &pki.ca(), &der(&one.0)).await);
    s.stop().await;
}

#[tokio::test]
async fn the_reload_trigger_serves_the_new_files_when_the_check_is_off() {
    let pki = Pki::new();
    let one = pki.leaf("one");
    let two = pki.leaf("two");
    let live = (
        pki.dir.path().join("live.pem"),
        pki.dir.path().join("live.key"),
    );
    install(&one, &live);
    let s = TestServer::start(&tls_section(&live, "off")).await;
    let addr = addr_of(&s.url);
    install(&two, &live);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        served_now(&addr, &pki.ca()).await,
        der(&one.0),
        "no check: nothing changes by itself"
    );
    assert_eq!(s.reload_tls(), Some(true));
    assert_eq!(served_now(&addr, &pki.ca()).await, der(&two.0));
    // A plain server has nothing to reload.
    let plain = TestServer::start("").await;
    assert_eq!(plain.reload_tls(), None);
    s.stop().await;
}

/// `baton serve` with TLS, ready once `/readyz` answers over TLS.
async fn spawn_tls(dir: &Path, ca: &Path, extra: &str) -> ChildServer {
    let bin = Path::new(env!("CARGO_BIN_EXE_baton"));
    ChildServer::spawn_probed(bin, dir, None, extra, "https", |url| {
        let ca = ca.to_path_buf();
        async move {
            let addr = addr_of(&url);
            match connect(&addr, &ca, &[b"http/1.1"]).await {
                Ok(conn) => request(conn, get(&addr, "/readyz")).await.1 == 200,
                Err(_) => false,
            }
        }
    })
    .await
}

fn hangup(child: &ChildServer) {
    let pid = child.child.id().unwrap().to_string();
    assert!(Command::new("kill")
        .args(["-HUP", &pid])
        .status()
        .unwrap()
        .success());
}

#[tokio::test]
async fn sighup_reloads_the_certificate_of_the_baton_binary() {
    let pki = Pki::new();
    let one = pki.leaf("one");
    let two = pki.leaf("two");
    let live = (
        pki.dir.path().join("live.pem"),
        pki.dir.path().join("live.key"),
    );
    install(&one, &live);
    let dir = tempfile::tempdir().unwrap();
    let mut child = spawn_tls(dir.path(), &pki.ca(), &tls_section(&live, "off")).await;
    let addr = addr_of(&child.url);
    assert_eq!(served_now(&addr, &pki.ca()).await, der(&one.0));

    install(&two, &live);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        served_now(&addr, &pki.ca()).await,
        der(&one.0),
        "not before SIGHUP"
    );
    hangup(&child);
    assert!(until_served(&addr, &pki.ca(), &der(&two.0)).await);

    // A SIGHUP with a broken key keeps the server up with the certificate it had.
    std::fs::write(
        &live.1,
        "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n",
    )
    .unwrap();
    hangup(&child);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(child.child.try_wait().unwrap().is_none(), "still running");
    assert_eq!(served_now(&addr, &pki.ca()).await, der(&two.0));
    child.terminate().await;
}

#[tokio::test]
async fn sighup_does_not_stop_a_plain_http_server() {
    let dir = tempfile::tempdir().unwrap();
    let bin = Path::new(env!("CARGO_BIN_EXE_baton"));
    let mut child = ChildServer::spawn(bin, dir.path(), "").await;
    hangup(&child);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(child.child.try_wait().unwrap().is_none(), "still running");
    let r = baton_testkit::client()
        .get(format!("{}/healthz", child.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    child.terminate().await;
}

#[tokio::test]
async fn bad_tls_settings_are_refused_at_start_naming_the_key_not_the_content() {
    let pki = Pki::new();
    let (cert, key) = pki.leaf("one");
    let run = |extra: String| async move {
        let dir = tempfile::tempdir().unwrap();
        let cfg = baton_testkit::write_config(dir.path(), 9, &extra);
        let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_baton"))
            .args(["check-config", "--config"])
            .arg(&cfg)
            .env_remove("BATON_SECRET")
            .output()
            .await
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, err) = run(format!("[http]\ntls_cert_file = \"{}\"\n", cert.display())).await;
    assert_eq!(code, Some(2));
    assert!(
        err.contains("http.tls_key_file") && err.contains("both or neither"),
        "{err}"
    );
    let (code, err) = run(format!("[http]\ntls_key_file = \"{}\"\n", key.display())).await;
    assert_eq!(code, Some(2));
    assert!(err.contains("http.tls_cert_file"), "{err}");

    // A key file that is not a key: named, its content never shown.
    let secretish = pki.dir.path().join("bad.key");
    std::fs::write(&secretish, "TOP-SECRET-KEY-MATERIAL-0123456789\n").unwrap();
    let (code, err) = run(format!(
        "[http]\ntls_cert_file = \"{}\"\ntls_key_file = \"{}\"\n",
        cert.display(),
        secretish.display()
    ))
    .await;
    assert_eq!(code, Some(2));
    assert!(err.contains("http.tls_key_file"), "{err}");
    assert!(!err.contains("TOP-SECRET"), "{err}");

    // A key that is not the certificate's.
    let (_, other_key) = pki.leaf("two");
    let (code, err) = run(format!(
        "[http]\ntls_cert_file = \"{}\"\ntls_key_file = \"{}\"\n",
        cert.display(),
        other_key.display()
    ))
    .await;
    assert_eq!(code, Some(2));
    assert!(err.contains("does not belong to the certificate"), "{err}");

    // A missing file.
    let (code, err) = run(format!(
        "[http]\ntls_cert_file = \"{}/nope.pem\"\ntls_key_file = \"{}\"\n",
        pki.dir.path().display(),
        key.display()
    ))
    .await;
    assert_eq!(code, Some(2));
    assert!(
        err.contains("http.tls_cert_file") && err.contains("cannot read"),
        "{err}"
    );

    // And the good pair passes.
    let (code, err) = run(format!(
        "[http]\ntls_cert_file = \"{}\"\ntls_key_file = \"{}\"\n",
        cert.display(),
        key.display()
    ))
    .await;
    assert_eq!(code, Some(0), "{err}");
}

#[tokio::test]
async fn plain_http_also_answers_http2_with_prior_knowledge() {
    let s = TestServer::start("").await;
    let addr = addr_of(&s.url);
    let tcp = TcpStream::connect(&addr).await.unwrap();
    let (mut send, c) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tcp))
            .await
            .unwrap();
    tokio::spawn(c);
    let req = hyper::Request::get(format!("http://{addr}/healthz"))
        .body(Full::<Bytes>::default())
        .unwrap();
    let resp = send.send_request(req).await.unwrap();
    assert_eq!(
        (resp.version(), resp.status().as_u16()),
        (hyper::Version::HTTP_2, 200)
    );
    s.stop().await;
}
