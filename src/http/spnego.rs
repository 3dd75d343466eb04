//! SPNEGO (RFC 4178, MS-SPNG) around NTLM: the tokens, and sans-IO initiator and acceptor
//! contexts that drive a [`ClientContext`] or [`ServerContext`] inside them.
//!
//! # Tokens
//!
//! The first token of the initiator is a GSS-API `InitialContextToken` (RFC 2743 §3.1):
//! `[APPLICATION 0] { thisMech 1.3.6.1.5.5.2, NegotiationToken }`; every later token is a bare
//! `NegotiationToken` (`[1] NegTokenResp`). [`NegotiationToken::decode`] accepts both forms
//! (and Microsoft's `NegTokenInit2`, whose `negHints` take tag 3 and move `mechListMIC` to
//! tag 4). The ASN.1 is done by RustCrypto's `der` crate; decoding never panics and every
//! error says which part of which token was wrong.
//!
//! # mechListMIC
//!
//! The `mechListMIC` protects the list of mechanisms against downgrade: it is the NTLM
//! signature (MS-NLMP §3.4.4, `GSS_GetMIC`) of the DER encoding of the `MechTypeList` the
//! initiator sent, made with the established context (MS-SPNG §3.1.5.1). The rules here
//! follow pyspnego (`spnego/_negotiate.py` `_step_spnego_mic`, `spnego/_ntlm.py`), which
//! interoperates with Windows:
//!
//! - Each mechListMIC is made with a *fresh* RC4 state: pyspnego resets the handle after
//!   signing or verifying it (`_reset_ntlm_crypto_state`). With extended session security each
//!   direction uses sequence number 0. Without it (one shared NTLMv1 counter) the initiator's
//!   MIC has sequence number 0 and the acceptor's has 1.
//! - The initiator sends a mechListMIC with the AUTHENTICATE when `NTLMSSP_NEGOTIATE_SIGN`
//!   was negotiated (integrity is what makes the MIC mean anything; pyspnego's initiator
//!   always asks NTLM for the MIC and signs, Windows signs when the mechanism offers
//!   integrity), or when the acceptor answered `request-mic`.
//! - The acceptor verifies a mechListMIC whenever one is sent (a wrong one refuses the
//!   logon), *requires* one when the NTLM AUTHENTICATE carried a verified MIC together with
//!   `NEGOTIATE_SIGN`, or when it sent `request-mic` (NTLM was not the initiator's first
//!   choice), and answers with its own mechListMIC whenever it received one.
//! - The initiator verifies the acceptor's final mechListMIC when it comes; a server that
//!   sends no final token (many HTTP servers send none with the 200) is not held to it.
//!
//! pyspnego derives the exported session key from `KEY_EXCH` only when `SIGN` or `SEAL`
//! was negotiated too (`spnego/_ntlm.py`); this crate's clients always ask for both, so the
//! two agree.

use core::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use der::asn1::{BitString, ObjectIdentifier, OctetString};
use der::{Any, AnyRef, Decode, Encode, Enumerated, Sequence, Tag, TagNumber, Tagged};

use crate::client::{ClientContext, ClientError};
use crate::crypto::{seal_key, sign_key, signature_ess, signature_v1, Rc4, Side};
use crate::established::Established;
use crate::server::{Authenticated, Refusal, ServerConfig, ServerContext, ServerError};
use crate::wire::NegotiateFlags as F;

