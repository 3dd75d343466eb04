//! Every cell of the level matrix: client levels 0–5 × server levels 0–5 × ESS offered or
//! withheld × domain-controller or symmetric preset. The expectations are written out here
//! from the LmCompatibilityLevel documentation, independently of `policy.rs`.

use crate::common;

use std::sync::Arc;

use common::handshake::*;
use ntlm::classify::{classify, LmKind, NtKind};
use ntlm::policy::{RefusedKind, ServerPolicy, ServerPreset, Verify};
use ntlm::server::Refusal;
use ntlm::wire::AuthenticateMessage;
use subtle::ConstantTimeEq;

/// What a Windows client at `c` sends, given whether the server offered ESS.
fn expected_sent(c: u8, ess_offered: bool) -> (LmKind, NtKind) {
    match c {
        0 => (LmKind::Lm, NtKind::NtlmV1),
        1 if ess_offered => (LmKind::EssClientChallenge, NtKind::Ess),
        1 => (LmKind::Lm, NtKind::NtlmV1),
        2 if ess_offered => (LmKind::EssClientChallenge, NtKind::Ess),
        2 => (LmKind::CopyOfNt, NtKind::NtlmV1),
        // The server sends MsvAvTimestamp, so LMv2 is replaced by Z(24).
        _ => (LmKind::Zero24, NtKind::NtlmV2),
    }
}

/// What the server decides.
fn expected_outcome(
    preset: ServerPreset,
    c: u8,
    s: u8,
    ess_offered: bool,
) -> Result<Verify, RefusedKind> {
    let (_, nt) = expected_sent(c, ess_offered);
    let (verify, refused) = match nt {
        NtKind::NtlmV1 => (Verify::NtlmV1, RefusedKind::NtlmV1),
        NtKind::Ess => (Verify::Ess, RefusedKind::Ess),
        _ => (Verify::NtlmV2, RefusedKind::NtlmV2),
    };
    let accepted = match (preset, nt) {
        // Domain controllers: 0–3 everything, 4 refuses LM only, 5 NTLMv2 only.
        (ServerPreset::DomainController, NtKind::NtlmV2) => true,
        (ServerPreset::DomainController, _) => s <= 4,
        // Symmetric: what a client at level s sends.
        (ServerPreset::Symmetric, NtKind::NtlmV2) => s >= 3,
        (ServerPreset::Symmetric, NtKind::Ess) => (1..=2).contains(&s),
        (ServerPreset::Symmetric, _) => s <= 2,
    };
    if accepted {
        Ok(verify)
    } else {
        Err(refused)
    }
}

fn check_matrix(preset: ServerPreset, ess_offered: bool) {
    let mut cells = 0;
    for c in 0..=5u8 {
        for s in 0..=5u8 {
            let mut policy = ServerPolicy::new(preset, level(s));
            policy.offer_ess &= ess_offered;
            // The symmetric level-0 server never offers ESS (its own clients never use it).
            let ess_offered = policy.offer_ess;
            let config = Arc::new(server_config(policy));
            let run = run(client_config(level(c), PASSWORD), &config, t0());
            let message = AuthenticateMessage::decode(&run.authenticate).unwrap();
            let kinds = classify(&message);
            let cell = format!("{preset:?} ess={ess_offered} client L{c} server L{s}");
            assert_eq!(
                (kinds.lm, kinds.nt),
                expected_sent(c, ess_offered),
                "{cell}"
            );
            assert_eq!(message.mic.is_some(), c >= 3, "{cell}: MIC");
            match (expected_outcome(preset, c, s, ess_offered), run.result) {
                (Ok(verify), Ok(mut logon)) => {
                    assert_eq!(logon.verified, verify, "{cell}");
                    assert_eq!(logon.user, "alice");
                    assert_eq!(logon.workstation, "WS01");
                    assert_eq!(logon.mic_verified, c >= 3, "{cell}");
                    // Both sides derived the same keys: a sealed message crosses over.
                    let client = run.client.established().unwrap();
                    assert!(bool::from(
                        client
                            .exported_session_key()
                            .ct_eq(logon.established.exported_session_key())
                    ));
                    assert_eq!(client.flags(), logon.established.flags(), "{cell}");
                    let mut client = run.client.into_established().unwrap();
                    assert_seal_crosses(&mut client, &mut logon.established, &cell);
                }
                (Err(kind), Err(Refusal::Policy(p))) => {
                    assert_eq!(p.refused, kind, "{cell}");
                    assert_eq!(p.level, level(s), "{cell}");
                }
                (want, got) => panic!("{cell}: expected {want:?}, got {got:?}"),
            }
            cells += 1;
        }
    }
    assert_eq!(cells, 36);
}

