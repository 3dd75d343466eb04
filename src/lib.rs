//! `ntlm`: a pure-Rust implementation of NTLM authentication (MS-NLMP).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod crypto;
pub mod error;
pub mod secret;
pub mod wire;

pub use error::{DecodeError, DecodeErrorKind};
pub use secret::{LmHash, NtHash, NtlmV2Hash, Password, SessionKey};
pub use wire::NegotiateFlags;
