//! The CLI with the old clients' messages and the CHALLENGE's DNS names: `ntlm decode`
//! names the AUTHENTICATE layout and string encoding, `ntlm squid-helper` sends
//! MsvAvDnsDomainName and MsvAvDnsComputerName by default (or as configured) and answers an
//! AUTHENTICATE that does not decode with NA.
#![cfg(feature = "cli")]

use crate::common;

use std::io::Write;
use std::process::{Command, Stdio};

use base64::Engine as _;
use common::Vectors;
use ntlm::wire::{AvId, AvPair, ChallengeMessage};

const BIN: &str = env!("CARGO_BIN_EXE_ntlm");
const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

fn run(args: &[&str], stdin: &str) -> String {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn decode_names_the_layout_and_the_strings() {
    let v = Vectors::load("old-clients.toml");
    let npm = B64.encode(v.hex("ntlm_client_npm.authenticate"));
    let text = run(&["decode", &npm], "");
    assert!(
        text.contains("Layout: MS-NLMP's earlier 52-byte header"),
        "{text}"
    );
    assert!(text.contains("UserName: \"alice\""), "{text}");
    let json: serde_json::Value =
        serde_json::from_str(&run(&["decode", "--json", &npm], "")).unwrap();
    assert_eq!(json["header_length"], 52);
    assert_eq!(json["strings"], "OEM");
    assert_eq!(json["workstation"], "WS");

    let wget = B64.encode(v.hex("wget.authenticate"));
    let text = run(&["decode", &wget], "");
    assert!(text.contains("Layout: 64-byte header"), "{text}");
    assert!(
        text.contains("Strings: OEM, although UNICODE is claimed"),
        "{text}"
    );
    assert!(text.contains("UserName: \"alice\""), "{text}");
    let json: serde_json::Value =
        serde_json::from_str(&run(&["decode", "--json", &wget], "")).unwrap();
    assert_eq!(json["header_length"], 64);
    assert_eq!(json["domain_name"], "CORP");
}

/// The CHALLENGE `squid-helper` answers wget's NEGOTIATE with, given `extra` arguments,
/// and its reply to wget's AUTHENTICATE (the challenge differs: a refusal, never BH).
fn squid_challenge(extra: &[&str]) -> (Vec<u8>, String) {
    let dir = std::env::temp_dir().join(format!("ntlm-dns-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let users = dir.join(format!("users-{}", extra.len()));
    std::fs::write(&users, "CORP:alice:Secret1\n").unwrap();
    let v = Vectors::load("old-clients.toml");
    let input = format!(
        "YR {}\nKK {}\n",
        B64.encode(v.hex("wget.negotiate")),
        B64.encode(v.hex("wget.authenticate"))
    );
    let mut args = vec![
        "squid-helper",
        "--level",
        "3",
        "--users",
        users.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let out = run(&args, &input);
    let _ = std::fs::remove_file(&users);
    let mut lines = out.lines();
    let tt = lines.next().unwrap_or_default().to_string();
    let challenge = B64
        .decode(tt.strip_prefix("TT ").unwrap_or_else(|| panic!("{out}")))
        .unwrap();
    (challenge, lines.next().unwrap_or_default().to_string())
}

fn dns_names(challenge: &[u8]) -> (Option<String>, Option<String>) {
    let c = ChallengeMessage::decode(challenge).unwrap();
    let info = c.target_info.unwrap();
    let text = |id| match info.get(id) {
        Some(AvPair::DnsDomainName(s) | AvPair::DnsComputerName(s)) => Some(s.to_string_lossy()),
        _ => None,
    };
    (text(AvId::DnsDomainName), text(AvId::DnsComputerName))
}

#[test]
fn squid_helper_sends_dns_names() {
    let (challenge, reply) = squid_challenge(&["--domain", "CORP"]);
    let (domain, computer) = dns_names(&challenge);
    assert_eq!(domain.as_deref(), Some("corp"));
    let computer = computer.unwrap();
    assert!(
        computer.ends_with(".corp") || computer.contains('.'),
        "{computer}"
    );
    // wget's AUTHENTICATE answers another challenge: a bad password, read as OEM.
    assert_eq!(reply, "NA NT_STATUS_LOGON_FAILURE");

    let (challenge, _) = squid_challenge(&[
        "--domain",
        "CORP",
        "--dns-domain",
        "corp.example",
        "--dns-computer",
        "proxy.corp.example",
    ]);
    assert_eq!(
        dns_names(&challenge),
        (
            Some("corp.example".into()),
            Some("proxy.corp.example".into())
        )
    );
}

#[test]
fn decode_reads_negotiate_names_as_cp850() {
    // NEGOTIATE with OEM_DOMAIN_SUPPLIED: DomainName "MÜNCHEN" in CP850 (Ü = 0x9A) at 32.
    let mut m = b"NTLMSSP\0\x01\0\0\0".to_vec();
    m.extend_from_slice(&0x0000_1207u32.to_le_bytes());
    m.extend_from_slice(&[7, 0, 7, 0, 32, 0, 0, 0, 0, 0, 0, 0, 39, 0, 0, 0]);
    m.extend_from_slice(b"M\x9aNCHEN");
    let text = run(&["decode", &B64.encode(&m)], "");
    assert!(text.contains("DomainName: \"MÜNCHEN\""), "{text}");
}
