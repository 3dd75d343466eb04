//! Account lockout, and why the stale-password rule matters.
//!
//! Alice changes her password; her phone keeps retrying the old one in the background. With
//! the password history Active Directory keeps (and this crate's stores keep), those retries
//! are reported as stale credentials and do not count towards lockout. Without it, the phone
//! locks her out within minutes. A real password guesser is locked out either way.
//!
//! ```text
//! cargo run --example lockout
//! ```

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use ntlm::client::{ClientConfig, ClientContext};
use ntlm::guard::ReflectionGuard;
use ntlm::lockout::{LockoutPolicy, LockoutTracker};
use ntlm::policy::{LmCompatibilityLevel, ServerPolicy};
use ntlm::server::{ServerConfig, ServerContext};
use ntlm::store::MemoryStore;

fn server(keep_history: bool) -> (Arc<ServerConfig>, Arc<LockoutTracker>) {
    let mut users = MemoryStore::new();
    users.add_password("CORP", "alice", "Winter2025!");
    if keep_history {
        users.change_password("CORP", "alice", "Spring2026!");
    } else {
        users.add_password("CORP", "alice", "Spring2026!");
    }
    let tracker = Arc::new(LockoutTracker::new(LockoutPolicy::new(
        5,
        Duration::from_secs(30 * 60),
        Duration::from_secs(30 * 60),
    )));
    let mut config = ServerConfig::new(
        ServerPolicy::domain_controller(LmCompatibilityLevel::L5),
        users,
    );
    config.lockout = Some(tracker.clone());
    config.reflection_guard = Some(Arc::new(ReflectionGuard::new(Duration::from_secs(600))));
    (Arc::new(config), tracker)
}

fn logon(config: &Arc<ServerConfig>, who: &str, password: &str, at: SystemTime, start: SystemTime) {
    let mut client_config = ClientConfig::new(LmCompatibilityLevel::L3, "CORP", "alice", password);
    client_config.reflection_guard = Some(Arc::new(ReflectionGuard::new(Duration::from_secs(600))));
    let mut client = ClientContext::new(client_config);
    let mut server = ServerContext::new(config.clone());
    let challenge = server
        .challenge(&client.negotiate().expect("negotiate"), at)
        .expect("challenge");
    let authenticate = client.authenticate(&challenge, at).expect("authenticate");
    let minute = at.duration_since(start).unwrap_or_default().as_secs() / 60;
    match server.accept(&authenticate, at) {
        Ok(logon) => println!(
            "  t+{minute:>3}m  {who:<22} accepted as CORP\\{}",
            logon.user
        ),
        Err(refusal) => println!(
            "  t+{minute:>3}m  {who:<22} refused [{}]: {refusal}",
            refusal.rule()
        ),
    }
}

fn scenario(keep_history: bool) {
    let (config, tracker) = server(keep_history);
    let start = SystemTime::now();
    let at = |minutes: u64| start + Duration::from_secs(minutes * 60);
    for minute in 0..6 {
        logon(
            &config,
            "phone (old password)",
            "Winter2025!",
            at(minute),
            start,
        );
    }
    logon(
        &config,
        "laptop (new password)",
        "Spring2026!",
        at(6),
        start,
    );
    for minute in 7..13 {
        logon(
            &config,
            "attacker (guessing)",
            &format!("guess{minute}"),
            at(minute),
            start,
        );
    }
    logon(
        &config,
        "laptop (new password)",
        "Spring2026!",
        at(14),
        start,
    );
    logon(
        &config,
        "laptop (new password)",
        "Spring2026!",
        at(45),
        start,
    );
    println!(
        "  bad passwords counted now: {}",
        tracker.failures("CORP\\ALICE")
    );
}

fn main() {
    println!(
        "Lockout policy: 5 bad passwords within 30 minutes lock the account for 30 minutes.\n"
    );
    println!("With password history (the stale-password rule):");
    scenario(true);
    println!("\nWithout password history (the old password is just a wrong password):");
    scenario(false);
}
