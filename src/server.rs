//! The sans-IO server (acceptor) context, MS-NLMP §3.2, and the verification that decides a
//! logon.
//!
//! The server always verifies the response against the stored hash (a missing MIC never lets
//! a wrong password in), computes the NTLMv2 proof over the client's blob exactly as received,
//! and says which rule refused a logon: [`Refusal`].
//!
//! With the `netlogon` feature a server may instead hand the responses to a domain
//! controller: `ServerContext::begin_pass_through` and `complete_pass_through` (MS-APDS
//! §3.1.5.2), sans-IO like the rest; see `crate::netlogon`.
//!
//! ```
//! use std::sync::Arc;
//! use std::time::SystemTime;
//! use ntlm::client::{ClientConfig, ClientContext};
//! use ntlm::guard::ReflectionGuard;
//! use ntlm::policy::{LmCompatibilityLevel, ServerPolicy};
//! use ntlm::server::{ServerConfig, ServerContext};
//! use ntlm::store::MemoryStore;
//!
//! let mut store = MemoryStore::new();
//! store.add_password("DOMAIN", "alice", "Secret1");
//! let mut config = ServerConfig::new(ServerPolicy::domain_controller(LmCompatibilityLevel::L5), store);
//! // This example plays both machines in one process: give the server its own guard.
//! config.reflection_guard = Some(Arc::new(ReflectionGuard::new(std::time::Duration::from_secs(60))));
//! let mut server = ServerContext::new(Arc::new(config));
//! let mut client = ClientContext::new(ClientConfig::new(LmCompatibilityLevel::L3, "DOMAIN", "alice", "Secret1"));
//!
//! let now = SystemTime::now();
//! let challenge = server.challenge(&client.negotiate().unwrap(), now).unwrap();
//! let authenticate = client.authenticate(&challenge, now).unwrap();
//! let logon = server.accept(&authenticate, now).unwrap();
//! assert_eq!(logon.user, "alice");
//! ```
//!
//! # Layout
//!
//! - `config`: [`ServerConfig`] (policy, store, guards, names, random source);
//! - `challenge`: the CHALLENGE, encoded once per configuration and patched per handshake;
//! - `context`: [`ServerContext`] (NEGOTIATE → CHALLENGE → AUTHENTICATE) and [`Authenticated`];
//! - `verify`: the cryptographic checks of one response, with constant work per refusal;
//! - `refusal`: [`ServerError`] and [`Refusal`], each with its rule;
//! - `pass_through` (feature `netlogon`): the same handshake finished by a domain controller.

mod challenge;
mod config;
mod context;
#[cfg(feature = "netlogon")]
mod pass_through;
mod refusal;
mod verify;

pub use config::ServerConfig;
pub use context::{Authenticated, ServerContext};
#[cfg(all(test, feature = "netlogon"))]
pub(crate) use pass_through::validation_for;
#[cfg(feature = "netlogon")]
pub use pass_through::PassThroughStep;
pub use refusal::{ChannelBindingFailure, MicFailure, Refusal, ServerError};

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::SystemTime;

    use super::{ServerConfig, ServerContext};
    use crate::client::{ClientConfig, ClientContext};
    use crate::crypto::Entropy;
    use crate::policy::{LmCompatibilityLevel, ServerPolicy};
    use crate::store::MemoryStore;
    use crate::wire::{AuthenticateMessage, ChallengeMessage, NtlmV2Response};

    /// A source yielding `seed, seed+1, ...` from the start of every draw.
    fn counting(seed: u8) -> Entropy {
        Arc::new(move |out: &mut [u8]| {
            for (i, b) in out.iter_mut().enumerate() {
                *b = seed.wrapping_add(i as u8);
            }
        })
    }

    /// One handshake with injected sources: the CHALLENGE's ServerChallenge and the
    /// AUTHENTICATE's ClientChallenge; the logon must still verify.
    fn challenges(server_seed: u8, client_seed: u8) -> ([u8; 8], [u8; 8]) {
        let mut store = MemoryStore::new();
        store.add_password("DOMAIN", "alice", "Secret1");
        let policy = ServerPolicy::domain_controller(LmCompatibilityLevel::L5);
        let mut config = ServerConfig::new(policy, store);
        config.reflection_guard = None;
        config.entropy = Some(counting(server_seed));
        let mut server = ServerContext::new(Arc::new(config));
        let mut client_config =
            ClientConfig::new(LmCompatibilityLevel::L3, "DOMAIN", "alice", "Secret1");
        client_config.reflection_guard = None;
        client_config.entropy = Some(counting(client_seed));
        let mut client = ClientContext::new(client_config);
        let now = SystemTime::now();
        let challenge = server.challenge(&client.negotiate().unwrap(), now).unwrap();
        let authenticate = client.authenticate(&challenge, now).unwrap();
        let server_challenge = ChallengeMessage::decode(&challenge)
            .unwrap()
            .server_challenge;
        let auth = AuthenticateMessage::decode(&authenticate).unwrap();
        let client_challenge = NtlmV2Response::decode(auth.nt_challenge_response)
            .unwrap()
            .client_challenge;
        assert_eq!(server.accept(&authenticate, now).unwrap().user, "alice");
        (server_challenge, client_challenge)
    }

    #[test]
    fn injected_entropy_makes_both_challenges_deterministic() {
        let (server, client) = challenges(0x10, 0xa0);
        assert_eq!(server, [0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17]);
        assert_eq!(client, [0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7]);
        assert_eq!(challenges(0x10, 0xa0), (server, client));
        assert_ne!(challenges(0x20, 0xb0), (server, client));
    }
}
