//! Property tests of the crypto module: responses computed from a password and from its
//! stored NT hash agree; sealing and signing round-trip between a client and a server context
//! under every flag combination; any altered byte, replay or reordering is refused.

use ntlm::crypto::*;
use ntlm::{NegotiateFlags as F, NtHash, SessionKey};
use proptest::prelude::*;

/// Flag combinations that change key derivation or the signature scheme.
fn flags() -> impl Strategy<Value = F> {
    (
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(ess, kx, b128, b56, lm_key, datagram)| {
            let mut f = F::NEGOTIATE_SIGN | F::NEGOTIATE_SEAL | F::NEGOTIATE_NTLM;
            f.set(F::NEGOTIATE_EXTENDED_SESSIONSECURITY, ess);
            f.set(F::NEGOTIATE_KEY_EXCH, kx);
            f.set(F::NEGOTIATE_128, b128);
            f.set(F::NEGOTIATE_56, b56);
            f.set(F::NEGOTIATE_LM_KEY, lm_key);
            f.set(F::NEGOTIATE_DATAGRAM, datagram);
            f
        })
}

fn contexts(flags: F, key: [u8; 16]) -> (SessionSecurity, SessionSecurity) {
    let key = SessionKey::from_bytes(key);
    (
        SessionSecurity::new(flags, &key, Side::Client),
        SessionSecurity::new(flags, &key, Side::Server),
    )
}

/// A message to send: direction (true = client to server), sealed or only signed, content.
fn traffic() -> impl Strategy<Value = Vec<(bool, bool, Vec<u8>)>> {
    prop::collection::vec(
        (
            any::<bool>(),
            any::<bool>(),
            prop::collection::vec(any::<u8>(), 0..48),
        ),
        1..8,
    )
}

