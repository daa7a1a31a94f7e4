//! Whether a requested redirect URI is one of a client's registered ones.
//!
//! RFC 6749 §3.1.2.3 and RFC 9700 §4.1.3: the request's `redirect_uri` is compared
//! with the registered ones by exact string comparison. One exception, for public
//! clients only: RFC 8252 §7.3, "The authorization server MUST allow any port to be
//! specified at the time of the request for loopback IP redirect URIs, to accommodate
//! clients that obtain an available ephemeral port from the operating system."
//!
//! - Only the IP literals `127.0.0.1` and `[::1]`, written so, over `http`. `localhost`
//!   is NOT RECOMMENDED (RFC 8252 §8.3) and keeps exact matching.
//! - Only the port may differ. Scheme, host, path and query are compared character for
//!   character, so no normalisation can widen a match; userinfo and fragments never
//!   match.
//! - Only public clients (`token_endpoint_auth_method = "none"`): RFC 8252 is about
//!   native apps, which are public clients (§8.4). A confidential client runs where it
//!   can listen on a fixed port, so it keeps exact matching and another process on
//!   the same machine cannot receive its codes on another port.
//!
//! The code exchange (`code::check`) still requires the very URI the code was issued
//! for, port included; `post_logout_redirect_uri` keeps exact matching (RFC 8252 says
//! nothing of it).

use crate::model::Client;

/// Whether `requested` is one of `client`'s registered redirect URIs: the same string,
/// or, for a public client, a loopback one with another port ([`loopback_port_match`]).
pub fn is_registered(client: &Client, requested: &str) -> bool {
    client
        .redirect_uris
        .iter()
        .any(|r| r == requested || (client.is_public() && loopback_port_match(r, requested)))
}

/// Whether `requested` is `registered` but for the port: both `http` on the same
/// loopback IP literal (`127.0.0.1` or `[::1]`), with identical path and query. Either
/// may omit the port; a port given is 1–65535 in decimal, without leading zeros.
pub fn loopback_port_match(registered: &str, requested: &str) -> bool {
    match (split_loopback(registered), split_loopback(requested)) {
        (Some((host_a, rest_a)), Some((host_b, rest_b))) => host_a == host_b && rest_a == rest_b,
        _ => false,
    }
}

/// The loopback IP literals RFC 8252 §7.3 names, as written in a URI.
const LOOPBACK_HOSTS: [&str; 2] = ["127.0.0.1", "[::1]"];

/// `(host, rest)` of `http://HOST[:PORT]REST` where HOST is a loopback IP literal and
/// REST (path and query) is empty or starts with `/` or `?` and has no fragment; `None`
/// for anything else.
fn split_loopback(u: &str) -> Option<(&'static str, &str)> {
    let after_scheme = u.strip_prefix("http://")?;
    let host = LOOPBACK_HOSTS
        .into_iter()
        .find(|h| after_scheme.starts_with(h))?;
    let after_host = &after_scheme[host.len()..];
    let rest = match after_host.strip_prefix(':') {
        Some(p) => {
            let end = p.find(|c: char| !c.is_ascii_digit()).unwrap_or(p.len());
            let digits = &p[..end];
            // Not empty, no leading zero (so not 0), and within u16.
            if digits.is_empty() || digits.starts_with('0') || digits.parse::<u16>().is_err() {
                return None;
            }
            &p[end..]
        }
        None => after_host,
    };
    let rest_ok = rest.is_empty() || rest.starts_with('/') || rest.starts_with('?');
    if !rest_ok || rest.contains('#') {
        return None;
    }
    Some((host, rest))
}

#[cfg(test)]
mod tests;
