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

mod challenge;
mod config;
mod context;
#[cfg(feature = "netlogon")]
mod pass_through;
mod refusal;
mod verify;

pub use config::ServerConfig;
pub use context::{Authenticated, ServerContext};
#[cfg(feature = "netlogon")]
pub use pass_through::PassThroughStep;
pub use refusal::{ChannelBindingFailure, MicFailure, Refusal, ServerError};
