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
//! the bounds of common/mod.rs, for instruction-count ratios. Without arguments (as `cargo bench` runs it) it does one of each.
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
    for _ in 0..n {
        match mode {
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
