//! Strings as NTLM messages carry them (MS-NLMP §2.2 "Character Sets and Unicode"):
//! UTF-16LE when NTLMSSP_NEGOTIATE_UNICODE is negotiated, otherwise the OEM code page.

use core::fmt;

/// A string field exactly as on the wire (MS-NLMP §2.2, §2.2.2.5 flags A and B).
///
/// Decoders produce `Utf16` when NTLMSSP_NEGOTIATE_UNICODE is set (and for AV pair
/// names, which are always UTF-16LE); its length is then validated even. Nothing is
/// converted: the bytes are borrowed from the message.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub enum WireString<'a> {
    /// UTF-16LE bytes (even length when decoded).
    Utf16(&'a [u8]),
    /// OEM code page bytes.
    Oem(&'a [u8]),
}

impl<'a> WireString<'a> {
    /// `bytes` in the encoding `unicode` selects (NTLMSSP_NEGOTIATE_UNICODE, MS-NLMP
    /// §2.2): UTF-16LE when true, OEM otherwise. The bytes are not checked.
    ///
    /// ```
    /// use ntlm::wire::WireString;
    /// assert_eq!(WireString::new(true, b"a\0"), WireString::Utf16(b"a\0"));
    /// assert_eq!(WireString::new(false, b"a"), WireString::Oem(b"a"));
    /// ```
    pub const fn new(unicode: bool, bytes: &'a [u8]) -> Self {
        if unicode {
            Self::Utf16(bytes)
        } else {
            Self::Oem(bytes)
        }
    }

    /// An empty string of the encoding `unicode` selects (MS-NLMP §2.2).
    pub const fn empty(unicode: bool) -> Self {
        Self::new(unicode, &[])
    }

    /// The bytes as on the wire (MS-NLMP §2.2).
    pub const fn as_bytes(&self) -> &'a [u8] {
        match *self {
            Self::Utf16(b) | Self::Oem(b) => b,
        }
    }

    /// True when no bytes (MS-NLMP §2.2).
    pub const fn is_empty(&self) -> bool {
        self.as_bytes().is_empty()
    }

    /// True for the UTF-16LE variant (MS-NLMP §2.2).
    pub const fn is_unicode(&self) -> bool {
        matches!(self, Self::Utf16(_))
    }

    /// The text: UTF-16LE decoded with U+FFFD for unpaired surrogates (and a dangling odd
    /// byte); OEM bytes decoded as CP850, the OEM code page of this crate (MS-NLMP §2.2;
    /// see [`crate::crypto::cp850_char`]).
    ///
    /// ```
    /// use ntlm::wire::WireString;
    /// assert_eq!(WireString::Oem(b"J\x81rgen").to_string_lossy(), "Jürgen");
    /// ```
    pub fn to_string_lossy(&self) -> String {
        if let Some(ascii) = self.ascii_bytes() {
            // Names are ASCII almost always: their bytes, without decoding each character.
            if let Ok(s) = String::from_utf8(ascii.collect()) {
                return s;
            }
        }
        // Sized first: one allocation, never a regrowth (server verification counts on it).
        let mut out = String::with_capacity(self.chars().map(char::len_utf8).sum());
        out.extend(self.chars());
        out
    }

    /// The characters: UTF-16LE decoded with unpaired surrogates as U+FFFD, or OEM bytes as
    /// CP850. No allocation.
    pub fn chars(&self) -> impl Iterator<Item = char> + 'a {
        let (utf16, oem) = match *self {
            Self::Utf16(b) => (b, &[][..]),
            Self::Oem(b) => (&[][..], b),
        };
        let units = utf16.chunks(2).map(|c| match *c {
            [lo, hi] => u16::from_le_bytes([lo, hi]),
            _ => 0xFFFD,
        });
        char::decode_utf16(units)
            .map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER))
            .chain(oem.iter().map(|&c| crate::crypto::cp850_char(c)))
    }

    /// [`WireString::to_string_lossy`] into a caller's buffer, without allocating; `None`
    /// when it does not fit (a name within [`crate::wire::MAX_NAME_LEN`] always fits 1024
    /// bytes).
    pub fn to_str_in<'b>(&self, buf: &'b mut [u8]) -> Option<&'b str> {
        if let Some(ascii) = self.ascii_bytes() {
            let n = ascii.len();
            for (slot, b) in buf.get_mut(..n)?.iter_mut().zip(ascii) {
                *slot = b;
            }
            return core::str::from_utf8(buf.get(..n)?).ok();
        }
        let mut n = 0;
        for c in self.chars() {
            let len = c.len_utf8();
            c.encode_utf8(buf.get_mut(n..n + len)?);
            n += len;
        }
        core::str::from_utf8(buf.get(..n)?).ok()
    }
}

