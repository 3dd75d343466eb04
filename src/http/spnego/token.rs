//! The SPNEGO tokens (RFC 4178 §4.2, framed as RFC 2743 §3.1 says): `NegTokenInit`,
//! `NegTokenResp` and the DER of a `MechTypeList`, with the mechanism OIDs this crate names.

use core::fmt;

use super::Mechanism;
use der::asn1::{BitString, ObjectIdentifier, OctetString};
use der::{Any, AnyRef, Decode, Encode, Enumerated, Sequence, Tag, TagNumber, Tagged};

/// SPNEGO, `1.3.6.1.5.5.2`.
pub const SPNEGO_OID: Mechanism = Mechanism::SPNEGO;
/// NTLMSSP, `1.3.6.1.4.1.311.2.2.10`.
pub const NTLM_OID: Mechanism = Mechanism::NTLM;
/// Kerberos 5, `1.2.840.113554.1.2.2` (named in errors and offered lists only).
pub const KERBEROS_OID: Mechanism = Mechanism::KERBEROS;
/// Microsoft's legacy Kerberos OID, `1.2.840.48018.1.2.2`.
pub const MS_KERBEROS_OID: Mechanism = Mechanism::MS_KERBEROS;

/// The first NTLM bytes, "NTLMSSP\0": a raw NTLM token where SPNEGO was expected.
pub const NTLMSSP_SIGNATURE: &[u8; 8] = b"NTLMSSP\0";

/// `negState` of a `NegTokenResp` (RFC 4178 §4.2.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enumerated)]
#[repr(u32)]
pub enum NegState {
    /// `accept-completed` (0).
    AcceptCompleted = 0,
    /// `accept-incomplete` (1).
    AcceptIncomplete = 1,
    /// `reject` (2).
    Reject = 2,
    /// `request-mic` (3).
    RequestMic = 3,
}

/// `NegTokenInit` (RFC 4178 §4.2.1), or Microsoft's `NegTokenInit2` when decoded.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NegTokenInit {
    /// `mechTypes`: the initiator's mechanisms, most preferred first.
    pub mech_types: Vec<Mechanism>,
    /// `reqFlags` (deprecated, kept as received).
    pub req_flags: Option<Vec<u8>>,
    /// `mechToken`: the optimistic token of the first mechanism.
    pub mech_token: Option<Vec<u8>>,
    /// `mechListMIC`.
    pub mech_list_mic: Option<Vec<u8>>,
}

/// `NegTokenResp` (RFC 4178 §4.2.2).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NegTokenResp {
    /// `negState`.
    pub neg_state: Option<NegState>,
    /// `supportedMech`: the mechanism the acceptor chose (first reply only).
    pub supported_mech: Option<Mechanism>,
    /// `responseToken`: the mechanism's token.
    pub response_token: Option<Vec<u8>>,
    /// `mechListMIC`.
    pub mech_list_mic: Option<Vec<u8>>,
}

/// `NegotiationToken ::= CHOICE { negTokenInit [0], negTokenResp [1] }`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NegotiationToken {
    /// `[0] NegTokenInit`.
    Init(NegTokenInit),
    /// `[1] NegTokenResp`.
    Resp(NegTokenResp),
}

/// What was wrong with a SPNEGO token, or why one could not be encoded.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SpnegoError {
    /// The DER of `part` could not be decoded.
    Der {
        /// Which structure (e.g. "NegTokenResp").
        part: &'static str,
        /// The `der` crate's description, with the position.
        detail: String,
    },
    /// A GSS-API InitialContextToken of another mechanism.
    NotSpnego {
        /// The `thisMech` found.
        mech: String,
    },
    /// Neither `[APPLICATION 0]`, `[0]` nor `[1]` at the start.
    UnexpectedTag {
        /// The first byte.
        found: u8,
    },
    /// The token is empty.
    Empty,
    /// The DER of `part` could not be encoded (the `der` crate refused it: a field
    /// beyond DER's length limit). Nothing is sent rather than an empty or partial token.
    Encode {
        /// Which structure (e.g. "NegTokenResp").
        part: &'static str,
        /// The `der` crate's description.
        detail: String,
    },
    /// Not a valid OBJECT IDENTIFIER ([`Mechanism`]'s `FromStr` and `from_der_content`).
    Oid {
        /// What was given: the dotted text, or the contents octets in hex.
        text: String,
        /// The `der` crate's description.
        detail: String,
    },
}

