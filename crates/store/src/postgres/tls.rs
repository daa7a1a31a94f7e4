//! TLS to PostgreSQL, configured by libpq's URL parameters and implemented with rustls
//! (*ring*):
//!
//! - `sslmode`: `disable` (plain TCP), `prefer` (TLS if the server offers it, else
//!   plain), `require` (TLS); with these two the certificate is not checked unless
//!   `sslrootcert` is given: then its chain is, as libpq does;
//!   `verify-ca` (TLS; the chain must lead to a trusted CA, the host name is not
//!   checked), `verify-full` (TLS; chain and host name checked).
//! - `sslrootcert`: a PEM file of the CA certificates to trust, or `system` (the
//!   system's CA certificates, and `verify-full` is then the only mode allowed, as in
//!   libpq). When absent, `verify-ca` and `verify-full` trust the system's CAs.
//! - `sslcert` / `sslkey`: a client certificate (PEM chain) and its unencrypted key;
//!   both or neither.
//!
//! Without `sslmode` the mode is `verify-full`, except for a server on this machine
//! (every host a Unix socket, `localhost` or a loopback address, and no `sslrootcert`
//! / `sslcert` given), where it is `disable`. That differs from libpq's `prefer` on
//! purpose: `prefer` can be downgraded to plain text by anyone on the path.
//!
//! These parameters are taken out of the URL before tokio-postgres reads the rest;
//! every problem (an unknown mode, a file that cannot be read or holds no certificate)
//! is an error naming the parameter and the file, never the password.

use crate::tls::{self, ChainOnly, Unverified};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::ServerName;
use std::future::Future;
use std::io;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_postgres::config::{Host, SslMode};
use tokio_postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect, TlsStream};

/// libpq's `sslmode` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl Mode {
    fn parse(v: &str) -> Option<Mode> {
        Some(match v {
            "disable" => Mode::Disable,
            "prefer" => Mode::Prefer,
            "require" => Mode::Require,
            "verify-ca" => Mode::VerifyCa,
            "verify-full" => Mode::VerifyFull,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Disable => "disable",
            Mode::Prefer => "prefer",
            Mode::Require => "require",
            Mode::VerifyCa => "verify-ca",
            Mode::VerifyFull => "verify-full",
        }
    }
}

/// The TLS parameters of a PostgreSQL URL, with the rest of the URL for tokio-postgres.
#[derive(Debug)]
pub struct PgUrl {
    /// The URL without `sslmode`, `sslrootcert`, `sslcert`, `sslkey`.
    pub rest: String,
    /// `sslmode` as given.
    pub mode: Option<Mode>,
    pub root_cert: Option<String>,
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
}

/// The TLS set-up of a connection: the mode in effect and (unless `disable`) the
/// rustls configuration.
#[derive(Clone, Debug)]
pub struct PgTls {
    pub mode: Mode,
    pub(crate) connector: Option<RustlsConnect>,
}

impl PgTls {
    /// What tokio-postgres is told: whether to ask for TLS and whether it is required.
    pub(crate) fn driver_mode(&self) -> SslMode {
        match self.mode {
            Mode::Disable => SslMode::Disable,
            Mode::Prefer => SslMode::Prefer,
            Mode::Require | Mode::VerifyCa | Mode::VerifyFull => SslMode::Require,
        }
    }
}

const PARAMS: [&str; 4] = ["sslmode", "sslrootcert", "sslcert", "sslkey"];

/// Splits the TLS parameters off a `postgres://` URL. Errors name the parameter.
pub fn split_url(url: &str) -> Result<PgUrl, String> {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, q),
        None => (url, ""),
    };
    let mut out = PgUrl {
        rest: String::new(),
        mode: None,
        root_cert: None,
        cert: None,
        key: None,
    };
    let mut kept = Vec::new();
    for p in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = p.split_once('=').unwrap_or((p, ""));
        if !PARAMS.contains(&k) {
            kept.push(p);
            continue;
        }
        let v = percent_decode(v).ok_or_else(|| format!("`{k}`: invalid percent-encoding"))?;
        if v.is_empty() {
            return Err(format!("`{k}` is empty"));
        }
        match k {
            "sslmode" => {
                out.mode = Some(Mode::parse(&v).ok_or_else(|| {
                    format!(
                        "`sslmode`: unknown value `{v}`: expected disable, prefer, require, verify-ca or verify-full"
                    )
                })?)
            }
            "sslrootcert" => out.root_cert = Some(v),
            "sslcert" => out.cert = Some(PathBuf::from(v)),
            _ => out.key = Some(PathBuf::from(v)),
        }
    }
    out.rest = if kept.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    Ok(out)
}

