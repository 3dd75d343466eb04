//! CHALLENGE_MESSAGE (MS-NLMP §2.2.1.2).

use crate::error::{DecodeError, DecodeErrorKind};

use super::layout::{
    array, check_max, claims_version, expect_header, place, put_payload, resolve, u32_at,
    unread_version, FieldPos, Layout, Recorded, SIGNATURE,
};
use super::{NegotiateFlags, TargetInfo, Version, WireString, MAX_NAME_LEN, MAX_TARGET_INFO_LEN};

const NAMES: [&str; 2] = ["TargetNameFields", "TargetInfoFields"];
const ORDER: [usize; 2] = [0, 1];
/// Signature, MessageType, TargetNameFields, NegotiateFlags, ServerChallenge, Reserved,
/// TargetInfoFields.
const BASE_HEADER: usize = 48;

/// The CHALLENGE_MESSAGE of MS-NLMP §2.2.1.2: the server's challenge.
///
/// Decoding rules:
/// - TargetName is [`WireString::Utf16`] (even length required) when
///   NTLMSSP_NEGOTIATE_UNICODE is set, else [`WireString::Oem`]; at most
///   [`MAX_NAME_LEN`](super::MAX_NAME_LEN) bytes.
/// - `target_info` is `Some` exactly when TargetInfoLen is non-zero, whatever
///   NTLMSSP_NEGOTIATE_TARGET_INFO says; it must then be a valid AV pair list ending
///   exactly at the end of the field, at most
///   [`MAX_TARGET_INFO_LEN`](super::MAX_TARGET_INFO_LEN) bytes. Error offsets inside it
///   are message offsets.
/// - VERSION is read when NTLMSSP_NEGOTIATE_VERSION is set and the payload (lowest
///   `BufferOffset` of a non-empty field, or the message end) starts at 56 or later.
///
/// A decoded message remembers its layout (offsets, MaxLen, length, and the bytes 48..56
/// when the payload leaves room for VERSION but NTLMSSP_NEGOTIATE_VERSION is clear, which
/// §2.2.2.10 says are zero), so [`encode`](Self::encode) gives back the received bytes
/// while field lengths and VERSION presence are unchanged (bytes no field references come
/// back as zero); otherwise the canonical layout is used (TargetName then TargetInfo right
/// after the header). Equality ignores the layout.
///
/// The CHALLENGE_MESSAGE of MS-NLMP §4.2.4:
///
/// ```
/// use ntlm::wire::{AvPair, ChallengeMessage, Version, WireString};
/// let hex = concat!(
///     "4e544c4d53535000020000000c000c003800000033828ae20123456789abcdef",
///     "00000000000000002400240044000000060070170000000f5300650072007600",
///     "6500720002000c0044006f006d00610069006e0001000c005300650072007600",
///     "6500720000000000",
/// );
/// let bytes: Vec<u8> = (0..hex.len())
///     .step_by(2)
///     .map(|i| u8::from_str_radix(&hex[i..i + 2], 16))
///     .collect::<Result<_, _>>()?;
/// let m = ChallengeMessage::decode(&bytes)?;
/// assert_eq!(m.server_challenge, [0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef]);
/// assert_eq!(m.target_name.to_string_lossy(), "Server");
/// assert_eq!(m.version, Some(Version::WINDOWS_VISTA));
/// let domain = ntlm::wire::utf16le("Domain");
/// let first = m.target_info.and_then(|t| t.iter().next());
/// assert_eq!(first, Some(AvPair::NbDomainName(WireString::Utf16(&domain))));
/// assert_eq!(m.encode(), bytes);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChallengeMessage<'a> {
    /// NegotiateFlags.
    pub flags: NegotiateFlags,
    /// ServerChallenge: the 8-byte nonce.
    pub server_challenge: [u8; 8],
    /// Reserved (8 bytes, zero on send), kept as received.
    pub reserved: [u8; 8],
    /// TargetName.
    pub target_name: WireString<'a>,
    /// TargetInfo; `None` encodes as an empty field.
    pub target_info: Option<TargetInfo<'a>>,
    /// VERSION; set NTLMSSP_NEGOTIATE_VERSION too for the peer to read it.
    pub version: Option<Version>,
    layout: Recorded<2>,
}

