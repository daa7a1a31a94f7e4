//! Connections the server opens itself to addresses that clients or operators chose
//! (back-channel logout, webhooks). A client that can name a URI must not make the server reach
//! what only the server can reach (SSRF): loopback, private networks, link-local
//! (cloud metadata at 169.254.169.254), and other addresses that are not public.
//!
//! [`connect`] resolves the host, checks **every** address it resolves to, and connects
//! only to the checked addresses: there is no second lookup a rebinding DNS server
//! could answer differently. Callers follow no redirects. `http.allow_private_outbound`
//! (default `false`) lifts the address rule, for local development.
//! [`refuse_literal`] is the early check for registration: an IP literal or a
//! `localhost` name that the rule would refuse at send time.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, OnceLock};
use tokio::net::TcpStream;
use tokio_rustls::rustls;

/// Why an address is not public, or `None` if it is.
pub fn non_public(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(a) => non_public_v4(a),
        IpAddr::V6(a) => non_public_v6(a),
    }
}

fn in_v4(a: Ipv4Addr, net: [u8; 4], bits: u32) -> bool {
    let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
    u32::from(a) & mask == u32::from(Ipv4Addr::from(net)) & mask
}

fn non_public_v4(a: Ipv4Addr) -> Option<&'static str> {
    const RULES: &[([u8; 4], u32, &str)] = &[
        ([0, 0, 0, 0], 8, "an unspecified (\"this network\") address"),
        ([127, 0, 0, 0], 8, "a loopback address"),
        ([10, 0, 0, 0], 8, "a private address"),
        ([172, 16, 0, 0], 12, "a private address"),
        ([192, 168, 0, 0], 16, "a private address"),
        ([100, 64, 0, 0], 10, "a shared (CGNAT) address"),
        (
            [169, 254, 0, 0],
            16,
            "a link-local address (cloud metadata lives here)",
        ),
        ([192, 0, 0, 0], 24, "an IETF protocol address"),
        ([192, 0, 2, 0], 24, "a documentation address"),
        ([198, 51, 100, 0], 24, "a documentation address"),
        ([203, 0, 113, 0], 24, "a documentation address"),
        ([198, 18, 0, 0], 15, "a benchmarking address"),
        ([224, 0, 0, 0], 4, "a multicast address"),
        ([240, 0, 0, 0], 4, "a reserved or broadcast address"),
        // Azure's platform endpoint (metadata, DNS) is a public-looking address.
        ([168, 63, 129, 16], 32, "a cloud metadata address"),
    ];
    RULES
        .iter()
        .find(|(net, bits, _)| in_v4(a, *net, *bits))
        .map(|(_, _, why)| *why)
}

fn non_public_v6(a: Ipv6Addr) -> Option<&'static str> {
    let s = a.segments();
    let v4 = |hi: u16, lo: u16| Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    if a.is_unspecified() {
        return Some("an unspecified address");
    }
    if a.is_loopback() {
        return Some("a loopback address");
    }
    // Addresses that carry an IPv4 address: judged by it.
    if s[..5] == [0; 5] && (s[5] == 0xffff || s[5] == 0) {
        // ::ffff:a.b.c.d (mapped) and ::a.b.c.d (compatible, deprecated).
        return non_public_v4(v4(s[6], s[7]));
    }
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        // NAT64 (RFC 6052): a public IPv4 address behind it is public.
        return non_public_v4(v4(s[6], s[7]));
    }
    if s[0] == 0x2002 {
        // 6to4 (RFC 3056): the IPv4 address is in bits 16..48.
        return non_public_v4(v4(s[1], s[2]));
    }
    match s[0] {
        0x0100 if s[1..4] == [0, 0, 0] => Some("a discard-only address"),
        0x0064 if s[1] == 0xff9b && s[2] == 1 => Some("a local-use NAT64 address"),
        0x2001 if s[1] == 0 => Some("a Teredo address"),
        0x2001 if s[1] == 0x0db8 => Some("a documentation address"),
        x if x & 0xfe00 == 0xfc00 => Some("a unique local (private) address"),
        x if x & 0xffc0 == 0xfe80 => Some("a link-local address"),
        x if x & 0xffc0 == 0xfec0 => Some("a site-local address"),
        x if x & 0xff00 == 0xff00 => Some("a multicast address"),
        _ => None,
    }
}

