//! Deterministic client and server set-ups shared by the fuzz targets and the seed generator.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use ntlm::client::{ClientConfig, ClientContext};
use ntlm::policy::{LmCompatibilityLevel, ServerPolicy};
use ntlm::server::{ServerConfig, ServerContext};
use ntlm::store::MemoryStore;

/// A fixed clock: 2023-11-14T22:13:20Z.
pub fn now() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)
}

/// Entropy that always yields the same bytes, so CHALLENGE and AUTHENTICATE are reproducible.
pub fn fixed_entropy(seed: u8) -> ntlm::client::Entropy {
    Arc::new(move |out: &mut [u8]| {
        for (i, b) in out.iter_mut().enumerate() {
            *b = seed.wrapping_add(i as u8).wrapping_mul(31);
        }
    })
}

/// A server that accepts as much as possible (level 0 domain controller, anonymous, LMv2
/// checked beside NTLMv2) and keeps no state between contexts (no replay cache, no
/// reflection guard), with one user CORP\alice / "Secret1".
pub fn server_config() -> Arc<ServerConfig> {
    let mut users = MemoryStore::new();
    users.add_password("CORP", "alice", "Secret1");
    let mut policy = ServerPolicy::domain_controller(LmCompatibilityLevel::L0);
    policy.allow_anonymous = true;
    policy.verify_lmv2_with_ntlmv2 = true;
    let mut config = ServerConfig::new(policy, users);
    config.replay = None;
    config.reflection_guard = None;
    config.dns_domain = "corp.example.com".into();
    config.dns_computer = "server.corp.example.com".into();
    config.entropy = Some(fixed_entropy(7));
    Arc::new(config)
}

/// A client of `level` for CORP\alice, with fixed entropy and no reflection guard.
pub fn client_config(level: u8, password: &str) -> ClientConfig {
    let level = LmCompatibilityLevel::new(level % 6).expect("0..=5");
    let mut config = ClientConfig::new(level, "CORP", "alice", password);
    config.reflection_guard = None;
    config.entropy = Some(fixed_entropy(3));
    config.workstation = "WS01".into();
    config
}

/// The NEGOTIATE a level-`level` client sends, and a server context that answered it.
pub fn challenged_server(
    config: &Arc<ServerConfig>,
    level: u8,
) -> (Vec<u8>, Vec<u8>, ServerContext) {
    let mut client = ClientContext::new(client_config(level, "Secret1"));
    let negotiate = client.negotiate().expect("negotiate");
    let mut server = ServerContext::new(config.clone());
    let challenge = server.challenge(&negotiate, now()).expect("challenge");
    (negotiate, challenge, server)
}
