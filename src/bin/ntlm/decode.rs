//! `ntlm decode`: every field of an NTLM message (MS-NLMP §2.2), the response kinds of an
//! AUTHENTICATE (§3.3) and which server levels would accept them ([`ntlm::explain`]).

mod report;
mod text;

use std::io;
use std::process::ExitCode;

use ntlm::helper::{base64_decode, read_line, Line};
use ntlm::http::spnego::NegotiationToken;

pub use report::Report;

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
                let failure = report::Failure { error: &e };
                match serde_json::to_string(&failure) {
                    Ok(line) => println!("{line}"),
                    Err(j) => eprintln!("ntlm decode: JSON: {j}"),
                }
            }
            eprintln!("ntlm decode: {e}");
            false
        }
    }
}

/// Decodes one token given as text, into the text or JSON rendering of its [`Report`].
pub fn decode_text(input: &str, json: bool) -> Result<String, String> {
    let report = Report::build(&parse_token(input)?)?;
    if json {
        serde_json::to_string(&report).map_err(|e| format!("JSON: {e}"))
    } else {
        Ok(text::render(&report))
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

#[cfg(test)]
mod tests {
    use super::report::{filetime_iso, neg_state_name, Av};
    use super::*;
    use ntlm::http::spnego::{
        mech_label, Mechanism, NegState, NegTokenInit, NegTokenResp, NTLM_OID,
    };
    use ntlm::wire::AvPair;

    /// The FILETIME of `secs` seconds after the Unix epoch.
    fn unix_filetime(secs: u64) -> u64 {
        ntlm::filetime::from_system_time(
            std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs),
        )
    }

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
        let av = Av::new(&AvPair::SingleHost(&value));
        assert_eq!(av.name, "MsvAvSingleHost");
        assert_eq!(
            av.value,
            format!(
                "Size 48, CustomData 0000000000000000, MachineID {}",
                "11".repeat(32)
            )
        );
        let text = Av::new(&AvPair::SingleHost(&value[..8])).value;
        assert!(
            text.starts_with("3000000000000000 (MsvAvSingleHost"),
            "{text}"
        );
    }

    #[test]
    fn mech_names_and_neg_states() {
        assert_eq!(mech_label(&NTLM_OID), "NTLM (1.3.6.1.4.1.311.2.2.10)");
        let other: Mechanism = "1.3.6.1.4.1.311.2.2.30".parse().unwrap();
        assert_eq!(mech_label(&other), "1.3.6.1.4.1.311.2.2.30");
        assert_eq!(
            serde_json::to_string(&report::Mech::new(&other)).unwrap(),
            r#"{"oid":"1.3.6.1.4.1.311.2.2.30","name":null}"#
        );
        assert_eq!(neg_state_name(NegState::RequestMic), "request-mic");
    }
}
