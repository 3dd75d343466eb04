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
        let mut n = 0;
        for c in self.chars() {
            let len = c.len_utf8();
            c.encode_utf8(buf.get_mut(n..n + len)?);
            n += len;
        }
        core::str::from_utf8(buf.get(..n)?).ok()
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