#[test]
fn domain_controller_with_ess() {
    check_matrix(ServerPreset::DomainController, true);
}

#[test]
fn domain_controller_without_ess() {
    check_matrix(ServerPreset::DomainController, false);
}

#[test]
fn symmetric_with_ess() {
    check_matrix(ServerPreset::Symmetric, true);
}

#[test]
fn symmetric_without_ess() {
    check_matrix(ServerPreset::Symmetric, false);
}

#[test]
fn without_server_timestamp_v2_clients_send_lmv2_and_no_mic() {
    let mut policy = ServerPolicy::domain_controller(level(5));
    policy.send_timestamp = false;
    let config = Arc::new(server_config(policy));
    for c in 3..=5 {
        let run = run(client_config(level(c), PASSWORD), &config, t0());
        let message = AuthenticateMessage::decode(&run.authenticate).unwrap();
        let kinds = classify(&message);
        assert_eq!((kinds.lm, kinds.nt), (LmKind::LmV2, NtKind::NtlmV2));
        assert!(message.mic.is_none());
        let logon = run.result.unwrap();
        assert!(!logon.mic_verified);
    }
}

#[test]
fn level_three_client_never_falls_back_whatever_the_server_offers() {
    // A server that offers nothing but NTLM (no ESS, no target info timestamp).
    let mut policy = ServerPolicy::domain_controller(level(0));
    policy.offer_ess = false;
    policy.send_timestamp = false;
    let config = Arc::new(server_config(policy));
    let run = run(client_config(level(3), PASSWORD), &config, t0());
    let message = AuthenticateMessage::decode(&run.authenticate).unwrap();
    assert_eq!(classify(&message).nt, NtKind::NtlmV2);
    assert_eq!(run.result.unwrap().verified, Verify::NtlmV2);
}

#[test]
fn user_name_case_and_domain_variants() {
    let config = Arc::new(server_config(ServerPolicy::domain_controller(level(5))));
    for (domain, user) in [("corp", "ALICE"), ("CORP", "Alice"), ("", "alice")] {
        let mut client = client_config(level(3), PASSWORD);
        client.credentials = ntlm::client::ClientCredentials::Password {
            domain: domain.into(),
            user: user.into(),
            password: PASSWORD.into(),
        };
        let logon = run(client, &config, t0()).result.unwrap();
        assert_eq!(logon.user, "alice", "{domain}\\{user}");
    }
}

#[test]
fn pass_the_hash_client() {
    let config = Arc::new(server_config(ServerPolicy::domain_controller(level(5))));
    let mut client = client_config(level(5), "unused");
    client.credentials = ntlm::client::ClientCredentials::Hash {
        domain: "CORP".into(),
        user: "alice".into(),
        nt_hash: ntlm::crypto::ntowf_v1(PASSWORD),
        lm_hash: None,
    };
    assert!(run(client, &config, t0()).result.is_ok());
}

/// A client holding only the NTLMv2 hash (cntlm's PassNTLMv2) logs on at levels 3–5 with the
/// same responses a password would give, and refuses to answer at levels 0–2, which need the
/// NT hash; a hash computed for another domain spelling is a bad password.
#[test]
fn ntlmv2_hash_credentials() {
    use ntlm::client::{ClientContext, ClientCredentials, ClientError};
    use ntlm::crypto::{ntowf_v1, ntowf_v2};

    let server = Arc::new(server_config(ServerPolicy::domain_controller(level(5))));
    let with_hash = |c: u8, domain: &str| {
        let mut config = client_config(level(c), PASSWORD);
        config.credentials = ClientCredentials::NtlmV2Hash {
            domain: "CORP".into(),
            user: "alice".into(),
            ntlmv2_hash: ntowf_v2(&ntowf_v1(PASSWORD), "alice", domain),
        };
        config
    };
    for c in 3..=5 {
        let logon = run(with_hash(c, "CORP"), &server, t0())
            .result
            .expect("accepted");
        assert_eq!(
            (logon.user.as_str(), logon.verified),
            ("alice", Verify::NtlmV2)
        );
        assert!(logon.mic_verified);
    }
    let wrong = run(with_hash(3, "OTHER"), &server, t0())
        .result
        .unwrap_err();
    assert!(matches!(wrong, Refusal::BadPassword { .. }), "{wrong:?}");
    for c in 0..=2 {
        let mut client = ClientContext::new(with_hash(c, "CORP"));
        let mut server = ntlm::server::ServerContext::new(server.clone());
        let challenge = server
            .challenge(&client.negotiate().unwrap(), t0())
            .unwrap();
        assert!(matches!(
            client.authenticate(&challenge, t0()),
            Err(ClientError::NeedsNtHash)
        ));
    }
}
