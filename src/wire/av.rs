//! AV pairs and the TargetInfo list (MS-NLMP §2.2.2.1).

use core::fmt;

use crate::error::{DecodeError, DecodeErrorKind};

use super::layout::{take, u16_at, wire_len};
use super::string::{utf16le, utf16le_into, WireString};

/// The MsvAvFlags value (MS-NLMP §2.2.2.1, AvId 0x0006). Unknown bits are kept.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct AvFlags(u32);

impl AvFlags {
    /// 0x1: the client's account authentication is constrained (MS-NLMP §2.2.2.1).
    pub const CONSTRAINED: Self = Self(0x1);
    /// 0x2: the AUTHENTICATE_MESSAGE carries a MIC (MS-NLMP §2.2.2.1).
    pub const MIC_PRESENT: Self = Self(0x2);
    /// 0x4: the client's SPN (MsvAvTargetName) came from an untrusted source (MS-NLMP §2.2.2.1).
    pub const UNTRUSTED_SPN_SOURCE: Self = Self(0x4);

    /// Any 32-bit value (MS-NLMP §2.2.2.1).
    pub const fn from_bits(bits: u32) -> Self {
        Self(bits)
    }

    /// The 32-bit value (MS-NLMP §2.2.2.1).
    pub const fn bits(self) -> u32 {
        self.0
    }

    /// True when every bit of `other` is set here (MS-NLMP §2.2.2.1).
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// Sets the bits of `other` (MS-NLMP §2.2.2.1).
    pub fn insert(&mut self, other: Self) {
        self.0 |= other.0;
    }
}

impl core::ops::BitOr for AvFlags {
    type Output = Self;
    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}

/// The AvId values of MS-NLMP §2.2.2.1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u16)]
pub enum AvId {
    /// MsvAvEOL: end of the list.
    Eol = 0,
    /// MsvAvNbComputerName: the server's NetBIOS computer name.
    NbComputerName = 1,
    /// MsvAvNbDomainName: the server's NetBIOS domain name.
    NbDomainName = 2,
    /// MsvAvDnsComputerName: the computer's FQDN.
    DnsComputerName = 3,
    /// MsvAvDnsDomainName: the domain's FQDN.
    DnsDomainName = 4,
    /// MsvAvDnsTreeName: the forest's FQDN.
    DnsTreeName = 5,
    /// MsvAvFlags: a 32-bit [`AvFlags`].
    Flags = 6,
    /// MsvAvTimestamp: a FILETIME.
    Timestamp = 7,
    /// MsvAvSingleHost: a Single_Host_Data structure (§2.2.2.2).
    SingleHost = 8,
    /// MsvAvTargetName: the SPN of the target server.
    TargetName = 9,
    /// MsvAvChannelBindings: MD5 of gss_channel_bindings_struct.
    ChannelBindings = 10,
}

impl AvId {
    /// The AvId for a wire value, `None` for ids MS-NLMP does not define (MS-NLMP §2.2.2.1).
    pub const fn from_u16(id: u16) -> Option<Self> {
        Some(match id {
            0 => Self::Eol,
            1 => Self::NbComputerName,
            2 => Self::NbDomainName,
            3 => Self::DnsComputerName,
            4 => Self::DnsDomainName,
            5 => Self::DnsTreeName,
            6 => Self::Flags,
            7 => Self::Timestamp,
            8 => Self::SingleHost,
            9 => Self::TargetName,
            10 => Self::ChannelBindings,
            _ => return None,
        })
    }

    /// The MS-NLMP name (`"MsvAvTimestamp"`), used as the field of decode errors (MS-NLMP §2.2.2.1).
    pub const fn name(self) -> &'static str {
        match self {
            Self::Eol => "MsvAvEOL",
            Self::NbComputerName => "MsvAvNbComputerName",
            Self::NbDomainName => "MsvAvNbDomainName",
            Self::DnsComputerName => "MsvAvDnsComputerName",
            Self::DnsDomainName => "MsvAvDnsDomainName",
            Self::DnsTreeName => "MsvAvDnsTreeName",
            Self::Flags => "MsvAvFlags",
            Self::Timestamp => "MsvAvTimestamp",
            Self::SingleHost => "MsvAvSingleHost",
            Self::TargetName => "MsvAvTargetName",
            Self::ChannelBindings => "MsvAvChannelBindings",
        }
    }
}

