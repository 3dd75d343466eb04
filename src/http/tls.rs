//! HTTPS for the hyper adapters with rustls (feature `tls`, `ring` provider).
//!
//! Both sides derive `tls-server-end-point` channel bindings (RFC 5929) from the server's
//! leaf certificate, so an NTLMv2 logon is bound to the TLS connection it ran over (Windows'
//! Extended Protection for Authentication).
//!
//! Trust on the client side is explicit: the PEM given (`--ca`) is used both as trust
//! anchors (a private CA: the server's chain must lead to it and name the URL's host) and
//! as pinned certificates (a single self-signed server certificate: accepted when the
//! server presents exactly that certificate, whatever its names).
//!
//! # Expected principal name (Outlook's `msstd:`)
//!
//! Outlook Anywhere's "Only connect to proxy servers that have this principal name in their
//! certificate" takes `msstd:` followed by a host name (Exchange's `CertPrincipalName`), and
//! refuses the server unless its certificate names that host. [`check_principal`] accepts
//! the certificate when the name equals, ASCII case-insensitively and without wildcard
//! expansion, the subject's common name (CN) or one of its subjectAltName dNSName entries.
//! Older Outlook versions compared with the subject CN only; since SAN certificates became
//! the norm for Exchange, matching a SAN entry is what administrators expect. This check
//! comes on top of the ordinary certificate verification, never instead of it.

use core::fmt;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use x509_cert::der::Decode;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::Certificate;

use crate::channel_bindings::ChannelBindings;

/// A TLS setup problem.
#[derive(Debug)]
#[non_exhaustive]
pub enum TlsError {
    /// A PEM text held no section of this kind (`"CERTIFICATE"`).
    NoPemSection(&'static str),
    /// A PEM text could not be read.
    Pem {
        /// What was being read (`"certificates"`, `"private key"`).
        what: &'static str,
        /// The error.
        source: rustls_pki_types::pem::Error,
    },
    /// rustls refused the configuration.
    Rustls(rustls::Error),
    /// The trust anchors could not make a certificate verifier.
    Verifier(rustls::client::VerifierBuilderError),
    /// The leaf certificate's signature algorithm could not be read (for its channel
    /// bindings).
    Certificate(crate::channel_bindings::CertificateError),
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoPemSection(kind) => write!(f, "PEM: no {kind} section"),
            Self::Pem { what, source } => write!(f, "PEM ({what}): {source}"),
            Self::Rustls(e) => write!(f, "TLS: {e}"),
            Self::Verifier(e) => write!(f, "TLS trust anchors: {e}"),
            Self::Certificate(e) => write!(f, "certificate: {e}"),
        }
    }
}

impl std::error::Error for TlsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::NoPemSection(_) => None,
            Self::Pem { source, .. } => Some(source),
            Self::Rustls(e) => Some(e),
            Self::Verifier(e) => Some(e),
            Self::Certificate(e) => Some(e),
        }
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Reads every certificate of a PEM text.
pub fn certificates_from_pem(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| TlsError::Pem {
            what: "certificates",
            source,
        })?;
    if certs.is_empty() {
        return Err(TlsError::NoPemSection("CERTIFICATE"));
    }
    Ok(certs)
}

/// A server's TLS setup and the channel bindings its certificate gives.
#[derive(Clone)]
pub struct ServerTls {
    /// The rustls configuration.
    pub config: Arc<rustls::ServerConfig>,
    /// `tls-server-end-point` bindings of the leaf certificate.
    pub bindings: ChannelBindings,
}

impl fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerTls")
            .field("bindings", &self.bindings)
            .finish_non_exhaustive()
    }
}

impl ServerTls {
    /// From a PEM certificate chain (leaf first) and a PEM private key.
    pub fn from_pem(cert_pem: &[u8], key_pem: &[u8]) -> Result<Self, TlsError> {
        let chain = certificates_from_pem(cert_pem)?;
        let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|source| TlsError::Pem {
            what: "private key",
            source,
        })?;
        let bindings =
            ChannelBindings::tls_server_end_point(&chain[0]).map_err(TlsError::Certificate)?;
        let mut config = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(TlsError::Rustls)?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(TlsError::Rustls)?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Self {
            config: Arc::new(config),
            bindings,
        })
    }
}

/// Client TLS options.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct ClientTlsOptions {
    /// PEM certificates to trust: CAs (anchors) and/or exact server certificates (pins).
    /// Empty: the operating system's trust store.
    pub trusted_pem: Vec<u8>,
    /// Outlook-style expected principal: `msstd:host` (or just `host`).
    pub expected_principal: Option<String>,
}

/// Checks that the certificate names `principal` (`msstd:host` or `host`) as its subject
/// CN or a subjectAltName dNSName; see the [module docs](self).
pub fn check_principal(cert_der: &[u8], principal: &str) -> Result<(), String> {
    let wanted = principal.strip_prefix("msstd:").unwrap_or(principal);
    let cert =
        Certificate::from_der(cert_der).map_err(|e| format!("unreadable certificate: {e}"))?;
    let tbs = cert.tbs_certificate();
    let mut names = Vec::new();
    if let Ok(Some(cn)) = tbs.subject().common_name() {
        names.push(cn.value().into_owned());
    }
    if let Ok(Some((_, san))) = tbs.get_extension::<SubjectAltName>() {
        for name in san.0 {
            if let GeneralName::DnsName(dns) = name {
                names.push(dns.to_string());
            }
        }
    }
    if names.iter().any(|n| n.eq_ignore_ascii_case(wanted)) {
        Ok(())
    } else {
        Err(format!(
            "server certificate does not carry the principal name {wanted} (it names: {})",
            names.join(", ")
        ))
    }
}

#[derive(Debug)]
struct Verifier {
    webpki: Option<Arc<WebPkiServerVerifier>>,
    pinned: Vec<CertificateDer<'static>>,
    principal: Option<String>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if let Some(principal) = &self.principal {
            check_principal(end_entity, principal).map_err(rustls::Error::General)?;
        }
        if self
            .pinned
            .iter()
            .any(|c| c.as_ref() == end_entity.as_ref())
        {
            return Ok(ServerCertVerified::assertion());
        }
        match &self.webpki {
            Some(v) => {
                v.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
            }
            None => Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::UnknownIssuer,
            )),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// The rustls client configuration for `options`.
pub fn client_config(options: &ClientTlsOptions) -> Result<Arc<rustls::ClientConfig>, TlsError> {
    let provider = provider();
    let pinned = if options.trusted_pem.is_empty() {
        Vec::new()
    } else {
        certificates_from_pem(&options.trusted_pem)?
    };
    let mut roots = RootCertStore::empty();
    for cert in &pinned {
        // A leaf that is not a CA may fail to be an anchor: it is still pinned.
        let _ = roots.add(cert.clone());
    }
    if pinned.is_empty() {
        // No private CA given: the operating system's trust store (where an enterprise CA
        // for IIS, Exchange or SharePoint is usually installed). Unreadable entries are
        // skipped, as browsers do.
        for cert in rustls_native_certs::load_native_certs().certs {
            let _ = roots.add(cert);
        }
    }
    let webpki = if roots.is_empty() {
        None
    } else {
        Some(
            WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                .build()
                .map_err(TlsError::Verifier)?,
        )
    };
    let verifier = Verifier {
        webpki,
        pinned,
        principal: options.expected_principal.clone(),
        provider: provider.clone(),
    };
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(TlsError::Rustls)?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}