impl<'a> ChallengeMessage<'a> {
    /// MessageType of MS-NLMP §2.2.1.2.
    pub const MESSAGE_TYPE: u32 = 2;

    /// A message with `flags` and `server_challenge`; empty TargetName (of the encoding
    /// NTLMSSP_NEGOTIATE_UNICODE selects), no TargetInfo, no VERSION, zero Reserved (MS-NLMP §2.2.1.2).
    pub fn new(flags: NegotiateFlags, server_challenge: [u8; 8]) -> Self {
        Self {
            flags,
            server_challenge,
            reserved: [0; 8],
            target_name: WireString::empty(flags.contains(NegotiateFlags::NEGOTIATE_UNICODE)),
            target_info: None,
            version: None,
            layout: Recorded::default(),
        }
    }

    /// Decodes MS-NLMP §2.2.1.2 bytes; see the type documentation for the rules.
    pub fn decode(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        match Self::decode_valid(bytes) {
            Some(m) => Ok(m),
            None => Self::decode_checked(bytes),
        }
    }

    /// The rules of [`decode_checked`](Self::decode_checked) in one pass over the fixed
    /// header and the AV pairs, without building errors: the same message for every input
    /// it accepts, `None` for every input that one refuses (which then names the field,
    /// offset and rule). Nothing is trusted: each length and offset is checked before use.
    fn decode_valid(bytes: &'a [u8]) -> Option<Self> {
        let h: &[u8; BASE_HEADER] = bytes.first_chunk()?;
        let le16 =
            |at: usize| -> Option<u16> { Some(u16::from_le_bytes(*h.get(at..)?.first_chunk()?)) };
        let le32 =
            |at: usize| -> Option<u32> { Some(u32::from_le_bytes(*h.get(at..)?.first_chunk()?)) };
        let field = |at: usize| -> Option<FieldPos> {
            Some(FieldPos {
                len: le16(at)?,
                max_len: le16(at + 2)?,
                offset: le32(at + 4)?,
            })
        };
        if h.first_chunk::<8>()? != &SIGNATURE || le32(8)? != Self::MESSAGE_TYPE {
            return None;
        }
        let (name_pos, info_pos) = (field(12)?, field(40)?);
        let flags = NegotiateFlags::from_bits(le32(20)?);
        let server_challenge: [u8; 8] = *h.get(24..)?.first_chunk()?;
        let reserved: [u8; 8] = *h.get(32..)?.first_chunk()?;
        // `resolve`: in bounds, outside the header, not overlapping.
        let span = |p: FieldPos| -> Option<(usize, usize)> {
            let start = usize::try_from(p.offset).ok()?;
            let end = start.checked_add(usize::from(p.len))?;
            (end <= bytes.len() && (p.len == 0 || start >= BASE_HEADER)).then_some((start, end))
        };
        let ((ns, ne), (is, ie)) = (span(name_pos)?, span(info_pos)?);
        if name_pos.len != 0 && info_pos.len != 0 && ns < ie && is < ne {
            return None;
        }
        let payload_start = [(name_pos.len, ns), (info_pos.len, is)]
            .iter()
            .filter(|(len, _)| *len != 0)
            .map(|&(_, start)| start)
            .fold(bytes.len(), usize::min);
        let (name, info) = (bytes.get(ns..ne)?, bytes.get(is..ie)?);
        let unicode = flags.contains(NegotiateFlags::NEGOTIATE_UNICODE);
        if name.len() > MAX_NAME_LEN || info.len() > MAX_TARGET_INFO_LEN {
            return None;
        }
        let target_name = if unicode {
            if name.len() % 2 != 0 {
                return None;
            }
            WireString::Utf16(name)
        } else {
            WireString::Oem(name)
        };
        let target_info = if info.is_empty() {
            None
        } else {
            Some(TargetInfo::decode_valid(info)?)
        };
        let (version, header_len) =
            if flags.contains(NegotiateFlags::NEGOTIATE_VERSION) && payload_start >= 56 {
                (Some(Version::decode(bytes.get(48..)?).ok()?), 56)
            } else {
                (None, BASE_HEADER)
            };
        let unread_version = match version {
            Some(_) => None,
            None => unread_version(bytes, BASE_HEADER, payload_start),
        };
        Some(Self {
            flags,
            server_challenge,
            reserved,
            target_name,
            target_info,
            version,
            layout: Recorded(Some(Layout {
                header_len,
                fields: [name_pos, info_pos],
                total_len: bytes.len(),
                unread_version,
            })),
        })
    }

