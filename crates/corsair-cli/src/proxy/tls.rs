//! TLS termination with rustls: the certificate and key of `[tls]`,
//! re-read on every reload (a renewed certificate is served without a
//! restart), and ALPN offering HTTP/2 and HTTP/1.1.

use std::path::Path;
use std::sync::Arc;

use corsair::live::Live;
use rustls::ServerConfig;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use tokio_rustls::TlsAcceptor;

use super::file::TlsFile;

/// Why TLS cannot be set up: the field of `[tls]` at fault and a sentence
/// naming the file.
#[derive(Debug, thiserror::Error)]
#[error("{field}: {message}")]
pub struct TlsError {
    /// `tls.cert`, `tls.key`, or `tls` for the pair.
    pub field: &'static str,
    /// What is wrong.
    pub message: String,
}

impl TlsError {
    fn new(field: &'static str, message: String) -> Self {
        TlsError { field, message }
    }
}

/// The certificate the proxy serves, replaceable while it runs: a reload
/// that finds renewed files under `[tls]` swaps it in for the next
/// handshakes, without a restart.
#[derive(Debug)]
pub(crate) struct Certificates {
    current: Live<CertifiedKey>,
}

impl Certificates {
    /// The certificate of `tls`.
    ///
    /// # Errors
    /// As [`load`].
    pub(crate) fn new(tls: &TlsFile) -> Result<Certificates, TlsError> {
        Ok(Certificates {
            current: Live::new(load(tls)?),
        })
    }

    /// Reads `tls` again and serves it from the next handshake on. Returns
    /// whether the certificate changed.
    ///
    /// # Errors
    /// As [`load`]; the current certificate stays.
    pub(crate) fn reload(&self, tls: &TlsFile) -> Result<bool, TlsError> {
        let next = load(tls)?;
        if next.cert == self.current.load().cert {
            return Ok(false);
        }
        self.current.store(Arc::new(next));
        Ok(true)
    }
}

impl ResolvesServerCert for Certificates {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current.load())
    }
}

/// Reads the certificate chain and key of `tls`.
///
/// # Errors
/// When a file cannot be read, holds no certificate or key, or the key does
/// not match the certificate.
fn load(tls: &TlsFile) -> Result<CertifiedKey, TlsError> {
    let certs = read("tls.cert", &tls.cert)?;
    let chain = CertificateDer::pem_slice_iter(&certs)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| TlsError::new("tls.cert", format!("{}: {error}", tls.cert.display())))?;
    if chain.is_empty() {
        return Err(TlsError::new(
            "tls.cert",
            format!(
                "{}: no PEM certificate (-----BEGIN CERTIFICATE-----) in the file",
                tls.cert.display()
            ),
        ));
    }
    let key = read("tls.key", &tls.key)?;
    let key = PrivateKeyDer::from_pem_slice(&key).map_err(|error| {
        TlsError::new(
            "tls.key",
            format!("{}: no PEM private key: {error}", tls.key.display()),
        )
    })?;
    CertifiedKey::from_der(chain, key, &provider()).map_err(|error| {
        TlsError::new(
            "tls",
            format!(
                "{} and {} do not make a usable certificate: {error}",
                tls.cert.display(),
                tls.key.display()
            ),
        )
    })
}

fn provider() -> CryptoProvider {
    rustls::crypto::ring::default_provider()
}

/// An acceptor serving `certificates`, with ALPN offering HTTP/2 and
/// HTTP/1.1.
///
/// # Errors
/// When rustls refuses the protocol versions (it does not for the
/// defaults).
pub(crate) fn acceptor(certificates: Arc<Certificates>) -> Result<TlsAcceptor, TlsError> {
    let mut config = ServerConfig::builder_with_provider(Arc::new(provider()))
        .with_safe_default_protocol_versions()
        .map_err(|error| TlsError::new("tls", error.to_string()))?
        .with_no_client_auth()
        .with_cert_resolver(certificates);
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

fn read(field: &'static str, path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path)
        .map_err(|error| TlsError::new(field, format!("cannot read {}: {error}", path.display())))
}

/// Whether the files of `tls` make a certificate the proxy can serve,
/// without serving it: what `corsair check` and a reload verify.
///
/// # Errors
/// As [`load`].
pub(crate) fn verify(tls: &TlsFile) -> Result<(), TlsError> {
    load(tls).map(drop)
}
