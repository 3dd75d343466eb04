//! Refusal timing by account state (issue 11, item 4): `ServerContext::accept` of a refused
//! AUTHENTICATE must cost the same whether the user is unknown, disabled, locked out, has a
//! password history or not, for each response shape (NTLMv2, and an LM field alone).
//!
//! ```text
//! cargo bench --bench refusal_timing -- --warm-up-time 1 --measurement-time 2
//! ```
//!
//! Two measurements of the same classes against one level-3 domain controller with lockout:
//!
//! 1. **interleaved** (printed to stderr, the figures `benches/README.md` quotes): 20 000
//!    rounds, each timing one `accept` per class in a rotating order, so that machine noise
//!    falls on every class alike; the median of each class and its ratio to the unknown
//!    user's median of the same response shape;
//! 2. criterion's `refusal_timing/<shape>/<class>` (medians via `benches/report.py`), one
//!    class after the other.
//!
//! Only `accept` is timed; the CHALLENGE before it is made outside the measurement. The
//! server's challenge is fixed (its entropy source), so each AUTHENTICATE is built once (and
//! one context is outstanding at a time: criterion's batches are of one).
//! The clock advances 2 s per try, past the lockout observation window (1 s), so that the
//! wrong-password classes never lock their account; the locked-out account stays locked
//! (100-year lockout).
use std::cell::Cell;
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use ntlm::client::{ClientConfig, ClientContext, ClientCredentials};
use ntlm::lockout::{LockoutPolicy, LockoutTracker};
use ntlm::policy::ServerPolicy;
use ntlm::server::{Refusal, ServerConfig, ServerContext};
use ntlm::store::{MemoryStore, UserRecord};

#[path = "common/mod.rs"]
mod common;

const RIGHT: &str = "Secret1!";
const WRONG: &str = "Guess123";

/// One class: who logs on with what, and the refusal expected.
struct Class {
    shape: &'static str,
    name: &'static str,
    authenticate: Vec<u8>,
    expected: &'static str,
}

fn t(i: u64) -> SystemTime {
    common::now() + Duration::from_secs(2 * i)
}

fn server() -> Arc<ServerConfig> {
    let mut users = MemoryStore::new();
    users.add_password("CORP", "alice", RIGHT);
    // dave changed his password twice: two previous NT hashes.
    users.add_password("CORP", "dave", "Old1");
    users.change_password("CORP", "dave", "Old2");
    users.change_password("CORP", "dave", RIGHT);
    let mut bob = UserRecord::from_password("CORP", "bob", RIGHT);
    bob.disabled = true;
    users.insert(bob);
    users.add_password("CORP", "carol", RIGHT);
    let mut config = ServerConfig::new(ServerPolicy::domain_controller(common::level(3)), users);
    config.reflection_guard = common::guard();
    config.dns_domain = "corp.example.com".into();
    config.dns_computer = "server.corp.example.com".into();
    config.entropy = Some(Arc::new(|out: &mut [u8]| out.fill(0x42)));
    let lockout = Arc::new(LockoutTracker::new(LockoutPolicy::new(
        3,
        Duration::from_secs(1),
        Duration::from_secs(100 * 365 * 86_400),
    )));
    for _ in 0..3 {
        lockout.record_failure("CORP\\CAROL", t(0));
    }
    config.lockout = Some(lockout);
    Arc::new(config)
}

/// The AUTHENTICATE `user` with `password` sends at client level `level` (an LM field
/// alone when `lm_only`).
fn authenticate(config: &Arc<ServerConfig>, user: &str, password: &str, lm_only: bool) -> Vec<u8> {
    let level = if lm_only { 0 } else { 3 };
    let mut client = ClientConfig::new(common::level(level), "CORP", user, password)
        .workstation("WORKSTATION01");
    client.reflection_guard = common::client_guard();
    client.credentials = ClientCredentials::Password {
        domain: "CORP".into(),
        user: user.into(),
        password: password.into(),
    };
    if lm_only {
        client.policy.send_nt_response = false;
    }
    let mut client = ClientContext::new(client);
    let mut server = ServerContext::new(config.clone());
    let challenge = server
        .challenge(&client.negotiate().expect("negotiate"), t(0))
        .expect("challenge");
    client.authenticate(&challenge, t(0)).expect("authenticate")
}

