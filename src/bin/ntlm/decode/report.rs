//! The report of one decoded token, built once and rendered twice: as text
//! ([`super::text`]) and as JSON (serde; the keys and their order are those of `HELP`).

use std::fmt::Write as _;

use ntlm::classify::{classify, NtKind};
use ntlm::explain::{acceptance_by_level_for, describe_lm, describe_nt, LevelVerdict};
use ntlm::filetime;
use ntlm::http::spnego::{Mechanism, NegState, NegotiationToken};
use ntlm::policy::ServerPreset;
use ntlm::wire::{
    self, AuthenticateMessage, AvFlags, AvId, AvPair, ChallengeMessage, NegotiateFlags,
    NegotiateMessage, NtlmV2Response, SingleHostData, TargetInfo, Version, WireString,
};
use serde::Serialize;

use super::Token;

/// One token: its SPNEGO layer, if any, then the NTLM message, if any.
#[derive(Debug, Serialize)]
pub struct Report {
    /// The SPNEGO token around the NTLM message; `null` for a raw NTLM token.
    pub spnego: Option<Spnego>,
    /// `NEGOTIATE`, `CHALLENGE` or `AUTHENTICATE`; `null` for SPNEGO without NTLM.
    pub message: Option<&'static str>,
    /// The rest of the NTLM message's report.
    #[serde(flatten)]
    pub ntlm: Option<Message>,
}

/// An error report: `{"error": ...}`.
#[derive(Debug, Serialize)]
pub struct Failure<'a> {
    /// What failed, with the field and offset.
    pub error: &'a str,
}

/// An SPNEGO token (RFC 4178 §4.2).
#[derive(Debug, Serialize)]
#[serde(tag = "token")]
pub enum Spnego {
    /// A NegTokenInit.
    NegTokenInit {
        /// The offered mechanisms.
        mech_types: Vec<Mech>,
        /// reqFlags, hex.
        req_flags: Option<String>,
        /// The mechToken's length.
        mech_token_length: Option<usize>,
        /// Whether a mechListMIC is present.
        mech_list_mic_present: bool,
        /// The mechListMIC, hex.
        mech_list_mic: Option<String>,
    },
    /// A NegTokenResp.
    NegTokenResp {
        /// negState's RFC 4178 name.
        neg_state: Option<&'static str>,
        /// negState's number.
        #[serde(skip)]
        neg_state_code: Option<u32>,
        /// The selected mechanism.
        supported_mech: Option<Mech>,
        /// The responseToken's length.
        response_token_length: Option<usize>,
        /// Whether a mechListMIC is present.
        mech_list_mic_present: bool,
        /// The mechListMIC, hex.
        mech_list_mic: Option<String>,
    },
}

/// A mechanism OID and its name, when the crate knows it.
#[derive(Debug, Serialize)]
pub struct Mech {
    /// Dotted OID.
    pub oid: String,
    /// `NTLM`, `Kerberos`, `MS Kerberos` or `null`.
    pub name: Option<&'static str>,
    /// `NTLM (1.3.6.1.4.1.311.2.2.10)` or the bare OID.
    #[serde(skip)]
    pub label: String,
}

/// The fields every NTLM message has, then its own.
#[derive(Debug, Serialize)]
pub struct Message {
    /// 1, 2 or 3.
    pub message_type: u32,
    /// Bytes.
    pub length: usize,
    /// NegotiateFlags.
    pub flags: Flags,
    /// VERSION, if present.
    pub version: Option<VersionReport>,
    /// The message's own fields.
    #[serde(flatten)]
    pub body: Body,
}

/// NegotiateFlags (MS-NLMP §2.2.2.5).
#[derive(Debug, Serialize)]
pub struct Flags {
    /// `0x........`.
    pub value: String,
    /// The names of the set flags, unknown bits as hex.
    pub names: Vec<&'static str>,
}

/// VERSION (MS-NLMP §2.2.2.10).
#[derive(Debug, Serialize)]
pub struct VersionReport {
    /// ProductMajorVersion.
    pub major: u8,
    /// ProductMinorVersion.
    pub minor: u8,
    /// ProductBuild.
    pub build: u16,
    /// NTLMRevisionCurrent.
    pub revision: u8,
}

