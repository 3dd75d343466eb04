//! NTLM pass-through to an Active Directory domain controller over NETLOGON (MS-APDS
//! §3.1, MS-NRPC), in pure Rust: the server keeps no password hashes; the DC verifies the
//! client's responses and returns the session key.
//!
//! Layers, each a module:
//!
//! - codecs, sans-IO, borrowing decoders that never panic and never trust a length, each
//!   with an encoder: [`pdu`] (connection-oriented DCE/RPC, C706 §12.6 / MS-RPCE §2.2.2),
//!   NDR helpers, [`epm`] (`ept_map`), [`calls`] (NetrServerReqChallenge,
//!   NetrServerAuthenticate3), [`logon`] (NetrLogonSamLogonEx and the validation),
//!   [`schannel`] (NL_AUTH_MESSAGE, NL_AUTH_SHA2_SIGNATURE). PDUs, towers, signatures,
//!   NL_AUTH_MESSAGE and the fixed-layout answers re-encode byte for byte; the NDR answers
//!   with pointers (`ept_map`, SamLogonEx) re-encode to bytes that decode to an equal value,
//!   with referent IDs, the MaximumCount of varying arrays, MaximumLength and NULL-versus-
//!   empty pointers normalized (the property tests and fuzz targets check both);
//! - crypto: [`credential`] (AES session key and credentials, MS-NRPC §3.1.4.3–§3.1.4.5),
//!   [`schannel::Schannel`] (AES-128-CFB8 sealing and HMAC-SHA256 signatures, §3.3.4.2);
//! - state machines, sans-IO: [`channel`] (bind, fragmenting, sealing, reassembly) and
//!   [`secure_channel`] (the challenge/authenticate exchange);
//! - meaning: [`status`] (every NTSTATUS of a network logon as a [`LogonRefusal`] rule),
//!   [`passthrough`] (the request a server hands over, the validation it gets back);
//! - [`transport`]: the tokio client [`DcClient`] with timeouts, failover, reconnection
//!   and a pool of channels.
//!
//! # Integration with the server context (design note)
//!
//! The sans-IO [`crate::server::ServerContext`] keeps its role: it applies the level
//! policy first (a level-5 server refuses NTLMv1 without asking the DC), then, instead of
//! verifying against its credential store, it *yields* a pass-through request:
//! [`ServerContext::begin_pass_through`](crate::server::ServerContext::begin_pass_through)
//! returns [`PassThroughStep::AskDc`](crate::server::PassThroughStep::AskDc) with a
//! [`NetworkLogonRequest`] built from the CHALLENGE it sent and the AUTHENTICATE fields
//! exactly as received ([`NetworkLogonRequest::new`]). The caller — the Squid helper
//! (sync, one `block_on`) or the hyper server (async) — runs [`DcClient::logon`] and feeds
//! the result back with
//! [`ServerContext::complete_pass_through`](crate::server::ServerContext::complete_pass_through)`(result, now)`:
//! on a [`Validation`] the context
//! derives KXKEY from [`Validation::user_session_key`] (NTLMv2, NTLMv1) or
//! [`Validation::lm_key`] (NTLMv1 with LM key), then checks the MIC, key exchange, channel
//! bindings, target name, timestamp, replay and reflection exactly as with a local hash;
//! on [`PassThroughError::Refused`] it refuses with `Refusal::DcRefused` and the DC's rule (logged; the peer sees
//! "logon failure"); on [`PassThroughError::Unavailable`] it returns `Refusal::DcUnavailable`, its own
//! "DC unavailable" refusal (`BH` from the Squid helper, 503 from HTTP), never a bad
//! password. Lockout then belongs to the DC: a pass-through server cannot tell a stale
//! password from a wrong one (that needs the hashes), so its own lockout is off.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use ntlm::netlogon::*;
//! use ntlm::Password;
//! let machine = MachineAccount::new("CORP\\WEB1$", &Password::new(std::env::var("MACHINE_PW")?));
//! let client = DcClient::connect(DcConfig::new(vec!["dc1.corp.example.com".parse()?], machine)).await?;
//! # let (challenge, lm, nt) = ([0u8; 8], vec![], vec![]);
//! let request = NetworkLogonRequest::new(challenge, &lm, &nt, "alice", "CORP", "PC1");
//! match client.logon(&request).await {
//!     Ok(v) => println!("{}\\{} (RID {})", v.domain, v.account, v.user_rid),
//!     Err(e) if e.is_unavailable() => println!("DC unavailable: {e}"),
//!     Err(e) => println!("refused: {e}"),
//! }
//! # Ok(()) }
//! ```

pub mod calls;
pub mod channel;
pub mod credential;
pub mod epm;
pub mod logon;
mod ndr;
pub mod passthrough;
pub mod pdu;
mod reader;
pub mod schannel;
pub mod secure_channel;
pub mod status;
pub mod transport;

pub use calls::{OPNUM_AUTHENTICATE3, OPNUM_REQ_CHALLENGE};
pub use passthrough::{NetworkLogonRequest, PassThroughError, Unavailable, Validation};
pub use secure_channel::{MachineAccount, SetupError};
pub use status::LogonRefusal;
pub use transport::{DcAddress, DcClient, DcConfig};

use pdu::{SyntaxId, Uuid};

/// The NETLOGON interface, 12345678-1234-abcd-ef00-01234567cffb v1.0 (MS-NRPC §1.9).
pub const NETLOGON_SYNTAX: SyntaxId = SyntaxId {
    uuid: Uuid::from_fields(
        0x1234_5678,
        0x1234,
        0xabcd,
        [0xef, 0x00, 0x01, 0x23, 0x45, 0x67, 0xcf, 0xfb],
    ),
    major: 1,
    minor: 0,
};
