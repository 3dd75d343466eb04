//! A NEGOTIATE flood cannot deny a legitimate logon (issue 11, item 1): contexts dropped or
//! replaced before their AUTHENTICATE give their challenge back to the reflection guard, and
//! a guard full of live, never-answered challenges forgets its oldest one instead of
//! refusing new ones.

use crate::common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::handshake::*;
use ntlm::client::ClientContext;
use ntlm::guard::ReflectionGuard;
use ntlm::policy::ServerPolicy;
use ntlm::server::{ServerConfig, ServerContext};

/// A level-3 domain controller whose reflection guard holds `capacity` challenges.
fn server(capacity: usize) -> (Arc<ServerConfig>, Arc<ReflectionGuard>) {
    let guard = Arc::new(ReflectionGuard::with_capacity(
        Duration::from_secs(600),
        capacity,
    ));
    let mut config = server_config(ServerPolicy::domain_controller(level(3)));
    config.reflection_guard = Some(guard.clone());
    (Arc::new(config), guard)
}

/// The NEGOTIATE a flooding client sends, over and over.
fn negotiate() -> Vec<u8> {
    ClientContext::new(client_config(level(3), PASSWORD))
        .negotiate()
        .unwrap()
}

/// A legitimate logon with the right password, and one with a wrong one.
fn assert_logon_works(config: &Arc<ServerConfig>) {
    let logon = run(client_config(level(3), PASSWORD), config, t0())
        .result
        .expect("a legitimate logon is refused during the flood");
    assert_eq!(logon.user, "alice");
    assert!(run(client_config(level(3), "wrong"), config, t0())
        .result
        .is_err());
}

#[test]
fn dropped_and_replaced_contexts_give_their_challenge_back() {
    let (config, guard) = server(4096);
    let negotiate = negotiate();
    let started = Instant::now();
    // 10 times the guard's capacity: half dropped, half replaced by a new context on the
    // same "connection" (a second NEGOTIATE), as HTTP and the Squid helper do.
    let mut connection = ServerContext::new(config.clone());
    for i in 0..40_000u32 {
        if i % 2 == 0 {
            let mut ctx = ServerContext::new(config.clone());
            ctx.challenge(&negotiate, t0()).expect("challenge refused");
        } else {
            connection = ServerContext::new(config.clone());
            connection
                .challenge(&negotiate, t0())
                .expect("challenge refused");
        }
        assert!(guard.issued_len() <= 1, "challenge {i} was not released");
    }
    // A context asked for a second CHALLENGE also gives its first one back.
    assert!(connection.challenge(&negotiate, t0()).is_err());
    assert_eq!(guard.issued_len(), 0);
    drop(connection);
    eprintln!("40 000 dropped contexts in {:?}", started.elapsed());
    assert_logon_works(&config);
    assert_eq!(guard.issued_len(), 0);
}

#[test]
fn a_flood_that_never_answers_cannot_deny_a_logon() {
    let capacity = 4096;
    let (config, guard) = server(capacity);
    let negotiate = negotiate();
    // Ten times the capacity of contexts that stay alive and never answer.
    let mut flood = Vec::with_capacity(10 * capacity);
    for i in 0..10 * capacity {
        let mut ctx = ServerContext::new(config.clone());
        ctx.challenge(&negotiate, t0())
            .unwrap_or_else(|e| panic!("challenge {i} refused: {e}"));
        flood.push(ctx);
        if i % 4096 == 0 {
            // During the flood.
            assert_logon_works(&config);
        }
    }
    assert!(guard.issued_len() <= capacity);
    // Right after it, with the flood's contexts still alive.
    assert_logon_works(&config);
    // A context whose challenge was evicted can still complete its own logon.
    let mut client = ClientContext::new(client_config(level(3), PASSWORD));
    let mut early = ServerContext::new(config.clone());
    let challenge = early.challenge(&client.negotiate().unwrap(), t0()).unwrap();
    for _ in 0..2 * capacity {
        let mut ctx = ServerContext::new(config.clone());
        ctx.challenge(&negotiate, t0()).unwrap();
        flood.push(ctx);
    }
    let authenticate = client.authenticate(&challenge, t0()).unwrap();
    assert_eq!(early.accept(&authenticate, t0()).unwrap().user, "alice");
    drop(flood);
    assert_eq!(guard.issued_len(), 0);
}

#[test]
fn the_default_guard_capacity_holds_against_262_144_challenges() {
    let (config, guard) = server(ReflectionGuard::DEFAULT_CAPACITY);
    let negotiate = negotiate();
    let started = Instant::now();
    // The flood: about 262 000 NEGOTIATEs whose contexts are dropped unanswered.
    for _ in 0..ReflectionGuard::DEFAULT_CAPACITY + 1000 {
        let mut ctx = ServerContext::new(config.clone());
        ctx.challenge(&negotiate, t0()).expect("challenge refused");
    }
    assert_eq!(guard.issued_len(), 0);
    let dropped = started.elapsed();
    assert_logon_works(&config);
    // The same number of challenges kept outstanding (straight into the guard: 262 144 live
    // contexts would take ~100 MB), then a logon.
    for i in 0..ReflectionGuard::DEFAULT_CAPACITY as u64 + 1000 {
        let challenge = (i | 1 << 63).to_le_bytes();
        assert!(guard.server_issued(challenge, t0(), Duration::from_secs(300)));
    }
    assert!(guard.issued_len() <= ReflectionGuard::DEFAULT_CAPACITY);
    assert_logon_works(&config);
    eprintln!(
        "262 144 + 1000 dropped contexts in {dropped:?}, whole test {:?}",
        started.elapsed()
    );
}
