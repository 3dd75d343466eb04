//! Throughput of server verification (level-3 NTLMv2 AUTHENTICATE, as `end_to_end`'s
//! `server_verify_v2`) on one core and on two cores at once, sharing one `ServerConfig`
//! (store, replay cache) as a real server does. Prints verifications per second and the
//! two-core/one-core ratio; rounds alternate 1 and 2 threads, the median of each is reported.
//!
//! ```text
//! cargo bench --bench scaling
//! ```
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

#[path = "common/mod.rs"]
mod common;

const PER_THREAD: usize = 4000;
const ROUNDS: usize = 7;

/// Verifications per second with `threads` threads each verifying PER_THREAD prepared
/// AUTHENTICATEs (preparation is not timed).
fn round(config: &Arc<ntlm::server::ServerConfig>, threads: usize) -> f64 {
    let barrier = Arc::new(Barrier::new(threads));
    let elapsed: Vec<Duration> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let barrier = barrier.clone();
                s.spawn(move || {
                    let mut work: Vec<common::Ready> =
                        (0..PER_THREAD).map(|_| common::ready(config, 3)).collect();
                    barrier.wait();
                    let start = Instant::now();
                    for r in &mut work {
                        r.server
                            .accept(&r.authenticate, common::now())
                            .expect("logon");
                    }
                    let t = start.elapsed();
                    drop(work);
                    t
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    });
    let slowest = elapsed.into_iter().max().expect("a thread");
    (threads * PER_THREAD) as f64 / slowest.as_secs_f64()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` runs this once, briefly.
    let quick = !std::env::args().any(|a| a == "--bench");
    let config = common::server_config(3);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let (mut one, mut two) = (Vec::new(), Vec::new());
    let rounds = if quick { 1 } else { ROUNDS };
    for _ in 0..rounds {
        one.push(round(&config, 1));
        two.push(round(&config, 2));
    }
    let (one, two) = (median(one), median(two));
    println!(
        "scaling/server_verify_v2: 1 thread {one:.0}/s, 2 threads {two:.0}/s, ratio {:.2} ({cores} cores available, median of {rounds} rounds)",
        two / one
    );
}
