//! Property tests over real client and server contexts.
//!
//! * For random users, domains and passwords (any Unicode, non-BMP included), client and
//!   server levels 0–5, random client flags (128/56-bit, key exchange, sign, seal), ESS and
//!   the timestamp offered or not: the same password logs on exactly when
//!   `ServerPolicy::judge_responses` accepts what the client sent, both sides then hold the
//!   same flags and keys and seal to each other, and a different password never logs on.
//! * Any single flipped bit in an AUTHENTICATE is refused, or accepted for the same user with
//!   the same flags and keys. The store holds a second account one bit away from the first
//!   ("alicd", with another password) so that "accepted as another user" is reachable.

use std::sync::Arc;
use std::time::Duration;

use ntlm::classify::classify;
use ntlm::client::{ClientConfig, ClientContext, Entropy};
use ntlm::guard::ReflectionGuard;
use ntlm::policy::ServerPolicy;
use ntlm::server::{Refusal, ServerConfig, ServerContext};
use ntlm::store::MemoryStore;
use ntlm::wire::AuthenticateMessage;
use proptest::prelude::*;

use crate::common;
use common::handshake::{level, t0};

fn guard() -> Option<Arc<ReflectionGuard>> {
    Some(Arc::new(ReflectionGuard::new(Duration::from_secs(600))))
}

fn fixed(seed: u8) -> Entropy {
    Arc::new(move |out: &mut [u8]| {
        for (i, b) in out.iter_mut().enumerate() {
            *b = seed.wrapping_mul(29).wrapping_add(i as u8);
        }
    })
}

/// Names: mostly ASCII letters, with Latin-1, Greek, CJK and non-BMP characters.
fn name(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            4 => prop::char::range('a', 'z'),
            1 => prop::char::range('À', 'ÿ'),
            1 => prop::char::range('α', 'ω'),
            1 => prop::char::range('一', '龥'),
            1 => prop::char::range('\u{10400}', '\u{1044f}'),
        ],
        1..max,
    )
    .prop_map(|v| v.into_iter().collect())
}

/// Passwords: any Unicode scalar value, 0 to 20 of them.
fn password() -> impl Strategy<Value = String> {
    prop::collection::vec(any::<char>(), 0..20).prop_map(|v| v.into_iter().collect())
}

fn server(
    user: &str,
    domain: &str,
    password: &str,
    lvl: u8,
    offer_ess: bool,
    timestamp: bool,
) -> Arc<ServerConfig> {
    let mut users = MemoryStore::new();
    users.add_password(domain, user, password);
    let mut policy = ServerPolicy::domain_controller(level(lvl));
    policy.offer_ess = offer_ess;
    policy.send_timestamp = timestamp;
    let mut config = ServerConfig::new(policy, users);
    config.reflection_guard = guard();
    Arc::new(config)
}

/// Client flags: 128-bit, 56-bit, key exchange, sign, seal.
type Flags = [bool; 5];

