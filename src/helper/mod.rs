//! Squid's helper line protocols, sans-IO: what the `ntlm` binary's `squid-helper`,
//! `negotiate-helper` and `client-helper` speak on stdin/stdout, as library code that a
//! test, a fuzz target or another program drives with its own lines and clock.
//!
//! - [`line`](mod@line): bounded line reading ([`read_line`], [`serve`] over any `BufRead`/`Write`),
//!   `XX [base64]` requests, base64 tokens.
//! - [`reply`]: the commands, [`RequestError`] (why a line is broken), and the reply lines
//!   [`ServerReply`] (`TT`/`AF`/`NA`/`BH`) and [`ClientReply`] (`YR`/`AF`/`BH`).
//! - [`ntlmssp`]: Squid's `squid-2.5-ntlmssp` verifier (MS-NLMP §3.2), with the local store
//!   or pass-through to a DC (MS-APDS §3.1.5.2) as a step the caller performs.
//! - [`negotiate`]: Squid's `auth_param negotiate` verifier, SPNEGO (RFC 4178) wrapping NTLM.
//! - [`client`]: Samba's `ntlmssp-client-1` client helper (MS-NLMP §3.1).
//!
//! Each verifier keeps at most one pending handshake (Squid drives a stateful helper one
//! connection at a time), opens a `tracing` span per handshake and emits one event per
//! decision (user, domain, workstation, response kind, rule; never a secret).
//!
//! ```
//! use std::{sync::Arc, time::{Duration, SystemTime}};
//! use ntlm::client::{ClientConfig, ClientContext};
//! use ntlm::guard::ReflectionGuard;
//! use ntlm::helper::{base64_encode, HelperStep, NtlmsspHelper};
//! use ntlm::{metrics::Metrics, policy::*, server::ServerConfig, store::MemoryStore};
//!
//! let mut users = MemoryStore::new();
//! users.add_password("CORP", "alice", "Secret1");
//! let mut config = ServerConfig::new(ServerPolicy::domain_controller(LmCompatibilityLevel::L5), users);
//! config.reflection_guard = Some(Arc::new(ReflectionGuard::new(Duration::from_secs(60))));
//! let mut helper = NtlmsspHelper::new(Arc::new(config), Arc::new(Metrics::new()));
//! let mut client = ClientContext::new(ClientConfig::new(LmCompatibilityLevel::L3, "CORP", "alice", "Secret1"));
//! let now = SystemTime::now();
//! let yr = format!("YR {}", base64_encode(&client.negotiate()?));
//! let HelperStep::Reply(ntlm::helper::ServerReply::Continue(challenge)) = helper.handle(yr.as_bytes(), now) else {
//!     panic!("no TT");
//! };
//! let kk = format!("KK {}", base64_encode(&client.authenticate(&challenge, now)?));
//! let HelperStep::Reply(reply) = helper.handle(kk.as_bytes(), now) else { panic!("no reply") };
//! assert_eq!(reply.to_string(), "AF CORP\\alice");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod client;
mod events;
pub mod line;
pub mod negotiate;
pub mod ntlmssp;
pub mod reply;

pub use client::ClientHelper;
pub use line::{
    base64_decode, base64_encode, one_line, read_line, serve, show, split_request, Base64Error,
    Line, MAX_LINE,
};
pub use negotiate::NegotiateHelper;
pub use ntlmssp::{na_reason, NtlmsspHelper};
pub use reply::{ClientReply, Command, HelperStep, RequestError, ServerReply};