/// SPNEGO, `1.3.6.1.5.5.2`.
pub const SPNEGO_OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.2");
/// NTLMSSP, `1.3.6.1.4.1.311.2.2.10`.
pub const NTLM_OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.311.2.2.10");
/// Kerberos 5, `1.2.840.113554.1.2.2` (named in errors and offered lists only).
pub const KERBEROS_OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113554.1.2.2");
/// Microsoft's legacy Kerberos OID, `1.2.840.48018.1.2.2`.
pub const MS_KERBEROS_OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.48018.1.2.2");

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
    pub mech_types: Vec<ObjectIdentifier>,
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
    pub supported_mech: Option<ObjectIdentifier>,
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
            mech_types: Some(self.mech_types.clone()),
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
            supported_mech: self.supported_mech,
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
                let mut body = SPNEGO_OID
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
                if mech != SPNEGO_OID {
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
                    mech_types: raw.mech_types.unwrap_or_default(),
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
                    supported_mech: raw.supported_mech,
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
pub fn mech_type_list_der(mechs: &[ObjectIdentifier]) -> Result<Vec<u8>, SpnegoError> {
    mechs.to_vec().to_der().map_err(encode_err("MechTypeList"))
}

/// The mechListMIC `signer` makes over `mech_types` (see the [module docs](self) for the
/// fresh RC4 state and sequence numbers).
pub fn mech_list_mic(established: &Established, signer: Side, mech_types: &[u8]) -> [u8; 16] {
    let flags = established.flags();
    let key = established.exported_session_key();
    let mut handle = Rc4::new(seal_key(flags, key, signer).as_bytes());
    // A signing key exists exactly when ESS is negotiated (MS-NLMP §3.4.5.2): the ESS
    // signature then, the NTLMv1 one otherwise. No case is left without a MIC.
    match sign_key(flags, key, signer) {
        Some(sign) => {
            let handle = flags.contains(F::NEGOTIATE_KEY_EXCH).then_some(&mut handle);
            signature_ess(&sign, handle, 0, mech_types)
        }
        None => {
            let seq = match signer {
                Side::Client => 0,
                Side::Server => 1,
            };
            signature_v1(&mut handle, seq, mech_types)
        }
    }
}

/// Checks a mechListMIC made by `signer`; without ESS the RandomPad may be zero or not.
pub fn verify_mech_list_mic(
    established: &Established,
    signer: Side,
    mech_types: &[u8],
    mic: &[u8],
) -> bool {
    use subtle::ConstantTimeEq;
    let expected = mech_list_mic(established, signer, mech_types);
    if mic.len() != 16 {
        return false;
    }
    if bool::from(expected.ct_eq(mic)) {
        return true;
    }
    // NTLMv1 without ESS: Samba leaves RC4(0) in RandomPad; compare the rest.
    !established
        .flags()
        .contains(F::NEGOTIATE_EXTENDED_SESSIONSECURITY)
        && bool::from(expected[..4].ct_eq(&mic[..4]))
        && bool::from(expected[8..].ct_eq(&mic[8..]))
}

fn oid_names(oids: &[ObjectIdentifier]) -> Vec<String> {
    oids.iter().map(mech_label).collect()
}

/// A mechanism OID for people: `NTLM (1.3.6.1.4.1.311.2.2.10)` for one [`mech_name`]
/// names, the dotted OID otherwise.
pub fn mech_label(oid: &ObjectIdentifier) -> String {
    match mech_name(oid) {
        Some(name) => format!("{name} ({oid})"),
        None => oid.to_string(),
    }
}

/// The name of a mechanism OID SPNEGO peers offer beside NTLM (RFC 4178 mechTypes), or
/// `None` for one this crate does not name.
///
/// ```
/// use ntlm::http::spnego::{mech_name, NTLM_OID};
/// assert_eq!(mech_name(&NTLM_OID), Some("NTLM"));
/// ```
pub fn mech_name(oid: &ObjectIdentifier) -> Option<&'static str> {
    match *oid {
        NTLM_OID => Some("NTLM"),
        KERBEROS_OID => Some("Kerberos"),
        MS_KERBEROS_OID => Some("MS Kerberos"),
        _ => None,
    }
}

/// Why an initiator could not go on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SpnegoClientError {
    /// The acceptor's token is not SPNEGO.
    Malformed(SpnegoError),
    /// The acceptor answered `reject`.
    Rejected,
    /// The acceptor chose a mechanism other than NTLM.
    OtherMechanism(String),
    /// The acceptor's reply carried no NTLM CHALLENGE.
    NoChallenge,
    /// The NTLM context failed on the CHALLENGE.
    Ntlm(ClientError),
    /// The acceptor's final mechListMIC does not match: the mechanism list was tampered with
    /// or the server does not hold the session key.
    BadMechListMic,
    /// The acceptor sent a token the initiator did not expect at this point.
    OutOfOrder(&'static str),
    /// The initiator's own token could not be encoded.
    Encode(SpnegoError),
}

