//! Every refusal rule of the server, each provoked on purpose and named.

use crate::common;

use std::sync::Arc;
use std::time::Duration;

use common::handshake::*;
use ntlm::channel_bindings::ChannelBindings;
use ntlm::client::{ClientContext, ClientError};
use ntlm::crypto;
use ntlm::guard::ReflectionGuard;
use ntlm::lockout::{LockoutPolicy, LockoutTracker};
use ntlm::policy::{ChannelBindingPolicy, RefusedKind, ServerPolicy, Verify};
use ntlm::server::{ChannelBindingFailure, MicFailure, Refusal, ServerConfig, ServerContext};
use ntlm::store::MemoryStore;
use ntlm::wire::{
    utf16le, AuthenticateMessage, AvId, AvPair, ChallengeMessage, NegotiateFlags, TargetInfo,
    TargetInfoBuilder, WireString,
};

fn dc(n: u8) -> Arc<ServerConfig> {
    Arc::new(server_config(ServerPolicy::domain_controller(level(n))))
}

fn refusal(run: Run) -> Refusal {
    match run.result {
        Ok(logon) => panic!("accepted: {logon:?}"),
        Err(r) => r,
    }
}

/// Lockout after 3 bad passwords in 10 minutes, for 15 minutes.
fn lockout_tracker() -> Arc<LockoutTracker> {
    Arc::new(LockoutTracker::new(LockoutPolicy::new(
        3,
        Duration::from_secs(600),
        Duration::from_secs(900),
    )))
}

/// Rebuilds an AUTHENTICATE with another NT response / LM response / MIC.
fn rebuild<'a>(bytes: &'a [u8], edit: impl FnOnce(&mut AuthenticateMessage<'a>)) -> Vec<u8> {
    let decoded = AuthenticateMessage::decode(bytes).unwrap();
    let mut fresh = AuthenticateMessage::new(decoded.flags);
    fresh.lm_challenge_response = decoded.lm_challenge_response;
    fresh.nt_challenge_response = decoded.nt_challenge_response;
    fresh.domain_name = decoded.domain_name;
    fresh.user_name = decoded.user_name;
    fresh.workstation = decoded.workstation;
    fresh.encrypted_random_session_key = decoded.encrypted_random_session_key;
    fresh.version = decoded.version;
    fresh.mic = decoded.mic;
    edit(&mut fresh);
    fresh.encode()
}

/// A server context that has sent its CHALLENGE to a fresh client; returns both.
fn challenged(
    config: &Arc<ServerConfig>,
    client_level: u8,
    password: &str,
) -> (ClientContext, ServerContext, Vec<u8>) {
    let mut client = ClientContext::new(client_config(level(client_level), password));
    let mut server = ServerContext::new(config.clone());
    let challenge = server
        .challenge(&client.negotiate().unwrap(), t0())
        .unwrap();
    (client, server, challenge)
}

#[test]
fn wrong_password_without_mic_is_bad_password() {
    // Hand-built: a v2 AUTHENTICATE with the wrong password and the MIC field dropped. A
    // missing MIC must never let a wrong password in, and it is reported as what it is.
    let config = dc(3);
    let (mut client, mut server, challenge) = challenged(&config, 3, "wrong");
    let auth = client.authenticate(&challenge, t0()).unwrap();
    let no_mic = rebuild(&auth, |m| m.mic = None);
    assert_eq!(
        server.accept(&no_mic, t0()).unwrap_err(),
        Refusal::BadPassword { failures: 0 }
    );
    // And the same with the right password but a client that sends no MIC: accepted.
    let mut c = client_config(level(3), PASSWORD);
    c.policy.mic_with_timestamp = false;
    let logon = run(c, &config, t0()).result.unwrap();
    assert!(!logon.mic_verified);
}

#[test]
fn dropped_mic_with_flag_kept_is_refused() {
    let config = dc(3);
    let (mut client, mut server, challenge) = challenged(&config, 3, PASSWORD);
    let auth = client.authenticate(&challenge, t0()).unwrap();
    let no_mic = rebuild(&auth, |m| m.mic = None);
    assert_eq!(
        server.accept(&no_mic, t0()).unwrap_err(),
        Refusal::Mic(MicFailure::Missing)
    );
}

#[test]
fn altered_mic_is_refused() {
    let config = dc(3);
    let (mut client, mut server, challenge) = challenged(&config, 3, PASSWORD);
    let mut auth = client.authenticate(&challenge, t0()).unwrap();
    let offset = AuthenticateMessage::decode(&auth)
        .unwrap()
        .mic_offset()
        .unwrap();
    auth[offset] ^= 1;
    assert_eq!(
        server.accept(&auth, t0()).unwrap_err(),
        Refusal::Mic(MicFailure::Invalid)
    );
}

