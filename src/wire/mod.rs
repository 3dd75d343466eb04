//! The bytes of MS-NLMP §2.2, and nothing but the bytes.
//!
//! Decoders borrow from their input, never allocate and never panic: every failure is a
//! [`DecodeError`] naming the MS-NLMP field. Encoders write `Vec<u8>`; for every input a
//! decoder accepts whose unreferenced bytes are zero, `encode(decode(x)) == x`. The 8
//! bytes of a VERSION slot left undecoded because NTLMSSP_NEGOTIATE_VERSION is clear
//! (zero per MS-NLMP §2.2.2.10) count as referenced: they are kept and written back.

// Decoders take peer bytes: nothing here may panic on them (see the module doc).
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod authenticate;
mod av;
mod challenge;
pub mod flags;
mod layout;
#[cfg(test)]
mod mutate;
mod negotiate;
mod ntlmv2;
mod single_host;
mod string;
mod version;

pub use authenticate::AuthenticateMessage;
pub use av::{AvFlags, AvId, AvPair, AvPairs, TargetInfo, TargetInfoBuilder};
pub use challenge::ChallengeMessage;
pub use flags::NegotiateFlags;
pub use negotiate::NegotiateMessage;
pub use ntlmv2::NtlmV2Response;
pub use single_host::SingleHostData;
pub use string::{string_into, utf16le, utf16le_into, WireString};
pub use version::{Version, NTLMSSP_REVISION_W2K3};

use crate::error::{DecodeError, DecodeErrorKind};

/// Longest DomainName, UserName, Workstation (MS-NLMP §2.2.1.1, §2.2.1.3) or TargetName
/// (§2.2.1.2) accepted, in bytes: 256 UTF-16 code units, beyond a DNS name (255) and the
/// NetBIOS and SAM limits.
pub const MAX_NAME_LEN: usize = 512;

/// Longest TargetInfo (MS-NLMP §2.2.1.2) accepted, in bytes. Windows sends about 200.
pub const MAX_TARGET_INFO_LEN: usize = 4096;

/// Longest NtChallengeResponse (MS-NLMP §2.2.1.3) accepted, in bytes: an NTLMv2 response
/// carries the echoed TargetInfo plus MsvAvFlags, MsvAvTimestamp, MsvAvTargetName (an
/// SPN), MsvAvChannelBindings and MsvAvSingleHost.
pub const MAX_NT_CHALLENGE_RESPONSE_LEN: usize = 8192;

/// Accepted LmChallengeResponse lengths (MS-NLMP §2.2.1.3): none, the anonymous `Z(1)`
/// (§3.3.1), or a 24-byte LM, LMv2 or ESS response.
pub const LM_CHALLENGE_RESPONSE_LENS: &[usize] = &[0, 1, 24];

/// Accepted EncryptedRandomSessionKey lengths (MS-NLMP §2.2.1.3): none, or 16 with
/// NTLMSSP_NEGOTIATE_KEY_EXCH.
pub const ENCRYPTED_RANDOM_SESSION_KEY_LENS: &[usize] = &[0, 16];

/// The MessageType of an NTLM message (MS-NLMP §2.2.1): 1 (NEGOTIATE), 2 (CHALLENGE) or
/// 3 (AUTHENTICATE), after checking the `NTLMSSP\0` signature.
///
/// ```
/// assert_eq!(ntlm::wire::message_type(b"NTLMSSP\0\x02\0\0\0"), Ok(2));
/// ```
pub fn message_type(bytes: &[u8]) -> Result<u32, DecodeError> {
    let found = layout::header(bytes)?;
    if !(1..=3).contains(&found) {
        return Err(DecodeError::new(
            "MessageType",
            8,
            DecodeErrorKind::UnknownMessageType { found },
        ));
    }
    Ok(found)
}
