//! AUTHENTICATE_MESSAGE (MS-NLMP §2.2.1.3).

use crate::error::{DecodeError, DecodeErrorKind};

use super::layout::{
    array, check_len_in, check_max, claims_version, expect_header, place, put_payload, resolve,
    u32_at, unread_version, FieldPos, Layout, Recorded, SIGNATURE,
};
use super::{
    NegotiateFlags, Version, WireString, ENCRYPTED_RANDOM_SESSION_KEY_LENS,
    LM_CHALLENGE_RESPONSE_LENS, MAX_NAME_LEN, MAX_NT_CHALLENGE_RESPONSE_LEN,
};

const LM: usize = 0;
const NT: usize = 1;
const DOMAIN: usize = 2;
const USER: usize = 3;
const WORKSTATION: usize = 4;
const KEY: usize = 5;
const NAMES: [&str; 6] = [
    "LmChallengeResponseFields",
    "NtChallengeResponseFields",
    "DomainNameFields",
    "UserNameFields",
    "WorkstationFields",
    "EncryptedRandomSessionKeyFields",
];
/// Windows' payload order: Domain, User, Workstation, LM, NT, EncryptedRandomSessionKey.
const ORDER: [usize; 6] = [DOMAIN, USER, WORKSTATION, LM, NT, KEY];
/// Signature, MessageType, six field descriptors, NegotiateFlags.
const BASE_HEADER: usize = 64;
/// Signature, MessageType and five field descriptors: MS-NLMP's earlier header, without
/// EncryptedRandomSessionKeyFields and NegotiateFlags.
const SHORT_HEADER: usize = 52;