#[test]
fn altered_workstation_breaks_the_mic() {
    let config = dc(3);
    let (mut client, mut server, challenge) = challenged(&config, 3, PASSWORD);
    let auth = client.authenticate(&challenge, t0()).unwrap();
    let evil = utf16le("EVIL");
    let changed = rebuild(&auth, |m| m.workstation = WireString::Utf16(&evil));
    assert_eq!(
        server.accept(&changed, t0()).unwrap_err(),
        Refusal::Mic(MicFailure::Invalid)
    );
}

#[test]
fn flipped_msv_av_flags_is_refused() {
    // Clearing MIC_PRESENT inside the blob (to make a dropped MIC pass) breaks the NTProofStr.
    let config = dc(3);
    let (mut client, mut server, challenge) = challenged(&config, 3, PASSWORD);
    let auth = client.authenticate(&challenge, t0()).unwrap();
    let decoded = AuthenticateMessage::decode(&auth).unwrap();
    let mut nt = decoded.nt_challenge_response.to_vec();
    // Find MsvAvFlags (id 6, len 4) in the blob and clear bit 0x2.
    let pos = (44..nt.len() - 8)
        .find(|&i| nt[i..i + 4] == [6, 0, 4, 0])
        .expect("MsvAvFlags in blob");
    nt[pos + 4] &= !0x02;
    let tampered = rebuild(&auth, |m| {
        m.nt_challenge_response = &nt;
        m.mic = None;
    });
    let r = server.accept(&tampered, t0()).unwrap_err();
    assert_eq!(r, Refusal::BadPassword { failures: 0 });
}

#[test]
fn replayed_authenticate_is_refused() {
    let config = dc(3);
    let first = run(client_config(level(3), PASSWORD), &config, t0());
    assert!(first.result.is_ok());
    // The same AUTHENTICATE again, to a new context of the same server.
    let mut server = ServerContext::new(config.clone());
    let mut other = ClientContext::new(client_config(level(3), PASSWORD));
    server.challenge(&other.negotiate().unwrap(), t0()).unwrap();
    assert_eq!(
        server.accept(&first.authenticate, t0()).unwrap_err(),
        Refusal::Replay
    );
}

#[test]
fn skewed_timestamp_is_refused() {
    let mut policy = ServerPolicy::domain_controller(level(3));
    policy.send_timestamp = false; // the client uses its own clock
    policy.clock_skew = Duration::from_secs(300);
    let config = Arc::new(server_config(policy));
    let (mut client, mut server, challenge) = challenged(&config, 3, PASSWORD);
    let auth = client
        .authenticate(&challenge, t0() - Duration::from_secs(3600))
        .unwrap();
    assert_eq!(
        server.accept(&auth, t0()).unwrap_err(),
        Refusal::Timestamp {
            skew: Duration::from_secs(3600)
        }
    );
}

#[test]
fn expired_challenge_is_refused() {
    let config = dc(3);
    let (mut client, mut server, challenge) = challenged(&config, 3, PASSWORD);
    let later = t0() + Duration::from_secs(301);
    let auth = client.authenticate(&challenge, later).unwrap();
    assert_eq!(
        server.accept(&auth, later).unwrap_err(),
        Refusal::ChallengeExpired
    );
}

