//! `http.trusted_proxies`: which TCP peers are believed when they say, in
//! `X-Forwarded-For` or `Forwarded` (RFC 7239), whom they forward for; and the one
//! client address a request resolves to (what [`crate::caller::Caller`] carries into
//! events, sign-in throttling and logs).
//!
//! The rule: a request whose peer is not a trusted proxy comes from its peer, whatever
//! its headers say. From a trusted peer, the forwarding chain is read right to left (the
//! right-most entry was added by the proxy nearest to us), trusted proxies are skipped,
//! and the first address that is not one is the client. A chain that cannot be read to
//! that point (an entry that is not an address: `unknown`, an obfuscated identifier,
//! garbage) is ignored as a whole and the peer is the client. `X-Forwarded-For` is read
//! when present, else `Forwarded`: a proxy must overwrite (or strip) the header it does
//! not use, or a client could write that one itself.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// An IP address or a CIDR range (`10.0.0.0/8`, `2001:db8::/32`, `192.0.2.7`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpRange {
    addr: IpAddr,
    prefix: u8,
}

impl IpRange {
    /// Parses an address (a range of one) or `address/prefix`. The address of a range
    /// must have no bits set past its prefix (`10.0.0.1/8` is refused: it is ambiguous).
    pub fn parse(s: &str) -> Result<IpRange, String> {
        let s = s.trim();
        let (addr_s, prefix_s) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = addr_s
            .parse()
            .map_err(|_| format!("`{s}` is not an IP address or CIDR range"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix_s {
            None => max,
            Some(p) => match p.parse::<u8>() {
                Ok(n) if n <= max && !p.starts_with('+') => n,
                _ => return Err(format!("`{s}`: the prefix length must be 0 to {max}")),
            },
        };
        // An IPv4-mapped IPv6 range (`::ffff:10.0.0.0/104`, as dual-stack logs show
        // peers) is its IPv4 range: peers are compared in their IPv4 form.
        let (addr, prefix) = match addr {
            IpAddr::V6(v6) if prefix >= 96 => match v6.to_ipv4_mapped() {
                Some(v4) => (IpAddr::V4(v4), prefix - 96),
                None => (addr, prefix),
            },
            _ => (addr, prefix),
        };
        let range = IpRange { addr, prefix };
        if range.network() != addr {
            return Err(format!(
                "`{s}` has host bits set: the range is {}/{prefix}",
                range.network()
            ));
        }
        Ok(range)
    }

    fn network(&self) -> IpAddr {
        match self.addr {
            IpAddr::V4(a) => IpAddr::V4(Ipv4Addr::from(u32::from(a) & mask32(self.prefix))),
            IpAddr::V6(a) => IpAddr::V6(Ipv6Addr::from(u128::from(a) & mask128(self.prefix))),
        }
    }

    /// Whether `ip` is in the range. An IPv4-mapped IPv6 address (`::ffff:10.0.0.1`,
    /// what a dual-stack socket reports) counts as its IPv4 address.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(a)) => {
                u32::from(a) & mask32(self.prefix) == u32::from(net)
            }
            (IpAddr::V6(net), IpAddr::V6(a)) => {
                u128::from(a) & mask128(self.prefix) == u128::from(net)
            }
            _ => false,
        }
    }
}

impl std::fmt::Display for IpRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

fn mask32(prefix: u8) -> u32 {
    u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0)
}

fn mask128(prefix: u8) -> u128 {
    u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0)
}

/// The configured trusted proxies (empty by default: no forwarding header is believed).
#[derive(Clone, Debug, Default)]
pub struct TrustedProxies(pub Vec<IpRange>);

/// The forwarding headers of a request, every line of each in order.
#[derive(Default)]
pub struct Forwarding<'a> {
    pub x_forwarded_for: Vec<&'a str>,
    pub forwarded: Vec<&'a str>,
}

