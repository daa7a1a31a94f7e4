//! Command-line arguments, duration parsing and target validation.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use hyper::Uri;

/// Benchmark the OAuth 2.0 refresh_token grant of a loopback token endpoint.
#[derive(Debug, Parser)]
#[command(name = "baton-bench", version, about, long_about = None)]
pub struct Args {
    /// Token endpoint URL (plain http, loopback hosts only).
    #[arg(long, value_name = "URL")]
    pub token_url: String,

    /// OAuth client identifier.
    #[arg(long)]
    pub client_id: String,

    /// Client secret (required unless `--auth none`).
    #[arg(long)]
    pub client_secret: Option<String>,

    /// Resource owner username used to seed refresh tokens (password grant).
    #[arg(long, required_unless_present_any = ["seed_token", "tokens_file"])]
    pub username: Option<String>,

    /// Resource owner password used to seed refresh tokens (password grant).
    #[arg(long, required_unless_present_any = ["seed_token", "tokens_file"])]
    pub password: Option<String>,

    /// Start every chain (and restart a broken one) from this refresh token instead of the
    /// password grant: for an endpoint without one, such as the ceiling server.
    #[arg(long, value_name = "TOKEN", conflicts_with_all = ["username", "password"])]
    pub seed_token: Option<String>,

    /// Refresh uniformly random grants among many: a file of refresh tokens, one a line,
    /// all of one width (`baton seed-grants --out`). Worker w of c owns the lines i with
    /// i mod c = w (no chain is presented twice at once); a chain goes on from each
    /// response's refresh token, and one answered invalid_grant is given up.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["username", "password", "seed_token"])]
    pub tokens_file: Option<PathBuf>,

    /// At the end, write each chain's latest refresh token back to --tokens-file, in its
    /// line, so that a later run goes on from there (a run from stale tokens is reuse).
    #[arg(long, requires = "tokens_file", conflicts_with_all = ["seed_token", "username", "password"])]
    pub save_tokens: bool,

    /// Scope requested by the password grant (e.g. "openid offline_access").
    #[arg(long)]
    pub scope: Option<String>,

    /// Number of workers; each owns one keep-alive connection and one token chain.
    #[arg(long, short = 'c', default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub concurrency: u32,

    /// Measured duration, e.g. 10s, 500ms, 2m.
    #[arg(long, short = 'd', default_value = "10s", value_parser = parse_duration)]
    pub duration: Duration,

    /// Warm-up period whose requests are not recorded, e.g. 2s or 0s.
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    pub warmup: Duration,

    /// Stop after this many measured requests (responses) in total.
    #[arg(long, short = 'n', value_parser = clap::value_parser!(u64).range(1..))]
    pub requests: Option<u64>,

    /// rotate: follow the returned refresh token; reuse: keep presenting the same one.
    #[arg(long, value_enum, default_value_t = Mode::Rotate)]
    pub mode: Mode,

    /// Client authentication method.
    #[arg(long, value_enum, default_value_t = Auth::Basic)]
    pub auth: Auth,

    /// Per-request timeout (connect, send and read the whole response).
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub timeout: Duration,

    /// Tokio worker threads of the load generator (default: number of CPUs).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub threads: Option<u32>,

    /// Print the summary as one JSON object instead of text.
    #[arg(long)]
    pub json: bool,

    /// Send a DPoP proof (RFC 9449, ES256, one key for the run) with every request,
    /// the password grant that seeds the chains included.
    #[arg(long)]
    pub dpop: bool,
}

/// How a worker chooses the refresh token for its next request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Mode {
    /// Follow the rotation chain: use the refresh token returned by each response.
    Rotate,
    /// Keep presenting the same refresh token (switch only if the server returns another).
    Reuse,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Rotate => "rotate",
            Mode::Reuse => "reuse",
        }
    }
}

/// Client authentication method (RFC 6749 section 2.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Auth {
    /// client_secret_basic: HTTP Basic header.
    Basic,
    /// client_secret_post: client_id and client_secret in the form body.
    Post,
    /// Public client: client_id in the form body, no secret.
    None,
}

