//! Writes the small seed corpus under fuzz/seeds/: the MS-NLMP §4.2 messages and the messages
//! of our own contexts (deterministic entropy and clock, see fuzz_targets/common.rs).
//!
//! ```text
//! cd fuzz && cargo run --example gen_seeds
//! ```
use std::fs;
use std::path::Path;

use ntlm::client::ClientContext;
use ntlm::crypto::{SessionSecurity, Side};
use ntlm::wire::{AuthenticateMessage, ChallengeMessage};
use ntlm::{NegotiateFlags as F, SessionKey};

#[path = "../fuzz_targets/common.rs"]
mod common;

fn vector(key: &str) -> Vec<u8> {
    let text = fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../test-vectors/ms-nlmp-4.2.toml"))
        .expect("vectors");
    let (section, name) = key.split_once('.').expect("section.key");
    let mut current = "";
    for line in text.lines().map(str::trim) {
        if let Some(s) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            current = s;
        } else if let Some((k, v)) = line.split_once('=') {
            if current == section && k.trim() == name {
                let v = v.trim().trim_matches('"');
                return (0..v.len())
                    .step_by(2)
                    .map(|i| u8::from_str_radix(&v[i..i + 2], 16).expect("hex"))
                    .collect();
            }
        }
    }
    panic!("no vector {key}");
}

fn write(target: &str, name: &str, bytes: &[u8]) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds").join(target);
    fs::create_dir_all(&dir).expect("mkdir");
    fs::write(dir.join(name), bytes).expect("write");
}

fn main() {
    let config = common::server_config();
    let v1_challenge = vector("ntlmv1.challenge_message");
    let v2_challenge = vector("ntlmv2.challenge_message");
    let v1_auth = vector("ntlmv1.authenticate_message");
    let v2_auth = vector("ntlmv2.authenticate_message");
    write("decode_challenge", "nlmp_v1", &v1_challenge);
    write("decode_challenge", "nlmp_v2", &v2_challenge);
    write("decode_authenticate", "nlmp_v1", &v1_auth);
    write("decode_authenticate", "nlmp_v2", &v2_auth);
    write("decode_av_pairs", "nlmp_target_info", &vector("ntlmv2.target_info"));
    write("decode_av_pairs", "nlmp_v2_response", &vector("ntlmv2.nt_response"));
    for (name, m) in [("nlmp_v1_challenge", &v1_challenge), ("nlmp_v2_challenge", &v2_challenge),
        ("nlmp_v1_authenticate", &v1_auth), ("nlmp_v2_authenticate", &v2_auth)] {
        write("roundtrip", name, m);
    }
    for (level, challenge) in [(1u8, &v1_challenge), (3, &v2_challenge)] {
        let mut seed = vec![level];
        seed.extend_from_slice(challenge);
        write("client_challenge", &format!("nlmp_l{level}"), &seed);
    }

    for level in [0u8, 2, 3, 5] {
        let (negotiate, challenge, mut server) = common::challenged_server(&config, level);
        let mut client = ClientContext::new(common::client_config(level, "Secret1"));
        client.negotiate().expect("negotiate");
        let auth = client.authenticate(&challenge, common::now()).expect("authenticate");
        let logon = server.accept(&auth, common::now()).expect("seed must log on");
        assert_eq!(logon.user, "alice");
        if level == 3 {
            let info = ChallengeMessage::decode(&challenge).unwrap().target_info.unwrap();
            write("decode_av_pairs", "ours_target_info", info.as_bytes());
            let a = AuthenticateMessage::decode(&auth).unwrap();
            write("decode_av_pairs", "ours_v2_response", a.nt_challenge_response);
        }
        if level == 0 || level == 3 {
            write("decode_negotiate", &format!("ours_l{level}"), &negotiate);
            write("decode_challenge", &format!("ours_l{level}"), &challenge);
            let mut seed = vec![level];
            seed.extend_from_slice(&challenge);
            write("client_challenge", &format!("ours_l{level}"), &seed);
            write("roundtrip", &format!("ours_negotiate_l{level}"), &negotiate);
            write("roundtrip", &format!("ours_challenge_l{level}"), &challenge);
            write("roundtrip", &format!("ours_authenticate_l{level}"), &auth);
        }
        write("decode_authenticate", &format!("ours_l{level}"), &auth);
        write("server_authenticate", &format!("ours_l{level}"), &auth);
    }

    // Session security: selector (0x07 = ESS | KEY_EXCH | 128; 0x00 = NTLMv1), signature, message.
    for (selector, flags) in [(0x07u8, F::NEGOTIATE_EXTENDED_SESSIONSECURITY | F::NEGOTIATE_KEY_EXCH | F::NEGOTIATE_128), (0x00, F::EMPTY)] {
        let f = flags | F::NEGOTIATE_SIGN | F::NEGOTIATE_SEAL;
        let mut client = SessionSecurity::new(f, &SessionKey::from_bytes([0x55; 16]), Side::Client);
        let mut msg = b"P\0l\0a\0i\0n\0t\0e\0x\0t\0".to_vec();
        let sig = client.seal(&mut msg);
        let mut seed = vec![selector];
        seed.extend_from_slice(&sig);
        seed.extend_from_slice(&msg);
        write("session_security", &format!("sealed_{selector:02x}"), &seed);
    }
    println!("seeds written");
}
