//! Channel bindings: tying an NTLM logon to the TLS connection it runs over.
//!
//! MS-NLMP §2.2.2.1 MsvAvChannelBindings carries the MD5 of a `gss_channel_bindings_struct`
//! (RFC 2744) whose application data, for HTTPS, is `tls-server-end-point:` followed by the
//! hash of the server's certificate (RFC 5929 §4.1): the hash of the certificate's signature
//! algorithm, except that MD5 and SHA-1 are replaced by SHA-256. Windows' Extended
//! Protection for Authentication checks exactly this value.

use core::fmt;

use sha2::{Digest, Sha224, Sha256, Sha384, Sha512};

/// The application data of a `gss_channel_bindings_struct`.
///
/// ```
/// use ntlm::channel_bindings::ChannelBindings;
/// let cb = ChannelBindings::from_application_data(b"tls-server-end-point:abc".to_vec());
/// assert_eq!(cb.application_data(), b"tls-server-end-point:abc");
/// assert_eq!(cb.md5().len(), 16);
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct ChannelBindings {
    application_data: Vec<u8>,
}

impl ChannelBindings {
    /// Bindings with the given application data and zero addresses.
    pub fn from_application_data(application_data: Vec<u8>) -> Self {
        Self { application_data }
    }

    /// `tls-server-end-point` bindings from the server certificate's DER (RFC 5929 §4.1).
    pub fn tls_server_end_point(certificate_der: &[u8]) -> Result<Self, CertificateError> {
        let hash = certificate_hash(certificate_der)?;
        let mut data = b"tls-server-end-point:".to_vec();
        data.extend_from_slice(&hash);
        Ok(Self::from_application_data(data))
    }

    /// The application data.
    pub fn application_data(&self) -> &[u8] {
        &self.application_data
    }

    /// The MsvAvChannelBindings value: MD5 of the `gss_channel_bindings_struct`.
    pub fn md5(&self) -> [u8; 16] {
        crate::crypto::channel_bindings_hash(&self.application_data)
    }
}

impl fmt::Debug for ChannelBindings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ChannelBindings({} bytes)", self.application_data.len())
    }
}

/// A certificate whose signature algorithm could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CertificateError {
    /// The DER ended or was not a `Certificate` SEQUENCE at this offset.
    Malformed {
        /// Byte offset in the certificate.
        offset: usize,
    },
    /// A signature algorithm RFC 5929 gives no hash for (the DER of its OID).
    UnknownAlgorithm(Vec<u8>),
}

impl fmt::Display for CertificateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed { offset } => write!(f, "malformed certificate DER at offset {offset}"),
            Self::UnknownAlgorithm(oid) => {
                write!(f, "unknown certificate signature algorithm (OID bytes ")?;
                for b in oid {
                    write!(f, "{b:02x}")?;
                }
                write!(f, ")")
            }
        }
    }
}

impl std::error::Error for CertificateError {}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Hash {
    Sha224,
    Sha256,
    Sha384,
    Sha512,
}

const RSA_PREFIX: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01];
const ECDSA_SHA2_PREFIX: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03];
const HASH_PREFIX: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02];
const ECDSA_SHA1: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x01];
const DSA_SHA1: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x38, 0x04, 0x03];
const DSA_SHA2_PREFIX: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x03];
const ED25519: &[u8] = &[0x2b, 0x65, 0x70];
const ED448: &[u8] = &[0x2b, 0x65, 0x71];
const SHA1: &[u8] = &[0x2b, 0x0e, 0x03, 0x02, 0x1a];

fn certificate_hash(der: &[u8]) -> Result<Vec<u8>, CertificateError> {
    let mut outer = Der::new(der);
    let mut cert = outer.enter(0x30)?;
    cert.skip(0x30)?; // tbsCertificate
    let mut algorithm = cert.enter(0x30)?;
    let oid = algorithm.read(0x06)?;
    let hash = match oid {
        [p @ .., last] if p == RSA_PREFIX => match last {
            4 | 5 => Some(Hash::Sha256), // md5WithRSA, sha1WithRSA
            11 => Some(Hash::Sha256),
            12 => Some(Hash::Sha384),
            13 => Some(Hash::Sha512),
            14 => Some(Hash::Sha224),
            10 => Some(pss_hash(&mut algorithm)?),
            _ => None,
        },
        [p @ .., last] if p == ECDSA_SHA2_PREFIX || p == DSA_SHA2_PREFIX => match last {
            1 => Some(Hash::Sha224),
            2 => Some(Hash::Sha256),
            3 => Some(Hash::Sha384),
            4 => Some(Hash::Sha512),
            _ => None,
        },
        o if o == ECDSA_SHA1 || o == DSA_SHA1 => Some(Hash::Sha256),
        // RFC 5929 predates EdDSA; SHA-256 is what Go, .NET and OpenSSL-based peers use.
        o if o == ED25519 || o == ED448 => Some(Hash::Sha256),
        _ => None,
    };
    let hash = hash.ok_or_else(|| CertificateError::UnknownAlgorithm(oid.to_vec()))?;
    Ok(match hash {
        Hash::Sha224 => Sha224::digest(der).to_vec(),
        Hash::Sha256 => Sha256::digest(der).to_vec(),
        Hash::Sha384 => Sha384::digest(der).to_vec(),
        Hash::Sha512 => Sha512::digest(der).to_vec(),
    })
}