/// The fields of one message kind.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Body {
    /// NEGOTIATE (MS-NLMP §2.2.1.1): its OEM strings.
    Negotiate {
        /// DomainName.
        domain_name: String,
        /// Workstation.
        workstation: String,
    },
    /// CHALLENGE (MS-NLMP §2.2.1.2).
    Challenge {
        /// TargetName.
        target_name: String,
        /// ServerChallenge, hex.
        server_challenge: String,
        /// TargetInfo's AV pairs, if present.
        target_info: Option<Vec<Av>>,
    },
    /// AUTHENTICATE (MS-NLMP §2.2.1.3).
    Authenticate(Box<Authenticate>),
}

/// An AUTHENTICATE's fields, response kinds and the server levels that accept them.
#[derive(Debug, Serialize)]
pub struct Authenticate {
    /// 52, 64, 72, 80 or 88.
    pub header_length: usize,
    /// Which MS-NLMP layout.
    pub layout: &'static str,
    /// How the strings were read.
    pub strings: &'static str,
    /// DomainName.
    pub domain_name: String,
    /// UserName.
    pub user_name: String,
    /// Workstation.
    pub workstation: String,
    /// LmChallengeResponse.
    pub lm_response: Response,
    /// NtChallengeResponse.
    pub nt_response: Response,
    /// The NTLMv2 response's fields (MS-NLMP §2.2.2.8), for an NTLMv2 NtChallengeResponse.
    pub ntlmv2: Option<NtlmV2>,
    /// EncryptedRandomSessionKey, hex, if not empty.
    pub encrypted_random_session_key: Option<String>,
    /// Whether the header has a MIC.
    pub mic_present: bool,
    /// The MIC, hex.
    pub mic: Option<String>,
    /// An anonymous logon (MS-NLMP §3.2.5.1.2).
    pub anonymous: bool,
    /// Which server levels accept the response kinds.
    pub acceptance: Acceptance,
}

/// A challenge response.
#[derive(Debug, Serialize)]
pub struct Response {
    /// Bytes.
    pub length: usize,
    /// Its kind, as [`ntlm::classify`] names it.
    pub kind: String,
    /// What that kind is.
    pub description: &'static str,
    /// The bytes, hex.
    pub hex: String,
}

/// An NTLMv2 response's fields.
#[derive(Debug, Serialize)]
pub struct NtlmV2 {
    /// NTProofStr, hex.
    pub nt_proof_str: String,
    /// TimeStamp, ISO 8601 UTC.
    pub timestamp: String,
    /// ChallengeFromClient, hex.
    pub client_challenge: String,
    /// The AV pairs.
    pub av_pairs: Vec<Av>,
}

/// One AV pair (MS-NLMP §2.2.2.1).
#[derive(Debug, Serialize)]
pub struct Av {
    /// AvId.
    pub id: u16,
    /// Its MS-NLMP name, or `AvId N`.
    pub name: String,
    /// The value: a name, ISO 8601 for MsvAvTimestamp, else hex.
    pub value: String,
    /// MsvAvFlags' names.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flags: Option<Vec<String>>,
    /// A name (shown quoted in text).
    #[serde(skip)]
    pub is_name: bool,
}

/// The verdicts of server levels 0 to 5 under each preset.
#[derive(Debug, Serialize)]
pub struct Acceptance {
    /// The domain-controller preset.
    pub domain_controller: Vec<Verdict>,
    /// The symmetric preset.
    pub symmetric: Vec<Verdict>,
}

/// One server level's verdict on the response kinds.
#[derive(Debug, Serialize)]
pub struct Verdict {
    /// 0 to 5.
    pub level: u8,
    /// Whether that level accepts.
    pub accepted: bool,
    /// Why.
    pub reason: String,
}