impl fmt::Display for SpnegoClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed(e) => write!(f, "{e}"),
            Self::Rejected => f.write_str("the server rejected the SPNEGO negotiation"),
            Self::OtherMechanism(m) => write!(f, "the server chose mechanism {m}, not NTLM"),
            Self::NoChallenge => f.write_str("the server's SPNEGO reply carries no NTLM CHALLENGE"),
            Self::Ntlm(e) => write!(f, "{e}"),
            Self::BadMechListMic => f.write_str("the server's SPNEGO mechListMIC does not match"),
            Self::OutOfOrder(what) => write!(f, "unexpected SPNEGO token: {what}"),
            Self::Encode(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for SpnegoClientError {}

enum ClientState {
    Start,
    SentInit,
    SentAuthenticate { sent_mic: bool },
    Done,
}

/// The initiator: NTLM inside SPNEGO.
pub struct SpnegoClient {
    ntlm: ClientContext,
    mech_types: Vec<ObjectIdentifier>,
    state: ClientState,
    mutual: bool,
}

impl fmt::Debug for SpnegoClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SpnegoClient")
            .field("ntlm", &self.ntlm)
            .finish_non_exhaustive()
    }
}

impl SpnegoClient {
    /// Wraps a fresh NTLM client context.
    pub fn new(ntlm: ClientContext) -> Self {
        Self {
            ntlm,
            mech_types: vec![NTLM_OID],
            state: ClientState::Start,
            mutual: false,
        }
    }

    /// The first token: InitialContextToken { NegTokenInit { \[NTLM\], NEGOTIATE } }.
    pub fn initial_token(&mut self) -> Result<Vec<u8>, SpnegoClientError> {
        if !matches!(self.state, ClientState::Start) {
            return Err(SpnegoClientError::OutOfOrder("initial token asked twice"));
        }
        let negotiate = self.ntlm.negotiate().map_err(SpnegoClientError::Ntlm)?;
        self.state = ClientState::SentInit;
        let mut init = NegTokenInit::ntlm(negotiate);
        init.mech_types.clone_from(&self.mech_types);
        NegotiationToken::Init(init)
            .encode()
            .map_err(SpnegoClientError::Encode)
    }

    /// Answers the acceptor's reply to the initial token: the AUTHENTICATE in a NegTokenResp,
    /// with a mechListMIC when signing was negotiated or the acceptor asked for one.
    pub fn step(&mut self, token: &[u8], now: SystemTime) -> Result<Vec<u8>, SpnegoClientError> {
        if !matches!(self.state, ClientState::SentInit) {
            return Err(SpnegoClientError::OutOfOrder(
                "a CHALLENGE after the AUTHENTICATE",
            ));
        }
        let resp = match NegotiationToken::decode(token).map_err(SpnegoClientError::Malformed)? {
            NegotiationToken::Resp(r) => r,
            NegotiationToken::Init(_) => {
                return Err(SpnegoClientError::OutOfOrder(
                    "NegTokenInit where a NegTokenResp was expected",
                ))
            }
        };
        if resp.neg_state == Some(NegState::Reject) {
            return Err(SpnegoClientError::Rejected);
        }
        if let Some(mech) = resp.supported_mech {
            if mech != NTLM_OID {
                return Err(SpnegoClientError::OtherMechanism(mech.to_string()));
            }
        }
        let challenge = resp.response_token.ok_or(SpnegoClientError::NoChallenge)?;
        let authenticate = self
            .ntlm
            .authenticate(&challenge, now)
            .map_err(SpnegoClientError::Ntlm)?;
        let established = self
            .ntlm
            .established()
            .ok_or(SpnegoClientError::OutOfOrder("NTLM context not complete"))?;
        let send_mic = established.flags().contains(F::NEGOTIATE_SIGN)
            || resp.neg_state == Some(NegState::RequestMic);
        let mic = if send_mic {
            let mech_types =
                mech_type_list_der(&self.mech_types).map_err(SpnegoClientError::Encode)?;
            Some(mech_list_mic(established, Side::Client, &mech_types).to_vec())
        } else {
            None
        };
        let token = NegotiationToken::Resp(NegTokenResp {
            neg_state: None,
            supported_mech: None,
            response_token: Some(authenticate),
            mech_list_mic: mic,
        })
        .encode()
        .map_err(SpnegoClientError::Encode)?;
        self.state = ClientState::SentAuthenticate { sent_mic: send_mic };
        Ok(token)
    }

