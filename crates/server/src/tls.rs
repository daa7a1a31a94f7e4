//! Serving TLS (`http.tls_cert_file`, `http.tls_key_file`): the certificate and key,
//! read from their PEM files at start-up and again on each reload (SIGHUP, or a change
//! of either file seen by the check every `http.tls_check_interval`). A reload that
//! fails keeps the certificate being served and logs why; a handshake always gets the
//! certificate of the last good load. rustls with the *ring* provider; ALPN offers
//! HTTP/2 and HTTP/1.1. Errors name the file and the key, never the file's content.

use crate::config::TlsConfig;
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::SystemTime;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::server::{ClientHello, ResolvesServerCert};
use tokio_rustls::rustls::sign::CertifiedKey;

/// The certificate being served and where it comes from. Also the rustls certificate
/// resolver, so that a reload changes what the next handshake gets.
pub struct Certificates {
    files: TlsConfig,
    provider: Arc<rustls::crypto::CryptoProvider>,
    current: RwLock<Arc<CertifiedKey>>,
    /// The files' metadata when they were last read (the change check compares it).
    seen: Mutex<Option<Stamp>>,
}

impl std::fmt::Debug for Certificates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Certificates")
            .field("cert_file", &self.files.cert_file)
            .field("key_file", &self.files.key_file)
            .finish_non_exhaustive()
    }
}

/// What identifies a version of a file without reading it.
#[derive(Clone, PartialEq, Eq, Debug)]
struct FileStamp {
    modified: Option<SystemTime>,
    len: u64,
    #[cfg(unix)]
    inode: (u64, u64, i64, i64),
}

type Stamp = (Option<FileStamp>, Option<FileStamp>);

fn file_stamp(p: &Path) -> Option<FileStamp> {
    let m = std::fs::metadata(p).ok()?;
    Some(FileStamp {
        modified: m.modified().ok(),
        len: m.len(),
        #[cfg(unix)]
        inode: {
            use std::os::unix::fs::MetadataExt;
            (m.dev(), m.ino(), m.ctime(), m.ctime_nsec())
        },
    })
}

impl Certificates {
    /// Reads the certificate and key; an error names the configuration key at fault.
    pub fn load(files: &TlsConfig) -> Result<Arc<Certificates>, String> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let stamp = stamp(files);
        let key = read(files, &provider)?;
        Ok(Arc::new(Certificates {
            files: files.clone(),
            provider,
            current: RwLock::new(Arc::new(key)),
            seen: Mutex::new(Some(stamp)),
        }))
    }

    /// The rustls configuration to accept connections with: this resolver, no client
    /// certificates, ALPN `h2` then `http/1.1`.
    pub fn server_config(self: &Arc<Self>) -> Result<Arc<rustls::ServerConfig>, String> {
        let mut config = rustls::ServerConfig::builder_with_provider(self.provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("cannot configure TLS: {e}"))?
            .with_no_client_auth()
            .with_cert_resolver(self.clone());
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }

    /// Reads both files again and serves them from the next handshake on; on failure
    /// the certificate served so far stays, and the error says why.
    pub fn reload(&self) -> Result<(), String> {
        let stamp = stamp(&self.files);
        if let Ok(mut seen) = self.seen.lock() {
            *seen = Some(stamp);
        }
        let key = read(&self.files, &self.provider)?;
        match self.current.write() {
            Ok(mut cur) => *cur = Arc::new(key),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(key),
        }
        Ok(())
    }

    /// [`Certificates::reload`], logged: what SIGHUP and the change check call.
    pub fn reload_and_log(&self, why: &str) -> bool {
        match self.reload() {
            Ok(()) => {
                tracing::info!(
                    cert_file = %self.files.cert_file.display(),
                    why,
                    "reloaded the TLS certificate and key"
                );
                true
            }
            Err(e) => {
                tracing::error!(
                    why,
                    "cannot reload the TLS certificate ({e}); still serving the previous one"
                );
                false
            }
        }
    }

    /// Whether either file changed since it was last read (and remembers that it did).
    fn changed(&self) -> bool {
        let now = stamp(&self.files);
        match self.seen.lock() {
            Ok(mut seen) if seen.as_ref() != Some(&now) => {
                *seen = Some(now);
                true
            }
            _ => false,
        }
    }

    fn key(&self) -> Arc<CertifiedKey> {
        match self.current.read() {
            Ok(k) => k.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }
}

impl ResolvesServerCert for Certificates {
    fn resolve(&self, _: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.key())
    }
}

fn stamp(files: &TlsConfig) -> Stamp {
    (file_stamp(&files.cert_file), file_stamp(&files.key_file))
}

/// Reads and checks the pair: a certificate chain, a private key of a supported type,
/// and the two belonging together.
fn read(
    files: &TlsConfig,
    provider: &rustls::crypto::CryptoProvider,
) -> Result<CertifiedKey, String> {
    let cert_at = files.cert_file.display();
    let key_at = files.key_file.display();
    let cert_pem = std::fs::read(&files.cert_file)
        .map_err(|e| format!("`http.tls_cert_file`: cannot read {cert_at}: {e}"))?;
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<_, _>>()
        .map_err(|_| format!("`http.tls_cert_file`: {cert_at} is not valid PEM"))?;
    if chain.is_empty() {
        return Err(format!(
            "`http.tls_cert_file`: {cert_at} holds no PEM certificate"
        ));
    }
    let key_pem = std::fs::read(&files.key_file)
        .map_err(|e| format!("`http.tls_key_file`: cannot read {key_at}: {e}"))?;
    // The parser's own errors are not repeated: they could quote the key file.
    let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|_| {
        format!("`http.tls_key_file`: {key_at} holds no PEM private key (PKCS#8, PKCS#1 or SEC1)")
    })?;
    let signing = provider.key_provider.load_private_key(key).map_err(|_| {
        format!("`http.tls_key_file`: the private key in {key_at} is of an unsupported type")
    })?;
    let certified = CertifiedKey::new(chain, signing);
    match certified.keys_match() {
        Ok(()) | Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::Unknown)) => {
            Ok(certified)
        }
        Err(rustls::Error::InconsistentKeys(_)) => Err(format!(
            "`http.tls_key_file`: the private key in {key_at} does not belong to the certificate in {cert_at}"
        )),
        Err(e) => Err(format!(
            "`http.tls_cert_file`: the certificate in {cert_at} cannot be read: {e}"
        )),
    }
}

/// Checks the files every `check_interval` (when set) and reloads when either changed,
/// until the certificates are no longer in use.
pub fn spawn_watch(certs: &Arc<Certificates>) {
    let Some(every) = certs.files.check_interval else {
        return;
    };
    let weak: Weak<Certificates> = Arc::downgrade(certs);
    let period = std::time::Duration::from_millis(every.millis().max(100).unsigned_abs());
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tick.tick().await;
            let Some(c) = weak.upgrade() else { break };
            if c.changed() {
                c.reload_and_log("the files changed");
            }
        }
    });
}