/// The AUTHENTICATE_MESSAGE of MS-NLMP §2.2.1.3: the client's response.
///
/// Decoding rules:
/// - Fields must lie inside the message, outside the 64-byte fixed header, and must not
///   overlap one another.
/// - DomainName, UserName and Workstation are [`WireString::Utf16`] (even length required)
///   when NTLMSSP_NEGOTIATE_UNICODE is set, else [`WireString::Oem`]; each at most
///   [`MAX_NAME_LEN`](super::MAX_NAME_LEN) bytes. [`decode_as`](Self::decode_as) takes
///   the encoding from the caller (the one the CHALLENGE negotiated) instead of the flag.
/// - When the lowest `BufferOffset` of a non-empty LmChallengeResponse, NtChallengeResponse,
///   DomainName, UserName or Workstation is in 52..64 (or all five are empty and the
///   message is 52..64 bytes long), the message is in MS-NLMP's earlier layout: a 52-byte
///   header with no EncryptedRandomSessionKeyFields, NegotiateFlags, VERSION or MIC
///   (sent by Windows 9x and, for NTLMv1, by the `ntlm-client` npm package). `flags` is
///   then empty and [`header_len`](Self::header_len) is 52; the payload may start at 52.
/// - LmChallengeResponse is 0, 1 (anonymous `Z(1)`) or 24 bytes
///   ([`LM_CHALLENGE_RESPONSE_LENS`](super::LM_CHALLENGE_RESPONSE_LENS));
///   EncryptedRandomSessionKey 0 or 16. NtChallengeResponse is only limited to
///   [`MAX_NT_CHALLENGE_RESPONSE_LEN`](super::MAX_NT_CHALLENGE_RESPONSE_LEN) bytes: its
///   structure (24-byte NTLMv1, or an NTLMv2 response, see
///   [`NtlmV2Response`](super::NtlmV2Response)) is for the verifier to check.
/// - VERSION and MIC are inferred from where the payload starts (`P`, the lowest
///   `BufferOffset` of a non-empty field, or the message length when all are empty), since
///   §2.2.1.3 gives no flag for the MIC:
///   - `P >= 88`: the §2.2.1.3 layout, VERSION at 64 (read only when
///     NTLMSSP_NEGOTIATE_VERSION is set) and MIC at 72;
///   - `80 <= P < 88`: with NTLMSSP_NEGOTIATE_VERSION, VERSION at 64 and no MIC;
///     without, MIC at 64 and no VERSION (see [`mic_offset`](Self::mic_offset));
///   - `72 <= P < 80`: VERSION at 64 when NTLMSSP_NEGOTIATE_VERSION is set; no MIC;
///   - `P < 72`: neither.
///
/// Encoding: a decoded message keeps its layout (offsets, MaxLen, header shape, length,
/// and the bytes 64..72 when they are neither a decoded VERSION nor the MIC, which
/// §2.2.2.10 says are zero) while field lengths and the presence of VERSION and MIC allow
/// it; bytes no field covers come back as zero. Otherwise, and for messages from
/// [`new`](Self::new), the canonical layout: header of 64 bytes, + 8 for VERSION, and
/// when a MIC is present VERSION's 8 bytes (zero if `version` is `None`) and the MIC at
/// 72, so the payload starts at 64, 72 or 88. Equality ignores the layout.
///
/// An anonymous AUTHENTICATE_MESSAGE (MS-NLMP §3.3.1): LmChallengeResponse `Z(1)`,
/// every other field empty, no VERSION, no MIC:
///
/// ```
/// use ntlm::wire::{AuthenticateMessage, NegotiateFlags};
/// let mut bytes = b"NTLMSSP\0\x03\0\0\0".to_vec();
/// bytes.extend_from_slice(&[1, 0, 1, 0, 64, 0, 0, 0]); // LmChallengeResponseFields
/// for _ in 0..5 {
///     bytes.extend_from_slice(&[0, 0, 0, 0, 65, 0, 0, 0]); // NT, Domain, User, Workstation, Key
/// }
/// bytes.extend_from_slice(&0x0000_0801u32.to_le_bytes()); // ANONYMOUS | UNICODE
/// bytes.push(0); // LmChallengeResponse = Z(1)
/// let m = AuthenticateMessage::decode(&bytes)?;
/// assert!(m.flags.contains(NegotiateFlags::ANONYMOUS));
/// assert_eq!(m.lm_challenge_response, [0]);
/// assert!(m.user_name.is_empty() && m.nt_challenge_response.is_empty());
/// assert_eq!((m.version, m.mic, m.mic_offset()), (None, None, None));
/// assert_eq!(m.encode(), bytes);
/// # Ok::<(), ntlm::DecodeError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthenticateMessage<'a> {
    /// NegotiateFlags.
    pub flags: NegotiateFlags,
    /// LmChallengeResponse.
    pub lm_challenge_response: &'a [u8],
    /// NtChallengeResponse.
    pub nt_challenge_response: &'a [u8],
    /// DomainName.
    pub domain_name: WireString<'a>,
    /// UserName.
    pub user_name: WireString<'a>,
    /// Workstation.
    pub workstation: WireString<'a>,
    /// EncryptedRandomSessionKey (with NTLMSSP_NEGOTIATE_KEY_EXCH).
    pub encrypted_random_session_key: &'a [u8],
    /// VERSION; set NTLMSSP_NEGOTIATE_VERSION too for the peer to read it.
    pub version: Option<Version>,
    /// MIC: HMAC-MD5 over the three messages with this field zeroed (§3.1.5.1.2).
    pub mic: Option<[u8; 16]>,
    layout: Recorded<6>,
}

impl<'a> AuthenticateMessage<'a> {
    /// MessageType of MS-NLMP §2.2.1.3.
    pub const MESSAGE_TYPE: u32 = 3;

    /// A message with `flags` and every field empty (strings of the encoding
    /// NTLMSSP_NEGOTIATE_UNICODE selects), no VERSION, no MIC; canonical layout. Set the
    /// public fields afterwards (MS-NLMP §2.2.1.3).
    pub fn new(flags: NegotiateFlags) -> Self {
        let s = WireString::empty(flags.contains(NegotiateFlags::NEGOTIATE_UNICODE));
        Self {
            flags,
            lm_challenge_response: &[],
            nt_challenge_response: &[],
            domain_name: s,
            user_name: s,
            workstation: s,
            encrypted_random_session_key: &[],
            version: None,
            mic: None,
            layout: Recorded::default(),
        }
    }

    /// Decodes MS-NLMP §2.2.1.3 bytes; see the type documentation for the rules. The
    /// strings are read in the encoding the message's own NTLMSSP_NEGOTIATE_UNICODE flag
    /// claims (OEM for the 52-byte header, which has no flags): right for a message seen
    /// alone. A server that sent the CHALLENGE knows better: [`decode_as`](Self::decode_as).
    pub fn decode(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        Self::decode_strings(bytes, None)
    }