impl Report {
    /// The report of `token`; an error names the field and offset (within the SPNEGO field
    /// that carried the NTLM message, if any).
    pub fn build(token: &Token) -> Result<Self, String> {
        let spnego = match token {
            Token::Spnego(t) => Some(t),
            Token::Ntlm(_) => None,
        };
        let ntlm = match token.ntlm() {
            Some(bytes) => Some(Message::build(bytes).map_err(|e| match spnego {
                Some(t) => format!("SPNEGO {}: {e}", inner_field(t)),
                None => e,
            })?),
            None => None,
        };
        Ok(Self {
            spnego: spnego.map(Spnego::build),
            message: ntlm.as_ref().map(|m| type_name(m.message_type)),
            ntlm,
        })
    }
}

/// The SPNEGO field that carries the NTLM message.
fn inner_field(token: &NegotiationToken) -> &'static str {
    match token {
        NegotiationToken::Init(_) => "NegTokenInit mechToken",
        NegotiationToken::Resp(_) => "NegTokenResp responseToken",
    }
}

/// The name of a message type.
pub fn type_name(kind: u32) -> &'static str {
    match kind {
        1 => "NEGOTIATE",
        2 => "CHALLENGE",
        _ => "AUTHENTICATE",
    }
}

impl Spnego {
    fn build(token: &NegotiationToken) -> Self {
        match token {
            NegotiationToken::Init(init) => Self::NegTokenInit {
                mech_types: init.mech_types.iter().map(Mech::new).collect(),
                req_flags: init.req_flags.as_deref().map(hex),
                mech_token_length: init.mech_token.as_ref().map(Vec::len),
                mech_list_mic_present: init.mech_list_mic.is_some(),
                mech_list_mic: init.mech_list_mic.as_deref().map(hex),
            },
            NegotiationToken::Resp(resp) => Self::NegTokenResp {
                neg_state: resp.neg_state.map(neg_state_name),
                neg_state_code: resp.neg_state.map(|s| s as u32),
                supported_mech: resp.supported_mech.as_ref().map(Mech::new),
                response_token_length: resp.response_token.as_ref().map(Vec::len),
                mech_list_mic_present: resp.mech_list_mic.is_some(),
                mech_list_mic: resp.mech_list_mic.as_deref().map(hex),
            },
        }
    }
}

impl Mech {
    /// The report of a mechanism OID.
    pub fn new(mech: &Mechanism) -> Self {
        Self {
            oid: mech.to_string(),
            name: mech.name(),
            label: mech.label(),
        }
    }
}

/// RFC 4178 §4.2.2 name of a negState.
pub fn neg_state_name(state: NegState) -> &'static str {
    match state {
        NegState::AcceptCompleted => "accept-completed",
        NegState::AcceptIncomplete => "accept-incomplete",
        NegState::Reject => "reject",
        NegState::RequestMic => "request-mic",
    }
}

impl Message {
    /// The report of one NTLM message.
    pub fn build(bytes: &[u8]) -> Result<Self, String> {
        let kind = wire::message_type(bytes).map_err(|e| e.to_string())?;
        let (flags, version, body) = match kind {
            1 => {
                let m = NegotiateMessage::decode(bytes).map_err(|e| e.to_string())?;
                let body = Body::Negotiate {
                    domain_name: WireString::Oem(m.domain_name).to_string_lossy(),
                    workstation: WireString::Oem(m.workstation).to_string_lossy(),
                };
                (m.flags, m.version, body)
            }
            2 => {
                let m = ChallengeMessage::decode(bytes).map_err(|e| e.to_string())?;
                let body = Body::Challenge {
                    target_name: m.target_name.to_string_lossy(),
                    server_challenge: hex(&m.server_challenge),
                    target_info: m.target_info.as_ref().map(av_pairs),
                };
                (m.flags, m.version, body)
            }
            _ => {
                let (m, strings) = decode_authenticate(bytes)?;
                let body = Body::Authenticate(Box::new(Authenticate::build(&m, strings, bytes)?));
                (m.flags, m.version, body)
            }
        };
        Ok(Self {
            message_type: kind,
            length: bytes.len(),
            flags: Flags {
                value: format!("0x{:08x}", flags.bits()),
                names: flag_names(flags),
            },
            version: version.map(|v: Version| VersionReport {
                major: v.major,
                minor: v.minor,
                build: v.build,
                revision: v.revision,
            }),
            body,
        })
    }
}

