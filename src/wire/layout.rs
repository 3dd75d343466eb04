//! Bounds-checked reading and payload layout shared by the three messages (MS-NLMP §2.2.1):
//! the `Len`/`MaxLen`/`BufferOffset` field descriptors, where each field sits, and the
//! record of a received layout that lets `encode(decode(x)) == x`.

use crate::error::{DecodeError, DecodeErrorKind};

/// `NTLMSSP\0` (MS-NLMP §2.2.1).
pub(crate) const SIGNATURE: [u8; 8] = *b"NTLMSSP\0";

/// `len` bytes at `off`, or a `Truncated` error naming `field`.
pub(crate) fn take<'a>(
    bytes: &'a [u8],
    off: usize,
    len: usize,
    field: &'static str,
) -> Result<&'a [u8], DecodeError> {
    off.checked_add(len)
        .and_then(|end| bytes.get(off..end))
        .ok_or_else(|| {
            DecodeError::new(
                field,
                off,
                DecodeErrorKind::Truncated {
                    needed: len,
                    available: bytes.len().saturating_sub(off),
                },
            )
        })
}

/// `N` bytes at `off` as an array.
pub(crate) fn array<const N: usize>(
    bytes: &[u8],
    off: usize,
    field: &'static str,
) -> Result<[u8; N], DecodeError> {
    let s = take(bytes, off, N, field)?;
    <[u8; N]>::try_from(s).map_err(|_| {
        DecodeError::new(
            field,
            off,
            DecodeErrorKind::Truncated {
                needed: N,
                available: s.len(),
            },
        )
    })
}

/// Little-endian u16 at `off`.
pub(crate) fn u16_at(bytes: &[u8], off: usize, field: &'static str) -> Result<u16, DecodeError> {
    array::<2>(bytes, off, field).map(u16::from_le_bytes)
}

/// Little-endian u32 at `off`.
pub(crate) fn u32_at(bytes: &[u8], off: usize, field: &'static str) -> Result<u32, DecodeError> {
    array::<4>(bytes, off, field).map(u32::from_le_bytes)
}

/// Little-endian u64 at `off`.
pub(crate) fn u64_at(bytes: &[u8], off: usize, field: &'static str) -> Result<u64, DecodeError> {
    array::<8>(bytes, off, field).map(u64::from_le_bytes)
}

/// Checks `NTLMSSP\0` and the MessageType; returns the type.
pub(crate) fn header(bytes: &[u8]) -> Result<u32, DecodeError> {
    let sig = take(bytes, 0, 8, "Signature")?;
    if sig != SIGNATURE {
        return Err(DecodeError::new(
            "Signature",
            0,
            DecodeErrorKind::BadSignature,
        ));
    }
    u32_at(bytes, 8, "MessageType")
}

/// Checks the signature and that the MessageType is `expected`.
pub(crate) fn expect_header(bytes: &[u8], expected: u32) -> Result<(), DecodeError> {
    let found = header(bytes)?;
    if found != expected {
        return Err(DecodeError::new(
            "MessageType",
            8,
            DecodeErrorKind::WrongMessageType { expected, found },
        ));
    }
    Ok(())
}

/// One `Len`, `MaxLen`, `BufferOffset` descriptor (MS-NLMP §2.2.1.1 DomainNameFields etc.).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct FieldPos {
    pub len: u16,
    pub max_len: u16,
    pub offset: u32,
}

impl FieldPos {
    pub(crate) fn read(bytes: &[u8], off: usize, field: &'static str) -> Result<Self, DecodeError> {
        Ok(Self {
            len: u16_at(bytes, off, field)?,
            max_len: u16_at(bytes, off.saturating_add(2), field)?,
            offset: u32_at(bytes, off.saturating_add(4), field)?,
        })
    }

    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.len.to_le_bytes());
        out.extend_from_slice(&self.max_len.to_le_bytes());
        out.extend_from_slice(&self.offset.to_le_bytes());
    }

    fn start(&self) -> usize {
        // u32 -> usize: lossless on the 32- and 64-bit targets this crate supports.
        usize::try_from(self.offset).unwrap_or(usize::MAX)
    }
}