impl fmt::Display for SpnegoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Der { part, detail } => write!(f, "malformed SPNEGO {part}: {detail}"),
            Self::NotSpnego { mech } => {
                write!(f, "GSS-API token of mechanism {mech}, not SPNEGO")
            }
            Self::UnexpectedTag { found } => write!(
                f,
                "SPNEGO token starts with 0x{found:02x}, not 0x60, 0xa0 or 0xa1"
            ),
            Self::Empty => f.write_str("empty SPNEGO token"),
            Self::Encode { part, detail } => write!(f, "cannot encode SPNEGO {part}: {detail}"),
            Self::Oid { text, detail } => write!(f, "invalid OBJECT IDENTIFIER {text}: {detail}"),
        }
    }
}

impl std::error::Error for SpnegoError {}

fn der_err(part: &'static str) -> impl Fn(der::Error) -> SpnegoError {
    move |e| SpnegoError::Der {
        part,
        detail: e.to_string(),
    }
}

fn encode_err(part: &'static str) -> impl Fn(der::Error) -> SpnegoError {
    move |e| SpnegoError::Encode {
        part,
        detail: e.to_string(),
    }
}

#[derive(Sequence)]
struct InitDer {
    #[asn1(context_specific = "0", optional = "true")]
    mech_types: Option<Vec<ObjectIdentifier>>,
    #[asn1(context_specific = "1", optional = "true")]
    req_flags: Option<BitString>,
    #[asn1(context_specific = "2", optional = "true")]
    mech_token: Option<OctetString>,
    /// `mechListMIC` in RFC 4178, `negHints` (a SEQUENCE) in NegTokenInit2.
    #[asn1(context_specific = "3", optional = "true")]
    mic_or_hints: Option<Any>,
    /// `mechListMIC` of NegTokenInit2.
    #[asn1(context_specific = "4", optional = "true")]
    mech_list_mic2: Option<OctetString>,
}

#[derive(Sequence)]
struct RespDer {
    #[asn1(context_specific = "0", optional = "true")]
    neg_state: Option<NegState>,
    #[asn1(context_specific = "1", optional = "true")]
    supported_mech: Option<ObjectIdentifier>,
    #[asn1(context_specific = "2", optional = "true")]
    response_token: Option<OctetString>,
    #[asn1(context_specific = "3", optional = "true")]
    mech_list_mic: Option<OctetString>,
}

fn octets(bytes: &Option<Vec<u8>>) -> Result<Option<OctetString>, der::Error> {
    bytes
        .as_ref()
        .map(|b| OctetString::new(b.clone()))
        .transpose()
}

fn wrap(tag: Tag, inner: Vec<u8>, part: &'static str) -> Result<Vec<u8>, SpnegoError> {
    Any::new(tag, inner)
        .and_then(|any| any.to_der())
        .map_err(encode_err(part))
}

fn context(n: u8) -> Tag {
    Tag::ContextSpecific {
        constructed: true,
        number: TagNumber(n.into()),
    }
}

impl NegTokenInit {
    /// A NegTokenInit offering NTLM only, with the NTLM NEGOTIATE as optimistic token.
    pub fn ntlm(negotiate: Vec<u8>) -> Self {
        Self {
            mech_types: vec![NTLM_OID],
            mech_token: Some(negotiate),
            ..Self::default()
        }
    }