impl Authenticate {
    fn build(
        m: &AuthenticateMessage<'_>,
        strings: &'static str,
        bytes: &[u8],
    ) -> Result<Self, String> {
        let kinds = classify(m);
        let response = |b: &[u8], kind: String, description: &'static str| Response {
            length: b.len(),
            kind,
            description,
            hex: hex(b),
        };
        let ntlmv2 = if kinds.nt == NtKind::NtlmV2 {
            let v2 = ntlmv2(bytes, m.nt_challenge_response)?;
            Some(NtlmV2 {
                nt_proof_str: hex(&v2.nt_proof_str),
                timestamp: filetime_iso(v2.timestamp),
                client_challenge: hex(&v2.client_challenge),
                av_pairs: av_pairs(&v2.av_pairs),
            })
        } else {
            None
        };
        let verdicts = |preset| {
            acceptance_by_level_for(preset, &kinds)
                .iter()
                .map(Verdict::new)
                .collect()
        };
        let key = m.encrypted_random_session_key;
        Ok(Self {
            header_length: m.header_len(),
            layout: layout_name(m.header_len()),
            strings,
            domain_name: m.domain_name.to_string_lossy(),
            user_name: m.user_name.to_string_lossy(),
            workstation: m.workstation.to_string_lossy(),
            lm_response: response(
                m.lm_challenge_response,
                kinds.lm.to_string(),
                describe_lm(kinds.lm),
            ),
            nt_response: response(
                m.nt_challenge_response,
                kinds.nt.to_string(),
                describe_nt(kinds.nt),
            ),
            ntlmv2,
            encrypted_random_session_key: (!key.is_empty()).then(|| hex(key)),
            mic_present: m.mic.is_some(),
            mic: m.mic.map(|mic| hex(&mic)),
            anonymous: kinds.anonymous,
            acceptance: Acceptance {
                domain_controller: verdicts(ServerPreset::DomainController),
                symmetric: verdicts(ServerPreset::Symmetric),
            },
        })
    }
}

impl Verdict {
    fn new(v: &LevelVerdict) -> Self {
        Self {
            level: v.level.get(),
            accepted: v.accepted(),
            reason: v.reason(),
        }
    }
}

/// An AUTHENTICATE and how its strings were read: as its flags say, or, when that fails on
/// an odd UTF-16 length, as OEM (what a server that negotiated OEM reads: GNU wget claims
/// UNICODE and sends OEM).
fn decode_authenticate(bytes: &[u8]) -> Result<(AuthenticateMessage<'_>, &'static str), String> {
    match AuthenticateMessage::decode(bytes) {
        Ok(m) if m.domain_name.is_unicode() => Ok((m, "UTF-16LE")),
        Ok(m) => Ok((m, "OEM")),
        Err(e) if matches!(e.kind, ntlm::DecodeErrorKind::OddUtf16Length { .. }) => {
            match AuthenticateMessage::decode_as(bytes, false) {
                Ok(m) => Ok((m, "OEM, although UNICODE is claimed")),
                Err(_) => Err(e.to_string()),
            }
        }
        Err(e) => Err(e.to_string()),
    }
}

/// The name of an AUTHENTICATE's layout (MS-NLMP §2.2.1.3).
fn layout_name(header_len: usize) -> &'static str {
    match header_len {
        52 => "MS-NLMP's earlier 52-byte header: no EncryptedRandomSessionKey, NegotiateFlags, VERSION or MIC (a server uses the CHALLENGE's flags)",
        64 => "64-byte header: no VERSION, no MIC",
        72 => "72-byte header: VERSION, no MIC",
        80 => "80-byte header: MIC at 64, no VERSION",
        _ => "88-byte header: VERSION and MIC",
    }
}