/// Where every payload field of a message sits, and how long the message is.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Layout<const N: usize> {
    /// Bytes before the payload: the fixed header plus VERSION and MIC when present.
    pub header_len: usize,
    pub fields: [FieldPos; N],
    pub total_len: usize,
    /// The VERSION slot (MS-NLMP §2.2.2.10) of a received message that has room for it
    /// before its payload but NTLMSSP_NEGOTIATE_VERSION clear, so VERSION was not decoded:
    /// its offset and its 8 bytes as received. §2.2.2.10 says they "MUST be set to all
    /// zero"; a peer that sends something else gets it back unchanged from `put_payload`.
    pub unread_version: Option<(usize, [u8; 8])>,
}

/// The layout of a decoded message, kept so that encoding reproduces it; `None` for a
/// message built by a constructor (canonical layout). Compares equal to any other record:
/// message equality is about field values, not placement.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Recorded<const N: usize>(pub Option<Layout<N>>);

impl<const N: usize> PartialEq for Recorded<N> {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl<const N: usize> Eq for Recorded<N> {}

/// Resolved payload fields of a received message.
pub(crate) struct Resolved<'a, const N: usize> {
    pub slices: [&'a [u8]; N],
    pub pos: [FieldPos; N],
    /// Lowest `BufferOffset` of a non-empty field, or the message length when all are
    /// empty: the end of the header as the sender laid it out.
    pub payload_start: usize,
}

/// Bounds- and overlap-checks the payload fields of a message.
pub(crate) fn resolve<'a, const N: usize>(
    bytes: &'a [u8],
    names: &[&'static str; N],
    pos: [FieldPos; N],
    base_header: usize,
) -> Result<Resolved<'a, N>, DecodeError> {
    match resolve_valid(bytes, pos, base_header) {
        Some(r) => Ok(r),
        None => resolve_checked(bytes, names, pos, base_header),
    }
}

/// [`resolve`] without building errors: the same result for the fields it accepts, `None`
/// for fields [`resolve_checked`] refuses (which then names the rule). Every offset and
/// length is checked before use; the overlap test runs over all pairs without branching
/// on emptiness (an empty field's span is placed at `usize::MAX`, where nothing overlaps it).
fn resolve_valid<'a, const N: usize>(
    bytes: &'a [u8],
    pos: [FieldPos; N],
    base_header: usize,
) -> Option<Resolved<'a, N>> {
    let mut slices: [&'a [u8]; N] = [&[]; N];
    let mut spans = [(usize::MAX, usize::MAX); N];
    let mut payload_start = bytes.len();
    for ((slot, span), p) in slices.iter_mut().zip(spans.iter_mut()).zip(&pos) {
        let start = p.start();
        let end = start.checked_add(usize::from(p.len))?;
        *slot = bytes.get(start..end)?;
        if p.len != 0 {
            if start < base_header {
                return None;
            }
            payload_start = payload_start.min(start);
            *span = (start, end);
        }
    }
    let mut overlap = false;
    for (j, &(sj, ej)) in spans.iter().enumerate() {
        for &(si, ei) in spans.iter().take(j) {
            overlap |= si < ej && sj < ei;
        }
    }
    (!overlap).then_some(Resolved {
        slices,
        pos,
        payload_start,
    })
}