/// Sends one message from `tx` to `rx`, checks it arrives intact.
fn exchange(tx: &mut SessionSecurity, rx: &mut SessionSecurity, seal: bool, msg: &[u8]) {
    if seal {
        let mut buf = msg.to_vec();
        let sig = tx.seal(&mut buf);
        if msg.len() >= 4 {
            assert_ne!(buf, msg, "sealing must change the message");
        }
        rx.unseal(&mut buf, &sig).expect("unseal");
        assert_eq!(buf, msg);
    } else {
        let sig = tx.sign(msg);
        rx.verify(msg, &sig).expect("verify");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn responses_from_password_equal_responses_from_stored_hash(
        password in "\\PC{0,20}",
        user in "\\PC{0,12}",
        domain in "[a-zA-Z0-9.\u{e0}-\u{ff}]{0,12}",
        sc in any::<[u8; 8]>(),
        cc in any::<[u8; 8]>(),
        time in any::<u64>(),
        target_info in prop::collection::vec(any::<u8>(), 0..40),
    ) {
        // The client starts from the password, the server from the NT hash it stored.
        let client_nt = ntowf_v1(&password);
        let stored = NtHash::from_bytes(*ntowf_v1(&password).as_bytes());

        prop_assert_eq!(ntlm_v1_response(&client_nt, &sc), ntlm_v1_response(&stored, &sc));
        prop_assert_eq!(
            ess_nt_response(&client_nt, &sc, &cc),
            ess_nt_response(&stored, &sc, &cc)
        );
        prop_assert_eq!(
            *ntlm_v1_session_base_key(&client_nt).as_bytes(),
            *ntlm_v1_session_base_key(&stored).as_bytes()
        );

        // NTLMv2: the server looks the user up case-insensitively and derives the key from the
        // uppercased name it has; the proof is checked over the blob as received.
        let client_key = ntowf_v2(&client_nt, &user, &domain);
        let server_key = ntowf_v2(&stored, &windows_uppercase(&user), &domain);
        prop_assert_eq!(client_key.as_bytes(), server_key.as_bytes());
        prop_assert_eq!(
            lm_v2_response(&client_key, &sc, &cc),
            lm_v2_response(&server_key, &sc, &cc)
        );
        let blob = ntlm_v2_blob(time, &cc, &target_info);
        let response = ntlm_v2_response(&client_key, &sc, &blob);
        let proof: [u8; 16] = response[..16].try_into().unwrap();
        prop_assert_eq!(proof, nt_proof_str(&server_key, &sc, &response[16..]));
        prop_assert_eq!(
            *ntlm_v2_session_base_key(&client_key, &proof).as_bytes(),
            *ntlm_v2_session_base_key(&server_key, &proof).as_bytes()
        );

        // A different password gives different responses.
        let other = ntowf_v1(&format!("{password}x"));
        prop_assert_ne!(ntlm_v1_response(&other, &sc), ntlm_v1_response(&stored, &sc));
        prop_assert_ne!(
            nt_proof_str(&ntowf_v2(&other, &user, &domain), &sc, &blob),
            proof
        );
    }

    #[test]
    fn seal_and_sign_round_trip(flags in flags(), key in any::<[u8; 16]>(), msgs in traffic()) {
        let (mut client, mut server) = contexts(flags, key);
        for (to_server, seal, msg) in &msgs {
            if *to_server {
                exchange(&mut client, &mut server, *seal, msg);
            } else {
                exchange(&mut server, &mut client, *seal, msg);
            }
        }
        prop_assert!(!client.is_failed() && !server.is_failed());
    }

    #[test]
    fn any_changed_byte_is_refused(
        flags in flags(),
        key in any::<[u8; 16]>(),
        before in traffic(),
        msg in prop::collection::vec(any::<u8>(), 1..48),
        seal in any::<bool>(),
        pos in any::<prop::sample::Index>(),
        delta in 1u8..=255,
    ) {
        let (mut client, mut server) = contexts(flags, key);
        for (to_server, s, m) in &before {
            if *to_server {
                exchange(&mut client, &mut server, *s, m);
            } else {
                exchange(&mut server, &mut client, *s, m);
            }
        }
        let mut wire = msg.clone();
        let sig = if seal { client.seal(&mut wire) } else { client.sign(&wire) };
        // Change one byte of message ‖ signature.
        let i = pos.index(wire.len() + 16);
        let mut sig2 = sig;
        if i < wire.len() {
            wire[i] ^= delta;
        } else {
            sig2[i - wire.len()] ^= delta;
        }
        let r = if seal {
            server.unseal(&mut wire, &sig2)
        } else {
            server.verify(&wire, &sig2)
        };
        let err = r.expect_err("a changed byte must be refused");
        let expected = if i < wire.len() {
            "bad"
        } else {
            match i - wire.len() {
                0..=3 => "version",
                4..=11 => "bad",
                _ => "sequence",
            }
        };
        match (expected, err) {
            ("bad", SecurityError::BadSignature)
            | ("version", SecurityError::WrongVersion { .. })
            | ("sequence", SecurityError::OutOfSequence { .. }) => {}
            _ => prop_assert!(false, "byte {} gave {:?}, wanted {}", i, err, expected),
        }
        if seal {
            prop_assert!(wire.iter().all(|&b| b == 0), "unseal must not return plaintext on error");
        }
        // No resynchronisation afterwards, even for a genuine message.
        let mut next = b"next".to_vec();
        let sig = client.seal(&mut next);
        prop_assert_eq!(server.unseal(&mut next, &sig), Err(SecurityError::ContextFailed));
        prop_assert!(server.is_failed());
    }

    #[test]
    fn replay_and_reorder_are_refused(
        flags in flags(),
        key in any::<[u8; 16]>(),
        m0 in prop::collection::vec(any::<u8>(), 0..32),
        m1 in prop::collection::vec(any::<u8>(), 0..32),
        seal in any::<bool>(),
        reorder in any::<bool>(),
    ) {
        let (mut client, mut server) = contexts(flags, key);
        let send = |c: &mut SessionSecurity, m: &[u8]| {
            let mut w = m.to_vec();
            let s = if seal { c.seal(&mut w) } else { c.sign(&w) };
            (w, s)
        };
        let recv = |s: &mut SessionSecurity, (w, sig): &(Vec<u8>, [u8; 16])| {
            let mut w = w.clone();
            if seal { s.unseal(&mut w, sig) } else { s.verify(&w, sig) }
        };
        let p0 = send(&mut client, &m0);
        let p1 = send(&mut client, &m1);
        let err = if reorder {
            recv(&mut server, &p1).expect_err("reordered message accepted")
        } else {
            recv(&mut server, &p0).expect("first message");
            recv(&mut server, &p0).expect_err("replayed message accepted")
        };
        prop_assert!(
            matches!(err, SecurityError::OutOfSequence { .. }),
            "got {:?}", err
        );
        prop_assert_eq!(recv(&mut server, &p1), Err(SecurityError::ContextFailed));
    }
}

#[test]
fn wrong_signature_length_and_version() {
    let (mut client, mut server) = contexts(F::from_bits(0xe28a_8233), [7; 16]);
    let sig = client.sign(b"m");
    assert_eq!(
        server.verify(b"m", &sig[..15]),
        Err(SecurityError::WrongLength { len: 15 })
    );
    let (_, mut server) = contexts(F::from_bits(0xe28a_8233), [7; 16]);
    let mut bad = sig;
    bad[0] = 2;
    assert_eq!(
        server.verify(b"m", &bad),
        Err(SecurityError::WrongVersion { version: 2 })
    );
    assert_eq!(server.verify(b"m", &sig), Err(SecurityError::ContextFailed));
    for e in [
        SecurityError::WrongLength { len: 3 },
        SecurityError::WrongVersion { version: 2 },
        SecurityError::BadSignature,
        SecurityError::OutOfSequence {
            expected: 1,
            found: 0,
        },
        SecurityError::ContextFailed,
    ] {
        let _: &dyn std::error::Error = &e;
        assert!(!e.to_string().is_empty());
    }
}

#[test]
fn v1_without_ess_shares_one_stream_between_directions() {
    // Samba and pyspnego keep one RC4 handle and one sequence number per NTLMv1 context:
    // the server's reply continues the stream the client's request used.
    let flags = F::NEGOTIATE_SIGN | F::NEGOTIATE_SEAL | F::NEGOTIATE_KEY_EXCH;
    let (mut client, mut server) = contexts(flags, [0x55; 16]);
    exchange(&mut client, &mut server, true, b"request");
    let mut reply = b"reply".to_vec();
    let sig = server.seal(&mut reply);
    // Seq number 1, and the keystream after 7 + 12 bytes.
    let mut ks = [0u8; 7 + 12 + 5 + 12];
    Rc4::new(&[0x55; 16]).apply_keystream(&mut ks);
    let expected: Vec<u8> = b"reply"
        .iter()
        .zip(&ks[19..24])
        .map(|(a, b)| a ^ b)
        .collect();
    assert_eq!(reply, expected);
    let seq = u32::from_le_bytes(sig[12..16].try_into().unwrap())
        ^ u32::from_le_bytes(ks[32..36].try_into().unwrap());
    assert_eq!(seq, 1);
    client.unseal(&mut reply, &sig).unwrap();
    assert_eq!(reply, b"reply");
}