/// Field name of an AV pair with an undefined AvId.
const UNKNOWN_AV_PAIR: &str = "AV_PAIR";

/// One AV_PAIR of MS-NLMP §2.2.2.1, other than MsvAvEOL.
///
/// Names are UTF-16LE. Decoding never yields `Unknown` for an AvId MS-NLMP defines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AvPair<'a> {
    /// MsvAvNbComputerName (1).
    NbComputerName(WireString<'a>),
    /// MsvAvNbDomainName (2).
    NbDomainName(WireString<'a>),
    /// MsvAvDnsComputerName (3).
    DnsComputerName(WireString<'a>),
    /// MsvAvDnsDomainName (4).
    DnsDomainName(WireString<'a>),
    /// MsvAvDnsTreeName (5).
    DnsTreeName(WireString<'a>),
    /// MsvAvFlags (6), 4 bytes.
    Flags(AvFlags),
    /// MsvAvTimestamp (7), a FILETIME (100 ns since 1601-01-01 UTC), 8 bytes.
    Timestamp(u64),
    /// MsvAvSingleHost (8): the Single_Host_Data structure of §2.2.2.2, raw, so that the
    /// list re-encodes exactly; [`crate::wire::SingleHostData::decode`] reads it.
    SingleHost(&'a [u8]),
    /// MsvAvTargetName (9): SPN of the target, UTF-16LE.
    TargetName(WireString<'a>),
    /// MsvAvChannelBindings (10): 16 bytes.
    ChannelBindings([u8; 16]),
    /// An AvId MS-NLMP does not define, kept as received.
    Unknown {
        /// The AvId.
        id: u16,
        /// The value.
        value: &'a [u8],
    },
}

impl<'a> AvPair<'a> {
    /// The AvId on the wire (MS-NLMP §2.2.2.1).
    pub const fn id(&self) -> u16 {
        match self {
            Self::NbComputerName(_) => AvId::NbComputerName as u16,
            Self::NbDomainName(_) => AvId::NbDomainName as u16,
            Self::DnsComputerName(_) => AvId::DnsComputerName as u16,
            Self::DnsDomainName(_) => AvId::DnsDomainName as u16,
            Self::DnsTreeName(_) => AvId::DnsTreeName as u16,
            Self::Flags(_) => AvId::Flags as u16,
            Self::Timestamp(_) => AvId::Timestamp as u16,
            Self::SingleHost(_) => AvId::SingleHost as u16,
            Self::TargetName(_) => AvId::TargetName as u16,
            Self::ChannelBindings(_) => AvId::ChannelBindings as u16,
            Self::Unknown { id, .. } => *id,
        }
    }

    /// Parses the value of a pair with AvId `id` (not MsvAvEOL); `offset` is where the
    /// value starts, for errors.
    fn parse(id: u16, value: &'a [u8], offset: usize) -> Result<Self, DecodeError> {
        let Some(known) = AvId::from_u16(id) else {
            return Ok(Self::Unknown { id, value });
        };
        let name = known.name();
        let bad_len = |allowed: &'static [usize]| {
            DecodeError::new(
                name,
                offset,
                DecodeErrorKind::UnexpectedLength {
                    found: value.len(),
                    allowed,
                },
            )
        };
        let utf16 = || {
            if value.len() % 2 != 0 {
                Err(DecodeError::new(
                    name,
                    offset,
                    DecodeErrorKind::OddUtf16Length { len: value.len() },
                ))
            } else {
                Ok(WireString::Utf16(value))
            }
        };
        Ok(match known {
            AvId::Eol => {
                return Err(DecodeError::new(
                    name,
                    offset,
                    DecodeErrorKind::UnexpectedValue {
                        found: 0,
                        expected: 1,
                    },
                ))
            }
            AvId::NbComputerName => Self::NbComputerName(utf16()?),
            AvId::NbDomainName => Self::NbDomainName(utf16()?),
            AvId::DnsComputerName => Self::DnsComputerName(utf16()?),
            AvId::DnsDomainName => Self::DnsDomainName(utf16()?),
            AvId::DnsTreeName => Self::DnsTreeName(utf16()?),
            AvId::TargetName => Self::TargetName(utf16()?),
            AvId::SingleHost => Self::SingleHost(value),
            AvId::Flags => {
                let b: [u8; 4] = value.try_into().map_err(|_| bad_len(&[4]))?;
                Self::Flags(AvFlags(u32::from_le_bytes(b)))
            }
            AvId::Timestamp => {
                let b: [u8; 8] = value.try_into().map_err(|_| bad_len(&[8]))?;
                Self::Timestamp(u64::from_le_bytes(b))
            }
            AvId::ChannelBindings => {
                Self::ChannelBindings(value.try_into().map_err(|_| bad_len(&[16]))?)
            }
        })
    }

    /// Appends the value bytes (without AvId and AvLen).
    fn value_into(&self, out: &mut Vec<u8>) {
        match self {
            Self::NbComputerName(s)
            | Self::NbDomainName(s)
            | Self::DnsComputerName(s)
            | Self::DnsDomainName(s)
            | Self::DnsTreeName(s)
            | Self::TargetName(s) => out.extend_from_slice(s.as_bytes()),
            Self::Flags(f) => out.extend_from_slice(&f.bits().to_le_bytes()),
            Self::Timestamp(t) => out.extend_from_slice(&t.to_le_bytes()),
            Self::SingleHost(v) | Self::Unknown { value: v, .. } => out.extend_from_slice(v),
            Self::ChannelBindings(c) => out.extend_from_slice(c),
        }
    }

    /// The value bytes (without AvId and AvLen) (MS-NLMP §2.2.2.1).
    pub fn value(&self) -> Vec<u8> {
        let mut v = Vec::new();
        self.value_into(&mut v);
        v
    }
}

/// Reads the pair at `pos`: `Ok(None)` for MsvAvEOL, else the pair and where the next
/// one starts. Checks lengths and value formats, not duplicates.
fn read_pair(bytes: &[u8], pos: usize) -> Result<(Option<AvPair<'_>>, usize), DecodeError> {
    if pos >= bytes.len() {
        return Err(DecodeError::new(
            "MsvAvEOL",
            pos,
            DecodeErrorKind::MissingEol,
        ));
    }
    let id = u16_at(bytes, pos, "AvId")?;
    let len = u16_at(bytes, pos.saturating_add(2), "AvLen")?;
    let name = AvId::from_u16(id).map_or(UNKNOWN_AV_PAIR, AvId::name);
    let value_at = pos.saturating_add(4);
    let value = take(bytes, value_at, usize::from(len), name)?;
    let next = value_at.saturating_add(value.len());
    if id == AvId::Eol as u16 {
        if len != 0 {
            return Err(DecodeError::new(
                name,
                pos,
                DecodeErrorKind::EolNonZeroLength { len },
            ));
        }
        return Ok((None, next));
    }
    Ok((Some(AvPair::parse(id, value, value_at)?), next))
}

/// Where the value of each pair MS-NLMP defines (AvId 1..=10) starts in a validated list,
/// recorded by the validating pass so that the accessors read their pair at once instead
/// of walking the list: 0 when the pair is absent, [`FAR`] when its value starts beyond
/// what a `u16` holds (then the accessor walks the list).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct AvIndex([u16; 10]);

/// [`AvIndex`] entry of a pair whose value starts at offset 65535 or later.
const FAR: u16 = u16::MAX;

impl AvIndex {
    const NONE: Self = Self([0; 10]);

    /// Records a known pair (AvId 1..=10) whose value starts at `value_at`; false when
    /// the AvId was already recorded (a duplicate).
    fn record(&mut self, id: u16, value_at: usize) -> bool {
        let Some(slot) = id
            .checked_sub(1)
            .and_then(|i| self.0.get_mut(usize::from(i)))
        else {
            return true;
        };
        if *slot != 0 {
            return false;
        }
        *slot = u16::try_from(value_at).unwrap_or(FAR);
        true
    }
}

/// The validating pass of [`TargetInfo::decode_prefix`] in one walk, without building
/// errors: the length of the list up to and including MsvAvEOL, and where each known
/// pair's value is; `None` when any rule fails (the caller then reruns the checks that
/// name the failure). Accepts exactly what [`read_pair`] and the duplicate check accept.
fn scan(bytes: &[u8]) -> Option<(usize, AvIndex)> {
    let mut index = AvIndex::NONE;
    let mut pos = 0usize;
    loop {
        let value_at = pos.checked_add(4)?;
        let [i0, i1, l0, l1] = <[u8; 4]>::try_from(bytes.get(pos..value_at)?).ok()?;
        let id = u16::from_le_bytes([i0, i1]);
        let len = u16::from_le_bytes([l0, l1]);
        let next = value_at.checked_add(usize::from(len))?;
        if next > bytes.len() {
            return None;
        }
        let fits = match id {
            0 => return (len == 0).then_some((next, index)),
            // MsvAvFlags, MsvAvTimestamp, MsvAvChannelBindings: fixed sizes.
            6 => len == 4,
            7 => len == 8,
            10 => len == 16,
            // MsvAvSingleHost, and AvIds MS-NLMP does not define: any value.
            8 | 11.. => true,
            // The names: UTF-16LE.
            _ => len % 2 == 0,
        };
        if !fits || !index.record(id, value_at) {
            return None;
        }
        pos = next;
    }
}

/// A validated AV pair list (MS-NLMP §2.2.2.1), borrowed: the TargetInfo of a
/// CHALLENGE_MESSAGE (§2.2.1.2) or the AvPairs of an NTLMv2_CLIENT_CHALLENGE (§2.2.2.7).
///
/// Validation guarantees: the list ends with MsvAvEOL of length 0; every known pair has
/// its fixed length (MsvAvFlags 4, MsvAvTimestamp 8, MsvAvChannelBindings 16) and names
/// are even-length UTF-16LE; no known AvId appears twice (unknown ids may repeat).
///
/// Validation is one pass over the list that also records where each pair MS-NLMP defines
/// sits, so [`get`](Self::get) and the accessors built on it read their pair directly.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct TargetInfo<'a> {
    bytes: &'a [u8],
    /// A function of `bytes`, so the derived equality is that of the bytes.
    index: AvIndex,
}

impl<'a> TargetInfo<'a> {
    /// Decodes a whole AV pair list: `bytes` must end exactly after MsvAvEOL (MS-NLMP §2.2.2.1).
    pub fn decode(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        let (list, rest) = Self::decode_prefix(bytes)?;
        if !rest.is_empty() {
            return Err(DecodeError::new(
                "MsvAvEOL",
                list.bytes.len(),
                DecodeErrorKind::TrailingBytes { count: rest.len() },
            ));
        }
        Ok(list)
    }

    /// [`decode`](Self::decode) without building an error: `None` for a list it refuses.
    pub(super) fn decode_valid(bytes: &'a [u8]) -> Option<Self> {
        let (end, index) = scan(bytes)?;
        (end == bytes.len()).then_some(Self { bytes, index })
    }

    /// Decodes an AV pair list at the start of `bytes` up to and including MsvAvEOL, and
    /// returns the bytes after it (the padding that follows the list in an NTLMv2 blob) (MS-NLMP §2.2.2.1).
    pub fn decode_prefix(bytes: &'a [u8]) -> Result<(Self, &'a [u8]), DecodeError> {
        if let Some((end, index)) = scan(bytes) {
            if let Some((list, rest)) = bytes.split_at_checked(end) {
                return Ok((Self { bytes: list, index }, rest));
            }
        }
        Self::decode_prefix_checked(bytes)
    }

    /// [`decode_prefix`](Self::decode_prefix) pair by pair, naming the field, offset and
    /// rule of the first failure: run when [`scan`] refused the list.
    fn decode_prefix_checked(bytes: &'a [u8]) -> Result<(Self, &'a [u8]), DecodeError> {
        let mut index = AvIndex::NONE;
        let mut pos = 0;
        loop {
            let (pair, next) = read_pair(bytes, pos)?;
            let Some(pair) = pair else {
                let (list, rest) = bytes.split_at_checked(next).unwrap_or((bytes, &[]));
                return Ok((Self { bytes: list, index }, rest));
            };
            let id = pair.id();
            if let Some(known) = AvId::from_u16(id) {
                if !index.record(id, pos.saturating_add(4)) {
                    return Err(DecodeError::new(
                        known.name(),
                        pos,
                        DecodeErrorKind::DuplicateAvPair { id },
                    ));
                }
            }
            pos = next;
        }
    }

    /// A list with no pairs: a lone MsvAvEOL (MS-NLMP §2.2.2.1).
    pub const fn empty() -> TargetInfo<'static> {
        TargetInfo {
            bytes: &[0, 0, 0, 0],
            index: AvIndex::NONE,
        }
    }

    /// The pairs in wire order, without MsvAvEOL (MS-NLMP §2.2.2.1).
    pub fn iter(&self) -> AvPairs<'a> {
        AvPairs {
            bytes: self.bytes,
            pos: 0,
        }
    }

    /// The pair with AvId `id` (MS-NLMP §2.2.2.1): read where validation found it, without
    /// walking the list. `None` for MsvAvEOL, which is not a pair of the list.
    pub fn get(&self, id: AvId) -> Option<AvPair<'a>> {
        let id = id as u16;
        let at = *self.index.0.get(usize::from(id.checked_sub(1)?))?;
        match at {
            0 => None,
            FAR => self.iter().find(|p| p.id() == id),
            at => {
                let at = usize::from(at);
                let len = usize::from(u16_at(self.bytes, at.checked_sub(2)?, "AvLen").ok()?);
                let value = self.bytes.get(at..at.checked_add(len)?)?;
                AvPair::parse(id, value, at).ok()
            }
        }
    }

    /// MsvAvTimestamp (MS-NLMP §2.2.2.1).
    pub fn timestamp(&self) -> Option<u64> {
        match self.get(AvId::Timestamp) {
            Some(AvPair::Timestamp(t)) => Some(t),
            _ => None,
        }
    }

    /// MsvAvFlags (MS-NLMP §2.2.2.1).
    pub fn flags(&self) -> Option<AvFlags> {
        match self.get(AvId::Flags) {
            Some(AvPair::Flags(f)) => Some(f),
            _ => None,
        }
    }

    /// MsvAvChannelBindings (MS-NLMP §2.2.2.1).
    pub fn channel_bindings(&self) -> Option<[u8; 16]> {
        match self.get(AvId::ChannelBindings) {
            Some(AvPair::ChannelBindings(c)) => Some(c),
            _ => None,
        }
    }

    /// MsvAvTargetName (MS-NLMP §2.2.2.1).
    pub fn target_name(&self) -> Option<WireString<'a>> {
        match self.get(AvId::TargetName) {
            Some(AvPair::TargetName(s)) => Some(s),
            _ => None,
        }
    }

    /// The list as on the wire, including MsvAvEOL (MS-NLMP §2.2.2.1).
    pub const fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }
}