    /// [`decode`](Self::decode) field by field, naming the field, offset and rule of the
    /// first failure: run when [`decode_valid`](Self::decode_valid) refused the bytes.
    fn decode_checked(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        expect_header(bytes, Self::MESSAGE_TYPE)?;
        let name_pos = FieldPos::read(bytes, 12, NAMES[0])?;
        let flags = NegotiateFlags::from_bits(u32_at(bytes, 20, "NegotiateFlags")?);
        let server_challenge = array(bytes, 24, "ServerChallenge")?;
        let reserved = array(bytes, 32, "Reserved")?;
        let info_pos = FieldPos::read(bytes, 40, NAMES[1])?;
        let r = resolve(bytes, &NAMES, [name_pos, info_pos], BASE_HEADER)?;
        let [name, info] = r.slices;

        check_max(name, MAX_NAME_LEN, NAMES[0], name_pos.offset)?;
        let name_at = usize::try_from(name_pos.offset).unwrap_or(usize::MAX);
        let target_name = if flags.contains(NegotiateFlags::NEGOTIATE_UNICODE) {
            if name.len() % 2 != 0 {
                return Err(DecodeError::new(
                    NAMES[0],
                    name_at,
                    DecodeErrorKind::OddUtf16Length { len: name.len() },
                ));
            }
            WireString::Utf16(name)
        } else {
            WireString::Oem(name)
        };

        check_max(info, MAX_TARGET_INFO_LEN, NAMES[1], info_pos.offset)?;
        let target_info = if info.is_empty() {
            None
        } else {
            let at = usize::try_from(info_pos.offset).unwrap_or(usize::MAX);
            Some(TargetInfo::decode(info).map_err(|e| e.shifted(at))?)
        };

        let (version, header_len) =
            if flags.contains(NegotiateFlags::NEGOTIATE_VERSION) && r.payload_start >= 56 {
                (Some(Version::decode(bytes.get(48..).unwrap_or(&[]))?), 56)
            } else {
                (None, BASE_HEADER)
            };
        let unread_version = match version {
            Some(_) => None,
            None => unread_version(bytes, BASE_HEADER, r.payload_start),
        };
        Ok(Self {
            flags,
            server_challenge,
            reserved,
            target_name,
            target_info,
            version,
            layout: Recorded(Some(Layout {
                header_len,
                fields: r.pos,
                total_len: bytes.len(),
                unread_version,
            })),
        })
    }

    /// Forgets the received layout: the next encode uses the canonical one (MS-NLMP §2.2.1.2).
    pub fn canonicalize(&mut self) {
        self.layout = Recorded::default();
    }