/// The message for a refused address.
fn refused(ip: IpAddr, why: &str) -> String {
    format!(
        "refused: {ip} is {why}; the server connects only to public addresses (http.allow_private_outbound is off)"
    )
}

/// The early check for a URI a client registers: refuses an IP literal that is not
/// public, and `localhost` names (they resolve to loopback). Other names are checked
/// when they are resolved, at send time.
pub fn refuse_literal(uri: &str, allow_private: bool) -> Result<(), String> {
    if allow_private {
        return Ok(());
    }
    let Ok(url) = url::Url::parse(uri) else {
        return Ok(()); // the URI rules refuse it
    };
    let ip = match url.host() {
        Some(url::Host::Ipv4(a)) => IpAddr::V4(a),
        Some(url::Host::Ipv6(a)) => IpAddr::V6(a),
        Some(url::Host::Domain(d)) => {
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            if d == "localhost" || d.ends_with(".localhost") {
                return Err(format!(
                    "refused: `{d}` is a loopback name; the server connects only to public addresses (http.allow_private_outbound is off)"
                ));
            }
            return Ok(());
        }
        None => return Ok(()),
    };
    match non_public(ip) {
        Some(why) => Err(refused(ip, why)),
        None => Ok(()),
    }
}

/// Why a connection was not made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectError {
    /// The address rule refused it: trying again cannot help.
    Refused(String),
    /// Resolution or the connection failed: another attempt may succeed.
    Failed(String),
}

impl std::fmt::Display for ConnectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConnectError::Refused(m) | ConnectError::Failed(m) => f.write_str(m),
        }
    }
}

/// Anything else that fails on the way (a bad URI, TLS, the request) may pass on the
/// next attempt, as far as the caller knows.
impl From<String> for ConnectError {
    fn from(m: String) -> ConnectError {
        ConnectError::Failed(m)
    }
}

/// Checks every resolved address; answers them all, or the refusal of the first that
/// is not public.
pub fn check_addrs(addrs: &[SocketAddr], allow_private: bool) -> Result<(), ConnectError> {
    if allow_private {
        return Ok(());
    }
    for a in addrs {
        if let Some(why) = non_public(a.ip()) {
            return Err(ConnectError::Refused(refused(a.ip(), why)));
        }
    }
    Ok(())
}

/// Resolves `host`, checks every address, and connects to the first checked address
/// that answers.
pub async fn connect(
    host: &str,
    port: u16,
    allow_private: bool,
) -> Result<TcpStream, ConnectError> {
    let addrs: Vec<SocketAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => tokio::net::lookup_host((host, port))
            .await
            .map_err(|e| ConnectError::Failed(format!("cannot resolve {host}: {e}")))?
            .collect(),
    };
    if addrs.is_empty() {
        return Err(ConnectError::Failed(format!("{host} has no address")));
    }
    check_addrs(&addrs, allow_private)?;
    let mut last = String::new();
    for a in &addrs {
        match TcpStream::connect(a).await {
            Ok(s) => return Ok(s),
            Err(e) => last = format!("cannot connect: {e}"),
        }
    }
    Err(ConnectError::Failed(last))
}

/// The limit on one POST (connect, TLS, request and response head).
pub const ATTEMPT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// POSTs `body` (of `content_type`, with `headers` besides) to `uri`, within
/// [`ATTEMPT_TIMEOUT`]; answers the response status. HTTP/1.1 over plain TCP for
/// `http://` URIs and over TLS (rustls with the *ring* provider, the system's trusted
/// CA certificates) for `https://` ones. The connection goes only to addresses
/// [`connect`] checked; redirects are not followed (a 3xx is just a status).
pub async fn post(
    uri: &str,
    content_type: &str,
    headers: &[(&str, String)],
    body: String,
    allow_private: bool,
) -> Result<u16, ConnectError> {
    let sent = post_inner(uri, content_type, headers, body, allow_private);
    match tokio::time::timeout(ATTEMPT_TIMEOUT, sent).await {
        Ok(r) => r,
        Err(_) => Err(ConnectError::Failed(format!(
            "no answer within {} s",
            ATTEMPT_TIMEOUT.as_secs()
        ))),
    }
}