    fn to_der_inner(&self) -> Result<Vec<u8>, der::Error> {
        let mic = match &self.mech_list_mic {
            Some(mic) => Some(Any::new(Tag::OctetString, mic.clone())?),
            None => None,
        };
        InitDer {
            mech_types: Some(to_oids(&self.mech_types)?),
            req_flags: self
                .req_flags
                .as_ref()
                .map(|b| BitString::from_bytes(b))
                .transpose()?,
            mech_token: octets(&self.mech_token)?,
            mic_or_hints: mic,
            mech_list_mic2: None,
        }
        .to_der()
    }
}

impl NegTokenResp {
    fn to_der_inner(&self) -> Result<Vec<u8>, der::Error> {
        RespDer {
            neg_state: self.neg_state,
            supported_mech: self.supported_mech.map(Mechanism::to_oid).transpose()?,
            response_token: octets(&self.response_token)?,
            mech_list_mic: octets(&self.mech_list_mic)?,
        }
        .to_der()
    }
}

impl NegotiationToken {
    /// Encodes the token: a NegTokenInit inside the GSS-API InitialContextToken framing
    /// (`0x60 … 06 06 2b 06 01 05 05 02 a0 …`), a NegTokenResp bare (`0xa1 …`).
    ///
    /// # Errors
    /// [`SpnegoError::Encode`] when the `der` crate refuses a part (a field beyond DER's
    /// length limit): no token rather than an empty or partial one.
    pub fn encode(&self) -> Result<Vec<u8>, SpnegoError> {
        match self {
            Self::Init(init) => {
                let inner = init.to_der_inner().map_err(encode_err("NegTokenInit"))?;
                let mut body = Mechanism::SPNEGO
                    .to_oid()
                    .map_err(encode_err("InitialContextToken thisMech"))?
                    .to_der()
                    .map_err(encode_err("InitialContextToken thisMech"))?;
                body.extend_from_slice(&wrap(context(0), inner, "NegotiationToken")?);
                wrap(
                    Tag::Application {
                        constructed: true,
                        number: TagNumber(0),
                    },
                    body,
                    "InitialContextToken",
                )
            }
            Self::Resp(resp) => {
                let inner = resp.to_der_inner().map_err(encode_err("NegTokenResp"))?;
                wrap(context(1), inner, "NegotiationToken")
            }
        }
    }

    /// Decodes a token, framed or not. Never panics.
    pub fn decode(bytes: &[u8]) -> Result<Self, SpnegoError> {
        let first = *bytes.first().ok_or(SpnegoError::Empty)?;
        match first {
            0x60 => {
                let outer = AnyRef::from_der(bytes).map_err(der_err("InitialContextToken"))?;
                let (mech, rest) = ObjectIdentifier::from_der_partial(outer.value())
                    .map_err(der_err("InitialContextToken thisMech"))?;
                if Mechanism::from_oid(&mech) != Mechanism::SPNEGO {
                    return Err(SpnegoError::NotSpnego {
                        mech: mech.to_string(),
                    });
                }
                Self::decode_choice(rest)
            }
            0xa0 | 0xa1 => Self::decode_choice(bytes),
            found => Err(SpnegoError::UnexpectedTag { found }),
        }
    }

    fn decode_choice(bytes: &[u8]) -> Result<Self, SpnegoError> {
        let any = AnyRef::from_der(bytes).map_err(der_err("NegotiationToken"))?;
        match any.tag() {
            Tag::ContextSpecific {
                constructed: true,
                number: TagNumber(0),
            } => {
                let raw = InitDer::from_der(any.value()).map_err(der_err("NegTokenInit"))?;
                let mut mech_list_mic = raw.mech_list_mic2.map(|o| o.into_bytes().into_vec());
                if let Some(field) = raw.mic_or_hints {
                    if field.tag() == Tag::OctetString {
                        mech_list_mic = Some(field.value().to_vec());
                    }
                }
                Ok(Self::Init(NegTokenInit {
                    mech_types: raw
                        .mech_types
                        .unwrap_or_default()
                        .iter()
                        .map(Mechanism::from_oid)
                        .collect(),
                    req_flags: raw.req_flags.map(|b| b.raw_bytes().to_vec()),
                    mech_token: raw.mech_token.map(|o| o.into_bytes().into_vec()),
                    mech_list_mic,
                }))
            }
            Tag::ContextSpecific {
                constructed: true,
                number: TagNumber(1),
            } => {
                let raw = RespDer::from_der(any.value()).map_err(der_err("NegTokenResp"))?;
                Ok(Self::Resp(NegTokenResp {
                    neg_state: raw.neg_state,
                    supported_mech: raw.supported_mech.as_ref().map(Mechanism::from_oid),
                    response_token: raw.response_token.map(|o| o.into_bytes().into_vec()),
                    mech_list_mic: raw.mech_list_mic.map(|o| o.into_bytes().into_vec()),
                }))
            }
            _ => Err(SpnegoError::UnexpectedTag {
                found: bytes.first().copied().unwrap_or(0),
            }),
        }
    }
}

