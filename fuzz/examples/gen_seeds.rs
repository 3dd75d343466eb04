//! Writes the small seed corpus under fuzz/seeds/: the MS-NLMP §4.2 messages, the messages
//! of our own contexts (deterministic entropy and clock, see fuzz_targets/common.rs) and the
//! messages captured from real peers (test-vectors/peers.toml).
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

#[path = "../../tests/common/vectors.rs"]
mod vectors;
use vectors::{hex as unhex, Vectors};

fn vector(key: &str) -> Vec<u8> {
    Vectors::nlmp().hex(key)
}

/// Messages captured from pyspnego, Samba's ntlm_auth and curl (test-vectors/peers.toml).
fn peer_seeds() {
    let peers = Vectors::load("peers.toml");
    for name in peers.sections() {
        let get = |k: &str| peers.get(&format!("{name}.{k}"));
        if get("peer_role") == "client" {
            // The peer wrote NEGOTIATE and AUTHENTICATE (the CHALLENGE is ours).
            let (negotiate, auth) = (unhex(get("negotiate")), unhex(get("authenticate")));
            write("decode_negotiate", &name, &negotiate);
            write("decode_authenticate", &name, &auth);
            write("server_authenticate", &name, &auth);
            write("roundtrip", &format!("{name}_negotiate"), &negotiate);
            write("roundtrip", &format!("{name}_authenticate"), &auth);
            let a = AuthenticateMessage::decode(&auth).expect("peer AUTHENTICATE");
            if a.nt_challenge_response.len() > 24 {
                write(
                    "decode_av_pairs",
                    &format!("{name}_v2_response"),
                    a.nt_challenge_response,
                );
            }
        } else {
            // The peer wrote the CHALLENGE.
            let challenge = unhex(get("challenge"));
            write("decode_challenge", &name, &challenge);
            write("roundtrip", &format!("{name}_challenge"), &challenge);
            let c = ChallengeMessage::decode(&challenge).expect("peer CHALLENGE");
            if let Some(info) = c.target_info {
                write(
                    "decode_av_pairs",
                    &format!("{name}_target_info"),
                    info.as_bytes(),
                );
            }
            for level in [1u8, 3] {
                let mut seed = vec![level];
                seed.extend_from_slice(&challenge);
                write("client_challenge", &format!("{name}_l{level}"), &seed);
            }
        }
    }
}

/// A whole HTTP handshake between `ClientAuth` and `ServerAuth`, recorded as the
/// `http_auth` target reads it: the server's input (one `Authorization` value per line) and
/// the client's (status code digit, then the `WWW-Authenticate` value, per line).
fn http_auth_seeds() {
    use ntlm::http::auth::{
        ClientAuth, ClientAuthOptions, ClientStep, Scheme, ServerAuth, ServerAuthOptions,
        ServerDecision,
    };
    for scheme in [Scheme::Ntlm, Scheme::Negotiate] {
        let options = ServerAuthOptions::default().with_schemes(vec![scheme]);
        let mut server = ServerAuth::new(common::server_config(), options);
        let mut client = ClientAuth::new(
            common::client_config(3, "Secret1"),
            ClientAuthOptions::default(),
        );
        let (mut server_in, mut client_in) = (vec![0u8], vec![1u8]);
        let mut authorization: Option<String> = None;
        for _ in 0..4 {
            let values: Vec<&[u8]> = authorization.iter().map(|v| v.as_bytes()).collect();
            server_in.extend_from_slice(authorization.as_deref().unwrap_or("").as_bytes());
            server_in.push(b'\n');
            let (status, headers) = match server.on_request(&values, common::now()) {
                ServerDecision::Serve { header, .. } => {
                    (200, header.into_iter().map(|(_, v)| v).collect::<Vec<_>>())
                }
                ServerDecision::Challenge {
                    status, headers, ..
                } => (status, headers.into_iter().map(|(_, v)| v).collect()),
            };
            client_in.push(if status == 200 { b'2' } else { b'1' });
            client_in.extend_from_slice(headers.join(", ").as_bytes());
            client_in.push(b'\n');
            match client
                .on_response(status, &headers, true, common::now())
                .expect("client step")
            {
                ClientStep::Authorize { value, .. } => authorization = Some(value),
                ClientStep::Done(_) => break,
            }
        }
        assert!(
            server.principal().is_some(),
            "the seed handshake must log on"
        );
        let name = scheme.name().to_ascii_lowercase();
        write("http_auth", &format!("server_{name}"), &server_in);
        write("http_auth", &format!("client_{name}"), &client_in);
    }
}