fn classes(config: &Arc<ServerConfig>) -> Vec<Class> {
    let mut out = Vec::new();
    let mut add = |shape, name, user, password, lm_only, expected| {
        out.push(Class {
            shape,
            name,
            authenticate: authenticate(config, user, password, lm_only),
            expected,
        })
    };
    add("ntlmv2", "unknown", "mallory", WRONG, false, "unknown user");
    add(
        "ntlmv2",
        "disabled",
        "bob",
        WRONG,
        false,
        "account disabled",
    );
    add(
        "ntlmv2",
        "disabled_right_password",
        "bob",
        RIGHT,
        false,
        "account disabled",
    );
    add("ntlmv2", "locked_out", "carol", WRONG, false, "locked out");
    add(
        "ntlmv2",
        "locked_out_right_password",
        "carol",
        RIGHT,
        false,
        "locked out",
    );
    add(
        "ntlmv2",
        "wrong_password",
        "alice",
        WRONG,
        false,
        "bad password",
    );
    add(
        "ntlmv2",
        "wrong_password_with_history",
        "dave",
        WRONG,
        false,
        "bad password",
    );
    add(
        "ntlmv2",
        "previous_password",
        "dave",
        "Old2",
        false,
        "stale credentials",
    );
    add("lm_only", "unknown", "mallory", WRONG, true, "unknown user");
    add(
        "lm_only",
        "disabled",
        "bob",
        WRONG,
        true,
        "account disabled",
    );
    add("lm_only", "locked_out", "carol", WRONG, true, "locked out");
    add(
        "lm_only",
        "wrong_password",
        "alice",
        WRONG,
        true,
        "bad password",
    );
    add(
        "lm_only",
        "wrong_password_with_history",
        "dave",
        WRONG,
        true,
        "bad password",
    );
    out
}

/// A context that has sent its CHALLENGE at `now`.
fn challenged(config: &Arc<ServerConfig>, now: SystemTime) -> ServerContext {
    let mut server = ServerContext::new(config.clone());
    server
        .challenge(&common_negotiate(), now)
        .expect("challenge");
    server
}

fn common_negotiate() -> Vec<u8> {
    thread_local! {
        static NEGOTIATE: Vec<u8> = ClientContext::new(ClientConfig::new(
            common::level(3), "CORP", "x", "x")).negotiate().expect("negotiate");
    }
    NEGOTIATE.with(Clone::clone)
}

fn refused(result: Result<ntlm::server::Authenticated, Refusal>) -> &'static str {
    match result {
        Ok(logon) => panic!("accepted {}", logon.user),
        Err(r) => r.rule(),
    }
}

fn median(v: &mut [u64]) -> u64 {
    v.sort_unstable();
    v[v.len() / 2]
}

/// The interleaved measurement: medians and ratios to the unknown user of the same shape.
fn interleaved(config: &Arc<ServerConfig>, classes: &[Class], clock: &Cell<u64>, rounds: usize) {
    let mut times = vec![Vec::with_capacity(rounds); classes.len()];
    for round in 0..rounds {
        for k in 0..classes.len() {
            let i = (round + k) % classes.len();
            let class = &classes[i];
            let now = t(clock.replace(clock.get() + 1));
            let mut server = challenged(config, now);
            let start = Instant::now();
            let result = black_box(server.accept(black_box(&class.authenticate), now));
            let elapsed = start.elapsed();
            assert_eq!(
                refused(result),
                class.expected,
                "{}/{}",
                class.shape,
                class.name
            );
            times[i].push(elapsed.as_nanos() as u64);
        }
    }
    let medians: Vec<u64> = times.iter_mut().map(|t| median(t)).collect();
    eprintln!("\ninterleaved medians of ServerContext::accept, {rounds} tries per class:");
    eprintln!("| class | refusal | median | ratio to unknown user |");
    eprintln!("|---|---|---:|---:|");
    for (class, m) in classes.iter().zip(&medians) {
        let unknown = classes
            .iter()
            .zip(&medians)
            .find(|(c, _)| c.shape == class.shape && c.name == "unknown")
            .map(|(_, m)| *m)
            .expect("an unknown-user class per shape");
        eprintln!(
            "| {}/{} | {} | {:.2} µs | {:.3} |",
            class.shape,
            class.name,
            class.expected,
            *m as f64 / 1000.0,
            *m as f64 / unknown as f64
        );
    }
}

fn bench(c: &mut Criterion) {
    let config = server();
    let classes = classes(&config);
    let clock = Cell::new(1);
    let rounds = std::env::var("NTLM_TIMING_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(20_000);
    interleaved(&config, &classes, &clock, rounds);

    let mut group = c.benchmark_group("refusal_timing");
    for class in &classes {
        group.bench_function(format!("{}/{}", class.shape, class.name), |b| {
            b.iter_batched(
                || {
                    let now = t(clock.replace(clock.get() + 1));
                    (challenged(&config, now), now)
                },
                |(mut server, now)| server.accept(black_box(&class.authenticate), now).is_err(),
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
