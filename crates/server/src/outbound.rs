//! Connections the server opens itself to addresses that clients chose (today:
//! back-channel logout). A client that can name a URI must not make the server reach
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
use tokio::net::TcpStream;

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