/// [`resolve`] field by field, naming the field, offset and rule of the first failure.
fn resolve_checked<'a, const N: usize>(
    bytes: &'a [u8],
    names: &[&'static str; N],
    pos: [FieldPos; N],
    base_header: usize,
) -> Result<Resolved<'a, N>, DecodeError> {
    let mut slices: [&'a [u8]; N] = [&[]; N];
    for ((slot, p), name) in slices.iter_mut().zip(&pos).zip(names) {
        let start = p.start();
        let len = usize::from(p.len);
        *slot = start
            .checked_add(len)
            .and_then(|end| bytes.get(start..end))
            .ok_or_else(|| {
                DecodeError::new(
                    name,
                    start,
                    DecodeErrorKind::OutOfBounds {
                        len,
                        message_len: bytes.len(),
                    },
                )
            })?;
    }
    let mut payload_start = bytes.len();
    for (p, name) in pos.iter().zip(names) {
        if p.len == 0 {
            continue;
        }
        if p.start() < base_header {
            return Err(DecodeError::new(
                name,
                p.start(),
                DecodeErrorKind::OverlapsHeader {
                    header_len: base_header,
                },
            ));
        }
        payload_start = payload_start.min(p.start());
    }
    for (j, (pj, nj)) in pos.iter().zip(names).enumerate() {
        for (pi, ni) in pos.iter().zip(names).take(j) {
            if pi.len == 0 || pj.len == 0 {
                continue;
            }
            // Both ranges are in bounds, so the ends cannot overflow.
            let (si, ei) = (pi.start(), pi.start().saturating_add(usize::from(pi.len)));
            let (sj, ej) = (pj.start(), pj.start().saturating_add(usize::from(pj.len)));
            if si < ej && sj < ei {
                return Err(DecodeError::new(
                    nj,
                    sj,
                    DecodeErrorKind::FieldsOverlap {
                        other: ni,
                        other_offset: si,
                    },
                ));
            }
        }
    }
    Ok(Resolved {
        slices,
        pos,
        payload_start,
    })
}

/// The 8 bytes at `at`, for [`Layout::unread_version`], when the payload (starting at
/// `payload_start`) leaves room for a VERSION there (MS-NLMP §2.2.2.10).
pub(crate) fn unread_version(
    bytes: &[u8],
    at: usize,
    payload_start: usize,
) -> Option<(usize, [u8; 8])> {
    if payload_start < at.saturating_add(8) {
        return None;
    }
    array(bytes, at, "Version").ok().map(|raw| (at, raw))
}

/// `Err(TooLong)` when `s` is longer than `max`.
pub(crate) fn check_max(
    s: &[u8],
    max: usize,
    field: &'static str,
    offset: u32,
) -> Result<(), DecodeError> {
    if s.len() > max {
        return Err(DecodeError::new(
            field,
            usize::try_from(offset).unwrap_or(usize::MAX),
            DecodeErrorKind::TooLong { len: s.len(), max },
        ));
    }
    Ok(())
}

/// `Err(UnexpectedLength)` unless `s.len()` is one of `allowed`.
pub(crate) fn check_len_in(
    s: &[u8],
    allowed: &'static [usize],
    field: &'static str,
    offset: u32,
) -> Result<(), DecodeError> {
    if !allowed.contains(&s.len()) {
        return Err(DecodeError::new(
            field,
            usize::try_from(offset).unwrap_or(usize::MAX),
            DecodeErrorKind::UnexpectedLength {
                found: s.len(),
                allowed,
            },
        ));
    }
    Ok(())
}

/// Length of a payload as a wire `Len`.
///
/// # Panics
/// When the payload is longer than 65535 bytes, which no NTLM field can carry.
pub(crate) fn wire_len(field: &'static str, payload: &[u8]) -> u16 {
    match u16::try_from(payload.len()) {
        Ok(n) => n,
        Err(_) => panic!("{field} is {} bytes, more than 65535", payload.len()),
    }
}

