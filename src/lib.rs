//! `ntlm`: a pure-Rust implementation of NTLM authentication (MS-NLMP), with
//! LmCompatibilityLevel 0–5 as client and server policy.
//!
//! Layers, each readable alone (data flows downwards only):
//!
//! - [`wire`]: the three messages, flags, VERSION and AV pairs; decode borrows from the input
//!   and never panics, encode is its exact inverse (MS-NLMP §2.2).
//! - [`crypto`]: LMOWFv1, NTOWFv1/v2, every response kind, KXKEY, SIGNKEY, SEALKEY, the MIC and
//!   session security (MS-NLMP §3.3, §3.4).
//! - [`policy`]: a [`policy::LmCompatibilityLevel`] as a [`policy::ClientPolicy`] and a
//!   [`policy::ServerPolicy`].
//! - [`client`] and [`server`]: sans-IO contexts. Bytes in, bytes or a decision out; the caller
//!   owns sockets and the clock.
//! - [`store`], [`lockout`], [`guard`], [`channel_bindings`]: what a verifying server needs
//!   around the protocol; [`metrics`]: counters of its decisions.
//! - `helper` (feature `cli`): Squid's helper line protocols over those contexts, sans-IO.
//!
//! ```
//! use std::{sync::Arc, time::{Duration, SystemTime}};
//! use ntlm::{client::*, server::*, policy::*, store::MemoryStore, guard::ReflectionGuard};
//!
//! let mut users = MemoryStore::new();
//! users.add_password("CORP", "alice", "Secret1");
//! let mut config = ServerConfig::new(ServerPolicy::domain_controller(LmCompatibilityLevel::L5), users);
//! config.reflection_guard = Some(Arc::new(ReflectionGuard::new(Duration::from_secs(60))));
//! let mut server = ServerContext::new(Arc::new(config));
//!
//! // A level-2 client sends NTLMv1: a level-5 server refuses it, and says why.
//! let mut client = ClientContext::new(ClientConfig::new(LmCompatibilityLevel::L2, "CORP", "alice", "Secret1"));
//! let now = SystemTime::now();
//! let challenge = server.challenge(&client.negotiate()?, now)?;
//! let refusal = server.accept(&client.authenticate(&challenge, now)?, now).unwrap_err();
//! assert_eq!(refusal.to_string(), "NTLMv1-ESS refused by server level 5");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
// docs.rs builds with `--cfg docsrs` on nightly: items behind a feature get a badge naming it.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]

pub mod channel_bindings;
pub mod classify;
pub mod client;
pub mod crypto;
pub mod error;
pub mod established;
pub mod explain;
pub mod filetime;
pub mod guard;
#[cfg(feature = "cli")]
pub mod helper;
#[cfg(feature = "http")]
pub mod http;
pub mod lockout;
pub mod metrics;
pub mod names;
#[cfg(feature = "netlogon")]
pub mod netlogon;
pub mod policy;
pub mod secret;
pub mod server;
pub mod store;
pub mod wire;

pub use error::{DecodeError, DecodeErrorKind};
pub use secret::{LmHash, NtHash, NtlmV2Hash, Password, SessionKey};
pub use wire::NegotiateFlags;