/// Whether every host is on this machine (a Unix socket, `localhost`, a loopback
/// address), and every `hostaddr` (which is what is connected to when given) a loopback
/// address; no host at all means the default Unix socket / localhost.
pub fn all_local(hosts: &[Host], hostaddrs: &[std::net::IpAddr]) -> bool {
    hostaddrs.iter().all(|a| a.is_loopback())
        && hosts.iter().all(|h| match h {
            Host::Tcp(name) => {
                let n = name.trim_start_matches('[').trim_end_matches(']');
                n.eq_ignore_ascii_case("localhost")
                    || n.parse::<std::net::IpAddr>()
                        .is_ok_and(|ip| ip.is_loopback())
            }
            #[cfg(unix)]
            Host::Unix(_) => true,
        })
}

impl PgUrl {
    /// The mode in effect: as given, else `disable` for a server on this machine with
    /// no TLS file named, else `verify-full`.
    pub fn effective_mode(&self, hosts: &[Host], hostaddrs: &[std::net::IpAddr]) -> Mode {
        match self.mode {
            Some(m) => m,
            None if all_local(hosts, hostaddrs)
                && self.root_cert.is_none()
                && self.cert.is_none()
                && self.key.is_none() =>
            {
                Mode::Disable
            }
            None => Mode::VerifyFull,
        }
    }

    /// Builds the TLS set-up, reading every file named (errors name the parameter).
    pub fn tls(&self, hosts: &[Host], hostaddrs: &[std::net::IpAddr]) -> Result<PgTls, String> {
        let mode = self.effective_mode(hosts, hostaddrs);
        let system = self.root_cert.as_deref() == Some("system");
        if system && mode != Mode::VerifyFull {
            return Err(format!(
                "`sslrootcert=system` needs `sslmode=verify-full` (got `{}`)",
                mode.as_str()
            ));
        }
        let client = match (&self.cert, &self.key) {
            (Some(c), Some(k)) => Some((
                tls::read_certs("`sslcert`", c)?,
                tls::read_key("`sslkey`", k)?,
            )),
            (Some(_), None) => return Err("`sslcert` is given without `sslkey`".into()),
            (None, Some(_)) => return Err("`sslkey` is given without `sslcert`".into()),
            (None, None) => None,
        };
        if mode == Mode::Disable {
            if self.root_cert.is_some() || client.is_some() {
                return Err(
                    "`sslmode=disable` with a TLS file (`sslrootcert`, `sslcert`): remove the file or choose a mode that uses TLS".into(),
                );
            }
            return Ok(PgTls {
                mode,
                connector: None,
            });
        }
        let roots = match self.root_cert.as_deref() {
            Some("system") => Some(tls::system_roots("`sslrootcert=system`")?),
            Some(path) => Some(tls::roots_from_file(
                "`sslrootcert`",
                std::path::Path::new(path),
            )?),
            None if matches!(mode, Mode::VerifyCa | Mode::VerifyFull) => Some(tls::system_roots(
                &format!("`sslmode={}` without `sslrootcert`", mode.as_str()),
            )?),
            None => None,
        };
        let provider = tls::provider();
        let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS set-up failed: {e}"))?;
        let verifier: Arc<dyn rustls::client::danger::ServerCertVerifier> = match roots {
            None => Arc::new(Unverified(provider.clone())),
            Some(roots) => {
                let webpki =
                    WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                        .build()
                        .map_err(|e| format!("`sslrootcert`: {e}"))?;
                if mode == Mode::VerifyFull {
                    webpki
                } else {
                    Arc::new(ChainOnly(webpki))
                }
            }
        };
        let builder = builder
            .dangerous()
            .with_custom_certificate_verifier(verifier);
        let mut config = match client {
            Some((chain, key)) => builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| format!("`sslcert` / `sslkey`: {e}"))?,
            None => builder.with_no_client_auth(),
        };
        // What libpq sends: PostgreSQL 17 requires it for direct TLS negotiation
        // (`sslnegotiation=direct`); older servers ignore it.
        config.alpn_protocols = vec![b"postgresql".to_vec()];
        Ok(PgTls {
            mode,
            connector: Some(RustlsConnect(Arc::new(config))),
        })
    }
}

/// Decodes `%XX` sequences (and `+` is left as is, as in libpq's URIs).
fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// tokio-postgres's TLS hook over rustls.
#[derive(Clone)]
pub(crate) struct RustlsConnect(Arc<rustls::ClientConfig>);

impl std::fmt::Debug for RustlsConnect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RustlsConnect")
    }
}

impl<S> MakeTlsConnect<S> for RustlsConnect
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = PgTlsStream<S>;
    type TlsConnect = Handshake;
    type Error = io::Error;

    fn make_tls_connect(&mut self, domain: &str) -> Result<Handshake, io::Error> {
        // Called for Unix sockets too (with no name), where TLS is never started: a
        // bad name is only an error if a handshake is attempted.
        Ok(Handshake {
            config: self.0.clone(),
            name: ServerName::try_from(domain.to_string()).map_err(|_| domain.to_string()),
        })
    }
}

pub(crate) struct Handshake {
    config: Arc<rustls::ClientConfig>,
    name: Result<ServerName<'static>, String>,
}

