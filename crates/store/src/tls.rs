//! TLS material shared by the PostgreSQL and Redis connections: PEM files read into
//! rustls types (with errors that name the file, never its contents), the system's
//! trusted CA certificates, and the one crypto provider (*ring*).

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::path::Path;
use std::sync::Arc;

/// The crypto provider every TLS connection of the store uses.
pub(crate) fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Makes *ring* the process's default rustls provider if none is set yet: the redis
/// crate builds its TLS configuration with the default provider.
pub(crate) fn install_default_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Err only when another thread installed one meanwhile: that one is used.
        drop(rustls::crypto::ring::default_provider().install_default());
    }
}

/// Reads the contents of a PEM file (`what` names the setting, for messages).
pub fn read_file(what: &str, path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("{what}: cannot read {}: {e}", path.display()))
}

/// The certificates in a PEM file: at least one.
pub fn read_certs(what: &str, path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let pem = read_file(what, path)?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| {
            format!(
                "{what}: {} is not a PEM certificate file: {e}",
                path.display()
            )
        })?;
    if certs.is_empty() {
        return Err(format!(
            "{what}: no certificate (-----BEGIN CERTIFICATE-----) in {}",
            path.display()
        ));
    }
    Ok(certs)
}

/// The private key in a PEM file (PKCS#8, PKCS#1 or SEC1; not encrypted). The error
/// never quotes the file.
pub fn read_key(what: &str, path: &Path) -> Result<PrivateKeyDer<'static>, String> {
    let pem = read_file(what, path)?;
    PrivateKeyDer::from_pem_slice(&pem).map_err(|_| {
        format!(
            "{what}: no unencrypted private key (PKCS#8, RSA or EC PEM) in {}",
            path.display()
        )
    })
}

/// A root store holding the CA certificates of a PEM file.
pub fn roots_from_file(what: &str, path: &Path) -> Result<RootCertStore, String> {
    let mut roots = RootCertStore::empty();
    for cert in read_certs(what, path)? {
        roots.add(cert).map_err(|e| {
            format!(
                "{what}: a certificate in {} is not a usable CA certificate: {e}",
                path.display()
            )
        })?;
    }
    Ok(roots)
}

/// The system's trusted CA certificates (`SSL_CERT_FILE` / `SSL_CERT_DIR` when set).
pub fn system_roots(what: &str) -> Result<RootCertStore, String> {
    let found = rustls_native_certs::load_native_certs();
    let mut roots = RootCertStore::empty();
    let (added, _) = roots.add_parsable_certificates(found.certs);
    if added == 0 {
        return Err(format!(
            "{what}: no trusted CA certificates found on this system (install ca-certificates, set SSL_CERT_FILE, or name a CA file)"
        ));
    }
    Ok(roots)
}

/// Checks the certificate chain against the roots and ignores the host name: what
/// libpq's `sslmode=verify-ca` does. The name is checked only after the chain (rustls
/// verifies the chain first), so only a name mismatch is forgiven.
#[derive(Debug)]
pub(crate) struct ChainOnly(pub(crate) Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// Accepts any server certificate (the handshake's signatures are still checked):
/// libpq's `sslmode=require` (and `prefer`) without a root certificate. Encrypts
/// against a passive listener only; anyone able to intercept the connection can
/// present a certificate of their own.
#[derive(Debug)]
pub(crate) struct Unverified(pub(crate) Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for Unverified {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// The TLS files of a `rediss://` cache (`storage.cache_ca_file`, `cache_cert_file`,
/// `cache_key_file`).
#[derive(Clone, Debug, Default)]
pub struct RedisTlsFiles {
    /// The CA certificates to trust (PEM); the system's when absent.
    pub ca_file: Option<std::path::PathBuf>,
    /// A client certificate (PEM chain) and its unencrypted key; both or neither.
    pub cert_file: Option<std::path::PathBuf>,
    pub key_file: Option<std::path::PathBuf>,
}

impl RedisTlsFiles {
    pub fn is_empty(&self) -> bool {
        self.ca_file.is_none() && self.cert_file.is_none() && self.key_file.is_none()
    }

    /// Reads and checks every file named. A refusal names the key at fault (without
    /// `storage.`) and the file, never its contents.
    pub fn load(&self) -> Result<redis::TlsCertificates, (&'static str, String)> {
        let root_cert = match &self.ca_file {
            Some(p) => {
                roots_from_file("cannot use the CA file", p).map_err(|m| ("cache_ca_file", m))?;
                Some(read_file("cache_ca_file", p).map_err(|m| ("cache_ca_file", m))?)
            }
            None => None,
        };
        let client_tls = match (&self.cert_file, &self.key_file) {
            (Some(c), Some(k)) => {
                read_certs("cannot use the certificate file", c)
                    .map_err(|m| ("cache_cert_file", m))?;
                read_key("cannot use the key file", k).map_err(|m| ("cache_key_file", m))?;
                Some(redis::ClientTlsConfig {
                    client_cert: read_file("cache_cert_file", c)
                        .map_err(|m| ("cache_cert_file", m))?,
                    client_key: read_file("cache_key_file", k)
                        .map_err(|m| ("cache_key_file", m))?,
                })
            }
            (Some(_), None) => {
                return Err((
                    "cache_key_file",
                    "is required with `cache_cert_file` (the client certificate's key)".into(),
                ))
            }
            (None, Some(_)) => {
                return Err((
                    "cache_cert_file",
                    "is required with `cache_key_file` (the client certificate)".into(),
                ))
            }
            (None, None) => None,
        };
        Ok(redis::TlsCertificates {
            client_tls,
            root_cert,
        })
    }
}