/// NETLOGON pass-through: the PDUs, NDR answers and sealed responses our encoders produce.
fn netlogon_seeds() {
    use ntlm::netlogon::calls::{Authenticate3Response, ReqChallengeResponse};
    use ntlm::netlogon::channel::Association;
    use ntlm::netlogon::credential::ChannelKey;
    use ntlm::netlogon::epm::{map_tower, EptMapResponse, Tower, EPM_SYNTAX};
    use ntlm::netlogon::logon::{GroupMembership, SamInfo, SamLogonExResponse, Sid};
    use ntlm::netlogon::pdu::{
        AuthVerifier, Body, Pdu, Response, DREP_LE, PFC_FIRST_FRAG, PFC_LAST_FRAG,
    };
    use ntlm::netlogon::schannel::{NlAuthMessage, Schannel};
    use ntlm::netlogon::NETLOGON_SYNTAX;

    let mut conn = Association::new();
    write("netlogon_pdu", "bind_epm", &conn.bind(EPM_SYNTAX, None).1);
    write(
        "netlogon_pdu",
        "bind_schannel",
        &conn
            .bind(NETLOGON_SYNTAX, Some(b"\0\0\0\0\x03\0\0\0CORP\0WEB1\0"))
            .1,
    );
    let mut client = Schannel::new(ChannelKey::from_bytes([0x42; 16]), true);
    let (_, frags) = conn.request(39, &[1; 40], Some(&mut client));
    write("netlogon_pdu", "request_sealed", &frags[0]);
    let mut server = Schannel::new(ChannelKey::from_bytes([0x42; 16]), false);
    let _ = server.seal(&mut [0; 48]);
    let mut stub = vec![2u8; 32];
    let value = server.seal_with_confounder(&mut stub, [7; 8]);
    let response = Pdu {
        minor_version: 0,
        flags: PFC_FIRST_FRAG | PFC_LAST_FRAG,
        drep: DREP_LE,
        call_id: 1,
        body: Body::Response(Response {
            alloc_hint: 32,
            context_id: 0,
            cancel_count: 0,
            reserved: 0,
            stub: &stub,
        }),
        auth: Some(AuthVerifier {
            auth_type: 0x44,
            auth_level: 6,
            pad_length: 0,
            reserved: 0,
            context_id: 1,
            value: &value,
        }),
    }
    .encode();
    write("netlogon_pdu", "response_sealed", &response);
    let mut unseal = value.clone();
    unseal.extend_from_slice(&stub);
    write("netlogon_unseal", "sealed", &unseal);

    let tower = map_tower(&NETLOGON_SYNTAX);
    let mut seeds: Vec<(u8, &str, Vec<u8>)> = vec![(4, "tower", tower.clone())];
    let mut t = Tower::decode(&tower, 0).expect("tower");
    t.floors[3].rhs = &[0xc0, 0x00];
    seeds.push((
        0,
        "ept_map",
        EptMapResponse {
            entry_handle: [0; 20],
            towers: vec![t],
            status: 0,
        }
        .encode(),
    ));
    let info = SamInfo {
        times: [1, 2, 3, 4, 5, 6],
        strings: [b"a\0l\0i\0c\0e\0", &[], &[], &[], &[], &[]],
        logon_count: 1,
        bad_password_count: 0,
        user_id: 1103,
        primary_group_id: 513,
        groups: vec![GroupMembership {
            rid: 513,
            attributes: 7,
        }],
        user_flags: 0,
        user_session_key: [3; 16],
        logon_server: b"D\0C\0",
        logon_domain: b"C\0O\0R\0P\0",
        domain_sid: Some(Sid {
            revision: 1,
            authority: [0, 0, 0, 0, 0, 5],
            sub_authorities: vec![21, 1, 2, 3],
        }),
        expansion: [0; 40],
    };
    seeds.push((
        1,
        "sam_logon_ex",
        SamLogonExResponse {
            validation_level: 2,
            validation: Some(info),
            authoritative: 1,
            extra_flags: 0,
            status: 0,
        }
        .encode(),
    ));
    seeds.push((
        1,
        "sam_logon_ex_refused",
        SamLogonExResponse {
            validation_level: 0,
            validation: None,
            authoritative: 1,
            extra_flags: 0,
            status: 0xc000_006a,
        }
        .encode(),
    ));
    seeds.push((
        2,
        "authenticate3",
        Authenticate3Response {
            server_credential: [1; 8],
            negotiate_flags: 0x612f_ffff,
            account_rid: 1103,
            status: 0,
        }
        .encode(),
    ));
    seeds.push((
        3,
        "req_challenge",
        ReqChallengeResponse {
            server_challenge: [9; 8],
            status: 0,
        }
        .encode(),
    ));
    seeds.push((
        5,
        "nl_auth",
        NlAuthMessage {
            message_type: 1,
            flags: 0,
            buffer: &[0; 4],
        }
        .encode(),
    ));
    seeds.push((6, "signature", value));
    for (which, name, bytes) in seeds {
        let mut seed = vec![which];
        seed.extend_from_slice(&bytes);
        write("netlogon_ndr", name, &seed);
    }
}

