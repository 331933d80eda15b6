//! TLS configuration from Node-style options: PEM `ca` / `cert` / `key` given as
//! strings or Buffers, `servername`, and `rejectUnauthorized` (default true).

use std::sync::Arc;

use tokio_rustls::rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use tokio_rustls::rustls::crypto::{ring, verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use tokio_rustls::rustls::server::WebPkiClientVerifier;
use tokio_rustls::rustls::sign::{CertifiedKey, SingleCertAndKey};
use tokio_rustls::rustls::{self, ClientConfig, DigitallySignedStruct, InconsistentKeys, RootCertStore, ServerConfig, SignatureScheme};

use crate::error::{Code, CoreError};

#[derive(Debug, Clone, Default)]
pub struct TlsOptions {
  /// Each entry is one PEM blob, which may hold several certificates.
  pub ca: Vec<Vec<u8>>,
  pub cert: Option<Vec<u8>>,
  pub key: Option<Vec<u8>>,
  pub servername: Option<String>,
  pub reject_unauthorized: bool,
  /// Server side: ask clients for a certificate (verified against `ca`).
  pub request_cert: bool,
}

fn provider() -> Arc<CryptoProvider> {
  Arc::new(ring::default_provider())
}

fn invalid(what: &str, detail: impl std::fmt::Display) -> CoreError {
  CoreError::new(Code::TlsInvalidOption, format!("invalid TLS {what}: {detail}"))
}

fn certs(pem: &[u8], what: &str) -> Result<Vec<CertificateDer<'static>>, CoreError> {
  let certs = rustls_pemfile::certs(&mut &pem[..]).collect::<Result<Vec<_>, _>>().map_err(|e| invalid(what, e))?;
  if certs.is_empty() {
    return Err(invalid(what, "no PEM certificate found"));
  }
  Ok(certs)
}

fn key(pem: &[u8]) -> Result<PrivateKeyDer<'static>, CoreError> {
  rustls_pemfile::private_key(&mut &pem[..]).map_err(|e| invalid("key", e))?.ok_or_else(|| invalid("key", "no PEM private key found"))
}

/// Our own certificate chain and key, taken as Node (OpenSSL) takes them. rustls's
/// `with_client_auth_cert` / `with_single_cert` parse the end-entity certificate with webpki
/// to compare it with the key, and webpki refuses X.509 v1 certificates (UnsupportedCertVersion),
/// which OpenSSL uses happily (Apache Thrift's own test/keys/client.crt is one). Only a key that
/// provably does not match is refused, as Node refuses it ("key values mismatch").
fn certified_key(cert: &[u8], k: &[u8]) -> Result<Arc<SingleCertAndKey>, CoreError> {
  let signing = provider().key_provider.load_private_key(key(k)?).map_err(|e| invalid("key", e))?;
  let certified = CertifiedKey::new(certs(cert, "cert")?, signing);
  if let Err(e @ rustls::Error::InconsistentKeys(InconsistentKeys::KeyMismatch)) = certified.keys_match() {
    return Err(invalid("cert", e));
  }
  Ok(Arc::new(SingleCertAndKey::from(certified)))
}

fn roots(ca: &[Vec<u8>]) -> Result<RootCertStore, CoreError> {
  let mut store = RootCertStore::empty();
  if ca.is_empty() {
    // Node's default trust is its bundled Mozilla list; webpki-roots is the same list.
    store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    return Ok(store);
  }
  for pem in ca {
    for cert in certs(pem, "ca")? {
      store.add(cert).map_err(|e| invalid("ca", e))?;
    }
  }
  Ok(store)
}

pub fn client_config(opts: &TlsOptions) -> Result<Arc<ClientConfig>, CoreError> {
  let builder = ClientConfig::builder_with_provider(provider())
    .with_safe_default_protocol_versions()
    .map_err(|e| invalid("protocol", e))?;
  let builder = if opts.reject_unauthorized {
    builder.with_root_certificates(roots(&opts.ca)?)
  } else {
    builder.dangerous().with_custom_certificate_verifier(Arc::new(AcceptAnyServerCert(provider())))
  };
  let config = match (&opts.cert, &opts.key) {
    (Some(cert), Some(k)) => builder.with_client_cert_resolver(certified_key(cert, k)?),
    (None, None) => builder.with_no_client_auth(),
    _ => return Err(invalid("options", "cert and key must be given together")),
  };
  Ok(Arc::new(config))
}

pub fn server_config(opts: &TlsOptions) -> Result<Arc<ServerConfig>, CoreError> {
  let (Some(cert), Some(k)) = (&opts.cert, &opts.key) else {
    return Err(invalid("options", "a TLS server needs cert and key"));
  };
  let builder = ServerConfig::builder_with_provider(provider())
    .with_safe_default_protocol_versions()
    .map_err(|e| invalid("protocol", e))?;
  let builder = if opts.request_cert {
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots(&opts.ca)?), provider());
    let verifier = if opts.reject_unauthorized { verifier } else { verifier.allow_unauthenticated() };
    builder.with_client_cert_verifier(verifier.build().map_err(|e| invalid("ca", e))?)
  } else {
    builder.with_no_client_auth()
  };
  let config = builder.with_cert_resolver(certified_key(cert, k)?);
  Ok(Arc::new(config))
}

/// The name the certificate must carry: `servername`, else the host (an IP literal is
/// checked against IP SANs, as Node does).
pub fn server_name(opts: &TlsOptions, host: &str) -> Result<ServerName<'static>, CoreError> {
  let name = opts.servername.as_deref().unwrap_or(host);
  ServerName::try_from(name.to_owned()).map_err(|e| invalid("servername", e))
}

/// `rejectUnauthorized: false`: the handshake still checks signatures, not the chain.
#[derive(Debug)]
struct AcceptAnyServerCert(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyServerCert {
  fn verify_server_cert(
    &self,
    _end_entity: &CertificateDer<'_>,
    _intermediates: &[CertificateDer<'_>],
    _server_name: &ServerName<'_>,
    _ocsp: &[u8],
    _now: UnixTime,
  ) -> Result<ServerCertVerified, rustls::Error> {
    Ok(ServerCertVerified::assertion())
  }

  fn verify_tls12_signature(
    &self,
    message: &[u8],
    cert: &CertificateDer<'_>,
    dss: &DigitallySignedStruct,
  ) -> Result<HandshakeSignatureValid, rustls::Error> {
    verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
  }

  fn verify_tls13_signature(
    &self,
    message: &[u8],
    cert: &CertificateDer<'_>,
    dss: &DigitallySignedStruct,
  ) -> Result<HandshakeSignatureValid, rustls::Error> {
    verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
  }

  fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
    self.0.signature_verification_algorithms.supported_schemes()
  }
}
