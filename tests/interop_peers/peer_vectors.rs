//! Known answers captured from real peers (`test-vectors/peers.toml`, written by
//! `tests/interop/capture_vectors.py`): pyspnego, Samba's ntlm_auth and curl as clients of our
//! squid-helper, pyspnego and ntlm_auth as servers for our client-helper.
//!
//! Replayed offline, so they hold in every `cargo test` without the peers installed (and
//! `.ci/run` replays a fresh capture as well, through `NTLM_PEER_VECTORS`):
//! * every message decodes and encodes back to the peer's bytes (MS-NLMP §2.2.1);
//! * peer as client: a server context configured as the capturing squid-helper, given the
//!   captured ServerChallenge and clock, issues the captured CHALLENGE byte for byte and
//!   accepts the peer's AUTHENTICATE as CORP\alice; the same bytes are refused with a wrong
//!   stored password, and accepted or refused at server levels 0–5 as a domain controller
//!   would (§3.2.5.1.2; LmCompatibilityLevel);
//! * peer as server: our AUTHENTICATE recomputes from the password against the peer's
//!   CHALLENGE (NTProofStr, session keys, MIC: §3.3.2, §3.4.5, §3.1.5.1.2), and its exported
//!   session key equals the one pyspnego reported.

use crate::common;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::SystemTime;

use common::{hex, Vectors};
use ntlm::classify::{classify, NtKind};
use ntlm::crypto::{
    kxkey_v2, mic, nt_proof_str, ntlm_v2_session_base_key, ntowf_v1, ntowf_v2, rc4_session_key,
};
use ntlm::filetime;
use ntlm::policy::{LmCompatibilityLevel, ServerPolicy, ServerPreset};
use ntlm::server::{Refusal, ServerConfig, ServerContext};
use ntlm::store::MemoryStore;
use ntlm::wire::{
    AuthenticateMessage, AvId, AvPair, ChallengeMessage, NegotiateMessage, NtlmV2Response,
};
use ntlm::{NegotiateFlags as F, SessionKey};

const DOMAIN: &str = "CORP";
const USER: &str = "alice";
const PASSWORD: &str = "Secret1";

/// `test-vectors/peers.toml`, or the file `NTLM_PEER_VECTORS` names (CI replays a fresh
/// capture that way too).
fn vectors() -> Vectors {
    match std::env::var("NTLM_PEER_VECTORS") {
        Ok(path) => Vectors::load_path(&path),
        Err(_) => Vectors::load("peers.toml"),
    }
}

/// The section names, in file order of their names.
fn sections(v: &Vectors) -> BTreeSet<String> {
    v.keys()
        .filter_map(|k| k.split_once('.').map(|(s, _)| s.to_string()))
        .collect()
}

struct Exchange {
    name: String,
    negotiate: Vec<u8>,
    challenge: Vec<u8>,
    authenticate: Vec<u8>,
}

fn exchanges(role: &str) -> Vec<Exchange> {
    let v = vectors();
    let out: Vec<Exchange> = sections(&v)
        .into_iter()
        .filter(|s| v.get(&format!("{s}.peer_role")) == role)
        .map(|s| Exchange {
            negotiate: v.hex(&format!("{s}.negotiate")),
            challenge: v.hex(&format!("{s}.challenge")),
            authenticate: v.hex(&format!("{s}.authenticate")),
            name: s,
        })
        .collect();
    assert!(!out.is_empty(), "no {role} vectors");
    out
}