    /// Decodes MS-NLMP §2.2.1.3 bytes like [`decode`](Self::decode), but reads DomainName,
    /// UserName and Workstation as UTF-16LE when `unicode` (the encoding the CHALLENGE
    /// negotiated, MS-NLMP §2.2 "Character Sets and Unicode"), else OEM, whatever the
    /// message's NegotiateFlags claim. Samba's server does the same: GNU wget, offered OEM,
    /// sets NTLMSSP_NEGOTIATE_UNICODE in its AUTHENTICATE but sends OEM strings.
    ///
    /// ```
    /// use ntlm::wire::{AuthenticateMessage, NegotiateFlags, WireString};
    /// let mut m = AuthenticateMessage::new(NegotiateFlags::NEGOTIATE_UNICODE);
    /// m.user_name = WireString::Oem(b"alice");
    /// let bytes = m.encode();
    /// assert!(AuthenticateMessage::decode(&bytes).is_err()); // odd UTF-16 length
    /// let read = AuthenticateMessage::decode_as(&bytes, false)?;
    /// assert_eq!(read.user_name, WireString::Oem(b"alice"));
    /// assert_eq!(read.encode(), bytes);
    /// # Ok::<(), ntlm::DecodeError>(())
    /// ```
    pub fn decode_as(bytes: &'a [u8], unicode: bool) -> Result<Self, DecodeError> {
        Self::decode_strings(bytes, Some(unicode))
    }

    fn decode_strings(bytes: &'a [u8], unicode: Option<bool>) -> Result<Self, DecodeError> {
        match Self::decode_valid(bytes, unicode) {
            Some(m) => Ok(m),
            None => Self::decode_checked(bytes, unicode),
        }
    }

    /// The rules of [`decode_checked`](Self::decode_checked) for the 64-byte header in one
    /// pass, without building errors: the same message for every input it accepts; `None`
    /// for every input that one refuses (which then names the field, offset and rule) and
    /// for MS-NLMP's earlier 52-byte layout, which only that one reads. Every length and
    /// offset is checked before use.
    fn decode_valid(bytes: &'a [u8], unicode: Option<bool>) -> Option<Self> {
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
        let pos = [
            field(12)?,
            field(20)?,
            field(28)?,
            field(36)?,
            field(44)?,
            field(52)?,
        ];
        // The earlier 52-byte layout (payload of the first five fields before byte 64) is
        // left to `decode_checked`.
        let starts_early = pos
            .iter()
            .take(KEY)
            .any(|p| p.len != 0 && usize::try_from(p.offset).is_ok_and(|o| o < BASE_HEADER));
        if starts_early {
            return None;
        }
        let flags = NegotiateFlags::from_bits(le32(60)?);
        let r = resolve(bytes, &NAMES, pos, BASE_HEADER).ok()?;
        let [lm, nt, domain, user, workstation, key] = r.slices;
        let unicode = unicode.unwrap_or(flags.contains(NegotiateFlags::NEGOTIATE_UNICODE));
        let names_ok = [domain, user, workstation]
            .iter()
            .all(|s| s.len() <= MAX_NAME_LEN && (!unicode || s.len() % 2 == 0));
        if !LM_CHALLENGE_RESPONSE_LENS.contains(&lm.len())
            || nt.len() > MAX_NT_CHALLENGE_RESPONSE_LEN
            || !names_ok
            || !ENCRYPTED_RANDOM_SESSION_KEY_LENS.contains(&key.len())
        {
            return None;
        }
        let string = |s: &'a [u8]| WireString::new(unicode, s);
        let has_version_flag = flags.contains(NegotiateFlags::NEGOTIATE_VERSION);
        let p = r.payload_start;
        let (header_len, version_at, mic_at) = if p >= 88 {
            (88, has_version_flag.then_some(64), Some(72))
        } else if p >= 80 && !has_version_flag {
            (80, None, Some(64))
        } else if p >= 72 && has_version_flag {
            (72, Some(64), None)
        } else {
            (64, None, None)
        };
        let version = match version_at {
            Some(at) => Some(Version::decode(bytes.get(at..)?).ok()?),
            None => None,
        };
        let mic = match mic_at {
            Some(at) => Some(*bytes.get(at..)?.first_chunk::<16>()?),
            None => None,
        };
        let unread_version = match (version, mic_at) {
            (None, None | Some(72)) => unread_version(bytes, 64, p),
            _ => None,
        };
        Some(Self {
            flags,
            lm_challenge_response: lm,
            nt_challenge_response: nt,
            domain_name: string(domain),
            user_name: string(user),
            workstation: string(workstation),
            encrypted_random_session_key: key,
            version,
            mic,
            layout: Recorded(Some(Layout {
                header_len,
                fields: r.pos,
                total_len: bytes.len(),
                unread_version,
            })),
        })
    }

