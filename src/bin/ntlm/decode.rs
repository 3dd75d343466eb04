//! `ntlm decode`: every field of an NTLM message (MS-NLMP §2.2), the response kinds of an
//! AUTHENTICATE (§3.3) and which server levels would accept them ([`ntlm::explain`]).

use std::fmt::Write as _;
use std::io;
use std::process::ExitCode;

use der::asn1::ObjectIdentifier;
use ntlm::classify::classify;
use ntlm::classify::NtKind;
use ntlm::explain::{acceptance_by_level_for, describe_lm, describe_nt, LevelVerdict};
use ntlm::http::spnego::{
    mech_label, mech_name, NegState, NegTokenInit, NegTokenResp, NegotiationToken,
};
use ntlm::policy::ServerPreset;
use ntlm::wire::{
    self, AuthenticateMessage, AvFlags, AvId, AvPair, ChallengeMessage, NegotiateFlags,
    NegotiateMessage, NtlmV2Response, SingleHostData, TargetInfo, Version, WireString,
};

use crate::json::Value;
use ntlm::helper::{base64_decode, read_line, Line};

pub const HELP: &str = "\
ntlm decode: print every field of an NTLM token

usage: ntlm decode [--json] [TOKEN]
       ... | ntlm decode [--json]          (one token per stdin line)

TOKEN is base64, or a header line: `Authorization: NTLM <b64>`,
`Proxy-Authorization: Negotiate <b64>`, `WWW-Authenticate: NTLM <b64>`, `NTLM <b64>`.
SPNEGO tokens (NegTokenInit, NegTokenResp) print an `SPNEGO:` section, then the NTLM
token inside, if any. A token that does not decode prints the field and byte offset at
fault (offsets count from the start of the NTLM message); exit code 1 when any token
failed.

