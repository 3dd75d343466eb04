//! [`Mechanism`]: a GSS-API mechanism's OBJECT IDENTIFIER (RFC 4178 §4.1 `MechType`), held as
//! the contents octets of its DER encoding (X.690 §8.19). This crate's own type, so that no
//! pre-1.0 ASN.1 crate's type is part of the public API; the `der` crate encodes and
//! decodes it inside this module only.

use core::fmt;
use core::str::FromStr;

use der::asn1::ObjectIdentifier;

use super::SpnegoError;

/// The longest OBJECT IDENTIFIER contents kept, in bytes: the `der` crate's limit, so every
/// OID a token can carry fits.
const MAX_LEN: usize = 39;

/// A mechanism OID, e.g. [`Mechanism::NTLM`] (`1.3.6.1.4.1.311.2.2.10`). Displays as the
/// dotted decimal form; parses from it ([`FromStr`]).
///
/// ```
/// use ntlm::http::spnego::Mechanism;
/// let negoex: Mechanism = "1.3.6.1.4.1.311.2.2.30".parse().unwrap();
/// assert_eq!(negoex.to_string(), "1.3.6.1.4.1.311.2.2.30");
/// assert_eq!(negoex.name(), None);
/// assert_eq!(Mechanism::NTLM.name(), Some("NTLM"));
/// assert_eq!(Mechanism::NTLM.as_der_content(), [0x2b, 6, 1, 4, 1, 0x82, 0x37, 2, 2, 10]);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Mechanism {
    len: u8,
    bytes: [u8; MAX_LEN],
}

impl Mechanism {
    /// SPNEGO itself, `1.3.6.1.5.5.2` (the InitialContextToken's `thisMech`).
    pub const SPNEGO: Self = Self::from_static(&[0x2b, 0x06, 0x01, 0x05, 0x05, 0x02]);
    /// NTLMSSP, `1.3.6.1.4.1.311.2.2.10` (MS-NLMP §1.9).
    pub const NTLM: Self =
        Self::from_static(&[0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0a]);
    /// Kerberos 5, `1.2.840.113554.1.2.2` (RFC 4121).
    pub const KERBEROS: Self =
        Self::from_static(&[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02]);
    /// Microsoft's legacy Kerberos OID, `1.2.840.48018.1.2.2` (MS-KILE §3.1.5.10).
    pub const MS_KERBEROS: Self =
        Self::from_static(&[0x2a, 0x86, 0x48, 0x82, 0xf7, 0x12, 0x01, 0x02, 0x02]);

    /// A constant from contents octets known to be a valid OID (fails to compile if too long).
    const fn from_static(content: &[u8]) -> Self {
        assert!(content.len() <= MAX_LEN);
        let mut bytes = [0u8; MAX_LEN];
        let mut i = 0;
        while i < content.len() {
            bytes[i] = content[i];
            i += 1;
        }
        Self {
            len: content.len() as u8,
            bytes,
        }
    }

    /// A mechanism from the contents octets of an OBJECT IDENTIFIER's DER (no tag, no length).
    ///
    /// # Errors
    /// [`SpnegoError::Oid`] when the octets are not a valid OID (empty, a truncated arc, an
    /// arc with a leading 0x80, or longer than 39 bytes).
    pub fn from_der_content(content: &[u8]) -> Result<Self, SpnegoError> {
        let oid = ObjectIdentifier::from_bytes(content).map_err(|e| SpnegoError::Oid {
            text: content.iter().map(|b| format!("{b:02x}")).collect(),
            detail: e.to_string(),
        })?;
        Ok(Self::from_oid(&oid))
    }

    /// The contents octets of the OID's DER encoding.
    pub fn as_der_content(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or(&[])
    }