impl<'a> WireString<'a> {
    /// The bytes of a string whose characters are all ASCII (UTF-16LE units below 0x80, or
    /// OEM bytes below 0x80, where CP850 is ASCII), which are its UTF-8; `None` otherwise.
    fn ascii_bytes(&self) -> Option<impl ExactSizeIterator<Item = u8> + 'a> {
        let (bytes, step, ascii) = match *self {
            Self::Utf16(b) => (
                b,
                2,
                b.len() % 2 == 0
                    && b.chunks_exact(2)
                        .all(|c| matches!(c, [lo, 0] if *lo < 0x80)),
            ),
            Self::Oem(b) => (b, 1, b.is_ascii()),
        };
        ascii.then(|| bytes.iter().step_by(step).copied())
    }
}

impl fmt::Debug for WireString<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = if self.is_unicode() { "Utf16" } else { "Oem" };
        write!(f, "{kind}({:?})", self.to_string_lossy())
    }
}

/// `s` as UTF-16LE bytes, the Unicode string encoding of MS-NLMP §2.2.
///
/// ```
/// assert_eq!(ntlm::wire::utf16le("Ué"), [0x55, 0, 0xe9, 0]);
/// ```
pub fn utf16le(s: &str) -> Vec<u8> {
    // At most two bytes per UTF-8 byte (ASCII); one allocation, no per-unit iterator state.
    let mut out = Vec::with_capacity(2 * s.len());
    utf16le_into(s, &mut out);
    out
}

/// Appends `s` as UTF-16LE to `out` (MS-NLMP §2.2: Unicode strings).
///
/// ```
/// let mut out = vec![1];
/// ntlm::wire::utf16le_into("A", &mut out);
/// assert_eq!(out, [1, b'A', 0]);
/// ```
pub fn utf16le_into(s: &str, out: &mut Vec<u8>) {
    if s.is_ascii() {
        out.reserve(2 * s.len());
        for b in s.bytes() {
            out.push(b);
            out.push(0);
        }
    } else {
        for unit in s.encode_utf16() {
            out.extend_from_slice(&unit.to_le_bytes());
        }
    }
}

/// Appends `s` in the encoding `unicode` selects (MS-NLMP §2.2): UTF-16LE, or the OEM
/// code page, CP850, with `?` for characters it lacks ([`crate::crypto::cp850_encode_into`]).
/// What [`WireString::to_string_lossy`] reads back.
///
/// ```
/// let mut out = Vec::new();
/// ntlm::wire::string_into("Jürgen", false, &mut out);
/// assert_eq!(out, b"J\x81rgen");
/// assert_eq!(ntlm::wire::WireString::Oem(&out).to_string_lossy(), "Jürgen");
/// ```
pub fn string_into(s: &str, unicode: bool, out: &mut Vec<u8>) {
    if unicode {
        utf16le_into(s, out);
    } else {
        crate::crypto::cp850_encode_into(s, out);
    }
}

#[cfg(test)]
mod ascii_fast_path {
    use super::*;

    /// The ASCII fast paths give what decoding each character gives.
    #[test]
    fn same_as_decoding_each_character() {
        let utf16: Vec<Vec<u8>> = [
            "",
            "alice",
            "WORKSTATION01",
            "a~\u{7f}",
            "Jürgen",
            "日本",
            "x\u{80}",
        ]
        .iter()
        .map(|s| utf16le(s))
        .chain([
            vec![0x41, 0x00, 0x42],       // odd length
            vec![0x00, 0xd8, 0x41, 0x00], // unpaired surrogate
            vec![0x41, 0x01],             // U+0141, high byte set
        ])
        .collect();
        let oem: [&[u8]; 4] = [b"", b"alice", b"J\x81rgen", b"\x7f\x80"];
        let strings = utf16
            .iter()
            .map(|b| WireString::Utf16(b))
            .chain(oem.iter().map(|b| WireString::Oem(b)));
        let mut checked = 0;
        for s in strings {
            let slow: String = s.chars().collect();
            assert_eq!(s.to_string_lossy(), slow, "{s:?}");
            let mut buf = [0u8; 64];
            assert_eq!(s.to_str_in(&mut buf), Some(slow.as_str()));
            let mut small = [0u8; 2];
            assert_eq!(s.to_str_in(&mut small).is_some(), slow.len() <= 2, "{s:?}");
            checked += 1;
        }
        assert_eq!(checked, 14);
    }
}
