//! NEGOTIATE_MESSAGE (MS-NLMP §2.2.1.1).

use crate::error::DecodeError;

use super::layout::{
    check_max, claims_version, expect_header, place, put_payload, resolve, u32_at, unread_version,
    FieldPos, Layout, Recorded, SIGNATURE,
};
use super::{NegotiateFlags, Version, MAX_NAME_LEN};

const NAMES: [&str; 2] = ["DomainNameFields", "WorkstationFields"];
const ORDER: [usize; 2] = [0, 1];
/// Signature, MessageType, NegotiateFlags, DomainNameFields, WorkstationFields.
const BASE_HEADER: usize = 32;

/// The NEGOTIATE_MESSAGE of MS-NLMP §2.2.1.1: the client's first message.
///
/// DomainName and Workstation are always OEM strings. Build one with
/// [`NegotiateMessage::new`] and set the public fields.
///
/// VERSION is read when NTLMSSP_NEGOTIATE_VERSION is set and the payload (lowest
/// `BufferOffset` of a non-empty field, or the message end when both are empty) starts at
/// 40 or later. A decoded message remembers its layout (offsets, MaxLen, length, and the
/// bytes 32..40 when the payload leaves room for VERSION but the flag is clear, which
/// §2.2.2.10 says are zero), so [`encode`](Self::encode) gives back the received bytes
/// (those no field covers come back as zero) as long as field lengths and the presence of
/// VERSION are unchanged; otherwise the canonical layout is used. Equality ignores the
/// layout.
///
/// ```
/// use ntlm::wire::{NegotiateFlags, NegotiateMessage, Version};
/// let bytes = [
///     &b"NTLMSSP\0"[..],
///     &[1, 0, 0, 0],                   // MessageType
///     &[0x07, 0x82, 0x08, 0xa2],       // NegotiateFlags 0xa2088207
///     &[0, 0, 0, 0, 40, 0, 0, 0],      // DomainNameFields: empty, at 40
///     &[0, 0, 0, 0, 40, 0, 0, 0],      // WorkstationFields: empty, at 40
///     &[10, 0, 0x61, 0x4a, 0, 0, 0, 15], // VERSION 10.0.19041, revision 15
/// ]
/// .concat();
/// let m = NegotiateMessage::decode(&bytes)?;
/// assert!(m.flags.contains(NegotiateFlags::NEGOTIATE_VERSION));
/// assert_eq!(m.version, Some(Version::WINDOWS_10));
/// assert!(m.domain_name.is_empty() && m.workstation.is_empty());
/// assert_eq!(m.encode(), bytes);
/// # Ok::<(), ntlm::DecodeError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NegotiateMessage<'a> {
    /// NegotiateFlags.
    pub flags: NegotiateFlags,
    /// DomainName (OEM), normally only with NTLMSSP_NEGOTIATE_OEM_DOMAIN_SUPPLIED.
    pub domain_name: &'a [u8],
    /// Workstation (OEM), normally only with NTLMSSP_NEGOTIATE_OEM_WORKSTATION_SUPPLIED.
    pub workstation: &'a [u8],
    /// VERSION; set NTLMSSP_NEGOTIATE_VERSION too for the peer to read it.
    pub version: Option<Version>,
    layout: Recorded<2>,
}

impl<'a> NegotiateMessage<'a> {
    /// MessageType of MS-NLMP §2.2.1.1.
    pub const MESSAGE_TYPE: u32 = 1;

    /// A message with `flags`, no names, no version, canonical layout (MS-NLMP §2.2.1.1).
    pub fn new(flags: NegotiateFlags) -> Self {
        Self {
            flags,
            domain_name: &[],
            workstation: &[],
            version: None,
            layout: Recorded::default(),
        }
    }

    /// Decodes MS-NLMP §2.2.1.1 bytes; see the type documentation for the rules.
    pub fn decode(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        expect_header(bytes, Self::MESSAGE_TYPE)?;
        let flags = NegotiateFlags::from_bits(u32_at(bytes, 12, "NegotiateFlags")?);
        let pos = [
            FieldPos::read(bytes, 16, NAMES[0])?,
            FieldPos::read(bytes, 24, NAMES[1])?,
        ];
        let r = resolve(bytes, &NAMES, pos, BASE_HEADER)?;
        let [domain_name, workstation] = r.slices;
        for ((s, name), p) in r.slices.iter().zip(NAMES).zip(&r.pos) {
            check_max(s, MAX_NAME_LEN, name, p.offset)?;
        }
        let (version, header_len) =
            if flags.contains(NegotiateFlags::NEGOTIATE_VERSION) && r.payload_start >= 40 {
                (Some(Version::decode(bytes.get(32..).unwrap_or(&[]))?), 40)
            } else {
                (None, BASE_HEADER)
            };
        let unread_version = match version {
            Some(_) => None,
            None => unread_version(bytes, BASE_HEADER, r.payload_start),
        };
        Ok(Self {
            flags,
            domain_name,
            workstation,
            version,
            layout: Recorded(Some(Layout {
                header_len,
                fields: r.pos,
                total_len: bytes.len(),
                unread_version,
            })),
        })
    }

    /// Forgets the received layout: the next encode uses the canonical one (MS-NLMP §2.2.1.1).
    pub fn canonicalize(&mut self) {
        self.layout = Recorded::default();
    }

    /// The message bytes (MS-NLMP §2.2.1.1).
    ///
    /// # Panics
    /// When a field is longer than 65535 bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_into(&mut out);
        out
    }

    /// Appends the message bytes to `out` (MS-NLMP §2.2.1.1).
    ///
    /// # Panics
    /// When a field is longer than 65535 bytes.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        let payloads = [self.domain_name, self.workstation];
        let header_len = BASE_HEADER + if self.version.is_some() { 8 } else { 0 };
        let layout = place(&self.layout, header_len, &NAMES, &payloads, &ORDER);
        out.reserve(layout.total_len);
        let start = out.len();
        out.extend_from_slice(&SIGNATURE);
        out.extend_from_slice(&Self::MESSAGE_TYPE.to_le_bytes());
        out.extend_from_slice(&self.flags.bits().to_le_bytes());
        for f in &layout.fields {
            f.write(out);
        }
        if let Some(v) = &self.version {
            out.extend_from_slice(&v.encode());
        }
        let claims = claims_version(self.version.is_some(), self.flags);
        put_payload(out, start, &layout, &payloads, claims);
    }
}