impl<S> TlsConnect<S> for Handshake
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = PgTlsStream<S>;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<PgTlsStream<S>>> + Send>>;

    fn connect(self, stream: S) -> Self::Future {
        Box::pin(async move {
            let name = self.name.map_err(|d| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("`{d}` is not a host name TLS can check"),
                )
            })?;
            let s = tokio_rustls::TlsConnector::from(self.config)
                .connect(name, stream)
                .await?;
            Ok(PgTlsStream(Box::new(s)))
        })
    }
}

/// A TLS connection to PostgreSQL. It offers no channel binding: SCRAM then runs
/// without it (the certificate checks above authenticate the server).
pub struct PgTlsStream<S>(Box<tokio_rustls::client::TlsStream<S>>);

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for PgTlsStream<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(self.0.as_mut()).poll_read(cx, buf)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for PgTlsStream<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(self.0.as_mut()).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(self.0.as_mut()).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(self.0.as_mut()).poll_shutdown(cx)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> TlsStream for PgTlsStream<S> {
    fn channel_binding(&self) -> ChannelBinding {
        ChannelBinding::none()
    }
}

/// Parses a `postgres://` URL with its TLS parameters: the driver's configuration
/// (its `sslmode` set to match) and the TLS set-up. Errors name the parameter.
pub fn parse(url: &str) -> Result<(tokio_postgres::Config, PgTls), String> {
    let split = split_url(url)?;
    let mut config: tokio_postgres::Config = split.rest.parse().map_err(|e| format!("{e}"))?;
    let tls = split.tls(config.get_hosts(), config.get_hostaddrs())?;
    config.ssl_mode(tls.driver_mode());
    Ok((config, tls))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_parameters_are_taken_out_of_the_url() {
        let u = split_url(
            "postgres://u:p@db:5432/x?sslmode=verify-full&application_name=a&sslrootcert=%2Fetc%2Fca.pem",
        )
        .unwrap();
        assert_eq!(u.rest, "postgres://u:p@db:5432/x?application_name=a");
        assert_eq!(u.mode, Some(Mode::VerifyFull));
        assert_eq!(u.root_cert.as_deref(), Some("/etc/ca.pem"));
        let u = split_url("postgres://u@db/x?sslmode=disable").unwrap();
        assert_eq!(u.rest, "postgres://u@db/x");
        let e = split_url("postgres://u:hunter2@db/x?sslmode=verify_full").unwrap_err();
        assert!(e.contains("`sslmode`") && e.contains("verify_full"), "{e}");
        assert!(!e.contains("hunter2"));
    }

    #[test]
    fn the_default_mode_is_disable_only_on_this_machine() {
        let mode = |url: &str| {
            let u = split_url(url).unwrap();
            let c: tokio_postgres::Config = u.rest.parse().unwrap();
            u.effective_mode(c.get_hosts(), c.get_hostaddrs())
        };
        // A hostaddr is where the connection goes: a remote one needs TLS by default,
        // whatever the host name says.
        assert_eq!(
            mode("postgres://u@localhost/x?hostaddr=198.51.100.7"),
            Mode::VerifyFull
        );
        assert_eq!(
            mode("postgres://u@localhost/x?hostaddr=127.0.0.1"),
            Mode::Disable
        );
        assert_eq!(mode("postgres://u@127.0.0.1/x"), Mode::Disable);
        assert_eq!(mode("postgres://u@localhost:5432/x"), Mode::Disable);
        assert_eq!(mode("postgres://u@[::1]/x"), Mode::Disable);
        assert_eq!(mode("postgres://u@db.internal/x"), Mode::VerifyFull);
        assert_eq!(mode("postgres://u@127.0.0.1,db/x"), Mode::VerifyFull);
        assert_eq!(
            mode("postgres://u@127.0.0.1/x?sslrootcert=/ca.pem"),
            Mode::VerifyFull
        );
        assert_eq!(
            mode("postgres://u@db.internal/x?sslmode=require"),
            Mode::Require
        );
    }

    #[test]
    fn files_are_checked_and_named() {
        let e = parse("postgres://u@db/x?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem")
            .unwrap_err();
        assert!(
            e.contains("`sslrootcert`") && e.contains("/nonexistent/ca.pem"),
            "{e}"
        );
        let e = parse("postgres://u@db/x?sslcert=/nonexistent/c.pem").unwrap_err();
        assert!(e.contains("without `sslkey`"), "{e}");
        let e = parse("postgres://u@db/x?sslmode=require&sslrootcert=system").unwrap_err();
        assert!(e.contains("verify-full"), "{e}");
        let dir = tempfile::tempdir().unwrap();
        let junk = dir.path().join("ca.pem");
        std::fs::write(&junk, "not a certificate").unwrap();
        let e = parse(&format!(
            "postgres://u@db/x?sslmode=verify-ca&sslrootcert={}",
            junk.display()
        ))
        .unwrap_err();
        assert!(e.contains("no certificate"), "{e}");
        let (c, t) = parse("postgres://u@127.0.0.1/x").unwrap();
        assert_eq!(t.mode, Mode::Disable);
        assert_eq!(c.get_ssl_mode(), SslMode::Disable);
    }
}
