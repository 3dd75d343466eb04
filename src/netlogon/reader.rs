//! A bounds-checked cursor over received bytes, for the DCE/RPC PDUs (C706 §12.6) and the
//! NDR stubs (C706 §14) of this module. Every read names the field it reads; a read past
//! the end is a [`DecodeErrorKind::Truncated`] error at the offset where it would start, and
//! offsets in errors are relative to the start of the enclosing buffer (`base`).

use crate::error::{DecodeError, DecodeErrorKind};

/// A cursor that cannot overrun its input.
#[derive(Clone, Debug)]
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
    /// Where `bytes` starts in the buffer errors report offsets into.
    base: usize,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `bytes`, which sit at `base` in the reported buffer.
    pub(crate) fn new(bytes: &'a [u8], base: usize) -> Self {
        Self {
            bytes,
            pos: 0,
            base,
        }
    }

    /// Bytes read so far (the NDR alignment position).
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    /// Bytes not read yet.
    pub(crate) fn remaining(&self) -> usize {
        self.bytes.len().saturating_sub(self.pos)
    }

    /// The reported offset of the next byte.
    pub(crate) fn offset(&self) -> usize {
        self.base.saturating_add(self.pos)
    }

    /// An error at the current offset.
    pub(crate) fn error(&self, field: &'static str, kind: DecodeErrorKind) -> DecodeError {
        DecodeError::new(field, self.offset(), kind)
    }

    /// The next `len` bytes.
    pub(crate) fn take(
        &mut self,
        len: usize,
        field: &'static str,
    ) -> Result<&'a [u8], DecodeError> {
        let slice = self
            .pos
            .checked_add(len)
            .and_then(|end| self.bytes.get(self.pos..end))
            .ok_or_else(|| {
                self.error(
                    field,
                    DecodeErrorKind::Truncated {
                        needed: len,
                        available: self.remaining(),
                    },
                )
            })?;
        self.pos = self.pos.saturating_add(len);
        Ok(slice)
    }

    /// Everything not read yet.
    pub(crate) fn rest(&mut self) -> &'a [u8] {
        let rest = self.bytes.get(self.pos..).unwrap_or(&[]);
        self.pos = self.bytes.len();
        rest
    }

    /// The next `N` bytes as an array.
    pub(crate) fn array<const N: usize>(
        &mut self,
        field: &'static str,
    ) -> Result<[u8; N], DecodeError> {
        let at = self.offset();
        let s = self.take(N, field)?;
        <[u8; N]>::try_from(s).map_err(|_| {
            DecodeError::new(
                field,
                at,
                DecodeErrorKind::Truncated {
                    needed: N,
                    available: s.len(),
                },
            )
        })
    }

    /// One byte.
    pub(crate) fn u8(&mut self, field: &'static str) -> Result<u8, DecodeError> {
        self.array::<1>(field).map(|[b]| b)
    }

    /// A little-endian u16.
    pub(crate) fn u16(&mut self, field: &'static str) -> Result<u16, DecodeError> {
        self.array(field).map(u16::from_le_bytes)
    }

    /// A little-endian u32.
    pub(crate) fn u32(&mut self, field: &'static str) -> Result<u32, DecodeError> {
        self.array(field).map(u32::from_le_bytes)
    }

    /// A little-endian u32 as a `usize` length.
    pub(crate) fn len32(&mut self, field: &'static str) -> Result<usize, DecodeError> {
        // u32 -> usize: lossless on the 32- and 64-bit targets this crate supports.
        self.u32(field)
            .map(|n| usize::try_from(n).unwrap_or(usize::MAX))
    }

    /// Skips to the next multiple of `n` (a power of two) from the start, as NDR aligns
    /// (C706 §14.2.2). The skipped bytes are not checked: NDR leaves their value open.
    pub(crate) fn align(&mut self, n: usize, field: &'static str) -> Result<(), DecodeError> {
        let pad = self.pos.wrapping_neg() & (n - 1);
        self.take(pad, field).map(|_| ())
    }

    /// `Err(UnexpectedValue)` unless `found == expected`.
    pub(crate) fn expect(
        &self,
        field: &'static str,
        found: u32,
        expected: u32,
    ) -> Result<(), DecodeError> {
        if found == expected {
            Ok(())
        } else {
            Err(self.error(field, DecodeErrorKind::UnexpectedValue { found, expected }))
        }
    }

    /// `Err(TrailingBytes)` unless every byte was read.
    pub(crate) fn finish(&self, field: &'static str) -> Result<(), DecodeError> {
        match self.remaining() {
            0 => Ok(()),
            count => Err(self.error(field, DecodeErrorKind::TrailingBytes { count })),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_refuses_overruns() {
        let mut r = Reader::new(&[1, 2, 0, 3, 9, 0, 0, 0], 100);
        assert_eq!(r.u8("a").unwrap(), 1);
        r.align(2, "pad").unwrap();
        assert_eq!(r.pos(), 2);
        r.align(4, "pad").unwrap();
        assert_eq!(r.u32("b").unwrap(), 9);
        let e = r.u8("c").unwrap_err();
        assert_eq!((e.field, e.offset), ("c", 108));
        assert!(matches!(
            e.kind,
            DecodeErrorKind::Truncated {
                needed: 1,
                available: 0
            }
        ));
        let mut r = Reader::new(&[0; 3], 0);
        assert!(r.take(usize::MAX, "huge").is_err());
        assert!(r.finish("end").is_err());
    }
}