    /// Checks the acceptor's final token (sent with the 200, when the server sends one).
    pub fn finish(&mut self, token: &[u8]) -> Result<(), SpnegoClientError> {
        if !matches!(self.state, ClientState::SentAuthenticate { .. }) {
            return Err(SpnegoClientError::OutOfOrder(
                "a final token before the AUTHENTICATE",
            ));
        }
        let resp = match NegotiationToken::decode(token).map_err(SpnegoClientError::Malformed)? {
            NegotiationToken::Resp(r) => r,
            NegotiationToken::Init(_) => {
                return Err(SpnegoClientError::OutOfOrder(
                    "NegTokenInit as the final token",
                ))
            }
        };
        if resp.neg_state == Some(NegState::Reject) {
            return Err(SpnegoClientError::Rejected);
        }
        if let Some(mic) = resp.mech_list_mic {
            let established = self
                .ntlm
                .established()
                .ok_or(SpnegoClientError::OutOfOrder("NTLM context not complete"))?;
            let mech_types =
                mech_type_list_der(&self.mech_types).map_err(SpnegoClientError::Encode)?;
            if !verify_mech_list_mic(established, Side::Server, &mech_types, &mic) {
                return Err(SpnegoClientError::BadMechListMic);
            }
            self.mutual = true;
        }
        self.state = ClientState::Done;
        Ok(())
    }

    /// True once the acceptor's mechListMIC was verified (the server proved it holds the
    /// session key).
    pub fn server_verified(&self) -> bool {
        self.mutual
    }

    /// True when the AUTHENTICATE went out with a mechListMIC.
    pub fn sent_mech_list_mic(&self) -> bool {
        matches!(self.state, ClientState::SentAuthenticate { sent_mic: true })
    }

    /// The NTLM context inside.
    pub fn ntlm(&self) -> &ClientContext {
        &self.ntlm
    }
}

/// Why an acceptor refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SpnegoRefusal {
    /// The token is not SPNEGO.
    Malformed(SpnegoError),
    /// The initiator did not offer NTLM; what it offered.
    NtlmNotOffered {
        /// The offered mechanisms.
        offered: Vec<String>,
    },
    /// The NEGOTIATE was refused by the NTLM context.
    Negotiate(ServerError),
    /// The NTLM logon was refused.
    Ntlm(Refusal),
    /// The mechListMIC does not match.
    BadMechListMic,
    /// A mechListMIC is required (the AUTHENTICATE had a MIC, or NTLM was not the
    /// initiator's first choice) and none came.
    MissingMechListMic,
    /// A token arrived the acceptor did not expect.
    OutOfOrder(&'static str),
    /// The acceptor's own token could not be encoded.
    Encode(SpnegoError),
}

impl fmt::Display for SpnegoRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed(e) => write!(f, "{e}"),
            Self::NtlmNotOffered { offered } => {
                write!(
                    f,
                    "SPNEGO initiator did not offer NTLM (offered: {})",
                    offered.join(", ")
                )
            }
            Self::Negotiate(e) => write!(f, "{e}"),
            Self::Ntlm(r) => write!(f, "{r}"),
            Self::BadMechListMic => f.write_str("SPNEGO mechListMIC does not match"),
            Self::MissingMechListMic => f.write_str("SPNEGO mechListMIC required, none sent"),
            Self::OutOfOrder(what) => write!(f, "unexpected SPNEGO token: {what}"),
            Self::Encode(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for SpnegoRefusal {}

/// What the acceptor does next.
#[derive(Debug)]
pub enum SpnegoStep {
    /// Send this token and wait for the next one.
    Continue(Vec<u8>),
    /// Logged on; send the final token (accept-completed, with a mechListMIC when the
    /// initiator sent one).
    Done {
        /// The logon.
        logon: Box<Authenticated>,
        /// The final token.
        token: Vec<u8>,
    },
}

enum ServerState {
    Start,
    /// NTLM was not the first mechanism: waiting for the NTLM NEGOTIATE.
    WaitNegotiate,
    Challenged,
    Done,
    Failed,
}

/// The acceptor: NTLM inside SPNEGO.
pub struct SpnegoServer {
    ntlm: ServerContext,
    mech_types: Vec<u8>,
    request_mic: bool,
    state: ServerState,
}

impl fmt::Debug for SpnegoServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SpnegoServer")
            .field("ntlm", &self.ntlm)
            .finish_non_exhaustive()
    }
}

impl SpnegoServer {
    /// A fresh acceptor over `config`.
    pub fn new(config: Arc<ServerConfig>) -> Self {
        Self::with_context(ServerContext::new(config))
    }

    /// Wraps a fresh NTLM server context (e.g. one with channel bindings set).
    pub fn with_context(ntlm: ServerContext) -> Self {
        Self {
            ntlm,
            mech_types: Vec::new(),
            request_mic: false,
            state: ServerState::Start,
        }
    }

    /// Processes one initiator token.
    pub fn step(&mut self, token: &[u8], now: SystemTime) -> Result<SpnegoStep, SpnegoRefusal> {
        let result = self.step_inner(token, now);
        if result.is_err() {
            self.state = ServerState::Failed;
        }
        result
    }