#[test]
fn level_five_refuses_ntlmv1_and_names_the_rule() {
    let r = refusal(run(client_config(level(0), PASSWORD), &dc(5), t0()));
    match r {
        Refusal::Policy(p) => {
            assert_eq!(p.refused, RefusedKind::NtlmV1);
            assert_eq!(p.level, level(5));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn lm_only_client_is_refused_at_level_four_and_accepted_at_three() {
    // A legacy client that sends only the LM response, against default domain controllers.
    for n in 0..=5u8 {
        let config = dc(n);
        let mut legacy = client_config(level(0), PASSWORD);
        legacy.policy.send_nt_response = false;
        let run = run(legacy, &config, t0());
        let message = AuthenticateMessage::decode(&run.authenticate).unwrap();
        assert!(message.nt_challenge_response.is_empty());
        match run.result {
            Ok(logon) => {
                assert!(n <= 3, "level {n} accepted LM");
                assert_eq!(logon.verified, Verify::LmOnly);
            }
            Err(Refusal::Policy(p)) => {
                assert!(n >= 4, "level {n}: {p}");
                assert_eq!(p.refused, RefusedKind::Lm);
            }
            Err(other) => panic!("level {n}: {other:?}"),
        }
    }
    // With a wrong password: a bad password where LM is accepted; where it is not, the same
    // policy refusal as with the right password (nothing tells the two apart).
    let mut legacy = client_config(level(0), "wrong");
    legacy.policy.send_nt_response = false;
    assert_eq!(
        refusal(run(legacy.clone(), &dc(3), t0())),
        Refusal::BadPassword { failures: 0 }
    );
    let r = refusal(run(legacy, &dc(4), t0()));
    assert!(
        matches!(r, Refusal::Policy(p) if p.refused == RefusedKind::Lm),
        "{r:?}"
    );
}

#[test]
fn lmv2_only_client_is_accepted_up_to_level_three_and_keys_agree() {
    let mut legacy = client_config(level(3), PASSWORD);
    legacy.policy.send_nt_response = false;
    for n in [4u8, 5] {
        let r = refusal(run(legacy.clone(), &dc(n), t0()));
        assert!(
            matches!(r, Refusal::Policy(p) if p.refused == RefusedKind::Lm),
            "level {n}: {r:?}"
        );
    }
    let run = run(legacy, &dc(3), t0());
    let mut logon = run.result.unwrap();
    assert_eq!(logon.verified, Verify::LmV2Only);
    let mut client = run.client.into_established().unwrap();
    assert_seal_crosses(&mut client, &mut logon.established, "lmv2 only");
}

#[test]
fn lockout_counts_bad_passwords_but_not_stale_ones() {
    let mut users = MemoryStore::new();
    users.add_password("CORP", "alice", "OldSecret");
    users.change_password("CORP", "alice", PASSWORD);
    let mut config = ServerConfig::new(ServerPolicy::domain_controller(level(3)), users);
    config.reflection_guard = own_guard();
    let tracker = lockout_tracker();
    config.lockout = Some(tracker.clone());
    let config = Arc::new(config);

    // A background client with the previous password: stale, twenty times, never locked.
    for i in 0..20 {
        let r = refusal(run(
            client_config(level(3), "OldSecret"),
            &config,
            t0() + Duration::from_secs(i),
        ));
        assert_eq!(r, Refusal::StaleCredentials { generations_old: 1 });
        assert!(!r.counted_towards_lockout());
    }
    assert_eq!(tracker.failures("CORP\\ALICE"), 0);
    assert!(run(
        client_config(level(3), PASSWORD),
        &config,
        t0() + Duration::from_secs(30)
    )
    .result
    .is_ok());

    // Three wrong passwords lock the account; then even the right one is refused.
    for i in 1..=3 {
        let r = refusal(run(
            client_config(level(3), "guess"),
            &config,
            t0() + Duration::from_secs(40),
        ));
        assert_eq!(r, Refusal::BadPassword { failures: i });
    }
    let r = refusal(run(
        client_config(level(3), PASSWORD),
        &config,
        t0() + Duration::from_secs(41),
    ));
    assert!(matches!(r, Refusal::LockedOut { .. }), "{r:?}");
    assert_eq!(r.rule(), "locked out");
    // After the lockout duration the right password works again.
    let later = t0() + Duration::from_secs(40 + 900);
    assert!(run(client_config(level(3), PASSWORD), &config, later)
        .result
        .is_ok());
}

#[test]
fn stale_detection_works_for_ntlmv1_too() {
    let mut users = MemoryStore::new();
    users.add_password("CORP", "alice", "Old1");
    users.change_password("CORP", "alice", "Old2");
    users.change_password("CORP", "alice", PASSWORD);
    let mut config = ServerConfig::new(ServerPolicy::domain_controller(level(0)), users);
    config.reflection_guard = own_guard();
    let config = Arc::new(config);
    let r = refusal(run(client_config(level(1), "Old1"), &config, t0()));
    assert_eq!(r, Refusal::StaleCredentials { generations_old: 2 });
}

#[test]
fn unknown_and_disabled_users() {
    let config = dc(3);
    let mut c = client_config(level(3), PASSWORD);
    c.credentials = ntlm::client::ClientCredentials::Password {
        domain: "CORP".into(),
        user: "mallory".into(),
        password: PASSWORD.into(),
    };
    let r = refusal(run(c, &config, t0()));
    assert_eq!(r, Refusal::UnknownUser);
    assert_eq!(r.to_peer(), "logon failure");

    let users = MemoryStore::parse(
        "bob:1000:XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX:a4f49c406510bdcab6824ee7c30fd852:[DU         ]:LCT-00000000:\n",
        "users",
    )
    .unwrap();
    let mut config = ServerConfig::new(ServerPolicy::domain_controller(level(3)), users);
    config.reflection_guard = own_guard();
    let mut c = client_config(level(3), "Password");
    c.credentials = ntlm::client::ClientCredentials::Password {
        domain: "".into(),
        user: "bob".into(),
        password: "Password".into(),
    };
    assert_eq!(
        refusal(run(c, &Arc::new(config), t0())),
        Refusal::AccountDisabled
    );
}

#[test]
fn channel_bindings_are_checked() {
    let tls = ChannelBindings::from_application_data(b"tls-server-end-point:server".to_vec());
    let other = ChannelBindings::from_application_data(b"tls-server-end-point:proxy".to_vec());
    for (mode, client_cb, expect) in [
        (ChannelBindingPolicy::Required, Some(&tls), None),
        (
            ChannelBindingPolicy::Required,
            None,
            Some(ChannelBindingFailure::Missing),
        ),
        (
            ChannelBindingPolicy::Required,
            Some(&other),
            Some(ChannelBindingFailure::Mismatch),
        ),
        (ChannelBindingPolicy::WhenSupported, None, None),
        (
            ChannelBindingPolicy::WhenSupported,
            Some(&other),
            Some(ChannelBindingFailure::Mismatch),
        ),
        (ChannelBindingPolicy::Never, Some(&other), None),
    ] {
        let mut policy = ServerPolicy::domain_controller(level(3));
        policy.channel_bindings = mode;
        let config = Arc::new(server_config(policy));
        let mut cc = client_config(level(3), PASSWORD);
        cc.channel_bindings = client_cb.cloned();
        let mut client = ClientContext::new(cc);
        let mut server = ServerContext::new(config);
        server.set_channel_bindings(&tls);
        let challenge = server
            .challenge(&client.negotiate().unwrap(), t0())
            .unwrap();
        let auth = client.authenticate(&challenge, t0()).unwrap();
        let result = server.accept(&auth, t0());
        match expect {
            None => assert!(result.is_ok(), "{mode:?} {client_cb:?}: {result:?}"),
            Some(f) => assert_eq!(result.unwrap_err(), Refusal::ChannelBindings(f), "{mode:?}"),
        }
    }
    // NTLMv1 cannot carry bindings: refused when they are required.
    let mut policy = ServerPolicy::domain_controller(level(0));
    policy.channel_bindings = ChannelBindingPolicy::Required;
    let r = refusal(run(
        client_config(level(1), PASSWORD),
        &Arc::new(server_config(policy)),
        t0(),
    ));
    assert_eq!(r, Refusal::ChannelBindings(ChannelBindingFailure::Missing));
}

#[test]
fn target_name_is_checked() {
    let mut policy = ServerPolicy::domain_controller(level(3));
    policy.target_names = vec!["HTTP/server.example.com".into()];
    policy.require_target_name = true;
    let config = Arc::new(server_config(policy));
    let ok = client_config(level(3), PASSWORD).target_name("http/SERVER.example.com");
    assert!(run(ok, &config, t0()).result.is_ok());
    let evil = client_config(level(3), PASSWORD).target_name("HTTP/evil.example.com");
    assert_eq!(
        refusal(run(evil, &config, t0())),
        Refusal::TargetName {
            sent: Some("HTTP/evil.example.com".into())
        }
    );
    let none = client_config(level(3), PASSWORD);
    assert_eq!(
        refusal(run(none, &config, t0())),
        Refusal::TargetName { sent: None }
    );
}

#[test]
fn require_mic_refuses_clients_without_one() {
    let mut policy = ServerPolicy::domain_controller(level(3));
    policy.require_mic = true;
    let config = Arc::new(server_config(policy));
    let mut c = client_config(level(3), PASSWORD);
    c.policy.mic_with_timestamp = false;
    assert_eq!(
        refusal(run(c, &config, t0())),
        Refusal::Mic(MicFailure::Required)
    );
    assert_eq!(
        refusal(run(client_config(level(2), PASSWORD), &config, t0())),
        Refusal::Mic(MicFailure::Required)
    );
    assert!(run(client_config(level(3), PASSWORD), &config, t0())
        .result
        .is_ok());
}

#[test]
fn echoed_target_info_must_match() {
    // A client (with the right password) that changes MsvAvNbDomainName in its echo.
    let config = dc(3);
    let mut server = ServerContext::new(config);
    let mut client = ClientContext::new(client_config(level(3), PASSWORD));
    let negotiate = client.negotiate().unwrap();
    let challenge_bytes = server.challenge(&negotiate, t0()).unwrap();
    let challenge = ChallengeMessage::decode(&challenge_bytes).unwrap();
    let info = challenge.target_info.as_ref().unwrap();
    let mut echo = TargetInfoBuilder::from_target_info(info);
    let forged = utf16le("OTHER");
    echo.set(AvPair::NbDomainName(WireString::Utf16(&forged)));
    let echo = echo.encode();
    let key = crypto::ntowf_v2(&crypto::ntowf_v1(PASSWORD), "alice", "CORP");
    let blob = crypto::ntlm_v2_blob(info.timestamp().unwrap(), &[7; 8], &echo);
    let nt = crypto::ntlm_v2_response(&key, &challenge.server_challenge, &blob);
    let (d, u, w) = (utf16le("CORP"), utf16le("alice"), utf16le("WS01"));
    let mut auth = AuthenticateMessage::new(
        NegotiateFlags::NEGOTIATE_UNICODE
            | NegotiateFlags::NEGOTIATE_NTLM
            | NegotiateFlags::NEGOTIATE_EXTENDED_SESSIONSECURITY,
    );
    auth.lm_challenge_response = &[0; 24];
    auth.nt_challenge_response = &nt;
    auth.domain_name = WireString::Utf16(&d);
    auth.user_name = WireString::Utf16(&u);
    auth.workstation = WireString::Utf16(&w);
    assert_eq!(
        server.accept(&auth.encode(), t0()).unwrap_err(),
        Refusal::TargetInfoMismatch {
            av_id: AvId::NbDomainName as u16
        }
    );
    let _ = TargetInfo::empty();
}

#[test]
fn reflection_is_refused_on_both_sides() {
    // Client and server share the process-wide guard: the client will not answer a
    // challenge its own process issued.
    let shared = Some(Arc::new(ReflectionGuard::new(Duration::from_secs(600))));
    let mut config = ServerConfig::new(ServerPolicy::domain_controller(level(3)), users());
    config.reflection_guard = shared.clone();
    let config = Arc::new(config);
    let mut cc = client_config(level(3), PASSWORD);
    cc.reflection_guard = shared.clone();
    let mut client = ClientContext::new(cc);
    let mut server = ServerContext::new(config.clone());
    let challenge = server
        .challenge(&client.negotiate().unwrap(), t0())
        .unwrap();
    assert_eq!(
        client.authenticate(&challenge, t0()).unwrap_err(),
        ClientError::Reflection
    );
    assert_eq!(
        client.authenticate(&challenge, t0()).unwrap_err(),
        ClientError::Unusable
    );

    // A local client that answered without checking (another component in the process):
    // the server refuses the answer to its challenge.
    let mut server = ServerContext::new(config);
    let mut remote = ClientContext::new(client_config(level(3), PASSWORD));
    let challenge = server
        .challenge(&remote.negotiate().unwrap(), t0())
        .unwrap();
    let sc = ChallengeMessage::decode(&challenge)
        .unwrap()
        .server_challenge;
    shared.as_ref().unwrap().client_answered(sc, t0());
    let auth = remote.authenticate(&challenge, t0()).unwrap();
    assert_eq!(server.accept(&auth, t0()).unwrap_err(), Refusal::Reflection);
}

#[test]
fn anonymous_is_a_policy_choice() {
    let anon = |config: &Arc<ServerConfig>| {
        let mut c = ntlm::client::ClientConfig::anonymous(level(3));
        c.reflection_guard = own_guard();
        run(c, config, t0()).result
    };
    let r = anon(&dc(3)).unwrap_err();
    assert!(matches!(r, Refusal::Policy(p) if p.refused == RefusedKind::Anonymous));
    let mut policy = ServerPolicy::domain_controller(level(3));
    policy.allow_anonymous = true;
    let logon = anon(&Arc::new(server_config(policy))).unwrap();
    assert_eq!(logon.verified, Verify::Anonymous);
    assert!(logon.established.is_anonymous() && logon.user.is_empty());
}

#[test]
fn malformed_and_out_of_order() {
    let config = dc(3);
    let mut server = ServerContext::new(config.clone());
    assert_eq!(
        server.accept(b"NTLMSSP\0", t0()).unwrap_err(),
        Refusal::OutOfOrder
    );
    let mut server = ServerContext::new(config.clone());
    let mut client = ClientContext::new(client_config(level(3), PASSWORD));
    let negotiate = client.negotiate().unwrap();
    let challenge = server.challenge(&negotiate, t0()).unwrap();
    // A NEGOTIATE where the AUTHENTICATE should be: refused, and the context is finished.
    assert!(matches!(
        server.accept(&negotiate, t0()).unwrap_err(),
        Refusal::Malformed(_)
    ));
    assert_eq!(
        server.accept(&negotiate, t0()).unwrap_err(),
        Refusal::OutOfOrder
    );
    // The client fed its own NEGOTIATE as a CHALLENGE: refused and unusable after.
    assert!(matches!(
        client.authenticate(&negotiate, t0()).unwrap_err(),
        ClientError::Malformed(_)
    ));
    assert_eq!(
        client.authenticate(&challenge, t0()).unwrap_err(),
        ClientError::Unusable
    );
    let mut fresh = ClientContext::new(client_config(level(3), PASSWORD));
    assert!(matches!(
        fresh.authenticate(&challenge, t0()).unwrap_err(),
        ClientError::OutOfOrder(_)
    ));
    assert_eq!(fresh.negotiate().unwrap_err(), ClientError::Unusable);
}

#[test]
fn stripped_msv_av_flags_is_refused() {
    // Removing MsvAvFlags from the echoed target info (and the MIC with it) breaks the
    // NTProofStr, which covers the blob: the logon is refused, never accepted without a MIC.
    let config = dc(3);
    let (mut client, mut server, challenge) = challenged(&config, 3, PASSWORD);
    let auth = client.authenticate(&challenge, t0()).unwrap();
    let decoded = AuthenticateMessage::decode(&auth).unwrap();
    let nt = decoded.nt_challenge_response;
    let pos = (44..nt.len() - 8)
        .find(|&i| nt[i..i + 4] == [6, 0, 4, 0])
        .expect("MsvAvFlags in blob");
    let mut stripped = nt[..pos].to_vec();
    stripped.extend_from_slice(&nt[pos + 8..]);
    let tampered = rebuild(&auth, |m| {
        m.nt_challenge_response = &stripped;
        m.mic = None;
    });
    let r = server.accept(&tampered, t0()).unwrap_err();
    assert_eq!(r, Refusal::BadPassword { failures: 0 });
}

#[test]
fn missing_mic_never_lets_a_wrong_password_in_under_any_policy() {
    for require_mic in [false, true] {
        let mut policy = ServerPolicy::domain_controller(level(3));
        policy.require_mic = require_mic;
        let config = Arc::new(server_config(policy));
        let mut c = client_config(level(3), "wrong");
        c.policy.mic_with_timestamp = false;
        let r = refusal(run(c, &config, t0()));
        assert_eq!(
            r,
            Refusal::BadPassword { failures: 0 },
            "require_mic={require_mic}"
        );
    }
}

#[test]
fn forged_ess_lm_only_message_is_refused() {
    // The shape that logs on to pyspnego 0.12.4's acceptor without a password: the ESS flag,
    // no NT response, LM field = 8 chosen bytes ‖ Z(16). Here it is a bad password at every
    // level, since the LM field is verified against the stored hashes, never against itself.
    for n in 0..=5u8 {
        let config = dc(n);
        let (mut client, mut server, challenge) = challenged(&config, 1, PASSWORD);
        let auth = client.authenticate(&challenge, t0()).unwrap();
        let mut lm = [0u8; 24];
        lm[..8].copy_from_slice(b"attacker");
        let forged = rebuild(&auth, |m| {
            m.flags
                .insert(NegotiateFlags::NEGOTIATE_EXTENDED_SESSIONSECURITY);
            m.lm_challenge_response = &lm;
            m.nt_challenge_response = &[];
        });
        let r = server.accept(&forged, t0()).unwrap_err();
        assert!(
            matches!(r, Refusal::BadPassword { .. } | Refusal::Policy(_)),
            "level {n}: {r:?}"
        );
    }
}

#[test]
fn stripped_nt_response_cannot_skip_configured_checks() {
    // Review finding C4: a relay strips MsvAvTimestamp from the CHALLENGE (so the client
    // sends LMv2 and no MIC) and then drops the NT response. What is left carries no target
    // name and no channel bindings, so a server that checks either refuses it at any level.
    let tls = ChannelBindings::from_application_data(b"tls-server-end-point:server".to_vec());
    for (with_spn, with_bindings) in [(true, false), (false, true)] {
        let mut policy = ServerPolicy::domain_controller(level(3));
        policy.send_timestamp = false;
        if with_spn {
            policy.target_names = vec!["HTTP/server.example.com".into()];
        }
        let config = Arc::new(server_config(policy));
        let mut client = ClientContext::new(
            client_config(level(3), PASSWORD).target_name("HTTP/evil.example.com"),
        );
        let mut server = ServerContext::new(config);
        if with_bindings {
            server.set_channel_bindings(&tls);
        }
        let challenge = server
            .challenge(&client.negotiate().unwrap(), t0())
            .unwrap();
        let auth = client.authenticate(&challenge, t0()).unwrap();
        let stripped = rebuild(&auth, |m| m.nt_challenge_response = &[]);
        let r = server.accept(&stripped, t0()).unwrap_err();
        let expected = if with_spn {
            Refusal::TargetName { sent: None }
        } else {
            Refusal::ChannelBindings(ChannelBindingFailure::Missing)
        };
        assert_eq!(r, expected);
    }
}

#[test]
fn lockout_cannot_be_dodged_by_changing_the_domain() {
    // Review finding C1: an account stored without a domain matches any domain the client
    // names; the counter must still be the account's own.
    let users = MemoryStore::parse(":bob:Secret1\n", "users").unwrap();
    let mut config = ServerConfig::new(ServerPolicy::domain_controller(level(3)), users);
    config.reflection_guard = own_guard();
    let tracker = lockout_tracker();
    config.lockout = Some(tracker.clone());
    let config = Arc::new(config);
    let as_bob = |domain: &str, password: &str| {
        let mut c = client_config(level(3), password);
        c.credentials = ntlm::client::ClientCredentials::Password {
            domain: domain.into(),
            user: "bob".into(),
            password: password.into(),
        };
        c
    };
    for i in 0..3 {
        let r = refusal(run(as_bob(&format!("D{i}"), "guess"), &config, t0()));
        assert_eq!(r, Refusal::BadPassword { failures: i + 1 });
    }
    let r = refusal(run(as_bob("ZZ", "Secret1"), &config, t0()));
    assert!(matches!(r, Refusal::LockedOut { .. }), "{r:?}");
    // After the lock, a logon reports the server's domain, not the client's claim.
    let later = t0() + Duration::from_secs(901);
    let logon = run(as_bob("ZZ", "Secret1"), &config, later).result.unwrap();
    assert_eq!(
        (logon.domain.as_str(), logon.user.as_str()),
        ("DOMAIN", "bob")
    );
}

#[test]
fn a_copied_logon_does_not_get_the_real_one_refused() {
    // Review finding C2: an attacker who sees an AUTHENTICATE in flight sends a copy on its
    // own connection first. The copy fails; the real one must still succeed, and the same
    // message after that is refused as a replay (not counted as a bad password).
    let config = dc(3);
    let (mut client, mut victim_server, challenge) = challenged(&config, 3, PASSWORD);
    let auth = client.authenticate(&challenge, t0()).unwrap();

    let (_, mut attacker_server, _) = challenged(&config, 3, PASSWORD);
    assert_eq!(
        attacker_server.accept(&auth, t0()).unwrap_err(),
        Refusal::BadPassword { failures: 0 }
    );
    assert!(victim_server.accept(&auth, t0()).is_ok());

    let (_, mut replay_server, _) = challenged(&config, 3, PASSWORD);
    assert_eq!(
        replay_server.accept(&auth, t0()).unwrap_err(),
        Refusal::Replay
    );
}

#[test]
fn a_replay_is_never_counted_as_a_bad_password() {
    // The replay cache is asked only once the password is refused; a replay on another
    // connection (another challenge) must still be refused as a replay, before the lockout
    // counts it: five replays of alice's logon leave her failure count at zero.
    let mut config = server_config(ServerPolicy::domain_controller(level(3)));
    config.lockout = Some(lockout_tracker());
    let config = Arc::new(config);
    let (mut client, mut server, challenge) = challenged(&config, 3, PASSWORD);
    let auth = client.authenticate(&challenge, t0()).unwrap();
    assert!(server.accept(&auth, t0()).is_ok());
    for _ in 0..5 {
        let (_, mut replay_server, _) = challenged(&config, 3, PASSWORD);
        assert_eq!(
            replay_server.accept(&auth, t0()).unwrap_err(),
            Refusal::Replay
        );
    }
    let r = refusal(run(client_config(level(3), "wrong"), &config, t0()));
    assert_eq!(r, Refusal::BadPassword { failures: 1 });
}

#[test]
fn a_replay_under_a_repeated_challenge_is_refused_by_the_second_context() {
    // A fixed entropy source gives every context the same challenge, so a copied
    // AUTHENTICATE verifies on a second context. Both contexts are challenged before either
    // accepts (two connections at once): the first accepts, the second refuses a replay
    // when it would remember the response.
    let mut config = server_config(ServerPolicy::domain_controller(level(3)));
    config.reflection_guard = None;
    config.entropy = Some(Arc::new(|out: &mut [u8]| out.fill(0x5a)));
    let config = Arc::new(config);
    let (mut client, mut first, challenge) = challenged(&config, 3, PASSWORD);
    let (_, mut second, same_challenge) = challenged(&config, 3, PASSWORD);
    let (a, b) = (
        ChallengeMessage::decode(&challenge).unwrap(),
        ChallengeMessage::decode(&same_challenge).unwrap(),
    );
    assert_eq!(a.server_challenge, b.server_challenge);
    let auth = client.authenticate(&challenge, t0()).unwrap();
    assert!(first.accept(&auth, t0()).is_ok());
    assert_eq!(second.accept(&auth, t0()).unwrap_err(), Refusal::Replay);
}

#[test]
fn client_refuses_a_challenge_that_strips_required_flags() {
    let mut policy = ServerPolicy::domain_controller(level(3));
    policy.offer_ess = false;
    let config = Arc::new(server_config(policy));
    let mut c = client_config(level(2), PASSWORD);
    c.policy.required =
        NegotiateFlags::NEGOTIATE_EXTENDED_SESSIONSECURITY | NegotiateFlags::NEGOTIATE_128;
    let mut client = ClientContext::new(c);
    let mut server = ServerContext::new(config);
    let challenge = server
        .challenge(&client.negotiate().unwrap(), t0())
        .unwrap();
    assert_eq!(
        client.authenticate(&challenge, t0()).unwrap_err(),
        ClientError::TooWeak {
            missing: NegotiateFlags::NEGOTIATE_EXTENDED_SESSIONSECURITY
        }
    );
}

#[test]
fn anonymous_cannot_skip_what_policy_requires() {
    let anon = |edit: fn(&mut ServerPolicy)| {
        let mut policy = ServerPolicy::domain_controller(level(3));
        policy.allow_anonymous = true;
        edit(&mut policy);
        let mut c = ntlm::client::ClientConfig::anonymous(level(3));
        c.reflection_guard = own_guard();
        run(c, &Arc::new(server_config(policy)), t0()).result
    };
    assert!(anon(|_| {}).is_ok());
    assert_eq!(
        anon(|p| p.channel_bindings = ChannelBindingPolicy::Required).unwrap_err(),
        Refusal::ChannelBindings(ChannelBindingFailure::Missing)
    );
    assert_eq!(
        anon(|p| {
            p.target_names = vec!["HTTP/server.example.com".into()];
            p.require_target_name = true;
        })
        .unwrap_err(),
        Refusal::TargetName { sent: None }
    );
    assert_eq!(
        anon(|p| p.require_mic = true).unwrap_err(),
        Refusal::Mic(MicFailure::Required)
    );
}

#[test]
fn altered_lmv2_beside_a_valid_ntlmv2_is_refused_but_not_counted() {
    // No timestamp in the CHALLENGE: the level-3 client sends LMv2 (not Z(24)) and no MIC,
    // so nothing else notices an altered LM field.
    let mut policy = ServerPolicy::domain_controller(level(3));
    policy.send_timestamp = false;
    policy.verify_lmv2_with_ntlmv2 = true;
    let mut config = server_config(policy);
    let tracker = lockout_tracker();
    config.lockout = Some(tracker.clone());
    let config = Arc::new(config);

    let (mut client, mut server, challenge) = challenged(&config, 3, PASSWORD);
    let auth = client.authenticate(&challenge, t0()).unwrap();
    let decoded = AuthenticateMessage::decode(&auth).unwrap();
    assert!(decoded.mic.is_none() && decoded.lm_challenge_response.len() == 24);
    let mut lm = decoded.lm_challenge_response.to_vec();
    lm[3] ^= 0x40;
    let altered = rebuild(&auth, |m| m.lm_challenge_response = &lm);
    let r = server.accept(&altered, t0()).unwrap_err();
    assert_eq!(r, Refusal::LmV2Mismatch);
    assert_eq!(r.rule(), "LMv2 mismatch");
    assert!(!r.counted_towards_lockout());
    assert_eq!(tracker.failures("CORP\\ALICE"), 0);

    // The genuine message passes, and a wrong password is still a counted bad password.
    let (mut client, mut server, challenge) = challenged(&config, 3, PASSWORD);
    let auth = client.authenticate(&challenge, t0()).unwrap();
    assert!(server.accept(&auth, t0()).is_ok());
    let r = refusal(run(client_config(level(3), "guess"), &config, t0()));
    assert_eq!(r, Refusal::BadPassword { failures: 1 });
}

#[test]
fn key_exchange_without_an_encrypted_key_is_refused() {
    // ESS (level 1) and NTLMv2 (level 3) with KEY_EXCH negotiated; the MIC is dropped with
    // the key so that the key exchange rule is the one that speaks.
    let config = dc(3);
    for client_level in [1, 3] {
        for keep in [0, 8] {
            let (mut client, mut server, challenge) = challenged(&config, client_level, PASSWORD);
            let auth = client.authenticate(&challenge, t0()).unwrap();
            let decoded = AuthenticateMessage::decode(&auth).unwrap();
            assert!(decoded.flags.contains(NegotiateFlags::NEGOTIATE_KEY_EXCH));
            assert_eq!(decoded.encrypted_random_session_key.len(), 16);
            let key = &decoded.encrypted_random_session_key[..keep];
            let stripped = rebuild(&auth, |m| {
                m.encrypted_random_session_key = key;
                m.mic = None;
            });
            let r = server.accept(&stripped, t0()).unwrap_err();
            if keep == 0 {
                assert_eq!(r, Refusal::KeyExchange, "level {client_level}");
                assert_eq!(r.rule(), "key exchange");
            } else {
                // A key of another length than 0 or 16 is already a decode error.
                assert!(
                    matches!(&r, Refusal::Malformed(e) if e.field == "EncryptedRandomSessionKeyFields"),
                    "level {client_level}: {r:?}"
                );
            }
        }
    }
}

#[test]
fn old_password_with_an_altered_lmv2_is_still_stale() {
    let mut users = MemoryStore::new();
    users.add_password("CORP", "alice", "OldSecret");
    users.change_password("CORP", "alice", PASSWORD);
    let mut policy = ServerPolicy::domain_controller(level(3));
    policy.send_timestamp = false;
    policy.verify_lmv2_with_ntlmv2 = true;
    let mut config = ServerConfig::new(policy, users);
    config.reflection_guard = own_guard();
    let tracker = lockout_tracker();
    config.lockout = Some(tracker.clone());
    let config = Arc::new(config);
    let (mut client, mut server, challenge) = challenged(&config, 3, "OldSecret");
    let auth = client.authenticate(&challenge, t0()).unwrap();
    let mut lm = AuthenticateMessage::decode(&auth)
        .unwrap()
        .lm_challenge_response
        .to_vec();
    lm[0] ^= 1;
    let altered = rebuild(&auth, |m| m.lm_challenge_response = &lm);
    assert_eq!(
        server.accept(&altered, t0()).unwrap_err(),
        Refusal::StaleCredentials { generations_old: 1 }
    );
    assert_eq!(tracker.failures("CORP\\ALICE"), 0);
}
