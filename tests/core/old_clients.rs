//! AUTHENTICATE messages of clients real networks still run, captured from the clients
//! themselves (`test-vectors/old-clients.toml`, written by
//! `tests/interop/old_clients/capture.py`): GNU wget, which claims UNICODE and sends OEM
//! strings, and the `ntlm-client` npm package, which sends MS-NLMP's earlier 52-byte
//! AUTHENTICATE header. Both must decode, re-encode to the same bytes and log on where the
//! server's level accepts what they send (LM and NTLMv1: levels 0 to 4, MS-NLMP §3.2.5.1.2).

use crate::common;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use common::Vectors;
use ntlm::guard::ReflectionGuard;
use ntlm::policy::{LmCompatibilityLevel, ServerPolicy, Verify};
use ntlm::server::{Refusal, ServerConfig, ServerContext};
use ntlm::store::MemoryStore;
use ntlm::wire::{AuthenticateMessage, NegotiateFlags as F, WireString};
use ntlm::DecodeErrorKind;

fn vectors() -> Vectors {
    Vectors::load("old-clients.toml")
}

/// A server at `level` whose next challenge is the captured one, with `password` stored
/// for CORP\alice. ESS is withheld, as in the captured CHALLENGE.
fn server(v: &Vectors, client: &str, level: u8, password: &str) -> (ServerContext, SystemTime) {
    let mut store = MemoryStore::new();
    store.add_password("CORP", "alice", password);
    let level = LmCompatibilityLevel::new(level).unwrap();
    let mut config = ServerConfig::new(ServerPolicy::domain_controller(level), store);
    config.policy.offer_ess = false;
    config.reflection_guard = Some(Arc::new(ReflectionGuard::new(Duration::from_secs(60))));
    let challenge: [u8; 8] = v.arr(&format!("{client}.server_challenge"));
    config.entropy = Some(Arc::new(move |out: &mut [u8]| {
        out.copy_from_slice(&challenge[..out.len()])
    }));
    let mut s = ServerContext::new(Arc::new(config));
    let now = SystemTime::now();
    let ours = s
        .challenge(&v.hex(&format!("{client}.negotiate")), now)
        .unwrap();
    // What the client answered: our CHALLENGE must negotiate what the captured one did.
    let captured = ntlm::wire::ChallengeMessage::decode(&v.hex(&format!("{client}.challenge")))
        .unwrap()
        .flags;
    let ours = ntlm::wire::ChallengeMessage::decode(&ours).unwrap().flags;
    let charset = F::NEGOTIATE_UNICODE | F::NEGOTIATE_OEM | F::NEGOTIATE_EXTENDED_SESSIONSECURITY;
    assert_eq!(ours & charset, captured & charset, "{client}");
    (s, now)
}

#[test]
fn wget_claims_unicode_and_sends_oem() {
    let v = vectors();
    let bytes = v.hex("wget.authenticate");
    // Read by its own claim it is malformed: "alice" is 5 bytes, not UTF-16.
    let err = AuthenticateMessage::decode(&bytes).unwrap_err();
    assert_eq!(err.kind, DecodeErrorKind::OddUtf16Length { len: 5 });
    let m = AuthenticateMessage::decode_as(&bytes, false).unwrap();
    assert!(m.flags.contains(F::NEGOTIATE_UNICODE));
    assert_eq!(m.domain_name, WireString::Oem(b"CORP"));
    assert_eq!(m.user_name, WireString::Oem(b"alice"));
    assert_eq!(m.header_len(), 64);
    assert_eq!(m.encode(), bytes);
}

#[test]
fn wget_logs_on_at_levels_0_to_4() {
    let v = vectors();
    let bytes = v.hex("wget.authenticate");
    for level in 0..=4 {
        let (mut s, now) = server(&v, "wget", level, "Secret1");
        let logon = s
            .accept(&bytes, now)
            .unwrap_or_else(|e| panic!("level {level}: {e}"));
        assert_eq!(
            (logon.user.as_str(), logon.domain.as_str()),
            ("alice", "CORP")
        );
        // wget sends an LM and an NTLMv1 response: the NT one is verified.
        assert_eq!(logon.verified, Verify::NtlmV1, "level {level}");
    }
    let (mut s, now) = server(&v, "wget", 5, "Secret1");
    assert!(matches!(s.accept(&bytes, now), Err(Refusal::Policy(_))));
    let (mut s, now) = server(&v, "wget", 3, "Wrong1");
    assert!(matches!(
        s.accept(&bytes, now),
        Err(Refusal::BadPassword { .. })
    ));
}

#[test]
fn ntlm_client_52_byte_header() {
    let v = vectors();
    let bytes = v.hex("ntlm_client_npm.authenticate");
    let m = AuthenticateMessage::decode(&bytes).unwrap();
    assert_eq!(m.header_len(), 52);
    assert_eq!(m.flags, F::EMPTY);
    assert_eq!((m.version, m.mic), (None, None));
    assert!(m.encrypted_random_session_key.is_empty());
    assert_eq!(m.lm_challenge_response.len(), 24);
    assert_eq!(m.nt_challenge_response.len(), 24);
    assert_eq!(m.domain_name, WireString::Oem(b"CORP"));
    assert_eq!(m.user_name, WireString::Oem(b"alice"));
    assert_eq!(m.workstation, WireString::Oem(b"WS"));
    assert_eq!(m.encode(), bytes);
    // Once it needs a field the short header lacks, it takes the §2.2.1.3 layout.
    let mut with_flags = m.clone();
    with_flags.flags = F::NEGOTIATE_OEM | F::NEGOTIATE_NTLM;
    assert_eq!(with_flags.header_len(), 64);
    let long = with_flags.encode();
    assert_eq!(long.len(), bytes.len() + 12);
    assert_eq!(AuthenticateMessage::decode(&long).unwrap(), with_flags);
}

#[test]
fn ntlm_client_logs_on_at_levels_0_to_4() {
    let v = vectors();
    let bytes = v.hex("ntlm_client_npm.authenticate");
    for level in 0..=4 {
        let (mut s, now) = server(&v, "ntlm_client_npm", level, "Secret1");
        let logon = s
            .accept(&bytes, now)
            .unwrap_or_else(|e| panic!("level {level}: {e}"));
        assert_eq!(
            (logon.user.as_str(), logon.workstation.as_str()),
            ("alice", "WS")
        );
        assert_eq!(logon.verified, Verify::NtlmV1, "level {level}");
        // The flags are the CHALLENGE's: OEM, NTLM, no key exchange.
        let flags = logon.established.flags();
        assert!(
            flags.contains(F::NEGOTIATE_OEM | F::NEGOTIATE_NTLM),
            "{flags:?}"
        );
    }
    let (mut s, now) = server(&v, "ntlm_client_npm", 5, "Secret1");
    assert!(matches!(s.accept(&bytes, now), Err(Refusal::Policy(_))));
    let (mut s, now) = server(&v, "ntlm_client_npm", 2, "Wrong1");
    assert!(matches!(
        s.accept(&bytes, now),
        Err(Refusal::BadPassword { .. })
    ));
}