fn write(target: &str, name: &str, bytes: &[u8]) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("seeds")
        .join(target);
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
    write(
        "decode_av_pairs",
        "nlmp_target_info",
        &vector("ntlmv2.target_info"),
    );
    write(
        "decode_av_pairs",
        "nlmp_v2_response",
        &vector("ntlmv2.nt_response"),
    );
    for (name, m) in [
        ("nlmp_v1_challenge", &v1_challenge),
        ("nlmp_v2_challenge", &v2_challenge),
        ("nlmp_v1_authenticate", &v1_auth),
        ("nlmp_v2_authenticate", &v2_auth),
    ] {
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
        let auth = client
            .authenticate(&challenge, common::now())
            .expect("authenticate");
        let logon = server
            .accept(&auth, common::now())
            .expect("seed must log on");
        assert_eq!(logon.user, "alice");
        if level == 3 {
            let info = ChallengeMessage::decode(&challenge)
                .unwrap()
                .target_info
                .unwrap();
            write("decode_av_pairs", "ours_target_info", info.as_bytes());
            let a = AuthenticateMessage::decode(&auth).unwrap();
            write(
                "decode_av_pairs",
                "ours_v2_response",
                a.nt_challenge_response,
            );
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
    for (selector, flags) in [
        (
            0x07u8,
            F::NEGOTIATE_EXTENDED_SESSIONSECURITY | F::NEGOTIATE_KEY_EXCH | F::NEGOTIATE_128,
        ),
        (0x00, F::EMPTY),
    ] {
        let f = flags | F::NEGOTIATE_SIGN | F::NEGOTIATE_SEAL;
        let mut client = SessionSecurity::new(f, &SessionKey::from_bytes([0x55; 16]), Side::Client);
        let mut msg = b"P\0l\0a\0i\0n\0t\0e\0x\0t\0".to_vec();
        let sig = client.seal(&mut msg);
        let mut seed = vec![selector];
        seed.extend_from_slice(&sig);
        seed.extend_from_slice(&msg);
        write("session_security", &format!("sealed_{selector:02x}"), &seed);
    }
    http_auth_seeds();
    netlogon_seeds();
    peer_seeds();
    println!("seeds written");
}