impl fmt::Debug for TargetInfo<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<'a> IntoIterator for &TargetInfo<'a> {
    type Item = AvPair<'a>;
    type IntoIter = AvPairs<'a>;
    fn into_iter(self) -> AvPairs<'a> {
        self.iter()
    }
}

/// Iterator over the pairs of a [`TargetInfo`] (MS-NLMP §2.2.2.1), lazily parsed.
#[derive(Clone, Debug)]
pub struct AvPairs<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Iterator for AvPairs<'a> {
    type Item = AvPair<'a>;

    fn next(&mut self) -> Option<AvPair<'a>> {
        // The list was validated; an error here cannot happen and simply ends iteration.
        match read_pair(self.bytes, self.pos) {
            Ok((Some(pair), next)) => {
                self.pos = next;
                Some(pair)
            }
            _ => {
                self.pos = self.bytes.len();
                None
            }
        }
    }
}

/// An owned AV pair list under construction (MS-NLMP §2.2.2.1): a server's TargetInfo,
/// or a client's modified echo of it (adding MsvAvFlags, MsvAvTimestamp,
/// MsvAvTargetName, MsvAvChannelBindings, §3.1.5.1.2).
///
/// The pairs are kept in one buffer in wire form (without MsvAvEOL), so building a list
/// allocates once or twice however many pairs it has, and [`encode`](Self::encode) is a copy.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct TargetInfoBuilder {
    /// `AvId ‖ AvLen ‖ Value` for each pair, in order; MsvAvEOL not included.
    bytes: Vec<u8>,
}

