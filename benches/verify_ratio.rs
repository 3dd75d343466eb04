//! Ratios to the bound measured **interleaved**: each round times one server verification
//! (HTTP use: no session security), one verification followed by the session security set-up
//! (sign/seal use), one full level-3 handshake (client + server, no sign/seal), and the bound of
//! each (common/mod.rs), in a rotating order, so that the load of a shared machine falls on
//! every class alike; the ratios are of the per-class medians. Criterion's separate groups
//! (`end_to_end`) run minutes apart and, under load, their ratios move by more than the
//! differences being measured.
//!
//! ```text
//! cargo bench --bench verify_ratio            # ROUNDS=20000 by default
//! ROUNDS=5000 cargo bench --bench verify_ratio
//! NO_REPLAY_CACHE=1 cargo bench --bench verify_ratio   # diagnosis only, see below
//! NO_REFLECTION_GUARD=1 cargo bench --bench verify_ratio
//! ```
//!
//! `NO_REPLAY_CACHE` and `NO_REFLECTION_GUARD` run the same with the server's replay cache
//! or reflection guard switched off, to measure what each costs in time (the benchmark's
//! clock is fixed, so every accepted logon stays in the replay cache: 3 × ROUNDS entries by
//! the end). Not configurations to deploy.
//!
//! `STEADY=N` models a long-running server instead: the replay cache starts with N entries
//! spread over its retention window and the clock advances by retention / N per logon, so N
//! logons are accepted per retention window and the cache holds N to 2N (its two
//! generations, see `ntlm::guard::ReplayCache`).
//!
//! ```text
//! STEADY=60000 cargo bench --bench verify_ratio
//! ```
use std::hint::black_box;
use std::time::Instant;

use ntlm::client::ClientContext;
use ntlm::server::ServerContext;

#[path = "common/mod.rs"]
mod common;
use common::{run_bound, BoundScratch};

const CLASSES: [&str; 6] = [
    "server_verify_v2/no_seal",
    "bound/server_verify_v2/no_seal",
    "server_verify_v2/sealing",
    "bound/server_verify_v2",
    "handshake/L3/no_seal",
    "bound/handshake/L3/no_seal",
];

fn main() {
    let rounds: usize = std::env::var("ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(20_000);
    let mut config = common::server_config(3);
    if std::env::var_os("NO_REPLAY_CACHE").is_some() {
        if let Some(c) = std::sync::Arc::get_mut(&mut config) {
            c.replay = None;
        }
        eprintln!("replay cache off (NO_REPLAY_CACHE): diagnosis only");
    }
    if std::env::var_os("NO_REFLECTION_GUARD").is_some() {
        if let Some(c) = std::sync::Arc::get_mut(&mut config) {
            c.reflection_guard = None;
        }
        eprintln!("reflection guard off (NO_REFLECTION_GUARD): diagnosis only");
    }
    // STEADY=N: N entries over the cache's retention (as `ServerConfig::new` sets it: the
    // challenge lifetime, at least 60 s), and the clock advances by retention / N per logon.
    let steady: Option<u32> = std::env::var("STEADY").ok().and_then(|n| n.parse().ok());
    let mut clock = common::now();
    let step = match (steady, &config.replay) {
        (Some(n), Some(cache)) if n > 0 => {
            let retention = config
                .policy
                .challenge_lifetime
                .max(std::time::Duration::from_secs(60));
            let step = retention / n;
            let start = clock - retention;
            for i in 0..n {
                let mut key = [0xa5u8; 16];
                key[..4].copy_from_slice(&i.to_le_bytes());
                let _ = cache.remember(key, start + step * (i + 1));
            }
            eprintln!("steady state: {n} entries, the clock advancing {step:?} per logon");
            step
        }
        _ => std::time::Duration::ZERO,
    };
    let [server, server_no_seal, _client, client_no_seal] = common::level3_bounds(&config);
    let hs_no_seal = client_no_seal.plus(server_no_seal);
    for (name, b) in [
        (CLASSES[1], server_no_seal),
        (CLASSES[3], server),
        (CLASSES[5], hs_no_seal),
    ] {
        eprintln!("{name}: {}", b.describe());
    }
    let mut scratch = BoundScratch::new();
    let mut times: Vec<Vec<u64>> = vec![Vec::with_capacity(rounds); CLASSES.len()];
    for round in 0..rounds {
        for k in 0..CLASSES.len() {
            let class = (round + k) % CLASSES.len();
            let ns = match class {
                0 | 2 => {
                    clock += step;
                    let mut r = common::ready_at(&config, 3, clock);
                    let start = Instant::now();
                    let mut logon = r.server.accept(black_box(&r.authenticate), clock).unwrap();
                    if class == 2 {
                        logon.established.security();
                    }
                    let ns = start.elapsed();
                    black_box(logon);
                    ns
                }
                4 => {
                    clock += step;
                    let mut server = ServerContext::new(config.clone());
                    server.set_channel_bindings(&common::bindings());
                    let mut client = ClientContext::new(common::client_config(3));
                    let start = Instant::now();
                    let n = client.negotiate().unwrap();
                    let ch = server.challenge(&n, clock).unwrap();
                    let a = client.authenticate(&ch, clock).unwrap();
                    let logon = server.accept(&a, clock).unwrap();
                    let ns = start.elapsed();
                    black_box(logon);
                    ns
                }
                _ => {
                    let b = [server_no_seal, server, hs_no_seal][class / 2];
                    let start = Instant::now();
                    run_bound(black_box(&b), &mut scratch);
                    start.elapsed()
                }
            };
            times[class].push(u64::try_from(ns.as_nanos()).unwrap_or(u64::MAX));
        }
    }
    let medians: Vec<u64> = times
        .iter_mut()
        .map(|t| {
            t.sort_unstable();
            t[t.len() / 2]
        })
        .collect();
    println!("interleaved medians over {rounds} rounds:");
    for pair in [0, 2, 4] {
        let (m, b) = (medians[pair], medians[pair + 1]);
        println!(
            "{:<28} {:>8.2} µs   {:<32} {:>8.2} µs   ratio {:.2}",
            CLASSES[pair],
            m as f64 / 1e3,
            CLASSES[pair + 1],
            b as f64 / 1e3,
            m as f64 / b as f64
        );
    }
}