/// The layout used for encoding: the recorded one when it still fits the payload lengths
/// and header, otherwise the canonical one (payload right after the header, in `order`,
/// `MaxLen = Len`, empty fields at the offset where they would start).
pub(crate) fn place<const N: usize>(
    recorded: &Recorded<N>,
    header_len: usize,
    names: &[&'static str; N],
    payloads: &[&[u8]; N],
    order: &[usize; N],
) -> Layout<N> {
    let lens: [u16; N] = core::array::from_fn(|i| {
        let (name, payload) = (names.get(i), payloads.get(i));
        wire_len(
            name.copied().unwrap_or("field"),
            payload.copied().unwrap_or(&[]),
        )
    });
    if let Some(l) = recorded.0 {
        if l.header_len == header_len && l.fields.iter().zip(&lens).all(|(f, n)| f.len == *n) {
            return l;
        }
    }
    let mut fields = [FieldPos::default(); N];
    let mut off = header_len;
    for &i in order {
        let len = lens.get(i).copied().unwrap_or(0);
        if let Some(f) = fields.get_mut(i) {
            *f = FieldPos {
                len,
                max_len: len,
                offset: u32::try_from(off).unwrap_or(u32::MAX),
            };
        }
        off += usize::from(len);
    }
    Layout {
        header_len,
        fields,
        total_len: off,
        unread_version: None,
    }
}

/// True when a message to encode has a VERSION, or says it has one
/// (NTLMSSP_NEGOTIATE_VERSION): then a received VERSION slot is not written back, so bytes
/// the peer sent as "not a VERSION" never go out as one (MS-NLMP §2.2.2.10).
pub(crate) fn claims_version(has_version: bool, flags: super::NegotiateFlags) -> bool {
    has_version || flags.contains(super::NegotiateFlags::NEGOTIATE_VERSION)
}

/// Appends the payload after a header already written from `start`, zero-filling the
/// bytes no field covers except [`Layout::unread_version`], written back as received
/// unless the message now claims a VERSION ([`claims_version`]).
pub(crate) fn put_payload<const N: usize>(
    out: &mut Vec<u8>,
    start: usize,
    layout: &Layout<N>,
    payloads: &[&[u8]; N],
    has_version: bool,
) {
    let written = out.len() - start;
    out.resize(start + layout.total_len.max(written), 0);
    if let Some((at, raw)) = layout.unread_version.filter(|_| !has_version) {
        if let Some(dst) = out.get_mut(start + at..start + at + raw.len()) {
            dst.copy_from_slice(&raw);
        }
    }
    for (f, p) in layout.fields.iter().zip(payloads) {
        let o = start + f.start();
        if let Some(dst) = out.get_mut(o..o + p.len()) {
            dst.copy_from_slice(p);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    /// `resolve_valid` accepts exactly the field sets `resolve_checked` accepts, with the
    /// same slices and payload start: random descriptors over a 96-byte message, biased
    /// towards touching, overlapping, empty and out-of-bounds fields.
    #[test]
    fn one_pass_resolve_equals_the_checked_resolve() {
        let bytes = [0u8; 96];
        let names = ["A", "B", "C", "D"];
        let mut rng = crate::wire::mutate::XorShift::new(0x1234_5678_9abc_def1u64);
        let (mut accepted, mut refused) = (0, 0);
        for _ in 0..100_000 {
            let pos: [FieldPos; 4] = core::array::from_fn(|_| FieldPos {
                len: u16::try_from(rng.next() % 24).unwrap() * u16::from(rng.next() % 4 != 0),
                max_len: 0,
                offset: u32::try_from(40 + rng.next() % 64).unwrap(),
            });
            let fast = resolve_valid(&bytes, pos, 48);
            let checked = resolve_checked(&bytes, &names, pos, 48);
            match (fast, checked) {
                (Some(f), Ok(c)) => {
                    assert_eq!(f.payload_start, c.payload_start, "{pos:?}");
                    for (a, b) in f.slices.iter().zip(&c.slices) {
                        assert_eq!(a.as_ptr(), b.as_ptr());
                        assert_eq!(a.len(), b.len());
                    }
                    accepted += 1;
                }
                (None, Err(_)) => refused += 1,
                (f, c) => panic!(
                    "{pos:?}: one pass {:?}, checked {:?}",
                    f.is_some(),
                    c.is_ok()
                ),
            }
        }
        assert!(
            accepted > 1_000 && refused > 1_000,
            "{accepted} / {refused}"
        );
    }
}