/// One pair inside a [`TargetInfoBuilder`]: its AvId, where it starts, where it ends.
fn builder_pairs(bytes: &[u8]) -> impl Iterator<Item = (u16, usize, usize)> + '_ {
    let mut pos = 0usize;
    core::iter::from_fn(move || {
        let head = bytes.get(pos..pos.checked_add(4)?)?;
        let [i0, i1, l0, l1] = <[u8; 4]>::try_from(head).ok()?;
        let id = u16::from_le_bytes([i0, i1]);
        let len = usize::from(u16::from_le_bytes([l0, l1]));
        let start = pos;
        pos = pos.checked_add(4 + len)?.min(bytes.len());
        Some((id, start, pos))
    })
}

impl AvPair<'_> {
    /// The value bytes, borrowed, or written to `scratch` for the fixed-size values.
    fn value_slice<'s>(&'s self, scratch: &'s mut [u8; 8]) -> &'s [u8] {
        match self {
            Self::NbComputerName(s)
            | Self::NbDomainName(s)
            | Self::DnsComputerName(s)
            | Self::DnsDomainName(s)
            | Self::DnsTreeName(s)
            | Self::TargetName(s) => s.as_bytes(),
            Self::Flags(f) => {
                scratch[..4].copy_from_slice(&f.bits().to_le_bytes());
                &scratch[..4]
            }
            Self::Timestamp(t) => {
                *scratch = t.to_le_bytes();
                &scratch[..]
            }
            Self::SingleHost(v) | Self::Unknown { value: v, .. } => v,
            Self::ChannelBindings(c) => c,
        }
    }
}