/// The squid-helper the vectors were captured with (`--level N --domain CORP --computer
/// NTLMSRV`), with the captured ServerChallenge as its only entropy and the DNS names its
/// CHALLENGE carried (none in captures older than the DNS-name defaults; the host's name in
/// a fresh capture).
fn server(level: u8, c: &ChallengeMessage<'_>, password: &str) -> Arc<ServerConfig> {
    let challenge = c.server_challenge;
    let name = |id| match c.target_info.as_ref().and_then(|t| t.get(id)) {
        Some(AvPair::DnsDomainName(s) | AvPair::DnsComputerName(s)) => s.to_string_lossy(),
        _ => String::new(),
    };
    let (dns_domain, dns_computer) = (name(AvId::DnsDomainName), name(AvId::DnsComputerName));
    let mut users = MemoryStore::new();
    users.add_password(DOMAIN, USER, password);
    let policy = ServerPolicy::new(
        ServerPreset::DomainController,
        LmCompatibilityLevel::new(level).unwrap(),
    );
    let mut config = ServerConfig::new(policy, users);
    config.nb_domain = DOMAIN.into();
    config.nb_computer = "NTLMSRV".into();
    config.dns_domain = dns_domain;
    config.dns_computer = dns_computer;
    config.reflection_guard = None; // the same challenge is replayed level after level
    config.entropy = Some(Arc::new(move |out: &mut [u8]| {
        out.copy_from_slice(&challenge[..out.len()])
    }));
    Arc::new(config)
}

/// The capture's clock: the CHALLENGE's MsvAvTimestamp.
fn captured_now(challenge: &ChallengeMessage<'_>) -> SystemTime {
    let info = challenge.target_info.as_ref().expect("target info");
    filetime::to_system_time(info.timestamp().expect("MsvAvTimestamp"))
}

#[test]
fn every_peer_message_reencodes_to_its_bytes() {
    for role in ["client", "server"] {
        for x in exchanges(role) {
            let n = NegotiateMessage::decode(&x.negotiate)
                .unwrap_or_else(|e| panic!("{}: NEGOTIATE: {e}", x.name));
            assert_eq!(n.encode(), x.negotiate, "{}: NEGOTIATE", x.name);
            let c = ChallengeMessage::decode(&x.challenge)
                .unwrap_or_else(|e| panic!("{}: CHALLENGE: {e}", x.name));
            assert_eq!(c.encode(), x.challenge, "{}: CHALLENGE", x.name);
            let a = AuthenticateMessage::decode(&x.authenticate)
                .unwrap_or_else(|e| panic!("{}: AUTHENTICATE: {e}", x.name));
            assert_eq!(a.encode(), x.authenticate, "{}: AUTHENTICATE", x.name);
        }
    }
}

#[test]
fn peers_as_clients_are_accepted_by_a_replayed_server() {
    let v = vectors();
    for x in exchanges("client") {
        assert!(
            v.get(&format!("{}.verdict", x.name))
                .starts_with("AF CORP/alice"),
            "{}: the capture itself was not a logon",
            x.name
        );
        let c = ChallengeMessage::decode(&x.challenge).unwrap();
        let now = captured_now(&c);
        let mut ctx = ServerContext::new(server(3, &c, PASSWORD));
        let issued = ctx.challenge(&x.negotiate, now).unwrap();
        assert_eq!(issued, x.challenge, "{}: CHALLENGE not reproduced", x.name);
        let ok = ctx
            .accept(&x.authenticate, now)
            .unwrap_or_else(|r| panic!("{}: refused: {r}", x.name));
        assert_eq!((ok.user.as_str(), ok.domain.as_str()), (USER, DOMAIN));
        // pyspnego reported its ExportedSessionKey (and flags): ours must be the same.
        if let Some(done) = v.try_get(&format!("{}.peer_done", x.name)) {
            let key = done.split("session_key=").nth(1).expect("session_key");
            assert_eq!(
                ok.established.exported_session_key().as_bytes()[..],
                hex(key.trim())[..],
                "{}: exported session key",
                x.name
            );
            let flags = done.split("flags=0x").nth(1).expect("flags");
            let flags = u32::from_str_radix(flags.split(' ').next().unwrap(), 16).unwrap();
            assert_eq!(ok.established.flags().bits(), flags, "{}: flags", x.name);
        }
        eprintln!(
            "{:<24} LM {:?}, NT {:?}, MIC {}",
            x.name, ok.responses.lm, ok.responses.nt, ok.mic_verified
        );
    }
}

#[test]
fn peers_as_clients_with_a_wrong_stored_password_are_refused() {
    for x in exchanges("client") {
        let c = ChallengeMessage::decode(&x.challenge).unwrap();
        let now = captured_now(&c);
        let mut ctx = ServerContext::new(server(3, &c, "Secret2"));
        ctx.challenge(&x.negotiate, now).unwrap();
        let refusal = ctx.accept(&x.authenticate, now).unwrap_err();
        assert!(
            matches!(refusal, Refusal::BadPassword { .. }),
            "{}: {refusal:?}",
            x.name
        );
    }
}

