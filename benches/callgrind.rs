//! Repeatable instruction counts for the level-3 handshake and server verification, for
//! before/after comparisons on a loaded machine (callgrind counts instructions, not time).
//!
//! ```text
//! cargo bench --bench callgrind --no-run
//! B=$(ls -t target/release/deps/callgrind-* | grep -v '\.d$' | head -1)
//! for mode in handshake ready verify; do for n in 100 200; do
//!   valgrind --tool=callgrind --callgrind-out-file=/dev/null $B $mode $n 2>&1 | grep refs
//! done; done
//! ```
//!
//! Modes: `handshake N` (N level-3 handshakes, client + server, contexts made in the loop),
//! `ready N` (N times the set-up of `verify`: client NEGOTIATE, server CHALLENGE, client
//! AUTHENTICATE), `verify N` (the same, then `ServerContext::accept`). Per-operation counts
//! are differences: (count(2N) − count(N)) / N, and verify − ready for the server's
//! verification alone. `bound_server`, `bound_server_no_seal`, `bound_handshake_no_seal`:
//! the bounds of common/mod.rs, for instruction-count ratios. `decode_challenge N`: N
//! decodes of the MS-NLMP §4.2.4 CHALLENGE (the `benches/peers` input);
//! `decode_authenticate N`: N decodes of the level-3 AUTHENTICATE of `verify`. Without arguments (as `cargo bench` runs it) it does one of each.
use std::hint::black_box;

#[path = "common/mod.rs"]
mod common;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // `cargo bench` passes `--bench`: anything but a mode runs one of each.
    let mode = args
        .first()
        .map(String::as_str)
        .filter(|m| {
            [
                "handshake",
                "ready",
                "verify",
                "bound_server",
                "bound_server_no_seal",
                "bound_handshake_no_seal",
                "decode_challenge",
                "decode_authenticate",
            ]
            .contains(m)
        })
        .unwrap_or("all");
    let n: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(1);
    let config = common::server_config(3);
    let [server, server_no_seal, _, client_no_seal] = common::level3_bounds(&config);
    let mut scratch = common::BoundScratch::new();
    let handshake = || {
        let mut server = ntlm::server::ServerContext::new(config.clone());
        server.set_channel_bindings(&common::bindings());
        let mut client = ntlm::client::ClientContext::new(common::client_config(3));
        let m1 = client.negotiate().unwrap();
        let m2 = server.challenge(&m1, common::now()).unwrap();
        let m3 = client.authenticate(&m2, common::now()).unwrap();
        black_box(server.accept(&m3, common::now()).unwrap());
    };
    let verify = |accept: bool| {
        let mut r = common::ready(&config, 3);
        if accept {
            black_box(r.server.accept(&r.authenticate, common::now()).unwrap());
        }
        black_box(r);
    };
    let challenge = nlmp_v2_challenge();
    let authenticate = common::ready(&config, 3).authenticate;
    for _ in 0..n {
        match mode {
            "decode_challenge" => {
                let m = ntlm::wire::ChallengeMessage::decode(black_box(&challenge)).unwrap();
                black_box(m);
            }
            "decode_authenticate" => {
                let m = ntlm::wire::AuthenticateMessage::decode(black_box(&authenticate)).unwrap();
                black_box(m);
            }
            "handshake" => handshake(),
            "ready" => verify(false),
            "verify" => verify(true),
            "bound_server" => common::run_bound(black_box(&server), &mut scratch),
            "bound_server_no_seal" => common::run_bound(black_box(&server_no_seal), &mut scratch),
            "bound_handshake_no_seal" => common::run_bound(
                black_box(&client_no_seal.plus(server_no_seal)),
                &mut scratch,
            ),
            _ => {
                handshake();
                verify(true);
            }
        }
    }
}

/// The CHALLENGE_MESSAGE of MS-NLMP §4.2.4 (NTLMv2), as `benches/peers` decodes it.
fn nlmp_v2_challenge() -> Vec<u8> {
    let hex = concat!(
        "4e544c4d53535000020000000c000c003800000033828ae20123456789abcdef",
        "00000000000000002400240044000000060070170000000f5300650072007600",
        "6500720002000c0044006f006d00610069006e0001000c005300650072007600",
        "6500720000000000",
    );
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}