impl TargetInfoBuilder {
    /// An empty list (MS-NLMP §2.2.2.1).
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty list with room for `bytes` bytes of pairs (MS-NLMP §2.2.2.1).
    pub fn with_capacity(bytes: usize) -> Self {
        Self {
            bytes: Vec::with_capacity(bytes),
        }
    }

    /// Every pair of `list`, in order, unknown and repeated ones included (MS-NLMP §2.2.2.1).
    pub fn from_target_info(list: &TargetInfo<'_>) -> Self {
        Self::from_target_info_with_room(list, 64)
    }

    /// [`from_target_info`](Self::from_target_info) with room for `additional` bytes of
    /// pairs to be added without reallocating (MS-NLMP §2.2.2.1).
    pub fn from_target_info_with_room(list: &TargetInfo<'_>, additional: usize) -> Self {
        let wire = list.as_bytes();
        // A validated list ends with the 4-byte MsvAvEOL; keep everything before it.
        let body = wire.get(..wire.len().saturating_sub(4)).unwrap_or(&[]);
        let mut bytes = Vec::with_capacity(body.len().saturating_add(additional));
        bytes.extend_from_slice(body);
        Self { bytes }
    }

    /// `AvId ‖ AvLen ‖ value` of `pair`.
    ///
    /// # Panics
    /// When the value is longer than 65535 bytes.
    fn write_pair(out: &mut Vec<u8>, id: u16, value: &[u8]) {
        out.extend_from_slice(&id.to_le_bytes());
        out.extend_from_slice(&wire_len("AvLen", value).to_le_bytes());
        out.extend_from_slice(value);
    }

