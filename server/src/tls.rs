//! TLS for client connections: a rustls server configuration from PEM files, used by pgwire's
//! SSLRequest negotiation (and PostgreSQL 17's direct TLS).

use std::path::Path;

use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

use crate::server::Error;

/// The ALPN protocol name PostgreSQL clients offer.
const ALPN_POSTGRESQL: &[u8] = b"postgresql";

/// A TLS acceptor serving the certificate chain in PEM file `cert` with the private key in PEM
/// file `key` (PKCS #8, PKCS #1 or SEC1).
pub fn acceptor(cert: &Path, key: &Path) -> Result<TlsAcceptor, Error> {
    let read = |path: &Path| {
        std::fs::read(path).map_err(|e| Error::Tls {
            message: format!("could not read {}: {e}", path.display()),
        })
    };
    let cert_pem = read(cert)?;
    let certs = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Error::Tls {
            message: format!("{}: {e}", cert.display()),
        })?;
    if certs.is_empty() {
        return Err(Error::Tls {
            message: format!("{} holds no certificate", cert.display()),
        });
    }
    let key_pem = read(key)?;
    let key_der = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| Error::Tls {
        message: format!("{}: {e}", key.display()),
    })?;
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Tls {
            message: e.to_string(),
        })?
        .with_no_client_auth()
        .with_single_cert(certs, key_der)
        .map_err(|e| Error::Tls {
            message: format!("{} and {}: {e}", cert.display(), key.display()),
        })?;
    config.alpn_protocols = vec![ALPN_POSTGRESQL.to_vec()];
    Ok(TlsAcceptor::from(std::sync::Arc::new(config)))
}