    /// [`decode_strings`](Self::decode_strings) field by field, naming the field, offset
    /// and rule of the first failure.
    fn decode_checked(bytes: &'a [u8], unicode: Option<bool>) -> Result<Self, DecodeError> {
        expect_header(bytes, Self::MESSAGE_TYPE)?;
        let mut pos = [FieldPos::default(); 6];
        for ((p, name), at) in pos.iter_mut().zip(NAMES).zip((12..SHORT_HEADER).step_by(8)) {
            *p = FieldPos::read(bytes, at, name)?;
        }
        // MS-NLMP's earlier 52-byte header (no EncryptedRandomSessionKeyFields,
        // NegotiateFlags, VERSION or MIC) when the payload starts before byte 64; that is
        // also how Samba tells it (it retries with the short layout when the long one fails).
        let first_five = pos.get(..KEY).unwrap_or(&[]);
        let p5 = first_five
            .iter()
            .filter(|p| p.len != 0)
            .map(|p| usize::try_from(p.offset).unwrap_or(usize::MAX))
            .min()
            .unwrap_or(bytes.len());
        let short = (SHORT_HEADER..BASE_HEADER).contains(&p5);
        let (flags, base) = if short {
            (NegotiateFlags::EMPTY, SHORT_HEADER)
        } else {
            if let Some(key) = pos.get_mut(KEY) {
                *key = FieldPos::read(bytes, SHORT_HEADER, NAMES[KEY])?;
            }
            let flags = NegotiateFlags::from_bits(u32_at(bytes, 60, "NegotiateFlags")?);
            (flags, BASE_HEADER)
        };
        let r = resolve(bytes, &NAMES, pos, base)?;
        let [lm, nt, domain, user, workstation, key] = r.slices;
        let [lm_pos, nt_pos, domain_pos, user_pos, ws_pos, key_pos] = r.pos;

        check_len_in(lm, LM_CHALLENGE_RESPONSE_LENS, NAMES[LM], lm_pos.offset)?;
        check_max(nt, MAX_NT_CHALLENGE_RESPONSE_LEN, NAMES[NT], nt_pos.offset)?;
        let unicode = unicode.unwrap_or(flags.contains(NegotiateFlags::NEGOTIATE_UNICODE));
        let string = |s: &'a [u8], i: usize, p: FieldPos| -> Result<WireString<'a>, DecodeError> {
            let name = NAMES.get(i).copied().unwrap_or("");
            check_max(s, MAX_NAME_LEN, name, p.offset)?;
            if !unicode {
                return Ok(WireString::Oem(s));
            }
            if s.len() % 2 != 0 {
                return Err(DecodeError::new(
                    name,
                    usize::try_from(p.offset).unwrap_or(usize::MAX),
                    DecodeErrorKind::OddUtf16Length { len: s.len() },
                ));
            }
            Ok(WireString::Utf16(s))
        };
        let domain_name = string(domain, DOMAIN, domain_pos)?;
        let user_name = string(user, USER, user_pos)?;
        let workstation = string(workstation, WORKSTATION, ws_pos)?;
        check_len_in(
            key,
            ENCRYPTED_RANDOM_SESSION_KEY_LENS,
            NAMES[KEY],
            key_pos.offset,
        )?;
        if short {
            return Ok(Self {
                flags,
                lm_challenge_response: lm,
                nt_challenge_response: nt,
                domain_name,
                user_name,
                workstation,
                encrypted_random_session_key: key,
                version: None,
                mic: None,
                layout: Recorded(Some(Layout {
                    header_len: SHORT_HEADER,
                    fields: r.pos,
                    total_len: bytes.len(),
                    unread_version: None,
                })),
            });
        }

        let has_version_flag = flags.contains(NegotiateFlags::NEGOTIATE_VERSION);
        let p = r.payload_start;
        let (header_len, version_at, mic_at) = if p >= 88 {
            (88, has_version_flag.then_some(64), Some(72))
        } else if p >= 80 && !has_version_flag {
            (80, None, Some(64))
        } else if p >= 72 && has_version_flag {
            (72, Some(64), None)
        } else {
            (64, None, None)
        };
        let version = match version_at {
            Some(at) => Some(Version::decode(bytes.get(at..).unwrap_or(&[]))?),
            None => None,
        };
        let mic = match mic_at {
            Some(at) => Some(array(bytes, at, "MIC")?),
            None => None,
        };
        let unread_version = match (version, mic_at) {
            (None, None | Some(72)) => unread_version(bytes, 64, p),
            _ => None,
        };
        Ok(Self {
            flags,
            lm_challenge_response: lm,
            nt_challenge_response: nt,
            domain_name,
            user_name,
            workstation,
            encrypted_random_session_key: key,
            version,
            mic,
            layout: Recorded(Some(Layout {
                header_len,
                fields: r.pos,
                total_len: bytes.len(),
                unread_version,
            })),
        })
    }