    /// Replaces the first pair with the same AvId in place (dropping any later pair with
    /// that id), or appends `pair` at the end (before MsvAvEOL). An `Unknown` pair with
    /// AvId 0 (MsvAvEOL) is ignored (MS-NLMP §2.2.2.1).
    ///
    /// # Panics
    /// When the value is longer than 65535 bytes.
    pub fn set(&mut self, pair: AvPair<'_>) {
        let id = pair.id();
        if id == AvId::Eol as u16 {
            return;
        }
        let mut scratch = [0u8; 8];
        let value = pair.value_slice(&mut scratch);
        let len = wire_len("AvLen", value);
        let first = builder_pairs(&self.bytes).find(|&(i, _, _)| i == id);
        let Some((_, start, end)) = first else {
            Self::write_pair(&mut self.bytes, id, value);
            return;
        };
        // Drop later pairs with the same id.
        loop {
            let later = builder_pairs(&self.bytes).find(|&(i, s, _)| i == id && s > start);
            match later {
                Some((_, s, e)) => drop(self.bytes.drain(s..e)),
                None => break,
            }
        }
        match self.bytes.get_mut(start + 4..end) {
            Some(old) if old.len() == value.len() => old.copy_from_slice(value),
            _ => {
                let head = id.to_le_bytes().into_iter().chain(len.to_le_bytes());
                self.bytes
                    .splice(start..end, head.chain(value.iter().copied()));
            }
        }
    }