async fn post_inner(
    uri: &str,
    content_type: &str,
    headers: &[(&str, String)],
    body: String,
    allow_private: bool,
) -> Result<u16, ConnectError> {
    use axum::http::{header, Request};
    use hyper_util::rt::TokioIo;
    let url = url::Url::parse(uri).map_err(|e| format!("the URI is invalid: {e}"))?;
    let https = match url.scheme() {
        "http" => false,
        "https" => true,
        s => return Err(format!("the URI scheme `{s}` is not supported").into()),
    };
    let host = match url.host() {
        Some(url::Host::Domain(d)) => d.to_string(),
        Some(url::Host::Ipv4(a)) => a.to_string(),
        Some(url::Host::Ipv6(a)) => a.to_string(),
        None => return Err(ConnectError::Failed("the URI has no host".into())),
    };
    let port = url
        .port_or_known_default()
        .ok_or_else(|| "the URI has no port".to_string())?;
    let authority = match (url.host_str(), url.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_string(),
        (None, _) => return Err(ConnectError::Failed("the URI has no host".into())),
    };
    let target = &url[url::Position::BeforePath..url::Position::AfterQuery];
    let mut req = Request::post(target)
        .header(header::HOST, authority)
        .header(header::CONTENT_TYPE, content_type)
        .header(header::CONTENT_LENGTH, body.len())
        .header(header::CONNECTION, "close")
        .header(
            header::USER_AGENT,
            concat!("baton/", env!("CARGO_PKG_VERSION")),
        );
    for (name, value) in headers {
        req = req.header(*name, value.as_str());
    }
    let req = req
        .body(axum::body::Body::from(body))
        .map_err(|e| format!("cannot build the request: {e}"))?;
    let tcp = connect(&host, port, allow_private).await?;
    if !https {
        return Ok(send(TokioIo::new(tcp), req).await?);
    }
    let config = tokio::task::spawn_blocking(tls_config)
        .await
        .map_err(|_| "the TLS set-up task failed".to_string())??;
    let name = rustls::pki_types::ServerName::try_from(host)
        .map_err(|_| "the host is not a valid TLS server name".to_string())?;
    let tls = tokio_rustls::TlsConnector::from(config)
        .connect(name, tcp)
        .await
        .map_err(|e| format!("TLS handshake failed: {e}"))?;
    Ok(send(TokioIo::new(tls), req).await?)
}

/// Aborts the connection task when the attempt ends (or times out).
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn send<I>(io: I, req: axum::http::Request<axum::body::Body>) -> Result<u16, String>
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| format!("HTTP handshake failed: {e}"))?;
    let _conn = AbortOnDrop(tokio::spawn(async move {
        let _ = conn.await;
    }));
    let resp = sender
        .send_request(req)
        .await
        .map_err(|e| format!("the request failed: {e}"))?;
    Ok(resp.status().as_u16())
}

/// The TLS client configuration: ring, TLS 1.2 and 1.3, the system's CA certificates.
/// Built once.
fn tls_config() -> Result<Arc<rustls::ClientConfig>, String> {
    static CONFIG: OnceLock<Result<Arc<rustls::ClientConfig>, String>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let found = rustls_native_certs::load_native_certs();
            let mut roots = rustls::RootCertStore::empty();
            let (added, _) = roots.add_parsable_certificates(found.certs);
            if added == 0 {
                return Err("no trusted CA certificates found on this system (install ca-certificates, or set SSL_CERT_FILE)".into());
            }
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let mut config = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map_err(|e| format!("TLS set-up failed: {e}"))?
                .with_root_certificates(roots)
                .with_no_client_auth();
            config.alpn_protocols = vec![b"http/1.1".to_vec()];
            Ok(Arc::new(config))
        })
        .clone()
}

