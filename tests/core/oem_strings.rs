//! OEM strings (MS-NLMP §2.2, NTLMSSP_NEGOTIATE_OEM) in one code page everywhere: CP850,
//! the one LMOWFv1 hashes passwords in. The client writes it, the server writes its
//! TargetName in it and reads the AUTHENTICATE's names in it, and `WireString` decodes it.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use ntlm::client::{ClientConfig, ClientContext};
use ntlm::guard::ReflectionGuard;
use ntlm::policy::{LmCompatibilityLevel, ServerPolicy};
use ntlm::server::{ServerConfig, ServerContext};
use ntlm::store::MemoryStore;
use ntlm::wire::{AuthenticateMessage, ChallengeMessage, NegotiateFlags as F, WireString};

fn guard() -> Option<Arc<ReflectionGuard>> {
    Some(Arc::new(ReflectionGuard::new(Duration::from_secs(60))))
}

/// One handshake where the NEGOTIATE offers OEM only (its UNICODE bit cleared), so the
/// CHALLENGE and the AUTHENTICATE carry OEM strings. Returns the CHALLENGE, the
/// AUTHENTICATE and the server's verdict.
fn oem_handshake(
    domain: &str,
    user: &str,
    password: &str,
    client_level: u8,
) -> (
    Vec<u8>,
    Vec<u8>,
    Result<ntlm::server::Authenticated, ntlm::server::Refusal>,
) {
    let mut store = MemoryStore::new();
    store.add_password(domain, user, password);
    let mut config = ServerConfig::new(
        ServerPolicy::domain_controller(LmCompatibilityLevel::L0),
        store,
    );
    config.nb_domain = domain.to_string();
    config.reflection_guard = guard();
    // No timestamp, so no MIC: the MIC would cover the NEGOTIATE as the client sent it,
    // before this test cleared its UNICODE bit.
    config.policy.send_timestamp = false;
    let mut server = ServerContext::new(Arc::new(config));
    let level = LmCompatibilityLevel::new(client_level).unwrap();
    let mut cc = ClientConfig::new(level, domain, user, password);
    cc.reflection_guard = guard();
    let mut client = ClientContext::new(cc);
    let now = SystemTime::now();
    let mut negotiate = client.negotiate().unwrap();
    negotiate[12] &= !1; // NTLMSSP_NEGOTIATE_UNICODE
    let challenge = server.challenge(&negotiate, now).unwrap();
    let authenticate = client.authenticate(&challenge, now).unwrap();
    let verdict = server.accept(&authenticate, now);
    (challenge, authenticate, verdict)
}

#[test]
fn wire_string_reads_cp850() {
    assert_eq!(WireString::Oem(b"J\x81rgen").to_string_lossy(), "Jürgen");
    assert_eq!(
        WireString::Oem(&[0x9f, b'r', b'e', b'd']).to_string_lossy(),
        "ƒred"
    );
    let mut buf = [0u8; 16];
    assert_eq!(WireString::Oem(b"\x8e").to_str_in(&mut buf), Some("Ä"));
}

#[test]
fn challenge_target_name_is_cp850() {
    let (challenge, _, _) = oem_handshake("MÜNCHEN", "alice", "Secret1", 2);
    let c = ChallengeMessage::decode(&challenge).unwrap();
    assert!(c.flags.contains(F::NEGOTIATE_OEM) && !c.flags.contains(F::NEGOTIATE_UNICODE));
    assert_eq!(c.target_name, WireString::Oem(b"M\x9aNCHEN"));
    assert_eq!(c.target_name.to_string_lossy(), "MÜNCHEN");
}

#[test]
fn non_ascii_names_round_trip_in_oem_mode() {
    // 'ƒ' is in CP850 (0x9F) but not in Latin-1; 'ü' is in both, at different bytes.
    for client_level in [0, 2, 3] {
        let (_, authenticate, verdict) =
            oem_handshake("MÜNCHEN", "ƒrüd", "Pässwörd1", client_level);
        let m = AuthenticateMessage::decode(&authenticate).unwrap();
        assert_eq!(
            m.user_name,
            WireString::Oem(b"\x9fr\x81d"),
            "level {client_level}"
        );
        assert_eq!(m.domain_name, WireString::Oem(b"M\x9aNCHEN"));
        let logon = verdict.unwrap_or_else(|e| panic!("level {client_level}: {e}"));
        assert_eq!(logon.user, "ƒrüd");
    }
}

#[test]
fn characters_outside_cp850_become_question_marks() {
    let mut out = Vec::new();
    ntlm::wire::string_into("Ωmega€", false, &mut out);
    assert_eq!(out, b"?mega?");
}