    /// Forgets the received layout: the next encode uses the canonical one (MS-NLMP §2.2.1.3).
    pub fn canonicalize(&mut self) {
        self.layout = Recorded::default();
    }

    /// Length of the header the next [`encode`](Self::encode) writes, which names the
    /// layout (MS-NLMP §2.2.1.3): 64 (no VERSION, no MIC), 72 (VERSION), 80 (MIC at 64),
    /// 88 (VERSION and MIC), or 52, MS-NLMP's earlier header without
    /// EncryptedRandomSessionKeyFields, NegotiateFlags, VERSION and MIC, kept for a
    /// message decoded in that layout while it has no flags, session key, VERSION or MIC.
    ///
    /// A message in the 52-byte layout carries no NegotiateFlags (`flags` is empty): the
    /// flags are those the CHALLENGE negotiated, as Samba takes them.
    pub fn header_len(&self) -> usize {
        let (v, m) = (self.version.is_some(), self.mic.is_some());
        if let Some(l) = self.layout.0 {
            let fits = match l.header_len {
                SHORT_HEADER => {
                    !v && !m
                        && self.flags == NegotiateFlags::EMPTY
                        && self.encrypted_random_session_key.is_empty()
                }
                64 => !v && !m,
                72 => v && !m,
                80 => !v && m,
                88 => m,
                _ => false,
            };
            if fits {
                return l.header_len;
            }
        }
        match (v, m) {
            (_, true) => 88,
            (true, false) => 72,
            (false, false) => 64,
        }
    }

    /// Byte offset of the 16-byte MIC in [`encode`](Self::encode)'s output; `None` without
    /// a MIC. To compute the MIC, encode with `mic = Some([0; 16])` and zero nothing else
    /// (MS-NLMP §3.1.5.1.2).
    ///
    /// 72 is the rule: MS-NLMP §2.2.1.3 puts the MIC after the 8-byte VERSION, which
    /// §2.2.2.10 says is all zero, not absent, when NTLMSSP_NEGOTIATE_VERSION is not
    /// negotiated. 64 is only for a received message with NTLMSSP_NEGOTIATE_VERSION clear
    /// whose payload starts at 80..88: room for a MIC but not for VERSION and MIC. The
    /// specification has no such layout and no sender of it is known here (every
    /// AUTHENTICATE in `test-vectors/peers.toml` has VERSION and MIC with the payload at
    /// 88, or neither with it at 64); it is read because two decoders read it:
    /// pyspnego (`Authenticate._get_mic_offset`: MIC at 64 when the payload starts at
    /// 80..88) and sspi-rs's server (`read_payload`: MIC right after the header when
    /// NTLMSSP_NEGOTIATE_VERSION is clear and NTLMSSP_NEGOTIATE_TARGET_INFO set).
    pub fn mic_offset(&self) -> Option<usize> {
        self.mic?;
        Some(if self.header_len() == 80 { 64 } else { 72 })
    }