    /// The name of a mechanism SPNEGO peers offer beside NTLM, or `None` for one this crate
    /// does not name.
    pub fn name(&self) -> Option<&'static str> {
        match *self {
            Self::NTLM => Some("NTLM"),
            Self::KERBEROS => Some("Kerberos"),
            Self::MS_KERBEROS => Some("MS Kerberos"),
            _ => None,
        }
    }

    /// For people: `NTLM (1.3.6.1.4.1.311.2.2.10)` for a named mechanism, the dotted OID
    /// otherwise.
    pub fn label(&self) -> String {
        match self.name() {
            Some(name) => format!("{name} ({self})"),
            None => self.to_string(),
        }
    }

    pub(super) fn from_oid(oid: &ObjectIdentifier) -> Self {
        let content = oid.as_bytes();
        let mut bytes = [0u8; MAX_LEN];
        let len = content.len().min(MAX_LEN);
        bytes[..len].copy_from_slice(&content[..len]);
        Self {
            len: len as u8,
            bytes,
        }
    }

    /// The `der` crate's OID. Every `Mechanism` was validated when made, so this fails
    /// only if that crate's rules changed; the error says so rather than panicking.
    pub(super) fn to_oid(self) -> Result<ObjectIdentifier, der::Error> {
        ObjectIdentifier::from_bytes(self.as_der_content())
            .map_err(|_| der::Error::from(der::ErrorKind::OidMalformed))
    }
}

impl fmt::Display for Mechanism {
    /// Dotted decimal (X.660): the first subidentifier holds the first two arcs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut value: u64 = 0;
        let mut first = true;
        for &b in self.as_der_content() {
            value = (value << 7) | u64::from(b & 0x7f);
            if b & 0x80 != 0 {
                continue;
            }
            if first {
                let (a, rest) = match value {
                    0..=39 => (0, value),
                    40..=79 => (1, value - 40),
                    _ => (2, value - 80),
                };
                write!(f, "{a}.{rest}")?;
                first = false;
            } else {
                write!(f, ".{value}")?;
            }
            value = 0;
        }
        Ok(())
    }
}

impl fmt::Debug for Mechanism {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Mechanism({self})")
    }
}

impl FromStr for Mechanism {
    type Err = SpnegoError;

    /// Parses the dotted decimal form, e.g. `1.3.6.1.4.1.311.2.2.10`.
    fn from_str(text: &str) -> Result<Self, SpnegoError> {
        let oid = ObjectIdentifier::new(text).map_err(|e| SpnegoError::Oid {
            text: text.to_string(),
            detail: e.to_string(),
        })?;
        Ok(Self::from_oid(&oid))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constants_match_der_and_display() {
        for (mech, dotted) in [
            (Mechanism::SPNEGO, "1.3.6.1.5.5.2"),
            (Mechanism::NTLM, "1.3.6.1.4.1.311.2.2.10"),
            (Mechanism::KERBEROS, "1.2.840.113554.1.2.2"),
            (Mechanism::MS_KERBEROS, "1.2.840.48018.1.2.2"),
        ] {
            let oid = ObjectIdentifier::new_unwrap(dotted);
            assert_eq!(mech.as_der_content(), oid.as_bytes(), "{dotted}");
            assert_eq!(mech.to_string(), dotted);
            assert_eq!(dotted.parse::<Mechanism>().unwrap(), mech);
            assert_eq!(mech.to_oid().unwrap(), oid);
        }
        // The first subidentifier's three ranges (X.690 §8.19.4), checked against `der`.
        for dotted in ["0.9.2342.19200300.100.1.1", "1.2.840.113549", "2.5.4.3"] {
            let oid = ObjectIdentifier::new_unwrap(dotted);
            let mech = Mechanism::from_der_content(oid.as_bytes()).unwrap();
            assert_eq!(mech.to_string(), dotted);
        }
    }

    #[test]
    fn invalid_oids_are_errors() {
        assert!(Mechanism::from_der_content(&[]).is_err());
        assert!(Mechanism::from_der_content(&[0x2b, 0x86]).is_err());
        assert!(Mechanism::from_der_content(&[0x2b; 40]).is_err());
        assert!("1".parse::<Mechanism>().is_err());
        assert!("1.3.x".parse::<Mechanism>().is_err());
    }
}
