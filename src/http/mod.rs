//! HTTP authentication with NTLM and Negotiate (feature `http`).
//!
//! - [`spnego`]: SPNEGO tokens and the SPNEGO-wrapped NTLM initiator and acceptor.
//! - [`header`]: parsing `WWW-Authenticate` / `Proxy-Authenticate` challenges and
//!   `Authorization` credentials (RFC 9110 §11), with a size limit.
//! - [`auth`]: sans-IO state machines: [`auth::ClientAuth`] for a client (or a client of a
//!   proxy) and [`auth::ServerAuth`] for one server connection.
//! - `handshake` (feature `hyper`): one handshake over one hyper client connection, and
//!   CONNECT tunnels through a proxy that asks for NTLM or Negotiate.
//! - `pool` (feature `hyper`): authenticated connections kept for reuse, per origin, proxy
//!   and credentials; a refused logon is not retried.
//! - `hyper_client`, `hyper_server` (feature `hyper`) and `tls` (feature `tls`): adapters over hyper 1.x, tokio
//!   and rustls.
//! - `tower` (feature `tower`): a `tower::Layer` putting NTLM/Negotiate in front of any
//!   `tower::Service` (axum, hyper-util), one state per connection.
//! - [`claims`]: the names an AUTHENTICATE claims, for the log of a refusal.

pub mod auth;
pub mod claims;
#[cfg(feature = "hyper")]
pub mod handshake;
pub mod header;
#[cfg(feature = "hyper")]
pub mod hyper_client;
#[cfg(feature = "hyper")]
pub mod hyper_server;
#[cfg(feature = "hyper")]
pub mod pool;
pub mod spnego;
#[cfg(feature = "tls")]
pub mod tls;
#[cfg(feature = "tower")]
pub mod tower;