/// The DER of a `MechTypeList` (`SEQUENCE OF OBJECT IDENTIFIER`): what the mechListMIC signs.
///
/// # Errors
/// [`SpnegoError::Encode`] when the `der` crate refuses the list: never a MIC over an
/// empty list.
pub fn mech_type_list_der(mechs: &[Mechanism]) -> Result<Vec<u8>, SpnegoError> {
    to_oids(mechs)
        .and_then(|oids| oids.to_der())
        .map_err(encode_err("MechTypeList"))
}

fn to_oids(mechs: &[Mechanism]) -> Result<Vec<ObjectIdentifier>, der::Error> {
    mechs.iter().map(|m| m.to_oid()).collect()
}

pub(super) fn oid_names(oids: &[Mechanism]) -> Vec<String> {
    oids.iter().map(Mechanism::label).collect()
}

/// A mechanism for people: `NTLM (1.3.6.1.4.1.311.2.2.10)` for one [`mech_name`] names,
/// the dotted OID otherwise ([`Mechanism::label`]).
pub fn mech_label(mech: &Mechanism) -> String {
    mech.label()
}

/// The name of a mechanism SPNEGO peers offer beside NTLM (RFC 4178 mechTypes), or `None`
/// for one this crate does not name ([`Mechanism::name`]).
///
/// ```
/// use ntlm::http::spnego::{mech_name, NTLM_OID};
/// assert_eq!(mech_name(&NTLM_OID), Some("NTLM"));
/// ```
pub fn mech_name(mech: &Mechanism) -> Option<&'static str> {
    mech.name()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_round_trip_and_framing() {
        let token = NegotiationToken::Init(NegTokenInit::ntlm(b"NTLMSSP\0\x01\0\0\0".to_vec()));
        let bytes = token.encode().unwrap();
        assert_eq!(bytes[0], 0x60);
        assert_eq!(
            &bytes[2..10],
            &[0x06, 0x06, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x02]
        );
        assert_eq!(bytes[10], 0xa0);
        assert_eq!(NegotiationToken::decode(&bytes).unwrap(), token);
    }

    #[test]
    fn resp_round_trip() {
        let token = NegotiationToken::Resp(NegTokenResp {
            neg_state: Some(NegState::AcceptIncomplete),
            supported_mech: Some(NTLM_OID),
            response_token: Some(vec![1, 2, 3]),
            mech_list_mic: Some(vec![9; 16]),
        });
        let bytes = token.encode().unwrap();
        assert_eq!(bytes[0], 0xa1);
        assert_eq!(NegotiationToken::decode(&bytes).unwrap(), token);
    }

    #[test]
    fn truncations_are_errors() {
        let bytes = NegotiationToken::Init(NegTokenInit::ntlm(vec![7; 40]))
            .encode()
            .unwrap();
        for cut in 0..bytes.len() {
            assert!(
                NegotiationToken::decode(&bytes[..cut]).is_err(),
                "cut {cut}"
            );
        }
    }

    #[test]
    fn mech_type_list() {
        assert_eq!(
            mech_type_list_der(&[NTLM_OID]).unwrap(),
            [0x30, 0x0c, 0x06, 0x0a, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0a]
        );
    }
}