impl TrustedProxies {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|r| r.contains(ip))
    }

    /// The client address of a request from `peer` with these headers (see the module
    /// documentation for the rule).
    pub fn client_addr(&self, peer: IpAddr, headers: &Forwarding<'_>) -> IpAddr {
        let peer = peer.to_canonical();
        if !self.trusts(peer) {
            return peer;
        }
        let chain = if !headers.x_forwarded_for.is_empty() {
            x_forwarded_for(&headers.x_forwarded_for)
        } else if !headers.forwarded.is_empty() {
            forwarded(&headers.forwarded)
        } else {
            return peer;
        };
        let mut client = peer;
        // Right to left: each entry was written by the hop after it; an entry is
        // believed only while everything to its right was a trusted proxy.
        for entry in chain.into_iter().rev() {
            let Some(ip) = entry else {
                return peer;
            };
            client = ip.to_canonical();
            if !self.trusts(client) {
                return client;
            }
        }
        // Every entry is a trusted proxy: the left-most is the furthest we can see.
        client
    }
}

/// The entries of `X-Forwarded-For` lines, left to right; `None` for one that is not an
/// address (`1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1`, `[2001:db8::1]:5678`).
fn x_forwarded_for(lines: &[&str]) -> Vec<Option<IpAddr>> {
    lines
        .iter()
        .flat_map(|l| l.split(','))
        .map(|e| node_addr(e.trim()))
        .collect()
}

/// The `for=` addresses of `Forwarded` lines' elements, left to right; `None` for an
/// element without a readable `for=` address (`unknown`, obfuscated, malformed).
fn forwarded(lines: &[&str]) -> Vec<Option<IpAddr>> {
    let mut out = Vec::new();
    for line in lines {
        for element in split_unquoted_from_right(line, ',') {
            if element.trim().is_empty() {
                continue;
            }
            let mut addr = None;
            let mut fors = 0;
            for pair in split_unquoted_from_right(element, ';') {
                let Some((name, value)) = pair.split_once('=') else {
                    fors = 2; // a pair that is not `name=value`: the element is garbage
                    break;
                };
                if name.trim().eq_ignore_ascii_case("for") {
                    fors += 1;
                    addr = unquote(value.trim()).and_then(|v| node_addr(&v));
                }
            }
            out.push(if fors == 1 { addr } else { None });
        }
    }
    out
}

/// `s` split at `sep` outside double quotes, left to right, quotes paired from the right
/// (a `"` after an odd run of `\` is escaped): the elements a proxy appended at the
/// right end are read as written even when a client's part to their left holds an
/// unclosed quote, which then spoils only the client's own element.
fn split_unquoted_from_right(s: &str, sep: char) -> Vec<&str> {
    let bytes = s.as_bytes();
    let mut parts = Vec::new();
    let (mut quoted, mut end) = (false, s.len());
    for (i, c) in s.char_indices().rev() {
        if c == '"' {
            let backslashes = bytes[..i].iter().rev().take_while(|b| **b == b'\\').count();
            if backslashes % 2 == 0 {
                quoted = !quoted;
            }
        } else if c == sep && !quoted {
            parts.push(&s[i + c.len_utf8()..end]);
            end = i;
        }
    }
    parts.push(&s[..end]);
    parts.reverse();
    parts
}

/// A token or a quoted string's content; `None` for an unterminated quote.
fn unquote(v: &str) -> Option<String> {
    match v.strip_prefix('"') {
        None => Some(v.to_string()),
        Some(rest) => {
            let inner = rest.strip_suffix('"')?;
            let mut out = String::with_capacity(inner.len());
            let mut escaped = false;
            for c in inner.chars() {
                if escaped || c != '\\' {
                    out.push(c);
                    escaped = false;
                } else {
                    escaped = true;
                }
            }
            Some(out)
        }
    }
}