    /// The message bytes (MS-NLMP §2.2.1.3).
    ///
    /// # Panics
    /// When a field is longer than 65535 bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_into(&mut out);
        out
    }

    /// Appends the message bytes to `out` (MS-NLMP §2.2.1.3).
    ///
    /// # Panics
    /// When a field is longer than 65535 bytes.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        let payloads = [
            self.lm_challenge_response,
            self.nt_challenge_response,
            self.domain_name.as_bytes(),
            self.user_name.as_bytes(),
            self.workstation.as_bytes(),
            self.encrypted_random_session_key,
        ];
        let header_len = self.header_len();
        let layout = place(&self.layout, header_len, &NAMES, &payloads, &ORDER);
        out.reserve(layout.total_len);
        let start = out.len();
        out.extend_from_slice(&SIGNATURE);
        out.extend_from_slice(&Self::MESSAGE_TYPE.to_le_bytes());
        let descriptors = if header_len == SHORT_HEADER { KEY } else { 6 };
        for f in layout.fields.iter().take(descriptors) {
            f.write(out);
        }
        if header_len != SHORT_HEADER {
            out.extend_from_slice(&self.flags.bits().to_le_bytes());
        }
        let version = self.version.map_or([0; 8], |v| v.encode());
        let mic = self.mic.unwrap_or([0; 16]);
        match header_len {
            72 => out.extend_from_slice(&version),
            80 => out.extend_from_slice(&mic),
            88 => {
                out.extend_from_slice(&version);
                out.extend_from_slice(&mic);
            }
            _ => {}
        }
        let claims = claims_version(self.version.is_some(), self.flags);
        put_payload(out, start, &layout, &payloads, claims);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    /// A level-3 AUTHENTICATE (VERSION, MIC, names, NTLMv2-sized response, session key),
    /// one without VERSION or MIC, and an OEM one.
    fn seeds() -> Vec<Vec<u8>> {
        let f = NegotiateFlags::NEGOTIATE_UNICODE
            | NegotiateFlags::NEGOTIATE_VERSION
            | NegotiateFlags::NEGOTIATE_KEY_EXCH;
        let nt = [5u8; 90];
        let mut m = AuthenticateMessage::new(f);
        m.lm_challenge_response = &[0; 24];
        m.nt_challenge_response = &nt;
        m.domain_name = WireString::Utf16(b"C\0O\0R\0P\0");
        m.user_name = WireString::Utf16(b"a\0l\0i\0c\0e\0");
        m.workstation = WireString::Utf16(b"W\0S\0");
        m.encrypted_random_session_key = &[7; 16];
        m.version = Some(Version::WINDOWS_VISTA);
        m.mic = Some([9; 16]);
        let mut plain = m.clone();
        plain.version = None;
        plain.mic = None;
        let mut oem = AuthenticateMessage::new(NegotiateFlags::NEGOTIATE_OEM);
        oem.user_name = WireString::Oem(b"bob");
        oem.nt_challenge_response = &[1; 24];
        vec![m.encode(), plain.encode(), oem.encode()]
    }

    /// `decode_valid` never accepts what `decode_checked` refuses, and gives the same message
    /// and layout for what it accepts; it accepts every 64-byte-header message.
    #[test]
    fn one_pass_decode_equals_the_checked_decode() {
        let mut rng = crate::wire::mutate::XorShift::new(0x5851_f42d_4c95_7f2du64);
        let (mut accepted, mut refused) = (0, 0);
        for seed in seeds() {
            for _ in 0..20_000 {
                let mut b = seed.clone();
                crate::wire::mutate::mutate_message(&mut b, &mut rng, 96);
                let unicode =
                    [None, Some(true), Some(false)][usize::try_from(rng.next() % 3).unwrap()];
                let fast = AuthenticateMessage::decode_valid(&b, unicode);
                let checked = AuthenticateMessage::decode_checked(&b, unicode);
                match (&fast, &checked) {
                    (Some(f), Ok(c)) => {
                        assert_eq!(format!("{f:?}"), format!("{c:?}"), "{b:02x?}");
                        assert_eq!(f.encode(), c.encode());
                        accepted += 1;
                    }
                    (None, Err(_)) => refused += 1,
                    (None, Ok(c)) => assert_eq!(c.header_len(), SHORT_HEADER, "{b:02x?}"),
                    (Some(_), Err(_)) => panic!("{b:02x?}: one pass {fast:?}, checked {checked:?}"),
                }
            }
        }
        assert!(
            accepted > 1_000 && refused > 1_000,
            "{accepted} / {refused}"
        );
    }
}
