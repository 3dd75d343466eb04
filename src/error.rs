//! Decode errors: which field, at which offset, and what was wrong with it.

use core::fmt;

/// A message (MS-NLMP §2.2.1), AV pair list (§2.2.2.1) or structure (§2.2.2) that could
/// not be decoded.
///
/// `field` names the structure member as MS-NLMP names it (`"NtChallengeResponseFields"`,
/// `"MsvAvTimestamp"`, ...), `offset` is the byte offset in the input where the problem
/// was found.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DecodeError {
    /// The MS-NLMP name of the field being decoded.
    pub field: &'static str,
    /// Byte offset into the decoded input.
    pub offset: usize,
    /// What was wrong.
    pub kind: DecodeErrorKind,
}

/// What was wrong with a field; see [`DecodeError`]. The rules are those of MS-NLMP §2.2
/// (field layout, §2.2.1) and §2.2.2 (structures), plus the crate's size limits.
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
    /// The MessageType field is none of NEGOTIATE (1), CHALLENGE (2), AUTHENTICATE (3).
    UnknownMessageType {
        /// The type found.
        found: u32,
    },
    /// A payload field (`Len`, `BufferOffset`) points past the end of the message, or
    /// `BufferOffset + Len` overflows. `offset` of the error is the field's `BufferOffset`.
    OutOfBounds {
        /// The field's `Len`.
        len: usize,
        /// Length of the whole message.
        message_len: usize,
    },
    /// A non-empty payload field starts inside the fixed header of the message.
    OverlapsHeader {
        /// Length of the fixed header the field must not overlap.
        header_len: usize,
    },
    /// Two non-empty payload fields share bytes. `field` is the later field in header
    /// order, `other` the earlier one.
    FieldsOverlap {
        /// MS-NLMP name of the other field.
        other: &'static str,
        /// `BufferOffset` of the other field.
        other_offset: usize,
    },
    /// A string field is UTF-16LE (NTLMSSP_NEGOTIATE_UNICODE, or an AV pair) but has an
    /// odd number of bytes.
    OddUtf16Length {
        /// The field's length in bytes.
        len: usize,
    },
    /// An AV pair list ended without its MsvAvEOL terminator.
    MissingEol,
    /// The MsvAvEOL pair has a non-zero AvLen.
    EolNonZeroLength {
        /// The AvLen found.
        len: u16,
    },
    /// A field or AV pair whose length is fixed has another length.
    UnexpectedLength {
        /// Length found.
        found: usize,
        /// Lengths accepted.
        allowed: &'static [usize],
    },
    /// A field is longer than this crate accepts (see the `MAX_*` constants of
    /// `ntlm::wire`).
    TooLong {
        /// Length found.
        len: usize,
        /// Largest length accepted.
        max: usize,
    },
    /// A known AV pair (AvId 1 to 10) appears twice in one list.
    DuplicateAvPair {
        /// The repeated AvId.
        id: u16,
    },
    /// Bytes follow the MsvAvEOL pair where the list must end.
    TrailingBytes {
        /// Number of bytes after the terminator.
        count: usize,
    },
    /// A field has a value other than the one MS-NLMP requires.
    UnexpectedValue {
        /// Value found.
        found: u32,
        /// Value required.
        expected: u32,
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

impl DecodeError {
    /// The same error with `offset` moved by `base`: used when a structure decoded on its
    /// own (an AV pair list) sits at `base` inside a message.
    pub(crate) fn shifted(mut self, base: usize) -> Self {
        self.offset = self.offset.saturating_add(base);
        self
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} at offset {}: {:?}",
            self.field, self.offset, self.kind
        )
    }
}

impl std::error::Error for DecodeError {}
