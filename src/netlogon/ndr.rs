//! NDR (C706 chapter 14, little-endian, 32-bit transfer syntax 8a885d04-…-08002b104860 v2)
//! for exactly the types the calls of this module use: primitive integers with natural
//! alignment, unique pointers (C706 §14.3.12.3), conformant varying arrays and strings
//! (§14.3.3.4), and the `RPC_UNICODE_STRING` / `STRING` counted strings of MS-DTYP §2.3.10
//! and MS-NRPC §2.2.1.1.2.
//!
//! The writer places deferred pointees where the caller writes them (after the fixed part
//! of the structure that points to them), as NDR orders them.

use super::reader::Reader;
use crate::error::{DecodeError, DecodeErrorKind};

/// The largest array or string (in elements) this module accepts from a peer; every NDR
/// structure the calls use is far smaller.
pub(crate) const MAX_ELEMENTS: usize = 64 * 1024;

/// Appends NDR to a stub, aligning each value to its size from the start of the stub.
#[derive(Debug)]
pub(crate) struct NdrWriter {
    pub(crate) buf: Vec<u8>,
    next_referent: u32,
}

impl NdrWriter {
    pub(crate) fn new() -> Self {
        Self {
            buf: Vec::with_capacity(256),
            next_referent: 0x0002_0000,
        }
    }

    pub(crate) fn align(&mut self, n: usize) {
        let pad = self.buf.len().wrapping_neg() & (n - 1);
        self.buf.resize(self.buf.len() + pad, 0);
    }

    pub(crate) fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }

    pub(crate) fn u16(&mut self, v: u16) {
        self.align(2);
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    pub(crate) fn u32(&mut self, v: u32) {
        self.align(4);
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    pub(crate) fn bytes(&mut self, b: &[u8]) {
        self.buf.extend_from_slice(b);
    }

    /// A non-null unique pointer's referent ID.
    pub(crate) fn referent(&mut self) {
        let id = self.next_referent;
        self.next_referent = self.next_referent.wrapping_add(4);
        self.u32(id);
    }

    /// A unique pointer: a referent ID when `present`, else 0 (NULL).
    pub(crate) fn pointer(&mut self, present: bool) {
        if present {
            self.referent();
        } else {
            self.u32(0);
        }
    }

    /// A `[string] wchar_t*` pointee: conformant varying, NUL-terminated UTF-16LE.
    pub(crate) fn wstring(&mut self, s: &str) {
        let units: Vec<u16> = s.encode_utf16().chain([0]).collect();
        let n = len_u32(units.len());
        self.u32(n);
        self.u32(0);
        self.u32(n);
        for u in units {
            self.buf.extend_from_slice(&u.to_le_bytes());
        }
    }

    /// The fixed part of an `RPC_UNICODE_STRING` holding `utf16` (UTF-16LE bytes): Length,
    /// MaximumLength and a pointer, NULL when empty.
    pub(crate) fn unicode_string_header(&mut self, utf16: &[u8]) {
        let n = len_u16(utf16.len());
        self.u16(n);
        self.u16(n);
        self.pointer(!utf16.is_empty());
    }

    /// The deferred buffer of an `RPC_UNICODE_STRING` (nothing when empty): conformant
    /// varying array of `u16`, counts in characters.
    pub(crate) fn unicode_string_body(&mut self, utf16: &[u8]) {
        if utf16.is_empty() {
            return;
        }
        let n = len_u32(utf16.len() / 2);
        self.u32(n);
        self.u32(0);
        self.u32(n);
        self.bytes(utf16);
    }

    /// The fixed part of a `STRING` (MS-NRPC §2.2.1.1.2, counted bytes): Length,
    /// MaximumLength and a pointer, NULL when empty.
    pub(crate) fn byte_string_header(&mut self, b: &[u8]) {
        self.unicode_string_header(b);
    }

    /// The deferred buffer of a `STRING`: conformant varying array of bytes.
    pub(crate) fn byte_string_body(&mut self, b: &[u8]) {
        if b.is_empty() {
            return;
        }
        let n = len_u32(b.len());
        self.u32(n);
        self.u32(0);
        self.u32(n);
        self.bytes(b);
    }
}

/// `len` as a u32 count. Callers bound their inputs (names, responses) far below 4 GiB.
pub(crate) fn len_u32(len: usize) -> u32 {
    u32::try_from(len).unwrap_or(u32::MAX)
}

/// `len` as a u16 length, saturating; [`super::logon`] refuses longer inputs first.
pub(crate) fn len_u16(len: usize) -> u16 {
    u16::try_from(len).unwrap_or(u16::MAX)
}

/// Reads a unique or full pointer's referent ID: true when non-NULL.
pub(crate) fn read_pointer(r: &mut Reader<'_>, field: &'static str) -> Result<bool, DecodeError> {
    Ok(r.u32(field)? != 0)
}

/// Reads a conformant varying array of `elem`-byte elements (C706 §14.3.3.4): MaximumCount,
/// Offset (must be 0), ActualCount (at most MaximumCount and [`MAX_ELEMENTS`]), then the
/// elements. Returns (MaximumCount, the elements' bytes).
pub(crate) fn read_conformant_varying<'a>(
    r: &mut Reader<'a>,
    elem: usize,
    field: &'static str,
) -> Result<(usize, &'a [u8]), DecodeError> {
    let max = r.len32(field)?;
    let offset = r.u32(field)?;
    r.expect(field, offset, 0)?;
    let actual = r.len32(field)?;
    if actual > max || actual > MAX_ELEMENTS {
        return Err(r.error(
            field,
            DecodeErrorKind::TooLong {
                len: actual,
                max: max.min(MAX_ELEMENTS),
            },
        ));
    }
    let bytes = r.take(actual.saturating_mul(elem), field)?;
    Ok((max, bytes))
}