/// The NTLMv2 response `nt` of the AUTHENTICATE `message`; an error's offset counts from
/// the start of the message, like every other decode error.
fn ntlmv2<'a>(message: &[u8], nt: &'a [u8]) -> Result<NtlmV2Response<'a>, String> {
    NtlmV2Response::decode(nt).map_err(|mut e| {
        // NtChallengeResponseFields.BufferOffset (MS-NLMP §2.2.1.3), already checked by
        // AuthenticateMessage::decode; the codec's offsets count from the response start.
        let base = message
            .get(24..28)
            .and_then(|b| <[u8; 4]>::try_from(b).ok())
            .map_or(0, u32::from_le_bytes);
        let base = usize::try_from(base).unwrap_or(usize::MAX);
        e.offset = e.offset.saturating_add(base);
        format!("NtChallengeResponse (NTLMv2 response at offset {base}): {e}")
    })
}

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// A FILETIME (MS-NLMP §2.2.2.1 MsvAvTimestamp, §2.2.2.7 TimeStamp) as ISO 8601 UTC by the
/// crate's formatter, e.g. `2023-11-14T22:13:20Z`, with the 100-nanosecond remainder as a
/// fraction when there is one (`...:20.1234567Z`).
pub fn filetime_iso(ft: u64) -> String {
    let mut out = filetime::iso8601(filetime::to_system_time(ft));
    let frac = ft % 10_000_000;
    if frac != 0 && out.ends_with('Z') {
        out.pop();
        let digits = format!("{frac:07}");
        out.push('.');
        out.push_str(digits.trim_end_matches('0'));
        out.push('Z');
    }
    out
}

fn flag_names(flags: NegotiateFlags) -> Vec<&'static str> {
    flags.names().collect()
}

fn av_flag_names(flags: AvFlags) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = flags.bits();
    for (bit, name) in [
        (AvFlags::CONSTRAINED, "CONSTRAINED"),
        (AvFlags::MIC_PRESENT, "MIC_PRESENT"),
        (AvFlags::UNTRUSTED_SPN_SOURCE, "UNTRUSTED_SPN_SOURCE"),
    ] {
        if flags.contains(bit) {
            names.push(name.to_string());
            rest &= !bit.bits();
        }
    }
    if rest != 0 {
        names.push(format!("0x{rest:08x}"));
    }
    names
}

fn av_pairs(list: &TargetInfo<'_>) -> Vec<Av> {
    list.iter().map(|p| Av::new(&p)).collect()
}

impl Av {
    /// The report of one AV pair (MS-NLMP §2.2.2.1).
    pub fn new(pair: &AvPair<'_>) -> Self {
        let id = pair.id();
        let name =
            AvId::from_u16(id).map_or_else(|| format!("AvId {id}"), |a| a.name().to_string());
        let (value, flags, is_name) = match pair {
            AvPair::NbComputerName(s)
            | AvPair::NbDomainName(s)
            | AvPair::DnsComputerName(s)
            | AvPair::DnsDomainName(s)
            | AvPair::DnsTreeName(s)
            | AvPair::TargetName(s) => (s.to_string_lossy(), None, true),
            AvPair::Flags(f) => (
                format!("0x{:08x}", f.bits()),
                Some(av_flag_names(*f)),
                false,
            ),
            AvPair::Timestamp(t) => (filetime_iso(*t), None, false),
            AvPair::SingleHost(v) => (single_host(v), None, false),
            AvPair::Unknown { value: v, .. } => (hex(v), None, false),
            AvPair::ChannelBindings(c) => (hex(c), None, false),
        };
        Self {
            id,
            name,
            value,
            flags,
            is_name,
        }
    }
}

/// MsvAvSingleHost by field (MS-NLMP §2.2.2.2), or its hex and why it does not decode.
fn single_host(v: &[u8]) -> String {
    match SingleHostData::decode(v) {
        Ok(d) => format!(
            "Size {}, CustomData {}, MachineID {}{}",
            d.size,
            hex(&d.custom_data),
            hex(&d.machine_id),
            if d.rest.is_empty() {
                String::new()
            } else {
                format!(", then {}", hex(d.rest))
            }
        ),
        Err(e) => format!("{} ({e})", hex(v)),
    }
}