    /// The message bytes (MS-NLMP §2.2.1.2).
    ///
    /// # Panics
    /// When a field is longer than 65535 bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_into(&mut out);
        out
    }

    /// Appends the message bytes to `out` (MS-NLMP §2.2.1.2).
    ///
    /// # Panics
    /// When a field is longer than 65535 bytes.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        let payloads = [
            self.target_name.as_bytes(),
            self.target_info
                .as_ref()
                .map_or(&[][..], TargetInfo::as_bytes),
        ];
        let header_len = BASE_HEADER + if self.version.is_some() { 8 } else { 0 };
        let layout = place(&self.layout, header_len, &NAMES, &payloads, &ORDER);
        out.reserve(layout.total_len);
        let [name_pos, info_pos] = layout.fields;
        let start = out.len();
        out.extend_from_slice(&SIGNATURE);
        out.extend_from_slice(&Self::MESSAGE_TYPE.to_le_bytes());
        name_pos.write(out);
        out.extend_from_slice(&self.flags.bits().to_le_bytes());
        out.extend_from_slice(&self.server_challenge);
        out.extend_from_slice(&self.reserved);
        info_pos.write(out);
        if let Some(v) = &self.version {
            out.extend_from_slice(&v.encode());
        }
        let claims = claims_version(self.version.is_some(), self.flags);
        put_payload(out, start, &layout, &payloads, claims);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::wire::{AvPair, TargetInfoBuilder};

    /// The §4.2.4 CHALLENGE, and a Windows-like one (DNS names, timestamp, VERSION).
    fn seeds() -> Vec<Vec<u8>> {
        let hex = concat!(
            "4e544c4d53535000020000000c000c003800000033828ae20123456789abcdef",
            "00000000000000002400240044000000060070170000000f5300650072007600",
            "6500720002000c0044006f006d00610069006e0001000c005300650072007600",
            "6500720000000000",
        );
        let nlmp: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect();
        let mut info = TargetInfoBuilder::new();
        info.set_str(crate::wire::AvId::NbDomainName, "CORP");
        info.set_str(crate::wire::AvId::NbComputerName, "WEB1");
        info.set_str(crate::wire::AvId::DnsDomainName, "corp.example");
        info.set(AvPair::Timestamp(0x01d9_0000_0000_0000));
        let info = info.encode();
        let flags = NegotiateFlags::NEGOTIATE_UNICODE
            | NegotiateFlags::NEGOTIATE_VERSION
            | NegotiateFlags::NEGOTIATE_TARGET_INFO;
        let mut m = ChallengeMessage::new(flags, [7; 8]);
        m.target_name = WireString::Utf16(b"C\0O\0R\0P\0");
        m.target_info = Some(TargetInfo::decode(&info).unwrap());
        m.version = Some(Version::WINDOWS_VISTA);
        let mut oem = ChallengeMessage::new(NegotiateFlags::NEGOTIATE_OEM, [9; 8]);
        oem.target_name = WireString::Oem(b"ODD");
        vec![nlmp, m.encode(), oem.encode()]
    }

    /// `decode_valid` accepts exactly what `decode_checked` accepts, with the same message
    /// and layout, over byte changes biased to the header and the AV pair heads.
    #[test]
    fn one_pass_decode_equals_the_checked_decode() {
        let mut rng = crate::wire::mutate::XorShift::new(0x9e37_79b9_7f4a_7c15u64);
        let (mut accepted, mut refused) = (0, 0);
        for seed in seeds() {
            for _ in 0..20_000 {
                let mut b = seed.clone();
                crate::wire::mutate::mutate_message(&mut b, &mut rng, 64);
                let fast = ChallengeMessage::decode_valid(&b);
                let checked = ChallengeMessage::decode_checked(&b);
                match (&fast, &checked) {
                    (Some(f), Ok(c)) => {
                        assert_eq!(format!("{f:?}"), format!("{c:?}"), "{b:02x?}");
                        assert_eq!(f.target_info, c.target_info);
                        assert_eq!(f.encode(), c.encode());
                        accepted += 1;
                    }
                    (None, Err(_)) => refused += 1,
                    _ => panic!("{b:02x?}: one pass {fast:?}, checked {checked:?}"),
                }
            }
        }
        assert!(
            accepted > 1_000 && refused > 1_000,
            "{accepted} / {refused}"
        );
    }
}