--json prints one JSON object per token, keys in this order:
  spnego         null (a raw NTLM token) | spnego
  message        \"NEGOTIATE\" | \"CHALLENGE\" | \"AUTHENTICATE\" | null (SPNEGO without an
                 NTLM token: no further keys)
  message_type   1 | 2 | 3
  length         bytes
  flags          {\"value\": \"0x........\", \"names\": [\"UNICODE\", ...]}
  version        null | {\"major\", \"minor\", \"build\", \"revision\"}
NEGOTIATE:    domain_name, workstation (strings)
CHALLENGE:    target_name (string), server_challenge (hex),
              target_info: null | [av_pair]
AUTHENTICATE: header_length (52, 64, 72, 80 or 88), layout (string: which MS-NLMP layout),
              strings (\"UTF-16LE\" | \"OEM\" | \"OEM, although UNICODE is claimed\"),
              domain_name, user_name, workstation (strings),
              lm_response, nt_response: {\"length\", \"kind\", \"description\", \"hex\"},
              ntlmv2: null | {\"nt_proof_str\" (hex), \"timestamp\" (ISO-8601 UTC),
                              \"client_challenge\" (hex), \"av_pairs\": [av_pair]},
              encrypted_random_session_key: null | hex, mic_present (bool), mic: null | hex,
              anonymous (bool),
              acceptance: {\"domain_controller\": [verdict x6], \"symmetric\": [verdict x6]}
av_pair:  {\"id\", \"name\", \"value\"} (+ \"flags\": [names] for MsvAvFlags); MsvAvTimestamp's
          value is ISO-8601 UTC, names are strings, other values hex
verdict:  {\"level\": 0..5, \"accepted\": bool, \"reason\": string} (response kinds only: the
          password, MIC and timestamp are checked by the server later)
spnego:   {\"token\": \"NegTokenInit\", \"mech_types\": [mech], \"req_flags\": null | hex,
           \"mech_token_length\": null | bytes, \"mech_list_mic_present\": bool,
           \"mech_list_mic\": null | hex}
        | {\"token\": \"NegTokenResp\", \"neg_state\": null | \"accept-completed\" |
           \"accept-incomplete\" | \"reject\" | \"request-mic\", \"supported_mech\": null | mech,
           \"response_token_length\": null | bytes, \"mech_list_mic_present\": bool,
           \"mech_list_mic\": null | hex}
mech:     {\"oid\": dotted string, \"name\": \"NTLM\" | \"Kerberos\" | \"MS Kerberos\" | null}
A token that fails: {\"error\": string}.
";

/// Runs `decode`.
pub fn main(args: &[String]) -> ExitCode {
    let parsed = match crate::args::parse(args, &[], &["json"]) {
        Ok(p) => p,
        Err(e) => return crate::usage_error("decode", &e),
    };
    if parsed.flag("help") {
        print!("{HELP}");
        return ExitCode::SUCCESS;
    }
    let json = parsed.flag("json");
    let mut failed = false;
    match parsed.positional.as_slice() {
        [] => {
            let mut stdin = io::stdin().lock();
            let mut buf = Vec::new();
            loop {
                let line = match read_line(&mut stdin, &mut buf) {
                    Ok(Some(Line::Text(t))) => String::from_utf8_lossy(&t).into_owned(),
                    Ok(Some(_)) => {
                        failed |= !report(Err("input line too long".into()), json);
                        continue;
                    }
                    Ok(None) => break,
                    Err(e) => {
                        eprintln!("ntlm decode: reading stdin: {e}");
                        return ExitCode::FAILURE;
                    }
                };
                if line.trim().is_empty() {
                    continue;
                }
                failed |= !report(decode_text(&line, json), json);
            }
        }
        tokens => {
            for token in tokens {
                failed |= !report(decode_text(token, json), json);
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// Prints one result; false when it is an error.
fn report(result: Result<String, String>, json: bool) -> bool {
    match result {
        Ok(text) => {
            println!("{text}");
            true
        }
        Err(e) => {
            if json {
                println!(
                    "{}",
                    Value::Obj(vec![("error", e.clone().into())]).to_json()
                );
            }
            eprintln!("ntlm decode: {e}");
            false
        }
    }
}

/// Decodes one token given as text, into the text or JSON report.
pub fn decode_text(input: &str, json: bool) -> Result<String, String> {
    let token = parse_token(input)?;
    let spnego = match &token {
        Token::Spnego(t) => Some(t),
        Token::Ntlm(_) => None,
    };
    // Errors inside an SPNEGO token name the field that carried the NTLM message.
    let inner = |e: String| match spnego {
        Some(t) => format!("SPNEGO {}: {e}", inner_field(t)),
        None => e,
    };
    if json {
        let mut fields = vec![("spnego", spnego.map_or(Value::Null, spnego_json))];
        match token.ntlm() {
            Some(bytes) => fields.extend(describe_json(bytes).map_err(inner)?),
            None => fields.push(("message", Value::Null)),
        }
        Ok(Value::Obj(fields).to_json())
    } else {
        let mut out = spnego.map(spnego_text).unwrap_or_default();
        match token.ntlm() {
            Some(bytes) => out.push_str(&describe_text(bytes).map_err(inner)?),
            None => trim_newline(&mut out),
        }
        Ok(out)
    }
}

/// A token as given: a raw NTLM message, or an SPNEGO token (RFC 4178) around one.
#[derive(Debug)]
pub enum Token {
    /// An NTLM message.
    Ntlm(Vec<u8>),
    /// A NegTokenInit (GSS-API framed or not) or NegTokenResp, decoded by the crate's codec.
    Spnego(NegotiationToken),
}

impl Token {
    /// The NTLM message: the whole raw token, or the SPNEGO token's mechToken or
    /// responseToken (none in, e.g., a final NegTokenResp carrying only the mechListMIC).
    pub fn ntlm(&self) -> Option<&[u8]> {
        match self {
            Self::Ntlm(bytes) => Some(bytes),
            Self::Spnego(NegotiationToken::Init(init)) => init.mech_token.as_deref(),
            Self::Spnego(NegotiationToken::Resp(resp)) => resp.response_token.as_deref(),
        }
    }
}

/// The token of `input`: header forms stripped, base64 decoded, SPNEGO decoded.
pub fn parse_token(input: &str) -> Result<Token, String> {
    let b64 = extract_base64(input)?;
    let bytes = base64_decode(b64.as_bytes()).map_err(|e| e.to_string())?;
    match bytes.first() {
        Some(0x60 | 0xa0 | 0xa1) => NegotiationToken::decode(&bytes)
            .map(Token::Spnego)
            .map_err(|e| format!("SPNEGO: {e}")),
        Some(_) => Ok(Token::Ntlm(bytes)),
        None => Err("empty token".into()),
    }
}

/// The SPNEGO field that carries the NTLM message.
fn inner_field(token: &NegotiationToken) -> &'static str {
    match token {
        NegotiationToken::Init(_) => "NegTokenInit mechToken",
        NegotiationToken::Resp(_) => "NegTokenResp responseToken",
    }
}

/// The base64 part of `Header: Scheme b64`, `Scheme b64` or `b64`.
fn extract_base64(input: &str) -> Result<&str, String> {
    let mut s = input.trim();
    if let Some((name, rest)) = s.split_once(':') {
        if !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            s = rest.trim();
        }
    }
    let words: Vec<&str> = s.split_whitespace().collect();
    match words.as_slice() {
        [] => Err("empty input".into()),
        [scheme] if is_scheme(scheme) => Err(format!("{scheme} without a token")),
        [token] => Ok(token),
        [scheme, token] if is_scheme(scheme) => Ok(token),
        [scheme, ..] if is_scheme(scheme) => Err(format!("more than one token after {scheme}")),
        _ => Err("expected a base64 token or a header `NTLM <base64>`".into()),
    }
}

fn is_scheme(word: &str) -> bool {
    word.eq_ignore_ascii_case("NTLM") || word.eq_ignore_ascii_case("Negotiate")
}

// ---------------------------------------------------------------- shared formatting

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// A FILETIME (MS-NLMP §2.2.2.1 MsvAvTimestamp) as ISO-8601 UTC, e.g.
/// `2023-11-14T22:13:20Z`, with a fraction when it has one.
pub fn filetime_iso(ft: u64) -> String {
    const EPOCH_DIFF: i64 = 11_644_473_600;
    let secs = i64::try_from(ft / 10_000_000).unwrap_or(i64::MAX) - EPOCH_DIFF;
    let frac = ft % 10_000_000;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let mut out = format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    );
    if frac != 0 {
        let digits = format!("{frac:07}");
        out.push('.');
        out.push_str(digits.trim_end_matches('0'));
    }
    out.push('Z');
    out
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (
        y,
        u32::try_from(m).unwrap_or(0),
        u32::try_from(d).unwrap_or(0),
    )
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

fn version_text(v: &Version) -> String {
    format!(
        "{}.{}.{}, NTLM revision {}",
        v.major, v.minor, v.build, v.revision
    )
}

fn version_json(v: Option<Version>) -> Value {
    match v {
        None => Value::Null,
        Some(v) => Value::Obj(vec![
            ("major", u64::from(v.major).into()),
            ("minor", u64::from(v.minor).into()),
            ("build", u64::from(v.build).into()),
            ("revision", u64::from(v.revision).into()),
        ]),
    }
}

fn flags_json(flags: NegotiateFlags) -> Value {
    Value::Obj(vec![
        ("value", format!("0x{:08x}", flags.bits()).into()),
        (
            "names",
            Value::Arr(flag_names(flags).into_iter().map(Value::from).collect()),
        ),
    ])
}

fn wire_text(s: &WireString<'_>) -> String {
    s.to_string_lossy()
}

/// (name, rendered value, MsvAvFlags names) of an AV pair (MS-NLMP §2.2.2.1).
fn av_pair(pair: &AvPair<'_>) -> (String, String, Option<Vec<String>>) {
    let id = pair.id();
    let name = AvId::from_u16(id).map_or_else(|| format!("AvId {id}"), |a| a.name().to_string());
    let (value, flags) = match pair {
        AvPair::NbComputerName(s)
        | AvPair::NbDomainName(s)
        | AvPair::DnsComputerName(s)
        | AvPair::DnsDomainName(s)
        | AvPair::DnsTreeName(s)
        | AvPair::TargetName(s) => (s.to_string_lossy(), None),
        AvPair::Flags(f) => (format!("0x{:08x}", f.bits()), Some(av_flag_names(*f))),
        AvPair::Timestamp(t) => (filetime_iso(*t), None),
        AvPair::SingleHost(v) => match SingleHostData::decode(v) {
            Ok(d) => (
                format!(
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
                None,
            ),
            Err(e) => (format!("{} ({e})", hex(v)), None),
        },
        AvPair::Unknown { value: v, .. } => (hex(v), None),
        AvPair::ChannelBindings(c) => (hex(c), None),
    };
    (name, value, flags)
}

fn av_pairs_json(list: &TargetInfo<'_>) -> Value {
    Value::Arr(
        list.iter()
            .map(|p| {
                let (name, value, flags) = av_pair(&p);
                let mut fields = vec![
                    ("id", u64::from(p.id()).into()),
                    ("name", name.into()),
                    ("value", value.into()),
                ];
                if let Some(flags) = flags {
                    fields.push((
                        "flags",
                        Value::Arr(flags.into_iter().map(Value::from).collect()),
                    ));
                }
                Value::Obj(fields)
            })
            .collect(),
    )
}

fn av_pairs_text(out: &mut String, indent: &str, list: &TargetInfo<'_>) {
    let mut any = false;
    for p in list.iter() {
        any = true;
        let (name, value, flags) = av_pair(&p);
        let quoted = match p {
            AvPair::NbComputerName(_)
            | AvPair::NbDomainName(_)
            | AvPair::DnsComputerName(_)
            | AvPair::DnsDomainName(_)
            | AvPair::DnsTreeName(_)
            | AvPair::TargetName(_) => format!("{value:?}"),
            _ => value,
        };
        match flags {
            Some(f) => {
                let _ = writeln!(out, "{indent}{name}: {quoted} {}", f.join(" "));
            }
            None => {
                let _ = writeln!(out, "{indent}{name}: {quoted}");
            }
        }
    }
    if !any {
        let _ = writeln!(out, "{indent}(none)");
    }
}

fn header_text(out: &mut String, name: &str, kind: u32, len: usize, flags: NegotiateFlags) {
    let _ = writeln!(out, "{name} (MessageType {kind}), {len} bytes");
    let _ = writeln!(
        out,
        "  NegotiateFlags: 0x{:08x} {}",
        flags.bits(),
        flag_names(flags).join(" ")
    );
}

fn version_line(out: &mut String, version: Option<Version>) {
    match version {
        Some(v) => {
            let _ = writeln!(out, "  Version: {}", version_text(&v));
        }
        None => {
            let _ = writeln!(out, "  Version: (none)");
        }
    }
}

fn type_name(kind: u32) -> &'static str {
    match kind {
        1 => "NEGOTIATE",
        2 => "CHALLENGE",
        _ => "AUTHENTICATE",
    }
}

// ---------------------------------------------------------------- SPNEGO

fn mech_json(oid: &ObjectIdentifier) -> Value {
    Value::Obj(vec![
        ("oid", oid.to_string().into()),
        ("name", mech_name(oid).into()),
    ])
}

/// RFC 4178 §4.2.2 name of a negState.
fn neg_state_name(state: NegState) -> &'static str {
    match state {
        NegState::AcceptCompleted => "accept-completed",
        NegState::AcceptIncomplete => "accept-incomplete",
        NegState::Reject => "reject",
        NegState::RequestMic => "request-mic",
    }
}

/// `N bytes, the NTLM message below` or `(none)`.
fn inner_text(token: Option<&[u8]>) -> String {
    token.map_or_else(
        || "(none)".to_string(),
        |t| format!("{} bytes, the NTLM message below", t.len()),
    )
}

fn mic_text(mic: Option<&[u8]>) -> String {
    mic.map_or_else(|| "absent".to_string(), |m| format!("present, {}", hex(m)))
}

/// The `SPNEGO:` section printed before the NTLM message of an SPNEGO token.
fn spnego_text(token: &NegotiationToken) -> String {
    let mut out = String::new();
    match token {
        NegotiationToken::Init(NegTokenInit {
            mech_types,
            req_flags,
            mech_token,
            mech_list_mic,
        }) => {
            let mechs: Vec<String> = mech_types.iter().map(mech_label).collect();
            let _ = writeln!(out, "SPNEGO: NegTokenInit");
            let _ = writeln!(out, "  mechTypes: {}", mechs.join(", "));
            let flags = req_flags.as_deref().map_or_else(|| "(none)".into(), hex);
            let _ = writeln!(out, "  reqFlags: {flags}");
            let _ = writeln!(out, "  mechToken: {}", inner_text(mech_token.as_deref()));
            let _ = writeln!(out, "  mechListMIC: {}", mic_text(mech_list_mic.as_deref()));
        }
        NegotiationToken::Resp(NegTokenResp {
            neg_state,
            supported_mech,
            response_token,
            mech_list_mic,
        }) => {
            let state = neg_state.map_or_else(
                || "(none)".into(),
                |s| format!("{} ({})", neg_state_name(s), s as u32),
            );
            let mech = supported_mech
                .as_ref()
                .map_or_else(|| "(none)".into(), mech_label);
            let _ = writeln!(out, "SPNEGO: NegTokenResp");
            let _ = writeln!(out, "  negState: {state}");
            let _ = writeln!(out, "  supportedMech: {mech}");
            let token = inner_text(response_token.as_deref());
            let _ = writeln!(out, "  responseToken: {token}");
            let _ = writeln!(out, "  mechListMIC: {}", mic_text(mech_list_mic.as_deref()));
        }
    }
    out
}

/// The `spnego` object of the JSON report (keys documented in [`HELP`]).
fn spnego_json(token: &NegotiationToken) -> Value {
    let length = |t: &Option<Vec<u8>>| Value::from(t.as_ref().map(|t| t.len() as u64));
    let mic = |m: &Option<Vec<u8>>| {
        [
            ("mech_list_mic_present", m.is_some().into()),
            ("mech_list_mic", m.as_deref().map(hex).into()),
        ]
    };
    let mut fields: Vec<(&'static str, Value)> = match token {
        NegotiationToken::Init(init) => vec![
            ("token", "NegTokenInit".into()),
            (
                "mech_types",
                Value::Arr(init.mech_types.iter().map(mech_json).collect()),
            ),
            ("req_flags", init.req_flags.as_deref().map(hex).into()),
            ("mech_token_length", length(&init.mech_token)),
        ],
        NegotiationToken::Resp(resp) => vec![
            ("token", "NegTokenResp".into()),
            ("neg_state", resp.neg_state.map(neg_state_name).into()),
            (
                "supported_mech",
                resp.supported_mech.as_ref().map_or(Value::Null, mech_json),
            ),
            ("response_token_length", length(&resp.response_token)),
        ],
    };
    let mech_list_mic = match token {
        NegotiationToken::Init(init) => &init.mech_list_mic,
        NegotiationToken::Resp(resp) => &resp.mech_list_mic,
    };
    fields.extend(mic(mech_list_mic));
    Value::Obj(fields)
}

// ---------------------------------------------------------------- text

/// The human-readable report of one NTLM message.
pub fn describe_text(bytes: &[u8]) -> Result<String, String> {
    let kind = wire::message_type(bytes).map_err(|e| e.to_string())?;
    let mut out = String::new();
    match kind {
        1 => {
            let m = NegotiateMessage::decode(bytes).map_err(|e| e.to_string())?;
            header_text(&mut out, "NEGOTIATE_MESSAGE", kind, bytes.len(), m.flags);
            version_line(&mut out, m.version);
            let _ = writeln!(
                out,
                "  DomainName: {:?}",
                WireString::Oem(m.domain_name).to_string_lossy()
            );
            let _ = write!(
                out,
                "  Workstation: {:?}",
                WireString::Oem(m.workstation).to_string_lossy()
            );
        }
        2 => {
            let m = ChallengeMessage::decode(bytes).map_err(|e| e.to_string())?;
            header_text(&mut out, "CHALLENGE_MESSAGE", kind, bytes.len(), m.flags);
            version_line(&mut out, m.version);
            let _ = writeln!(out, "  TargetName: {:?}", wire_text(&m.target_name));
            let _ = writeln!(out, "  ServerChallenge: {}", hex(&m.server_challenge));
            match &m.target_info {
                Some(info) => {
                    let _ = writeln!(out, "  TargetInfo:");
                    av_pairs_text(&mut out, "    ", info);
                }
                None => {
                    let _ = writeln!(out, "  TargetInfo: (none)");
                }
            }
            trim_newline(&mut out);
        }
        _ => {
            let (m, strings) = decode_authenticate(bytes)?;
            authenticate_text(&mut out, &m, strings, bytes)?;
        }
    }
    Ok(out)
}

fn trim_newline(out: &mut String) {
    while out.ends_with('\n') {
        out.pop();
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

fn authenticate_text(
    out: &mut String,
    m: &AuthenticateMessage<'_>,
    strings: &str,
    bytes: &[u8],
) -> Result<(), String> {
    let kinds = classify(m);
    header_text(out, "AUTHENTICATE_MESSAGE", 3, bytes.len(), m.flags);
    let _ = writeln!(out, "  Layout: {}", layout_name(m.header_len()));
    let _ = writeln!(out, "  Strings: {strings}");
    version_line(out, m.version);
    let _ = writeln!(out, "  DomainName: {:?}", wire_text(&m.domain_name));
    let _ = writeln!(out, "  UserName: {:?}", wire_text(&m.user_name));
    let _ = writeln!(out, "  Workstation: {:?}", wire_text(&m.workstation));
    let lm = m.lm_challenge_response;
    let _ = writeln!(
        out,
        "  LmChallengeResponse: {} bytes, {}: {}",
        lm.len(),
        kinds.lm,
        describe_lm(kinds.lm)
    );
    if !lm.is_empty() {
        let _ = writeln!(out, "    {}", hex(lm));
    }
    let nt = m.nt_challenge_response;
    let _ = writeln!(
        out,
        "  NtChallengeResponse: {} bytes, {}: {}",
        nt.len(),
        kinds.nt,
        describe_nt(kinds.nt)
    );
    if kinds.nt == NtKind::NtlmV2 {
        let v2 = ntlmv2(bytes, nt)?;
        let _ = writeln!(out, "    NTProofStr: {}", hex(&v2.nt_proof_str));
        let _ = writeln!(out, "    TimeStamp: {}", filetime_iso(v2.timestamp));
        let _ = writeln!(
            out,
            "    ChallengeFromClient: {}",
            hex(&v2.client_challenge)
        );
        let _ = writeln!(out, "    AvPairs:");
        av_pairs_text(out, "      ", &v2.av_pairs);
    } else if !nt.is_empty() {
        let _ = writeln!(out, "    {}", hex(nt));
    }
    let key = m.encrypted_random_session_key;
    if key.is_empty() {
        let _ = writeln!(out, "  EncryptedRandomSessionKey: (none)");
    } else {
        let _ = writeln!(out, "  EncryptedRandomSessionKey: {}", hex(key));
    }
    match m.mic {
        Some(mic) => {
            let _ = writeln!(out, "  MIC: present, {}", hex(&mic));
        }
        None => {
            let _ = writeln!(out, "  MIC: absent");
        }
    }
    let _ = writeln!(
        out,
        "  Anonymous: {}",
        if kinds.anonymous { "yes" } else { "no" }
    );
    for (title, preset) in [
        ("domain-controller", ServerPreset::DomainController),
        ("symmetric", ServerPreset::Symmetric),
    ] {
        let _ = writeln!(
            out,
            "  Server levels, {title} preset (response kinds only; password, MIC, timestamp checked later):"
        );
        for v in acceptance_by_level_for(preset, &kinds) {
            let _ = writeln!(out, "    level {}: {}", v.level, v.reason());
        }
    }
    trim_newline(out);
    Ok(())
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

// ---------------------------------------------------------------- JSON

/// The fields of the JSON report of one NTLM message (keys documented in [`HELP`]).
pub fn describe_json(bytes: &[u8]) -> Result<Vec<(&'static str, Value)>, String> {
    let kind = wire::message_type(bytes).map_err(|e| e.to_string())?;
    let mut fields: Vec<(&'static str, Value)> = vec![
        ("message", type_name(kind).into()),
        ("message_type", u64::from(kind).into()),
        ("length", (bytes.len() as u64).into()),
    ];
    match kind {
        1 => {
            let m = NegotiateMessage::decode(bytes).map_err(|e| e.to_string())?;
            fields.push(("flags", flags_json(m.flags)));
            fields.push(("version", version_json(m.version)));
            fields.push((
                "domain_name",
                WireString::Oem(m.domain_name).to_string_lossy().into(),
            ));
            fields.push((
                "workstation",
                WireString::Oem(m.workstation).to_string_lossy().into(),
            ));
        }
        2 => {
            let m = ChallengeMessage::decode(bytes).map_err(|e| e.to_string())?;
            fields.push(("flags", flags_json(m.flags)));
            fields.push(("version", version_json(m.version)));
            fields.push(("target_name", wire_text(&m.target_name).into()));
            fields.push(("server_challenge", hex(&m.server_challenge).into()));
            fields.push((
                "target_info",
                m.target_info.as_ref().map_or(Value::Null, av_pairs_json),
            ));
        }
        _ => {
            let (m, strings) = decode_authenticate(bytes)?;
            let kinds = classify(&m);
            fields.push(("flags", flags_json(m.flags)));
            fields.push(("version", version_json(m.version)));
            fields.push(("header_length", (m.header_len() as u64).into()));
            fields.push(("layout", layout_name(m.header_len()).into()));
            fields.push(("strings", strings.into()));
            fields.push(("domain_name", wire_text(&m.domain_name).into()));
            fields.push(("user_name", wire_text(&m.user_name).into()));
            fields.push(("workstation", wire_text(&m.workstation).into()));
            let response = |b: &[u8], kind: String, description: &str| {
                Value::Obj(vec![
                    ("length", (b.len() as u64).into()),
                    ("kind", kind.into()),
                    ("description", description.into()),
                    ("hex", hex(b).into()),
                ])
            };
            fields.push((
                "lm_response",
                response(
                    m.lm_challenge_response,
                    kinds.lm.to_string(),
                    describe_lm(kinds.lm),
                ),
            ));
            fields.push((
                "nt_response",
                response(
                    m.nt_challenge_response,
                    kinds.nt.to_string(),
                    describe_nt(kinds.nt),
                ),
            ));
            let v2 = if kinds.nt == NtKind::NtlmV2 {
                let v2 = ntlmv2(bytes, m.nt_challenge_response)?;
                Value::Obj(vec![
                    ("nt_proof_str", hex(&v2.nt_proof_str).into()),
                    ("timestamp", filetime_iso(v2.timestamp).into()),
                    ("client_challenge", hex(&v2.client_challenge).into()),
                    ("av_pairs", av_pairs_json(&v2.av_pairs)),
                ])
            } else {
                Value::Null
            };
            fields.push(("ntlmv2", v2));
            let key = m.encrypted_random_session_key;
            fields.push((
                "encrypted_random_session_key",
                (!key.is_empty()).then(|| hex(key)).into(),
            ));
            fields.push(("mic_present", m.mic.is_some().into()));
            fields.push(("mic", m.mic.map(|mic| hex(&mic)).into()));
            fields.push(("anonymous", kinds.anonymous.into()));
            let verdicts = |preset| {
                Value::Arr(
                    acceptance_by_level_for(preset, &kinds)
                        .iter()
                        .map(verdict_json)
                        .collect(),
                )
            };
            fields.push((
                "acceptance",
                Value::Obj(vec![
                    (
                        "domain_controller",
                        verdicts(ServerPreset::DomainController),
                    ),
                    ("symmetric", verdicts(ServerPreset::Symmetric)),
                ]),
            ));
        }
    }
    Ok(fields)
}

fn verdict_json(v: &LevelVerdict) -> Value {
    Value::Obj(vec![
        ("level", u64::from(v.level.get()).into()),
        ("accepted", v.accepted().into()),
        ("reason", v.reason().into()),
    ])
}

/// The seconds of a FILETIME since the Unix epoch, for tests.
#[cfg(test)]
fn unix_filetime(secs: u64) -> u64 {
    use ntlm::filetime;
    filetime::from_system_time(std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ntlm::http::spnego::NTLM_OID;

    #[test]
    fn iso_dates() {
        assert_eq!(filetime_iso(unix_filetime(0)), "1970-01-01T00:00:00Z");
        assert_eq!(
            filetime_iso(unix_filetime(1_700_000_000)),
            "2023-11-14T22:13:20Z"
        );
        assert_eq!(filetime_iso(0), "1601-01-01T00:00:00Z");
        assert_eq!(filetime_iso(5), "1601-01-01T00:00:00.0000005Z");
        assert_eq!(
            filetime_iso(unix_filetime(951_782_400)),
            "2000-02-29T00:00:00Z"
        );
        // Never panics, whatever the value.
        assert!(filetime_iso(u64::MAX).ends_with('Z'));
    }

    #[test]
    fn header_forms() {
        assert_eq!(extract_base64("TlRM").unwrap(), "TlRM");
        assert_eq!(extract_base64("NTLM TlRM").unwrap(), "TlRM");
        assert_eq!(extract_base64("Authorization: NTLM TlRM").unwrap(), "TlRM");
        assert_eq!(
            extract_base64("  WWW-Authenticate:   Negotiate   TlRM ").unwrap(),
            "TlRM"
        );
        assert_eq!(
            extract_base64("Proxy-Authorization: ntlm TlRM").unwrap(),
            "TlRM"
        );
        assert!(extract_base64("NTLM").is_err());
        assert!(extract_base64("Basic abc").is_err());
        assert!(extract_base64("").is_err());
    }

    #[test]
    fn spnego_is_unwrapped_or_named_in_the_error() {
        let err = parse_token("Negotiate YIIB").unwrap_err();
        assert!(err.starts_with("SPNEGO: "), "{err}");
        let err = parse_token("oQ==").unwrap_err();
        assert!(err.starts_with("SPNEGO"), "{err}");
        let ntlm = b"NTLMSSP\0\x01\0\0\0\x07\x82\x08\xa2".to_vec();
        let resp = NegotiationToken::Resp(NegTokenResp {
            response_token: Some(ntlm.clone()),
            ..Default::default()
        });
        let b64 = ntlm::helper::base64_encode(&resp.encode().unwrap());
        let token = parse_token(&format!("Negotiate {b64}")).unwrap();
        assert_eq!(token.ntlm(), Some(ntlm.as_slice()));
        assert!(matches!(token, Token::Spnego(NegotiationToken::Resp(_))));
        // A bare NegTokenInit ([0] without the GSS-API framing) is SPNEGO too.
        let init = NegTokenInit::ntlm(ntlm.clone());
        let bare = NegotiationToken::Init(init).encode().unwrap();
        let bare = bare
            .get(bare.iter().position(|&b| b == 0xa0).unwrap()..)
            .unwrap();
        let token = parse_token(&ntlm::helper::base64_encode(bare)).unwrap();
        assert_eq!(token.ntlm(), Some(ntlm.as_slice()));
    }

    #[test]
    fn single_host_is_shown_by_field() {
        let mut value = [0u8; 48];
        value[0] = 48;
        value[16..].copy_from_slice(&[0x11; 32]);
        let (name, text, _) = av_pair(&AvPair::SingleHost(&value));
        assert_eq!(name, "MsvAvSingleHost");
        assert_eq!(
            text,
            format!(
                "Size 48, CustomData 0000000000000000, MachineID {}",
                "11".repeat(32)
            )
        );
        let (_, text, _) = av_pair(&AvPair::SingleHost(&value[..8]));
        assert!(
            text.starts_with("3000000000000000 (MsvAvSingleHost"),
            "{text}"
        );
    }

    #[test]
    fn mech_names_and_neg_states() {
        assert_eq!(mech_label(&NTLM_OID), "NTLM (1.3.6.1.4.1.311.2.2.10)");
        let other = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.311.2.2.30");
        assert_eq!(mech_label(&other), "1.3.6.1.4.1.311.2.2.30");
        assert_eq!(
            mech_json(&other).to_json(),
            r#"{"oid":"1.3.6.1.4.1.311.2.2.30","name":null}"#
        );
        assert_eq!(neg_state_name(NegState::RequestMic), "request-mic");
    }
}
