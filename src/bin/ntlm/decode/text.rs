//! The text rendering of a [`Report`]: one `Field: value` line per field, indented by
//! layer, the SPNEGO section before the NTLM message.

use std::fmt::Write as _;

use super::report::{Authenticate, Av, Body, Message, Report, Spnego};

/// The text report (no trailing newline).
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    if let Some(spnego) = &report.spnego {
        spnego_text(&mut out, spnego);
    }
    if let Some(message) = &report.ntlm {
        message_text(&mut out, message);
    }
    while out.ends_with('\n') {
        out.pop();
    }
    out
}

/// `N bytes, the NTLM message below` or `(none)`.
fn inner_text(length: Option<usize>) -> String {
    length.map_or_else(
        || "(none)".to_string(),
        |n| format!("{n} bytes, the NTLM message below"),
    )
}

fn mic_text(mic: Option<&str>) -> String {
    mic.map_or_else(|| "absent".to_string(), |m| format!("present, {m}"))
}

fn or_none(value: Option<&str>) -> &str {
    value.unwrap_or("(none)")
}

fn spnego_text(out: &mut String, spnego: &Spnego) {
    match spnego {
        Spnego::NegTokenInit {
            mech_types,
            req_flags,
            mech_token_length,
            mech_list_mic,
            ..
        } => {
            let mechs: Vec<&str> = mech_types.iter().map(|m| m.label.as_str()).collect();
            let _ = writeln!(out, "SPNEGO: NegTokenInit");
            let _ = writeln!(out, "  mechTypes: {}", mechs.join(", "));
            let _ = writeln!(out, "  reqFlags: {}", or_none(req_flags.as_deref()));
            let _ = writeln!(out, "  mechToken: {}", inner_text(*mech_token_length));
            let _ = writeln!(out, "  mechListMIC: {}", mic_text(mech_list_mic.as_deref()));
        }
        Spnego::NegTokenResp {
            neg_state,
            neg_state_code,
            supported_mech,
            response_token_length,
            mech_list_mic,
            ..
        } => {
            let state = match (neg_state, neg_state_code) {
                (Some(name), Some(code)) => format!("{name} ({code})"),
                _ => "(none)".into(),
            };
            let mech = supported_mech.as_ref().map(|m| m.label.as_str());
            let _ = writeln!(out, "SPNEGO: NegTokenResp");
            let _ = writeln!(out, "  negState: {state}");
            let _ = writeln!(out, "  supportedMech: {}", or_none(mech));
            let _ = writeln!(
                out,
                "  responseToken: {}",
                inner_text(*response_token_length)
            );
            let _ = writeln!(out, "  mechListMIC: {}", mic_text(mech_list_mic.as_deref()));
        }
    }
}

fn message_text(out: &mut String, m: &Message) {
    let name = match &m.body {
        Body::Negotiate { .. } => "NEGOTIATE_MESSAGE",
        Body::Challenge { .. } => "CHALLENGE_MESSAGE",
        Body::Authenticate(_) => "AUTHENTICATE_MESSAGE",
    };
    let _ = writeln!(
        out,
        "{name} (MessageType {}), {} bytes",
        m.message_type, m.length
    );
    let _ = writeln!(
        out,
        "  NegotiateFlags: {} {}",
        m.flags.value,
        m.flags.names.join(" ")
    );
    let version = |out: &mut String| match &m.version {
        Some(v) => {
            let _ = writeln!(
                out,
                "  Version: {}.{}.{}, NTLM revision {}",
                v.major, v.minor, v.build, v.revision
            );
        }
        None => {
            let _ = writeln!(out, "  Version: (none)");
        }
    };
    match &m.body {
        Body::Negotiate {
            domain_name,
            workstation,
        } => {
            version(out);
            let _ = writeln!(out, "  DomainName: {domain_name:?}");
            let _ = writeln!(out, "  Workstation: {workstation:?}");
        }
        Body::Challenge {
            target_name,
            server_challenge,
            target_info,
        } => {
            version(out);
            let _ = writeln!(out, "  TargetName: {target_name:?}");
            let _ = writeln!(out, "  ServerChallenge: {server_challenge}");
            match target_info {
                Some(pairs) => {
                    let _ = writeln!(out, "  TargetInfo:");
                    av_pairs_text(out, "    ", pairs);
                }
                None => {
                    let _ = writeln!(out, "  TargetInfo: (none)");
                }
            }
        }
        Body::Authenticate(a) => {
            let _ = writeln!(out, "  Layout: {}", a.layout);
            let _ = writeln!(out, "  Strings: {}", a.strings);
            version(out);
            authenticate_text(out, a);
        }
    }
}

fn authenticate_text(out: &mut String, a: &Authenticate) {
    let _ = writeln!(out, "  DomainName: {:?}", a.domain_name);
    let _ = writeln!(out, "  UserName: {:?}", a.user_name);
    let _ = writeln!(out, "  Workstation: {:?}", a.workstation);
    let lm = &a.lm_response;
    let _ = writeln!(
        out,
        "  LmChallengeResponse: {} bytes, {}: {}",
        lm.length, lm.kind, lm.description
    );
    if !lm.hex.is_empty() {
        let _ = writeln!(out, "    {}", lm.hex);
    }
    let nt = &a.nt_response;
    let _ = writeln!(
        out,
        "  NtChallengeResponse: {} bytes, {}: {}",
        nt.length, nt.kind, nt.description
    );
    if let Some(v2) = &a.ntlmv2 {
        let _ = writeln!(out, "    NTProofStr: {}", v2.nt_proof_str);
        let _ = writeln!(out, "    TimeStamp: {}", v2.timestamp);
        let _ = writeln!(out, "    ChallengeFromClient: {}", v2.client_challenge);
        let _ = writeln!(out, "    AvPairs:");
        av_pairs_text(out, "      ", &v2.av_pairs);
    } else if !nt.hex.is_empty() {
        let _ = writeln!(out, "    {}", nt.hex);
    }
    let key = a.encrypted_random_session_key.as_deref();
    let _ = writeln!(out, "  EncryptedRandomSessionKey: {}", or_none(key));
    let _ = writeln!(out, "  MIC: {}", mic_text(a.mic.as_deref()));
    let anonymous = if a.anonymous { "yes" } else { "no" };
    let _ = writeln!(out, "  Anonymous: {anonymous}");
    for (title, verdicts) in [
        ("domain-controller", &a.acceptance.domain_controller),
        ("symmetric", &a.acceptance.symmetric),
    ] {
        let _ = writeln!(
            out,
            "  Server levels, {title} preset (response kinds only; password, MIC, timestamp checked later):"
        );
        for v in verdicts {
            let _ = writeln!(out, "    level {}: {}", v.level, v.reason);
        }
    }
}

fn av_pairs_text(out: &mut String, indent: &str, pairs: &[Av]) {
    for p in pairs {
        let value = if p.is_name {
            format!("{:?}", p.value)
        } else {
            p.value.clone()
        };
        match &p.flags {
            Some(f) => {
                let _ = writeln!(out, "{indent}{}: {value} {}", p.name, f.join(" "));
            }
            None => {
                let _ = writeln!(out, "{indent}{}: {value}", p.name);
            }
        }
    }
    if pairs.is_empty() {
        let _ = writeln!(out, "{indent}(none)");
    }
}
