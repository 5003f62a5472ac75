//! TLS termination with rustls: the certificate and key of `[tls]`, and
//! ALPN offering HTTP/2 and HTTP/1.1.

use std::path::Path;
use std::sync::Arc;

use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

use super::file::TlsFile;

/// Why TLS cannot be set up: one sentence naming the file.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct TlsError(String);

/// An acceptor for the certificate chain and key of `tls`.
///
/// # Errors
/// When a file cannot be read, holds no certificate or key, or the key does
/// not match the certificate.
pub(crate) fn acceptor(tls: &TlsFile) -> Result<TlsAcceptor, TlsError> {
    let certs = read(&tls.cert)?;
    let chain = CertificateDer::pem_slice_iter(&certs)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| TlsError(format!("tls.cert {}: {error}", tls.cert.display())))?;
    if chain.is_empty() {
        return Err(TlsError(format!(
            "tls.cert {}: no PEM certificate (-----BEGIN CERTIFICATE-----) in the file",
            tls.cert.display()
        )));
    }
    let key = read(&tls.key)?;
    let key = PrivateKeyDer::from_pem_slice(&key).map_err(|error| {
        TlsError(format!(
            "tls.key {}: no PEM private key: {error}",
            tls.key.display()
        ))
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|error| TlsError(format!("TLS: {error}")))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|error| {
            TlsError(format!(
                "tls: {} and {} do not make a usable certificate: {error}",
                tls.cert.display(),
                tls.key.display()
            ))
        })?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path)
        .map_err(|error| TlsError(format!("cannot read {}: {error}", path.display())))
}