impl Auth {
    pub fn as_str(self) -> &'static str {
        match self {
            Auth::Basic => "client_secret_basic",
            Auth::Post => "client_secret_post",
            Auth::None => "none",
        }
    }
}

/// Parses durations such as `10s`, `500ms`, `2m`, `1h`, `250us`, `1.5s`.
/// A bare number is taken as seconds.
pub fn parse_duration(input: &str) -> Result<Duration, String> {
    let s = input.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    if number.is_empty() {
        return Err(format!(
            "invalid duration {input:?}: expected e.g. 10s, 500ms, 2m"
        ));
    }
    let value: f64 = number
        .parse()
        .map_err(|_| format!("invalid duration {input:?}: bad number {number:?}"))?;
    let seconds_per_unit = match unit.trim() {
        "" | "s" | "sec" | "secs" => 1.0,
        "ms" => 1e-3,
        "us" | "µs" => 1e-6,
        "m" | "min" | "mins" => 60.0,
        "h" => 3600.0,
        other => {
            return Err(format!(
                "invalid duration {input:?}: unknown unit {other:?} (use us, ms, s, m or h)"
            ))
        }
    };
    Duration::try_from_secs_f64(value * seconds_per_unit)
        .map_err(|e| format!("invalid duration {input:?}: {e}"))
}

/// True if `host` (as found in a URL authority) names the loopback interface.
pub fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_end_matches('.');
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return inner.parse::<Ipv6Addr>().is_ok_and(is_loopback_v6);
    }
    host.parse::<Ipv4Addr>().is_ok_and(|ip| ip.is_loopback())
}

fn is_loopback_v6(ip: Ipv6Addr) -> bool {
    ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
}

fn is_loopback_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => is_loopback_v6(v6),
    }
}

/// A validated token endpoint: where to connect and what to put in the request line.
#[derive(Debug, Clone)]
pub struct Target {
    /// The URL as given.
    pub url: String,
    /// Value for the `Host` header (authority without userinfo).
    pub host_header: String,
    /// Host part of the URL (brackets kept for IPv6).
    pub host: String,
    pub port: u16,
    /// Origin-form request target (path and query).
    pub path: Uri,
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.url)
    }
}

/// Parses and validates the token endpoint URL: `http` scheme and a loopback host.
pub fn parse_target(url: &str) -> Result<Target, String> {
    let uri: Uri = url
        .parse()
        .map_err(|e| format!("invalid --token-url {url:?}: {e}"))?;
    match uri.scheme_str() {
        Some("http") => {}
        Some("https") => {
            return Err(format!(
                "--token-url {url:?}: https is not supported (loopback targets only, use http)"
            ))
        }
        _ => return Err(format!("--token-url {url:?}: expected an http:// URL")),
    }
    let authority = uri
        .authority()
        .ok_or_else(|| format!("--token-url {url:?}: missing host"))?;
    if authority.as_str().contains('@') {
        return Err(format!("--token-url {url:?}: userinfo is not allowed"));
    }
    let host = authority.host();
    if !is_loopback_host(host) {
        return Err(format!(
            "refusing to load-test non-loopback host {host:?}: only 127.0.0.0/8, localhost and [::1] are allowed"
        ));
    }
    let port = authority.port_u16().unwrap_or(80);
    let path_and_query = uri.path_and_query().map_or("/", |pq| pq.as_str());
    let path: Uri = path_and_query
        .parse()
        .map_err(|e| format!("--token-url {url:?}: bad path: {e}"))?;
    Ok(Target {
        url: url.to_owned(),
        host_header: authority.as_str().to_owned(),
        host: host.to_owned(),
        port,
        path,
    })
}