/// Whether another attempt may succeed after this status.
pub fn retryable(status: u16) -> bool {
    status >= 500 || status == 408 || status == 429
}

/// The host of a URI, for records ("" if it has none).
pub fn host_of(uri: &str) -> String {
    url::Url::parse(uri)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn np(s: &str) -> bool {
        non_public(s.parse().unwrap()).is_some()
    }

    #[test]
    fn non_public_addresses_are_recognised() {
        for a in [
            "127.0.0.1",
            "127.255.0.9",
            "0.0.0.0",
            "10.0.0.1",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.0.1",
            "100.64.0.1",
            "100.127.255.254",
            "169.254.169.254",
            "168.63.129.16",
            "192.0.0.192",
            "224.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::ffff:10.0.0.1",
            "::127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "2002:7f00:1::1",
            "fd00::1",
            "fd00:ec2::254",
            "fc00::1",
            "fe80::1",
            "febf::1",
            "ff02::1",
            "2001:db8::1",
            "2001:0:4136:e378::1",
        ] {
            assert!(np(a), "{a} is not public");
        }
    }

    #[test]
    fn public_addresses_pass() {
        for a in [
            "8.8.8.8",
            "1.1.1.1",
            "172.32.0.1",
            "100.128.0.1",
            "169.255.0.1",
            "2606:4700:4700::1111",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2002:808:808::1",
        ] {
            assert!(!np(a), "{a} is public");
        }
    }

    #[test]
    fn literals_are_refused_early_unless_allowed() {
        for u in [
            "https://127.0.0.1/bc",
            "http://[::1]:8080/bc",
            "https://0x7f.1/bc",
            "https://[::ffff:a9fe:a9fe]/x",
            "https://localhost/bc",
            "https://a.localhost./bc",
        ] {
            assert!(refuse_literal(u, false).is_err(), "{u}");
            assert!(refuse_literal(u, true).is_ok(), "{u}");
        }
        for u in ["https://rp.example/bc", "https://8.8.8.8/bc", "not a uri"] {
            assert!(refuse_literal(u, false).is_ok(), "{u}");
        }
    }

    #[test]
    fn every_resolved_address_is_checked() {
        let public: SocketAddr = "8.8.8.8:443".parse().unwrap();
        let private: SocketAddr = "10.0.0.1:443".parse().unwrap();
        assert!(check_addrs(&[public], false).is_ok());
        assert!(matches!(
            check_addrs(&[public, private], false),
            Err(ConnectError::Refused(_))
        ));
        assert!(check_addrs(&[public, private], true).is_ok());
    }

    #[test]
    fn retry_rules() {
        assert!(retryable(500) && retryable(503) && retryable(429) && retryable(408));
        assert!(!retryable(400) && !retryable(401) && !retryable(404));
    }

    #[test]
    fn host_is_extracted_without_path_or_query() {
        assert_eq!(host_of("https://rp.example:8443/bc?x=1"), "rp.example");
        assert_eq!(host_of("not a uri"), "");
    }

    #[test]
    fn tls_config_uses_system_roots() {
        // The machine has ca-certificates; the config is built once and shared.
        if let Ok(a) = tls_config() {
            let b = tls_config().unwrap();
            assert!(Arc::ptr_eq(&a, &b));
        }
    }

    #[tokio::test]
    async fn connect_refuses_loopback_without_connecting() {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        let e = connect("127.0.0.1", port, false).await.unwrap_err();
        assert!(matches!(e, ConnectError::Refused(_)), "{e}");
        assert!(e.to_string().contains("loopback"), "{e}");
        let e = connect("localhost", port, false).await.unwrap_err();
        assert!(matches!(e, ConnectError::Refused(_)), "{e}");
        assert!(connect("127.0.0.1", port, true).await.is_ok());
    }
}