/// An address, with or without a port: `192.0.2.1`, `192.0.2.1:80`, `2001:db8::1`,
/// `[2001:db8::1]`, `[2001:db8::1]:80`.
fn node_addr(s: &str) -> Option<IpAddr> {
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Some(rest) = s.strip_prefix('[') {
        let (v6, after) = rest.split_once(']')?;
        if !(after.is_empty() || after.strip_prefix(':').is_some_and(is_port)) {
            return None;
        }
        return v6.parse::<Ipv6Addr>().ok().map(IpAddr::V6);
    }
    let (v4, port) = s.split_once(':')?;
    if !is_port(port) {
        return None;
    }
    v4.parse::<Ipv4Addr>().ok().map(IpAddr::V4)
}

fn is_port(p: &str) -> bool {
    p.bytes().all(|b| b.is_ascii_digit()) && p.parse::<u16>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn proxies(list: &[&str]) -> TrustedProxies {
        TrustedProxies(list.iter().map(|s| IpRange::parse(s).unwrap()).collect())
    }

    fn xff<'a>(lines: &[&'a str]) -> Forwarding<'a> {
        Forwarding {
            x_forwarded_for: lines.to_vec(),
            forwarded: vec![],
        }
    }

    fn fwd<'a>(lines: &[&'a str]) -> Forwarding<'a> {
        Forwarding {
            x_forwarded_for: vec![],
            forwarded: lines.to_vec(),
        }
    }

    /// A client's junk to the left of what the proxy appended spoils only its own entry:
    /// an unclosed quote (Forwarded) or a bad byte (X-Forwarded-For, made U+FFFD by the
    /// HTTP layer) never hands the decision back to the peer.
    #[test]
    fn a_clients_junk_left_of_the_proxys_entry_spoils_only_its_own() {
        let p = proxies(&["127.0.0.2"]);
        let peer = ip("127.0.0.2");
        for lines in [
            vec!["for=\", for=203.0.113.9"],
            vec!["for=\"\\\", for=203.0.113.9"],
            vec!["x;y, for=203.0.113.9"],
        ] {
            assert_eq!(
                p.client_addr(peer, &fwd(&lines)),
                ip("203.0.113.9"),
                "{lines:?}"
            );
        }
        assert_eq!(
            p.client_addr(peer, &xff(&["\u{fffd}203.0.113.7, 203.0.113.9"])),
            ip("203.0.113.9")
        );
        // A quoted comma stays inside its element.
        assert_eq!(
            p.client_addr(peer, &fwd(&["for=\"[2001:db8::1]:80\";by=\"a,b\""])),
            ip("2001:db8::1")
        );
    }

    #[test]
    fn ipv4_mapped_entries_match_ipv4_peers() {
        let p = proxies(&["::ffff:127.0.0.2", "::ffff:10.0.0.0/104"]);
        assert_eq!(
            p.client_addr(ip("127.0.0.2"), &xff(&["203.0.113.9"])),
            ip("203.0.113.9")
        );
        assert_eq!(
            p.client_addr(ip("::ffff:10.1.2.3"), &xff(&["203.0.113.9"])),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn ranges_parse_and_match() {
        let r = IpRange::parse("10.0.0.0/8").unwrap();
        assert!(r.contains(ip("10.255.0.1")));
        assert!(!r.contains(ip("11.0.0.1")));
        assert!(
            r.contains(ip("::ffff:10.1.2.3")),
            "IPv4-mapped counts as IPv4"
        );
        assert!(!r.contains(ip("2001:db8::1")));
        let one = IpRange::parse("192.0.2.7").unwrap();
        assert!(one.contains(ip("192.0.2.7")) && !one.contains(ip("192.0.2.8")));
        let v6 = IpRange::parse("2001:db8::/32").unwrap();
        assert!(v6.contains(ip("2001:db8:1::5")) && !v6.contains(ip("2001:db9::1")));
        assert!(IpRange::parse("0.0.0.0/0").unwrap().contains(ip("8.8.8.8")));
        assert!(IpRange::parse("::/0").unwrap().contains(ip("::1")));
        for bad in [
            "",
            "10.0.0.0/33",
            "10.0.0.1/8",
            "example.com",
            "10.0.0.0/",
            "10.0.0.0/+8",
            "2001:db8::/129",
            "10.0.0.0/8/9",
        ] {
            assert!(IpRange::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_says() {
        let p = proxies(&["10.0.0.0/8"]);
        let peer = ip("192.0.2.1");
        assert_eq!(p.client_addr(peer, &xff(&["203.0.113.9"])), peer);
        assert_eq!(p.client_addr(peer, &fwd(&["for=203.0.113.9"])), peer);
        assert_eq!(
            TrustedProxies::default().client_addr(peer, &xff(&["1.2.3.4"])),
            peer
        );
    }

    #[test]
    fn the_right_most_untrusted_entry_is_the_client() {
        let p = proxies(&["10.0.0.0/8"]);
        let peer = ip("10.0.0.2");
        // A client's own forged entry sits to the left of the real one.
        let h = xff(&["6.6.6.6, 203.0.113.9, 10.0.0.5"]);
        assert_eq!(p.client_addr(peer, &h), ip("203.0.113.9"));
        // Several lines are one list.
        let h = xff(&["6.6.6.6", "203.0.113.9:4711, 10.0.0.5"]);
        assert_eq!(p.client_addr(peer, &h), ip("203.0.113.9"));
        // Only trusted proxies: the left-most.
        assert_eq!(
            p.client_addr(peer, &xff(&["10.1.1.1, 10.0.0.5"])),
            ip("10.1.1.1")
        );
        // No header: the peer.
        assert_eq!(p.client_addr(peer, &Forwarding::default()), peer);
        let h = xff(&["[2001:db8::7]:443"]);
        assert_eq!(p.client_addr(peer, &h), ip("2001:db8::7"));
    }

    #[test]
    fn forwarded_for_is_read() {
        let p = proxies(&["10.0.0.0/8"]);
        let peer = ip("10.0.0.2");
        let h = fwd(&["for=6.6.6.6, For=\"[2001:db8:cafe::17]:4711\";proto=https;by=10.0.0.2"]);
        assert_eq!(p.client_addr(peer, &h), ip("2001:db8:cafe::17"));
        let h = fwd(&["for=192.0.2.60;proto=http;by=203.0.113.43", "for=10.0.0.9"]);
        assert_eq!(p.client_addr(peer, &h), ip("192.0.2.60"));
        let h = fwd(&["for=\"192.0.2.60:8080\""]);
        assert_eq!(p.client_addr(peer, &h), ip("192.0.2.60"));
        // X-Forwarded-For wins when both are there.
        let h = Forwarding {
            x_forwarded_for: vec!["203.0.113.1"],
            forwarded: vec!["for=192.0.2.60"],
        };
        assert_eq!(p.client_addr(peer, &h), ip("203.0.113.1"));
    }

    #[test]
    fn an_unreadable_chain_is_ignored() {
        let p = proxies(&["10.0.0.0/8"]);
        let peer = ip("10.0.0.2");
        for h in [
            xff(&["garbage"]),
            xff(&["203.0.113.9, "]),
            xff(&["1.2.3.4:99999"]),
            xff(&["[2001:db8::1"]),
            xff(&["1.2.3.4, nonsense, 10.0.0.3"]),
            fwd(&["for=unknown"]),
            fwd(&["for=_hidden"]),
            fwd(&["proto=https"]),
            fwd(&["for=\"[2001:db8::1]"]),
            fwd(&["for=1.2.3.4;for=5.6.7.8"]),
            fwd(&["for"]),
            fwd(&["for=\"\\\"\""]),
            fwd(&["for=[2001:db8::1]:80:80"]),
        ] {
            assert_eq!(p.client_addr(peer, &h), peer);
        }
        // Garbage left of the client does not matter: the walk stops before it.
        assert_eq!(
            p.client_addr(peer, &xff(&["nonsense, 203.0.113.9"])),
            ip("203.0.113.9")
        );
    }
}