    /// Sets a string pair (MsvAvNbComputerName … MsvAvDnsTreeName, MsvAvTargetName) to `value`
    /// as UTF-16LE, as [`set`](Self::set) does, without an intermediate buffer when the list
    /// has no pair with that id yet (MS-NLMP §2.2.2.1).
    ///
    /// ```
    /// use ntlm::wire::{AvId, AvPair, TargetInfoBuilder, WireString};
    /// let mut a = TargetInfoBuilder::new();
    /// a.set_str(AvId::TargetName, "HTTP/é");
    /// let mut b = TargetInfoBuilder::new();
    /// b.set(AvPair::TargetName(WireString::Utf16(&ntlm::wire::utf16le("HTTP/é"))));
    /// assert_eq!(a, b);
    /// ```
    ///
    /// # Panics
    /// When the value is longer than 65535 bytes.
    pub fn set_str(&mut self, id: AvId, value: &str) {
        let id = id as u16;
        if id == AvId::Eol as u16 {
            return;
        }
        if self.contains(id) {
            let utf16 = utf16le(value);
            self.set(AvPair::Unknown { id, value: &utf16 });
            return;
        }
        let start = self.bytes.len();
        self.bytes.extend_from_slice(&id.to_le_bytes());
        self.bytes.extend_from_slice(&[0, 0]);
        utf16le_into(value, &mut self.bytes);
        let value_len = self.bytes.len() - start - 4;
        let len = match u16::try_from(value_len) {
            Ok(n) => n,
            Err(_) => panic!("AvLen is {value_len} bytes, more than 65535"),
        };
        if let Some(av_len) = self.bytes.get_mut(start + 2..start + 4) {
            av_len.copy_from_slice(&len.to_le_bytes());
        }
    }

    /// The list as on the wire, MsvAvEOL included, reusing the builder's buffer
    /// (MS-NLMP §2.2.2.1).
    pub fn into_wire(mut self) -> Vec<u8> {
        self.bytes.extend_from_slice(&[0, 0, 0, 0]);
        self.bytes
    }

    /// Appends `pair` even if its AvId is already present (for unknown ids that repeat) (MS-NLMP §2.2.2.1).
    /// An AvId 0 pair is ignored.
    ///
    /// # Panics
    /// When the value is longer than 65535 bytes.
    pub fn push(&mut self, pair: AvPair<'_>) {
        if pair.id() != AvId::Eol as u16 {
            let mut scratch = [0u8; 8];
            Self::write_pair(&mut self.bytes, pair.id(), pair.value_slice(&mut scratch));
        }
    }

    /// Removes every pair with AvId `id` (MS-NLMP §2.2.2.1).
    pub fn remove(&mut self, id: u16) {
        let mut out = Vec::with_capacity(self.bytes.len());
        for (i, s, e) in builder_pairs(&self.bytes) {
            if i != id {
                out.extend_from_slice(self.bytes.get(s..e).unwrap_or(&[]));
            }
        }
        self.bytes = out;
    }

