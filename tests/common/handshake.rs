//! Client and server contexts wired together for tests: each side with its own reflection
//! guard (two machines), a fixed clock, one user CORP\alice with password "Secret1".

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use ntlm::client::{ClientConfig, ClientContext};
use ntlm::guard::ReflectionGuard;
use ntlm::policy::{LmCompatibilityLevel, ServerPolicy};
use ntlm::server::{Authenticated, Refusal, ServerConfig, ServerContext};
use ntlm::store::MemoryStore;

pub const PASSWORD: &str = "Secret1";

/// A fixed "now": 2023-11-14T22:13:20Z.
pub fn t0() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)
}

pub fn level(n: u8) -> LmCompatibilityLevel {
    LmCompatibilityLevel::new(n).unwrap()
}

pub fn own_guard() -> Option<Arc<ReflectionGuard>> {
    Some(Arc::new(ReflectionGuard::new(Duration::from_secs(600))))
}

pub fn users() -> MemoryStore {
    let mut users = MemoryStore::new();
    users.add_password("CORP", "alice", PASSWORD);
    users
}

pub fn server_config(policy: ServerPolicy) -> ServerConfig {
    let mut config = ServerConfig::new(policy, users());
    config.reflection_guard = own_guard();
    config
}

pub fn client_config(level: LmCompatibilityLevel, password: &str) -> ClientConfig {
    let mut config = ClientConfig::new(level, "CORP", "alice", password);
    config.reflection_guard = own_guard();
    config.workstation = "WS01".into();
    config
}

/// The three messages and the server's decision.
pub struct Run {
    pub negotiate: Vec<u8>,
    pub challenge: Vec<u8>,
    pub authenticate: Vec<u8>,
    pub client: ClientContext,
    pub result: Result<Authenticated, Refusal>,
}

/// One handshake at `now` on both sides.
pub fn run(client: ClientConfig, server: &Arc<ServerConfig>, now: SystemTime) -> Run {
    let mut client = ClientContext::new(client);
    let mut server = ServerContext::new(server.clone());
    let negotiate = client.negotiate().expect("negotiate");
    let challenge = server.challenge(&negotiate, now).expect("challenge");
    let authenticate = client.authenticate(&challenge, now).expect("authenticate");
    let result = server.accept(&authenticate, now);
    Run {
        negotiate,
        challenge,
        authenticate,
        client,
        result,
    }
}

/// Seals a message on the client side and unseals it on the server side: both derived the
/// same keys and flags.
pub fn assert_seal_crosses(
    client: &mut ntlm::established::Established,
    server: &mut ntlm::established::Established,
    label: &str,
) {
    let mut data = label.as_bytes().to_vec();
    let sig = client.security().seal(&mut data);
    server
        .security()
        .unseal(&mut data, &sig)
        .unwrap_or_else(|e| panic!("{label}: {e}"));
    assert_eq!(data, label.as_bytes(), "{label}");
}