/// The fixed part of an `RPC_UNICODE_STRING` or `STRING` as received.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct CountedHeader {
    pub(crate) len: u16,
    pub(crate) max: u16,
    pub(crate) present: bool,
}

/// Reads the fixed part of an `RPC_UNICODE_STRING` / `STRING`.
pub(crate) fn read_counted_header(
    r: &mut Reader<'_>,
    field: &'static str,
) -> Result<CountedHeader, DecodeError> {
    r.align(4, field)?;
    let len = r.u16(field)?;
    let max = r.u16(field)?;
    let present = read_pointer(r, field)?;
    if len > max {
        return Err(r.error(
            field,
            DecodeErrorKind::TooLong {
                len: usize::from(len),
                max: usize::from(max),
            },
        ));
    }
    Ok(CountedHeader { len, max, present })
}

/// Reads the deferred buffer of an `RPC_UNICODE_STRING` (`elem` = 2) or `STRING`
/// (`elem` = 1) whose fixed part was `h`: the counts must agree with Length and
/// MaximumLength. Returns the `Length` bytes; empty for a NULL pointer.
pub(crate) fn read_counted_body<'a>(
    r: &mut Reader<'a>,
    h: CountedHeader,
    elem: usize,
    field: &'static str,
) -> Result<&'a [u8], DecodeError> {
    if !h.present {
        return Ok(&[]);
    }
    r.align(4, field)?;
    let (max, bytes) = read_conformant_varying(r, elem, field)?;
    let want_max = usize::from(h.max) / elem;
    if max != want_max || bytes.len() != usize::from(h.len) {
        return Err(r.error(
            field,
            DecodeErrorKind::UnexpectedLength {
                found: bytes.len(),
                allowed: &[],
            },
        ));
    }
    Ok(bytes)
}

/// UTF-16LE bytes as a string, unpaired surrogates replaced (names are for display and
/// comparison; the DC's bytes are never sent back).
pub(crate) fn utf16_lossy(bytes: &[u8]) -> String {
    let units = bytes.chunks_exact(2).map(|c| {
        u16::from_le_bytes([
            c.first().copied().unwrap_or(0),
            c.get(1).copied().unwrap_or(0),
        ])
    });
    char::decode_utf16(units)
        .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unicode_string_round_trip() {
        let s = crate::wire::utf16le("alice");
        let mut w = NdrWriter::new();
        w.unicode_string_header(&s);
        w.unicode_string_body(&s);
        let mut r = Reader::new(&w.buf, 0);
        let h = read_counted_header(&mut r, "s").unwrap();
        assert_eq!(read_counted_body(&mut r, h, 2, "s").unwrap(), &s[..]);
        r.finish("end").unwrap();
        assert_eq!(utf16_lossy(&s), "alice");
    }

    #[test]
    fn refuses_lying_counts() {
        // Length 10 > MaximumLength 4.
        let mut r = Reader::new(&[10, 0, 4, 0, 0, 0, 2, 0], 0);
        assert!(read_counted_header(&mut r, "s").is_err());
        // ActualCount larger than MaximumCount.
        let mut r = Reader::new(&[1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0], 0);
        assert!(read_conformant_varying(&mut r, 2, "a").is_err());
        // Non-zero offset.
        let mut r = Reader::new(&[1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0], 0);
        assert!(read_conformant_varying(&mut r, 2, "a").is_err());
        // Huge counts do not allocate or overrun.
        let mut r = Reader::new(&[0xff; 12], 0);
        assert!(read_conformant_varying(&mut r, 2, "a").is_err());
    }
}