/// Resolves the target to a socket address, insisting that it is loopback.
pub async fn resolve(target: &Target) -> Result<SocketAddr, String> {
    let host = target.host.trim_start_matches('[').trim_end_matches(']');
    let addrs = tokio::net::lookup_host((host, target.port))
        .await
        .map_err(|e| format!("cannot resolve {host:?}: {e}"))?;
    let addrs: Vec<SocketAddr> = addrs.collect();
    if let Some(bad) = addrs.iter().find(|a| !is_loopback_ip(a.ip())) {
        return Err(format!(
            "{host:?} resolves to non-loopback address {}; refusing",
            bad.ip()
        ));
    }
    // Prefer IPv4 for `localhost`: most servers bind 127.0.0.1.
    addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or_else(|| addrs.first())
        .copied()
        .ok_or_else(|| format!("{host:?} did not resolve to any address"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10s").unwrap(), Duration::from_secs(10));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("1h").unwrap(), Duration::from_secs(3600));
        assert_eq!(parse_duration("250us").unwrap(), Duration::from_micros(250));
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse_duration("7").unwrap(), Duration::from_secs(7));
        assert_eq!(parse_duration("0s").unwrap(), Duration::ZERO);
        assert!(parse_duration("").is_err());
        assert!(parse_duration("s").is_err());
        assert!(parse_duration("10x").is_err());
        assert!(parse_duration("-1s").is_err());
        assert!(parse_duration("1.2.3s").is_err());
    }

    #[test]
    fn loopback_hosts() {
        for ok in [
            "localhost",
            "LocalHost",
            "localhost.",
            "127.0.0.1",
            "127.1.2.3",
            "[::1]",
            "[::ffff:127.0.0.1]",
        ] {
            assert!(is_loopback_host(ok), "{ok} should be loopback");
        }
        for bad in [
            "example.com",
            "10.0.0.1",
            "0.0.0.0",
            "128.0.0.1",
            "[::]",
            "[2001:db8::1]",
            "::1",
            "localhost.example.com",
            "127.0.0.1.nip.io",
            "",
        ] {
            assert!(!is_loopback_host(bad), "{bad} should be refused");
        }
    }

    #[test]
    fn targets() {
        let t = parse_target("http://127.0.0.1:8080/token").unwrap();
        assert_eq!(t.port, 8080);
        assert_eq!(t.host_header, "127.0.0.1:8080");
        assert_eq!(t.path, "/token");

        let t = parse_target("http://[::1]/oauth/token?x=1").unwrap();
        assert_eq!(t.port, 80);
        assert_eq!(t.host, "[::1]");
        assert_eq!(t.path, "/oauth/token?x=1");

        let t = parse_target("http://localhost:9000").unwrap();
        assert_eq!(t.path, "/");

        assert!(parse_target("http://example.com/token").is_err());
        assert!(parse_target("https://127.0.0.1/token").is_err());
        assert!(parse_target("http://user:pw@127.0.0.1/token").is_err());
        assert!(parse_target("127.0.0.1:8080/token").is_err());
    }

    #[test]
    fn seeding_needs_a_password_grant_or_a_seed_token() {
        use clap::Parser;
        let base = [
            "baton-bench",
            "--token-url",
            "http://127.0.0.1:1/token",
            "--client-id",
            "c",
        ];
        let with = |extra: &[&str]| Args::try_parse_from(base.iter().chain(extra.iter()));
        assert!(with(&[]).is_err(), "neither a user nor a seed token");
        assert!(
            with(&["--username", "u"]).is_err(),
            "a user without a password"
        );
        let a = with(&["--username", "u", "--password", "p"]).unwrap();
        assert_eq!((a.username.as_deref(), a.seed_token), (Some("u"), None));
        let a = with(&["--seed-token", "rt"]).unwrap();
        assert_eq!((a.username, a.seed_token.as_deref()), (None, Some("rt")));
        assert!(with(&["--seed-token", "rt", "--username", "u"]).is_err());
        let a = with(&["--tokens-file", "f"]).unwrap();
        assert_eq!(a.tokens_file, Some(PathBuf::from("f")));
        assert!(with(&["--tokens-file", "f", "--seed-token", "rt"]).is_err());
        assert!(
            with(&["--tokens-file", "f", "--save-tokens"])
                .unwrap()
                .save_tokens
        );
        assert!(with(&["--seed-token", "rt", "--save-tokens"]).is_err());
        assert!(with(&["--tokens-file", "f", "--username", "u", "--password", "p"]).is_err());
    }
}