/// RSASSA-PSS-params: `[0] EXPLICIT hashAlgorithm` (default SHA-1, hence SHA-256 here).
fn pss_hash(algorithm: &mut Der<'_>) -> Result<Hash, CertificateError> {
    if algorithm.at_end() {
        return Ok(Hash::Sha256);
    }
    let mut params = algorithm.enter(0x30)?;
    if params.at_end() || params.peek_tag() != Some(0xa0) {
        return Ok(Hash::Sha256);
    }
    let mut explicit = params.enter(0xa0)?;
    let mut hash_alg = explicit.enter(0x30)?;
    let oid = hash_alg.read(0x06)?;
    match oid {
        o if o == SHA1 => Ok(Hash::Sha256),
        [p @ .., 1] if p == HASH_PREFIX => Ok(Hash::Sha256),
        [p @ .., 2] if p == HASH_PREFIX => Ok(Hash::Sha384),
        [p @ .., 3] if p == HASH_PREFIX => Ok(Hash::Sha512),
        [p @ .., 4] if p == HASH_PREFIX => Ok(Hash::Sha224),
        other => Err(CertificateError::UnknownAlgorithm(other.to_vec())),
    }
}

/// Just enough DER to find a certificate's signature algorithm: definite lengths only.
struct Der<'a> {
    bytes: &'a [u8],
    pos: usize,
    base: usize,
}

impl<'a> Der<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Self {
            bytes,
            pos: 0,
            base: 0,
        }
    }

    fn err(&self) -> CertificateError {
        CertificateError::Malformed {
            offset: self.base + self.pos,
        }
    }

    fn at_end(&self) -> bool {
        self.pos >= self.bytes.len()
    }

    fn peek_tag(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    /// Reads one TLV with the given tag; returns its contents and their absolute offset.
    fn tlv(&mut self, tag: u8) -> Result<(&'a [u8], usize), CertificateError> {
        if self.peek_tag() != Some(tag) {
            return Err(self.err());
        }
        let first = *self.bytes.get(self.pos + 1).ok_or_else(|| self.err())?;
        let (len, header) = if first < 0x80 {
            (usize::from(first), 2)
        } else {
            let n = usize::from(first & 0x7f);
            if n == 0 || n > 4 {
                return Err(self.err());
            }
            let len_bytes = self
                .bytes
                .get(self.pos + 2..self.pos + 2 + n)
                .ok_or_else(|| self.err())?;
            let len = len_bytes
                .iter()
                .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
            (len, 2 + n)
        };
        let start = self.pos + header;
        let end = start.checked_add(len).ok_or_else(|| self.err())?;
        let contents = self.bytes.get(start..end).ok_or_else(|| self.err())?;
        self.pos = end;
        Ok((contents, self.base + start))
    }

    fn enter(&mut self, tag: u8) -> Result<Der<'a>, CertificateError> {
        let (bytes, base) = self.tlv(tag)?;
        Ok(Der {
            bytes,
            pos: 0,
            base,
        })
    }

    fn skip(&mut self, tag: u8) -> Result<(), CertificateError> {
        self.tlv(tag).map(|_| ())
    }

    fn read(&mut self, tag: u8) -> Result<&'a [u8], CertificateError> {
        self.tlv(tag).map(|(b, _)| b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal Certificate-shaped DER: SEQUENCE { SEQUENCE {} , SEQUENCE { OID }, BIT STRING }.
    fn fake_cert(oid: &[u8]) -> Vec<u8> {
        let mut alg = vec![0x06, oid.len() as u8];
        alg.extend_from_slice(oid);
        let mut body = vec![0x30, 0x00, 0x30, alg.len() as u8];
        body.extend_from_slice(&alg);
        body.extend_from_slice(&[0x03, 0x01, 0x00]);
        let mut der = vec![0x30, body.len() as u8];
        der.extend_from_slice(&body);
        der
    }

    #[test]
    fn hash_follows_signature_algorithm() {
        let sha256_rsa = fake_cert(&[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 11]);
        let cb = ChannelBindings::tls_server_end_point(&sha256_rsa).unwrap();
        assert_eq!(cb.application_data().len(), 21 + 32);
        let sha1_rsa = fake_cert(&[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 5]);
        let cb1 = ChannelBindings::tls_server_end_point(&sha1_rsa).unwrap();
        assert_eq!(
            &cb1.application_data()[21..],
            &Sha256::digest(&sha1_rsa)[..]
        );
        let ecdsa384 = fake_cert(&[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 3]);
        let cb384 = ChannelBindings::tls_server_end_point(&ecdsa384).unwrap();
        assert_eq!(
            &cb384.application_data()[21..],
            &Sha384::digest(&ecdsa384)[..]
        );
    }

    #[test]
    fn bad_der_is_an_error_not_a_panic() {
        let good = fake_cert(&[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 11]);
        for cut in 0..good.len() {
            assert!(ChannelBindings::tls_server_end_point(&good[..cut]).is_err());
        }
        assert_eq!(
            ChannelBindings::tls_server_end_point(&fake_cert(&[1, 2, 3])),
            Err(CertificateError::UnknownAlgorithm(vec![1, 2, 3]))
        );
        assert!(
            ChannelBindings::tls_server_end_point(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]).is_err()
        );
    }
}