    fn step_inner(&mut self, token: &[u8], now: SystemTime) -> Result<SpnegoStep, SpnegoRefusal> {
        let parsed = NegotiationToken::decode(token).map_err(SpnegoRefusal::Malformed)?;
        match (&self.state, parsed) {
            (ServerState::Start, NegotiationToken::Init(init)) => {
                if !init.mech_types.contains(&NTLM_OID) {
                    return Err(SpnegoRefusal::NtlmNotOffered {
                        offered: oid_names(&init.mech_types),
                    });
                }
                self.mech_types =
                    mech_type_list_der(&init.mech_types).map_err(SpnegoRefusal::Encode)?;
                let first_is_ntlm = init.mech_types.first() == Some(&NTLM_OID);
                self.request_mic = !first_is_ntlm;
                match init.mech_token.filter(|_| first_is_ntlm) {
                    Some(negotiate) => self.challenge(&negotiate, now, true),
                    None => {
                        self.state = ServerState::WaitNegotiate;
                        Ok(SpnegoStep::Continue(
                            NegotiationToken::Resp(NegTokenResp {
                                neg_state: Some(NegState::RequestMic),
                                supported_mech: Some(NTLM_OID),
                                ..NegTokenResp::default()
                            })
                            .encode()
                            .map_err(SpnegoRefusal::Encode)?,
                        ))
                    }
                }
            }
            (ServerState::WaitNegotiate, NegotiationToken::Resp(resp)) => {
                let negotiate = resp.response_token.ok_or(SpnegoRefusal::OutOfOrder(
                    "NegTokenResp without the NEGOTIATE",
                ))?;
                self.challenge(&negotiate, now, false)
            }
            (ServerState::Challenged, NegotiationToken::Resp(resp)) => {
                let authenticate = resp.response_token.ok_or(SpnegoRefusal::OutOfOrder(
                    "NegTokenResp without the AUTHENTICATE",
                ))?;
                let logon = self
                    .ntlm
                    .accept(&authenticate, now)
                    .map_err(SpnegoRefusal::Ntlm)?;
                let est = &logon.established;
                let signing = est.flags().contains(F::NEGOTIATE_SIGN);
                let reply_mic = match resp.mech_list_mic {
                    Some(mic) => {
                        if !verify_mech_list_mic(est, Side::Client, &self.mech_types, &mic) {
                            return Err(SpnegoRefusal::BadMechListMic);
                        }
                        Some(mech_list_mic(est, Side::Server, &self.mech_types).to_vec())
                    }
                    None if self.request_mic || (logon.mic_verified && signing) => {
                        return Err(SpnegoRefusal::MissingMechListMic)
                    }
                    None => None,
                };
                self.state = ServerState::Done;
                let token = NegotiationToken::Resp(NegTokenResp {
                    neg_state: Some(NegState::AcceptCompleted),
                    supported_mech: None,
                    response_token: None,
                    mech_list_mic: reply_mic,
                })
                .encode()
                .map_err(SpnegoRefusal::Encode)?;
                Ok(SpnegoStep::Done {
                    logon: Box::new(logon),
                    token,
                })
            }
            (ServerState::Start, NegotiationToken::Resp(_)) => Err(SpnegoRefusal::OutOfOrder(
                "NegTokenResp before any NegTokenInit",
            )),
            (_, NegotiationToken::Init(_)) => Err(SpnegoRefusal::OutOfOrder(
                "a second NegTokenInit on one context",
            )),
            (ServerState::Done, _) | (ServerState::Failed, _) => Err(SpnegoRefusal::OutOfOrder(
                "a token after the context finished",
            )),
        }
    }

    fn challenge(
        &mut self,
        negotiate: &[u8],
        now: SystemTime,
        first_reply: bool,
    ) -> Result<SpnegoStep, SpnegoRefusal> {
        let challenge = self
            .ntlm
            .challenge(negotiate, now)
            .map_err(SpnegoRefusal::Negotiate)?;
        self.state = ServerState::Challenged;
        Ok(SpnegoStep::Continue(
            NegotiationToken::Resp(NegTokenResp {
                neg_state: Some(NegState::AcceptIncomplete),
                supported_mech: first_reply.then_some(NTLM_OID),
                response_token: Some(challenge),
                mech_list_mic: None,
            })
            .encode()
            .map_err(SpnegoRefusal::Encode)?,
        ))
    }
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
