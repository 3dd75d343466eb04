//! The OEM code page: CP850, for LMOWFv1's password (MS-NLMP §3.3.1 leaves `UpperCase` and
//! the 8-bit encoding to the host: Windows uses the system OEM code page, Samba its
//! `dos charset`, CP850 unless configured) and for every OEM string on the wire (§2.2,
//! when NTLMSSP_NEGOTIATE_OEM is negotiated), so that the two always agree.

/// The Unicode character of each byte 0x80..=0xFF of code page 850 (bytes below 0x80 are
/// ASCII).
const CP850_HIGH: [u16; 128] = [
    0x00C7, 0x00FC, 0x00E9, 0x00E2, 0x00E4, 0x00E0, 0x00E5, 0x00E7, 0x00EA, 0x00EB, 0x00E8, 0x00EF,
    0x00EE, 0x00EC, 0x00C4, 0x00C5, 0x00C9, 0x00E6, 0x00C6, 0x00F4, 0x00F6, 0x00F2, 0x00FB, 0x00F9,
    0x00FF, 0x00D6, 0x00DC, 0x00F8, 0x00A3, 0x00D8, 0x00D7, 0x0192, 0x00E1, 0x00ED, 0x00F3, 0x00FA,
    0x00F1, 0x00D1, 0x00AA, 0x00BA, 0x00BF, 0x00AE, 0x00AC, 0x00BD, 0x00BC, 0x00A1, 0x00AB, 0x00BB,
    0x2591, 0x2592, 0x2593, 0x2502, 0x2524, 0x00C1, 0x00C2, 0x00C0, 0x00A9, 0x2563, 0x2551, 0x2557,
    0x255D, 0x00A2, 0x00A5, 0x2510, 0x2514, 0x2534, 0x252C, 0x251C, 0x2500, 0x253C, 0x00E3, 0x00C3,
    0x255A, 0x2554, 0x2569, 0x2566, 0x2560, 0x2550, 0x256C, 0x00A4, 0x00F0, 0x00D0, 0x00CA, 0x00CB,
    0x00C8, 0x0131, 0x00CD, 0x00CE, 0x00CF, 0x2518, 0x250C, 0x2588, 0x2584, 0x00A6, 0x00CC, 0x2580,
    0x00D3, 0x00DF, 0x00D4, 0x00D2, 0x00F5, 0x00D5, 0x00B5, 0x00FE, 0x00DE, 0x00DA, 0x00DB, 0x00D9,
    0x00FD, 0x00DD, 0x00AF, 0x00B4, 0x00AD, 0x00B1, 0x2017, 0x00BE, 0x00B6, 0x00A7, 0x00F7, 0x00B8,
    0x00B0, 0x00A8, 0x00B7, 0x00B9, 0x00B3, 0x00B2, 0x25A0, 0x00A0,
];

/// The CP850 byte of `c`, or `None` when CP850 has no such character.
///
/// ```
/// use ntlm::crypto::cp850_byte;
/// assert_eq!(cp850_byte('A'), Some(b'A'));
/// assert_eq!(cp850_byte('Ä'), Some(0x8E));
/// assert_eq!(cp850_byte('Ø'), Some(0x9D));
/// assert_eq!(cp850_byte('Ω'), None);
/// ```
pub fn cp850_byte(c: char) -> Option<u8> {
    if c.is_ascii() {
        return u8::try_from(c).ok();
    }
    let code = u32::from(c);
    // The whole table is scanned (no early exit at the match), but this is not
    // constant-time: ASCII returns early and the comparison may compile to a branch, so the
    // time taken can depend on the character.
    CP850_HIGH
        .iter()
        .zip(0x80u8..=0xff)
        .fold(None, |found, (&u, byte)| {
            if u32::from(u) == code {
                Some(byte)
            } else {
                found
            }
        })
}

/// The character of CP850 byte `b` (MS-NLMP §2.2: OEM strings; CP850 is the OEM code page
/// this crate uses everywhere, the one Samba's `dos charset` defaults to).
///
/// ```
/// use ntlm::crypto::cp850_char;
/// assert_eq!(cp850_char(b'A'), 'A');
/// assert_eq!(cp850_char(0x81), 'ü');
/// assert_eq!(cp850_char(0x9D), 'Ø');
/// ```
pub fn cp850_char(b: u8) -> char {
    match b.checked_sub(0x80) {
        None => char::from(b),
        Some(i) => CP850_HIGH
            .get(usize::from(i))
            .and_then(|&u| char::from_u32(u32::from(u)))
            .unwrap_or(char::REPLACEMENT_CHARACTER),
    }
}

/// Appends `s` in CP850, `?` for each character CP850 lacks (as Windows' best-fit
/// conversion does for characters it cannot map).
///
/// ```
/// let mut out = Vec::new();
/// ntlm::crypto::cp850_encode_into("Jürgen Ω", &mut out);
/// assert_eq!(out, b"J\x81rgen ?");
/// ```
pub fn cp850_encode_into(s: &str, out: &mut Vec<u8>) {
    out.reserve(s.len());
    out.extend(s.chars().map(|c| cp850_byte(c).unwrap_or(b'?')));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_high_byte_maps_back() {
        for (i, &u) in CP850_HIGH.iter().enumerate() {
            let c = char::from_u32(u32::from(u)).unwrap();
            assert_eq!(cp850_byte(c), Some(0x80 + i as u8), "{c}");
        }
        assert_eq!(cp850_byte('\u{7f}'), Some(0x7f));
        for b in 0..=255u8 {
            assert_eq!(cp850_byte(cp850_char(b)), Some(b), "{b:#x}");
        }
        assert_eq!(cp850_byte('€'), None);
    }
}
