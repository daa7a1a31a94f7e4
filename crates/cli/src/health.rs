//! `baton health-check [URL]`: one plain-HTTP GET, exit status 0 on `200`, 1 otherwise.
//! For container health checks, where there may be no curl or wget; it speaks just
//! enough HTTP/1.1 for Baton's own `/healthz` and `/readyz`.

use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The URL checked when none is given.
pub const DEFAULT_URL: &str = "http://127.0.0.1:8080/readyz";

/// How long the whole check may take.
const TIMEOUT: Duration = Duration::from_secs(5);

/// `http://host[:port][/path]` split into the address to connect to, the `Host` header
/// and the request target.
fn parse(url: &str) -> Result<(String, String, String), String> {
    let rest = url.strip_prefix("http://").ok_or_else(|| {
        format!("`{url}`: only http:// URLs are supported (check the plain-HTTP address)")
    })?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if authority.is_empty() || authority.contains('@') || path.contains(char::is_whitespace) {
        return Err(format!("`{url}` is not a URL like {DEFAULT_URL}"));
    }
    // A port is given when the authority ends in `:digits` (after any `[v6]`).
    let has_port = authority.rsplit_once(':').is_some_and(|(h, p)| {
        !p.is_empty()
            && p.bytes().all(|b| b.is_ascii_digit())
            && (!h.contains(':') || h.ends_with(']'))
    });
    let addr = if has_port {
        authority.to_string()
    } else {
        format!("{authority}:80")
    };
    Ok((addr, authority.to_string(), path.to_string()))
}

/// Runs the check: `Ok` with the status line on `200`, `Err` with why not.
pub async fn check(url: &str) -> Result<String, String> {
    let (addr, host, path) = parse(url)?;
    let run = async {
        let mut conn = tokio::net::TcpStream::connect(&addr)
            .await
            .map_err(|e| format!("cannot connect to {addr}: {e}"))?;
        let req = format!(
            "GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: baton-health-check\r\nConnection: close\r\n\r\n"
        );
        conn.write_all(req.as_bytes())
            .await
            .map_err(|e| format!("cannot send the request: {e}"))?;
        // The status line is all that is needed; read at most 4 KiB.
        let mut buf = Vec::with_capacity(512);
        let mut chunk = [0u8; 512];
        while !buf.contains(&b'\n') && buf.len() < 4096 {
            let n = conn
                .read(&mut chunk)
                .await
                .map_err(|e| format!("cannot read the answer: {e}"))?;
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        let line = String::from_utf8_lossy(&buf);
        let status_line = line.lines().next().unwrap_or("").trim().to_string();
        let mut parts = status_line.split_whitespace();
        match (parts.next(), parts.next()) {
            (Some(v), Some("200")) if v.starts_with("HTTP/1.") => Ok(status_line),
            _ if status_line.is_empty() => Err("no answer".to_string()),
            _ => Err(format!("answered {status_line}")),
        }
    };
    tokio::time::timeout(TIMEOUT, run)
        .await
        .map_err(|_| format!("no answer within {} s", TIMEOUT.as_secs()))?
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn urls_are_split() {
        let p = |u: &str| parse(u).unwrap();
        assert_eq!(
            p("http://127.0.0.1:8080/readyz"),
            (
                "127.0.0.1:8080".into(),
                "127.0.0.1:8080".into(),
                "/readyz".into()
            )
        );
        assert_eq!(
            p("http://localhost"),
            ("localhost:80".into(), "localhost".into(), "/".into())
        );
        assert_eq!(p("http://[::1]:9000/healthz").0, "[::1]:9000");
        assert_eq!(p("http://[::1]/healthz").0, "[::1]:80");
        for bad in [
            "https://x/",
            "ftp://x",
            "http://",
            "http://u@h/",
            "http://h/a b",
            "x",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
