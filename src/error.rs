//! Decode errors: which field, at which offset, and what was wrong with it.

use core::fmt;

/// A message, AV pair list or structure that could not be decoded.
///
/// `field` names the structure member as MS-NLMP names it (`"NtChallengeResponseFields"`,
/// `"MsvAvTimestamp"`, ...), `offset` is the byte offset in the input where the problem
/// was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError {
    /// The MS-NLMP name of the field being decoded.
    pub field: &'static str,
    /// Byte offset into the decoded input.
    pub offset: usize,
    /// What was wrong.
    pub kind: DecodeErrorKind,
}

/// What was wrong with a field; see [`DecodeError`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeErrorKind {
    /// The input ended before the field: `needed` bytes from `offset`, `available` left.
    Truncated {
        /// Bytes the field needs.
        needed: usize,
        /// Bytes left in the input.
        available: usize,
    },
    /// The first 8 bytes are not `NTLMSSP\0`.
    BadSignature,
    /// The MessageType field is not the one expected.
    WrongMessageType {
        /// The type the decoder was asked for (1, 2 or 3).
        expected: u32,
        /// The type found.
        found: u32,
    },
}

impl DecodeError {
    /// Builds an error.
    pub const fn new(field: &'static str, offset: usize, kind: DecodeErrorKind) -> Self {
        Self {
            field,
            offset,
            kind,
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at offset {}: {:?}", self.field, self.offset, self.kind)
    }
}

impl std::error::Error for DecodeError {}