fn client(user: &str, domain: &str, password: &str, lvl: u8, flags: Flags) -> ClientContext {
    let mut config = ClientConfig::new(level(lvl), domain, user, password).workstation("WS01");
    config.reflection_guard = guard();
    let p = &mut config.policy;
    [p.request_128, p.request_56, p.key_exchange, p.sign, p.seal] = flags;
    ClientContext::new(config)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn same_password_succeeds_where_policy_allows_and_other_fails(
        user in name(8),
        domain in name(8),
        password in password(),
        client_level in 0u8..6,
        server_level in 0u8..6,
        offer_ess in any::<bool>(),
        timestamp in any::<bool>(),
        flags in any::<Flags>(),
    ) {
        let config = server(&user, &domain, &password, server_level, offer_ess, timestamp);

        let mut c = client(&user, &domain, &password, client_level, flags);
        let mut s = ServerContext::new(config.clone());
        let challenge = s.challenge(&c.negotiate().unwrap(), t0()).unwrap();
        let auth = c.authenticate(&challenge, t0()).unwrap();
        let kinds = classify(&AuthenticateMessage::decode(&auth).unwrap());
        let allowed = config.policy.judge_responses(&kinds);
        match (s.accept(&auth, t0()), allowed) {
            (Ok(mut logon), Ok(verified)) => {
                prop_assert_eq!(&logon.user, &user);
                prop_assert_eq!(logon.verified, verified);
                let mine = c.established().expect("the client finished");
                prop_assert_eq!(mine.flags(), logon.established.flags());
                prop_assert!(
                    mine.exported_session_key().as_bytes()
                        == logon.established.exported_session_key().as_bytes()
                );
                let mut mine = c.into_established().expect("the client finished");
                let mut data = password.clone().into_bytes();
                let sig = mine.security().seal(&mut data);
                prop_assert!(logon.established.security().unseal(&mut data, &sig).is_ok());
                prop_assert_eq!(&data, password.as_bytes());
            }
            (Err(Refusal::Policy(p)), Err(q)) => prop_assert_eq!(p, q),
            (result, allowed) => prop_assert!(false, "accept {:?} but policy {:?}", result.map(|l| l.verified), allowed),
        }

        let wrong = format!("{password}x");
        let mut c = client(&user, &domain, &wrong, client_level, flags);
        let mut s = ServerContext::new(config);
        let challenge = s.challenge(&c.negotiate().unwrap(), t0()).unwrap();
        let auth = c.authenticate(&challenge, t0()).unwrap();
        match s.accept(&auth, t0()) {
            Ok(_) => prop_assert!(false, "a wrong password logged on"),
            Err(Refusal::BadPassword { .. } | Refusal::Policy(_)) => {}
            Err(other) => prop_assert!(false, "unexpected refusal {other:?}"),
        }
    }

    #[test]
    fn a_flipped_bit_is_refused_or_changes_nothing_protected(
        client_level in 0u8..6,
        offer_ess in any::<bool>(),
        seed in any::<u8>(),
        flips in prop::collection::vec(any::<prop::sample::Index>(), 8),
    ) {
        // Deterministic entropy on both sides: every server context issues the same CHALLENGE,
        // so the one AUTHENTICATE can be offered to many of them. No replay cache: a replay
        // refusal would hide what the cryptography decides.
        let mut users = MemoryStore::new();
        users.add_password("CORP", "alice", "Secret1");
        users.add_password("CORP", "alicd", "Other-password");
        let mut policy = ServerPolicy::domain_controller(level(0));
        policy.offer_ess = offer_ess;
        let mut config = ServerConfig::new(policy, users);
        config.reflection_guard = None;
        config.replay = None;
        config.entropy = Some(fixed(seed));
        let config = Arc::new(config);
        let mut cc = ClientConfig::new(level(client_level), "CORP", "alice", "Secret1").workstation("WS01");
        cc.reflection_guard = None;
        cc.entropy = Some(fixed(seed.wrapping_add(1)));
        let mut c = ClientContext::new(cc);
        let negotiate = c.negotiate().unwrap();
        let mut s = ServerContext::new(config.clone());
        let challenge = s.challenge(&negotiate, t0()).unwrap();
        let auth = c.authenticate(&challenge, t0()).unwrap();
        let genuine = s.accept(&auth, t0()).expect("the genuine message logs on");
        let decoded = AuthenticateMessage::decode(&auth).unwrap();
        let has_mic = decoded.mic.is_some();
        // Without a MIC (NTLMv1, or NTLMv2 to a server sending no timestamp) MS-NLMP leaves
        // NegotiateFlags and EncryptedRandomSessionKey unprotected (§5.1): a flipped bit
        // there may be accepted with other flags or another exported key (the session's
        // first signature then fails). Everywhere else the keys and flags must not move.
        let key_field = decoded.encrypted_random_session_key;
        let key_at = key_field.as_ptr() as usize - auth.as_ptr() as usize;
        let unprotected = |byte: usize| {
            !has_mic && ((60..64).contains(&byte) || (key_at..key_at + key_field.len()).contains(&byte))
        };
        for flip in flips {
            let bit = flip.index(auth.len() * 8);
            let mut bad = auth.clone();
            bad[bit / 8] ^= 1 << (bit % 8);
            let mut s = ServerContext::new(config.clone());
            prop_assert_eq!(&s.challenge(&negotiate, t0()).unwrap(), &challenge);
            if let Ok(logon) = s.accept(&bad, t0()) {
                prop_assert_eq!(&logon.user, "alice", "accepted as another user (bit {})", bit);
                prop_assert_eq!(logon.verified, genuine.verified);
                let (a, b) = (&logon.established, &genuine.established);
                if !unprotected(bit / 8) {
                    prop_assert_eq!(a.flags(), b.flags(), "bit {} changed the flags", bit);
                    prop_assert!(
                        a.exported_session_key().as_bytes() == b.exported_session_key().as_bytes(),
                        "bit {} changed the session key", bit
                    );
                }
            }
        }
    }
}