    /// True when the list has a pair with AvId `id` (MS-NLMP §2.2.2.1).
    pub fn contains(&self, id: u16) -> bool {
        builder_pairs(&self.bytes).any(|(i, _, _)| i == id)
    }

    /// The list as on the wire, MsvAvEOL included (MS-NLMP §2.2.2.1).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.bytes.len() + 4);
        self.encode_into(&mut out);
        out
    }

    /// The length of the list as on the wire, MsvAvEOL included.
    pub fn encoded_len(&self) -> usize {
        self.bytes.len() + 4
    }

    /// Appends the list as on the wire, MsvAvEOL included, to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.bytes);
        out.extend_from_slice(&[0, 0, 0, 0]);
    }
}

impl fmt::Debug for TargetInfoBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(
                builder_pairs(&self.bytes)
                    .map(|(i, s, e)| (i, self.bytes.get(s + 4..e).unwrap_or(&[]))),
            )
            .finish()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    /// `scan` accepts exactly the lists `decode_prefix_checked` accepts, with the same end,
    /// and the index it records gives each accessor the pair the walk finds.
    #[test]
    fn one_pass_validation_equals_the_checked_walk() {
        let mut list = TargetInfoBuilder::new();
        list.set_str(AvId::NbDomainName, "CORP");
        list.set_str(AvId::NbComputerName, "WEB1");
        list.set(AvPair::Flags(AvFlags::MIC_PRESENT));
        list.set(AvPair::Timestamp(42));
        list.set(AvPair::ChannelBindings([3; 16]));
        list.set_str(AvId::TargetName, "HTTP/web1");
        list.push(AvPair::Unknown {
            id: 0x1234,
            value: b"xyz",
        });
        list.set(AvPair::SingleHost(&[1; 48]));
        let mut seed = list.encode();
        seed.extend_from_slice(&[0; 4]); // padding after the list, as in an NTLMv2 blob
        let mut rng = crate::wire::mutate::XorShift::new(0x2545_f491_4f6c_dd1du64);
        let (mut accepted, mut refused) = (0, 0);
        for _ in 0..50_000 {
            let mut b = seed.clone();
            for _ in 0..=(rng.next() % 2) {
                let at = rng.next_usize() % b.len();
                b[at] = match rng.next() % 4 {
                    0 => 0,
                    1 => b[at].wrapping_add(1),
                    2 => b[at].wrapping_sub(1),
                    _ => u8::try_from(rng.next() & 0x0f).unwrap(),
                };
            }
            let fast = scan(&b);
            let checked = TargetInfo::decode_prefix_checked(&b);
            match (fast, &checked) {
                (Some((end, index)), Ok((list, rest))) => {
                    assert_eq!((end, index), (list.bytes.len(), list.index), "{b:02x?}");
                    assert_eq!(rest.len(), b.len() - end);
                    for id in 0..=12u16 {
                        if let Some(known) = AvId::from_u16(id) {
                            let walked = list.iter().find(|p| p.id() == id);
                            assert_eq!(list.get(known), walked, "{b:02x?}");
                        }
                    }
                    accepted += 1;
                }
                (None, Err(_)) => refused += 1,
                _ => panic!("{b:02x?}: one pass {fast:?}, checked {checked:?}"),
            }
        }
        assert!(
            accepted > 1_000 && refused > 1_000,
            "{accepted} / {refused}"
        );
    }

    /// An accessor reads a pair whose value starts beyond a `u16` offset by walking.
    #[test]
    fn far_pairs_are_found_by_walking() {
        let mut list = TargetInfoBuilder::new();
        for _ in 0..2 {
            list.push(AvPair::Unknown {
                id: 0x4000,
                value: &[0; 40_000],
            });
        }
        list.set(AvPair::Timestamp(7));
        let bytes = list.encode();
        let info = TargetInfo::decode(&bytes).unwrap();
        assert_eq!(info.index.0[6], FAR);
        assert_eq!(info.timestamp(), Some(7));
        assert_eq!(info.flags(), None);
    }
}