/// Domain-controller semantics: levels 0–4 take NTLMv1 (with or without ESS; at 4 the LM
/// response beside it is ignored), 5 only NTLMv2.
#[test]
fn peers_as_clients_against_every_server_level() {
    let mut kinds = BTreeSet::new();
    for x in exchanges("client") {
        let c = ChallengeMessage::decode(&x.challenge).unwrap();
        let now = captured_now(&c);
        let nt = classify(&AuthenticateMessage::decode(&x.authenticate).unwrap()).nt;
        kinds.insert(format!("{nt:?}"));
        for level in 0..=5u8 {
            let mut ctx = ServerContext::new(server(level, &c, PASSWORD));
            // A domain controller's CHALLENGE does not depend on its level.
            let issued = ctx.challenge(&x.negotiate, now).unwrap();
            assert_eq!(issued, x.challenge, "{} at level {level}", x.name);
            let result = ctx.accept(&x.authenticate, now);
            let want_ok = nt == NtKind::NtlmV2 || level < 5;
            match result {
                Ok(_) => assert!(want_ok, "{} accepted at level {level}", x.name),
                Err(Refusal::Policy(_)) => {
                    assert!(!want_ok, "{} refused by policy at level {level}", x.name)
                }
                Err(other) => panic!("{} at level {level}: {other:?}", x.name),
            }
        }
    }
    // The captures cover NTLMv1, the NTLM2 session response and NTLMv2.
    for kind in ["NtlmV1", "Ess", "NtlmV2"] {
        assert!(kinds.contains(kind), "no {kind} capture in {kinds:?}");
    }
}

#[test]
fn our_authenticate_recomputes_against_peer_challenges() {
    let v = vectors();
    for x in exchanges("server") {
        let verdict = v.get(&format!("{}.verdict", x.name));
        assert!(
            verdict.starts_with("AF CORP/alice") || verdict.starts_with("DONE user=alice"),
            "{}: the peer did not accept: {verdict}",
            x.name
        );
        let c = ChallengeMessage::decode(&x.challenge).unwrap();
        let a = AuthenticateMessage::decode(&x.authenticate).unwrap();
        let response = NtlmV2Response::decode(a.nt_challenge_response).unwrap();
        let blob = &a.nt_challenge_response[16..];
        let key = ntowf_v2(&ntowf_v1(PASSWORD), USER, DOMAIN);
        let proof = nt_proof_str(&key, &c.server_challenge, blob);
        assert_eq!(&proof[..], &a.nt_challenge_response[..16], "{}", x.name);
        // With the server's timestamp, a level-3 client uses it and sends Z(24) for LMv2.
        let server_time = c.target_info.as_ref().and_then(|i| i.timestamp());
        if let Some(t) = server_time {
            assert_eq!(response.timestamp, t, "{}: blob timestamp", x.name);
            assert_eq!(a.lm_challenge_response, &[0u8; 24][..], "{}", x.name);
        }
        let kx = kxkey_v2(&ntlm_v2_session_base_key(&key, &proof));
        let exported = if a.flags.contains(F::NEGOTIATE_KEY_EXCH) {
            let encrypted: [u8; 16] = a.encrypted_random_session_key.try_into().unwrap();
            rc4_session_key(&kx, &encrypted)
        } else {
            kx
        };
        let offset = a.mic_offset().expect("MIC");
        let expected = mic(
            &exported,
            &x.negotiate,
            &x.challenge,
            &x.authenticate,
            offset,
        );
        assert_eq!(a.mic, Some(expected), "{}: MIC", x.name);
        if let Some(reported) = verdict.split("session_key=").nth(1) {
            let reported: [u8; 16] = hex(reported.trim()).try_into().unwrap();
            assert_eq!(
                exported.as_bytes(),
                SessionKey::from_bytes(reported).as_bytes(),
                "{}: exported session key differs from the peer's",
                x.name
            );
        }
    }
}
