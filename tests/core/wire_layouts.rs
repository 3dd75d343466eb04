//! Received layouts, built byte by byte rather than by the encoders: `decode(x).encode()
//! == x` and the decoded fields are the placed ones, for payload fields in any order,
//! MaxLen above Len, empty fields at any in-bounds offset, zero gaps between fields, every
//! header shape, and VERSION bytes sent with NTLMSSP_NEGOTIATE_VERSION clear (MS-NLMP
//! §2.2.1, §2.2.2.10).

use ntlm::wire::{
    AuthenticateMessage, AvId, AvPair, ChallengeMessage, NegotiateFlags, NegotiateMessage,
    TargetInfoBuilder, Version, WireString,
};
use proptest::prelude::*;

/// Where the payload fields of a message go.
#[derive(Clone, Debug)]
struct Placement {
    /// Order of the fields in the payload (a permutation of the field indexes).
    order: Vec<usize>,
    /// Zero bytes before the k-th field of `order`, unless it is the first non-empty one
    /// (the payload starts right after the header: that is how VERSION and MIC are found).
    gaps: Vec<usize>,
    /// MaxLen - Len of each field.
    extra: Vec<u16>,
    /// Offset of each empty field, anywhere in `0..=message length` (taken modulo).
    empty_at: Vec<usize>,
    /// Zero bytes after the last field, when a field is non-empty.
    trailing: usize,
}

fn placement(n: usize) -> impl Strategy<Value = Placement> {
    (
        Just((0..n).collect::<Vec<_>>()).prop_shuffle(),
        prop::collection::vec(prop_oneof![Just(0usize), 1usize..16], n),
        prop::collection::vec(prop_oneof![Just(0u16), 1u16..64, any::<u16>()], n),
        prop::collection::vec(any::<usize>(), n),
        prop_oneof![Just(0usize), 1usize..16],
    )
        .prop_map(|(order, gaps, extra, empty_at, trailing)| Placement {
            order,
            gaps,
            extra,
            empty_at,
            trailing,
        })
}

/// `header` (descriptors at `desc_at` still zero) followed by `payloads` placed as `p`
/// says, with the descriptors filled in.
fn lay_out(mut msg: Vec<u8>, desc_at: &[usize], payloads: &[&[u8]], p: &Placement) -> Vec<u8> {
    let header_len = msg.len();
    let mut offsets = vec![0usize; payloads.len()];
    for (&i, &gap) in p.order.iter().zip(&p.gaps) {
        if payloads[i].is_empty() {
            continue;
        }
        if msg.len() > header_len {
            msg.resize(msg.len() + gap, 0);
        }
        offsets[i] = msg.len();
        msg.extend_from_slice(payloads[i]);
    }
    if msg.len() > header_len {
        msg.resize(msg.len() + p.trailing, 0);
    }
    let total = msg.len();
    for (i, data) in payloads.iter().enumerate() {
        if data.is_empty() {
            offsets[i] = p.empty_at[i] % (total + 1);
        }
        let len = u16::try_from(data.len()).unwrap();
        let at = desc_at[i];
        msg[at..at + 2].copy_from_slice(&len.to_le_bytes());
        msg[at + 2..at + 4].copy_from_slice(&len.saturating_add(p.extra[i]).to_le_bytes());
        msg[at + 4..at + 8].copy_from_slice(&u32::try_from(offsets[i]).unwrap().to_le_bytes());
    }
    msg
}

/// The 8 bytes after the fixed header of a NEGOTIATE or CHALLENGE.
#[derive(Clone, Copy, Debug)]
enum Slot {
    /// Neither VERSION nor room for it; NTLMSSP_NEGOTIATE_VERSION clear.
    Absent,
    /// VERSION, NTLMSSP_NEGOTIATE_VERSION set.
    Version(Version),
    /// Eight bytes where VERSION goes, NTLMSSP_NEGOTIATE_VERSION clear.
    Raw([u8; 8]),
}

impl Slot {
    fn flag(self) -> bool {
        matches!(self, Slot::Version(_))
    }

    fn bytes(self) -> Option<[u8; 8]> {
        match self {
            Slot::Absent => None,
            Slot::Version(v) => Some(v.encode()),
            Slot::Raw(b) => Some(b),
        }
    }

    fn version(self) -> Option<Version> {
        match self {
            Slot::Version(v) => Some(v),
            _ => None,
        }
    }
}

fn version() -> impl Strategy<Value = Version> {
    any::<[u8; 8]>().prop_map(|b| Version::decode(&b).unwrap())
}

fn slot() -> impl Strategy<Value = Slot> {
    prop_oneof![
        Just(Slot::Absent),
        version().prop_map(Slot::Version),
        any::<[u8; 8]>().prop_map(Slot::Raw),
    ]
}

/// The header of an AUTHENTICATE: what follows its 64 fixed bytes.
#[derive(Clone, Copy, Debug)]
enum AuthShape {
    /// 64 bytes: no VERSION, no MIC; NTLMSSP_NEGOTIATE_VERSION clear.
    H64,
    /// 72 bytes: VERSION; NTLMSSP_NEGOTIATE_VERSION set.
    H72(Version),
    /// 88 bytes: VERSION and MIC at 72; NTLMSSP_NEGOTIATE_VERSION set.
    H88(Version, [u8; 16]),
    /// 72 bytes: eight bytes where VERSION goes, NTLMSSP_NEGOTIATE_VERSION clear.
    Raw72([u8; 8]),
    /// 88 bytes: eight bytes where VERSION goes and MIC at 72, NTLMSSP_NEGOTIATE_VERSION clear.
    Raw88([u8; 8], [u8; 16]),
    /// 80 bytes: MIC at 64, no VERSION; NTLMSSP_NEGOTIATE_VERSION clear.
    Mic64([u8; 16]),
}

impl AuthShape {
    fn flag(self) -> bool {
        matches!(self, AuthShape::H72(_) | AuthShape::H88(..))
    }

    fn tail(self) -> Vec<u8> {
        match self {
            AuthShape::H64 => vec![],
            AuthShape::H72(v) => v.encode().to_vec(),
            AuthShape::H88(v, mic) => [&v.encode()[..], &mic].concat(),
            AuthShape::Raw72(raw) => raw.to_vec(),
            AuthShape::Raw88(raw, mic) => [&raw[..], &mic].concat(),
            AuthShape::Mic64(mic) => mic.to_vec(),
        }
    }

    fn version(self) -> Option<Version> {
        match self {
            AuthShape::H72(v) | AuthShape::H88(v, _) => Some(v),
            _ => None,
        }
    }

    fn mic(self) -> Option<([u8; 16], usize)> {
        match self {
            AuthShape::H88(_, mic) | AuthShape::Raw88(_, mic) => Some((mic, 72)),
            AuthShape::Mic64(mic) => Some((mic, 64)),
            _ => None,
        }
    }
}

fn auth_shape() -> impl Strategy<Value = AuthShape> {
    prop_oneof![
        Just(AuthShape::H64),
        version().prop_map(AuthShape::H72),
        (version(), any::<[u8; 16]>()).prop_map(|(v, m)| AuthShape::H88(v, m)),
        any::<[u8; 8]>().prop_map(AuthShape::Raw72),
        (any::<[u8; 8]>(), any::<[u8; 16]>()).prop_map(|(r, m)| AuthShape::Raw88(r, m)),
        any::<[u8; 16]>().prop_map(AuthShape::Mic64),
    ]
}

fn flags(bits: u32, unicode: bool, version: bool) -> NegotiateFlags {
    let mut f = NegotiateFlags::from_bits(bits);
    f.set(NegotiateFlags::NEGOTIATE_UNICODE, unicode);
    f.set(NegotiateFlags::NEGOTIATE_VERSION, version);
    f
}

/// Bytes of a string field: an even length when `unicode`.
fn name(unicode: bool) -> BoxedStrategy<Vec<u8>> {
    if unicode {
        prop::collection::vec(any::<[u8; 2]>(), 0..20)
            .prop_map(|units| units.concat())
            .boxed()
    } else {
        prop::collection::vec(any::<u8>(), 0..40).boxed()
    }
}

/// An AV list (MsvAvEOL included), or nothing.
fn target_info() -> impl Strategy<Value = Vec<u8>> {
    prop::option::of(("[A-Z]{0,15}", "[a-z.]{0,30}", any::<u64>())).prop_map(|info| {
        info.map_or_else(Vec::new, |(nb, dns, t)| {
            let mut b = TargetInfoBuilder::new();
            b.set_str(AvId::NbComputerName, &nb);
            b.set_str(AvId::DnsDomainName, &dns);
            b.set(AvPair::Timestamp(t));
            b.into_wire()
        })
    })
}

fn negotiate_bytes(
    flags: NegotiateFlags,
    slot: Slot,
    payloads: [&[u8]; 2],
    p: &Placement,
) -> Vec<u8> {
    let mut h = b"NTLMSSP\0".to_vec();
    h.extend_from_slice(&1u32.to_le_bytes());
    h.extend_from_slice(&flags.bits().to_le_bytes());
    h.extend_from_slice(&[0; 16]);
    h.extend(slot.bytes().iter().flatten());
    lay_out(h, &[16, 24], &payloads, p)
}

fn challenge_bytes(
    flags: NegotiateFlags,
    challenge: [u8; 8],
    reserved: [u8; 8],
    slot: Slot,
    payloads: [&[u8]; 2],
    p: &Placement,
) -> Vec<u8> {
    let mut h = b"NTLMSSP\0".to_vec();
    h.extend_from_slice(&2u32.to_le_bytes());
    h.extend_from_slice(&[0; 8]);
    h.extend_from_slice(&flags.bits().to_le_bytes());
    h.extend_from_slice(&challenge);
    h.extend_from_slice(&reserved);
    h.extend_from_slice(&[0; 8]);
    h.extend(slot.bytes().iter().flatten());
    lay_out(h, &[12, 40], &payloads, p)
}

fn authenticate_bytes(
    flags: NegotiateFlags,
    shape: AuthShape,
    payloads: [&[u8]; 6],
    p: &Placement,
) -> Vec<u8> {
    let mut h = b"NTLMSSP\0".to_vec();
    h.extend_from_slice(&3u32.to_le_bytes());
    h.extend_from_slice(&[0; 48]);
    h.extend_from_slice(&flags.bits().to_le_bytes());
    h.extend_from_slice(&shape.tail());
    lay_out(h, &[12, 20, 28, 36, 44, 52], &payloads, p)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn negotiate_received_layout(
        bits in any::<u32>(),
        slot in slot(),
        domain in name(false),
        ws in name(false),
        p in placement(2),
    ) {
        let f = flags(bits, bits & 1 != 0, slot.flag());
        let bytes = negotiate_bytes(f, slot, [&domain, &ws], &p);
        let m = NegotiateMessage::decode(&bytes).unwrap();
        prop_assert_eq!(m.flags, f);
        prop_assert_eq!(m.domain_name, &domain[..]);
        prop_assert_eq!(m.workstation, &ws[..]);
        prop_assert_eq!(m.version, slot.version());
        prop_assert_eq!(m.encode(), bytes.clone());
        let mut c = m.clone();
        c.canonicalize();
        let canonical = c.encode();
        prop_assert_eq!(NegotiateMessage::decode(&canonical).unwrap(), m);
    }

    #[test]
    fn challenge_received_layout(
        (unicode, target) in any::<bool>().prop_flat_map(|u| (Just(u), name(u))),
        bits in any::<u32>(),
        challenge in any::<[u8; 8]>(),
        reserved in any::<[u8; 8]>(),
        info in target_info(),
        slot in slot(),
        p in placement(2),
    ) {
        let f = flags(bits, unicode, slot.flag());
        let bytes = challenge_bytes(f, challenge, reserved, slot, [&target, &info], &p);
        let m = ChallengeMessage::decode(&bytes).unwrap();
        prop_assert_eq!(m.flags, f);
        prop_assert_eq!(m.server_challenge, challenge);
        prop_assert_eq!(m.reserved, reserved);
        prop_assert_eq!(m.target_name, WireString::new(unicode, &target));
        prop_assert_eq!(m.target_info.map(|t| t.as_bytes()), (!info.is_empty()).then_some(&info[..]));
        prop_assert_eq!(m.version, slot.version());
        prop_assert_eq!(m.encode(), bytes.clone());
        let mut c = m.clone();
        c.canonicalize();
        let canonical = c.encode();
        prop_assert_eq!(ChallengeMessage::decode(&canonical).unwrap(), m);
    }

    #[test]
    fn authenticate_received_layout(
        (unicode, domain, user, ws) in any::<bool>()
            .prop_flat_map(|u| (Just(u), name(u), name(u), name(u))),
        bits in any::<u32>(),
        lm in prop::sample::select(vec![0usize, 1, 24])
            .prop_flat_map(|n| prop::collection::vec(any::<u8>(), n)),
        nt in prop::collection::vec(any::<u8>(), 0..300),
        key in prop::sample::select(vec![0usize, 16])
            .prop_flat_map(|n| prop::collection::vec(any::<u8>(), n)),
        shape in auth_shape(),
        p in placement(6),
    ) {
        let f = flags(bits, unicode, shape.flag());
        let payloads: [&[u8]; 6] = [&lm, &nt, &domain, &user, &ws, &key];
        let bytes = authenticate_bytes(f, shape, payloads, &p);
        let m = AuthenticateMessage::decode(&bytes).unwrap();
        prop_assert_eq!(m.flags, f);
        prop_assert_eq!(m.lm_challenge_response, &lm[..]);
        prop_assert_eq!(m.nt_challenge_response, &nt[..]);
        prop_assert_eq!(m.domain_name, WireString::new(unicode, &domain));
        prop_assert_eq!(m.user_name, WireString::new(unicode, &user));
        prop_assert_eq!(m.workstation, WireString::new(unicode, &ws));
        prop_assert_eq!(m.encrypted_random_session_key, &key[..]);
        prop_assert_eq!(m.version, shape.version());
        prop_assert_eq!(m.mic, shape.mic().map(|(mic, _)| mic));
        prop_assert_eq!(m.mic_offset(), shape.mic().map(|(_, at)| at));
        prop_assert_eq!(m.encode(), bytes.clone());
        // Zeroing the MIC in place, as its computation does (MS-NLMP §3.1.5.1.2), changes
        // those 16 bytes and nothing else.
        if let Some(at) = m.mic_offset() {
            let mut z = m.clone();
            z.mic = Some([0; 16]);
            let mut want = bytes.clone();
            want[at..at + 16].fill(0);
            prop_assert_eq!(z.encode(), want);
        }
        let mut c = m.clone();
        c.canonicalize();
        let canonical = c.encode();
        prop_assert_eq!(AuthenticateMessage::decode(&canonical).unwrap(), m);
    }
}

const RAW: [u8; 8] = [0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4];

fn no_gaps(n: usize) -> Placement {
    Placement {
        order: (0..n).collect(),
        gaps: vec![0; n],
        extra: vec![0; n],
        empty_at: vec![0; n],
        trailing: 0,
    }
}

/// VERSION bytes at 32..40 with NTLMSSP_NEGOTIATE_VERSION clear come back unchanged, and
/// give way to a VERSION set afterwards.
#[test]
fn negotiate_version_bytes_without_flag() {
    let f = NegotiateFlags::NEGOTIATE_OEM | NegotiateFlags::NEGOTIATE_OEM_WORKSTATION_SUPPLIED;
    let bytes = negotiate_bytes(f, Slot::Raw(RAW), [b"", b"WS"], &no_gaps(2));
    assert_eq!(&bytes[32..40], RAW);
    let mut m = NegotiateMessage::decode(&bytes).unwrap();
    assert_eq!((m.version, m.workstation), (None, &b"WS"[..]));
    assert_eq!(m.encode(), bytes);
    // The flag set without a VERSION: the peer's bytes must not go out as one.
    let mut flagged = m.clone();
    flagged.flags |= NegotiateFlags::NEGOTIATE_VERSION;
    assert_eq!(&flagged.encode()[32..40], [0u8; 8]);
    m.version = Some(Version::WINDOWS_10);
    assert_eq!(&m.encode()[32..40], Version::WINDOWS_10.encode());
}

/// VERSION bytes at 48..56 with NTLMSSP_NEGOTIATE_VERSION clear come back unchanged.
#[test]
fn challenge_version_bytes_without_flag() {
    let f = NegotiateFlags::NEGOTIATE_UNICODE;
    let name = ntlm::wire::utf16le("Server");
    let bytes = challenge_bytes(f, [1; 8], [0; 8], Slot::Raw(RAW), [&name, b""], &no_gaps(2));
    assert_eq!(&bytes[48..56], RAW);
    let mut m = ChallengeMessage::decode(&bytes).unwrap();
    assert_eq!(m.version, None);
    assert_eq!(m.target_name.to_string_lossy(), "Server");
    assert_eq!(m.encode(), bytes);
    m.version = Some(Version::WINDOWS_10);
    assert_eq!(&m.encode()[48..56], Version::WINDOWS_10.encode());
}

/// VERSION bytes at 64..72 with NTLMSSP_NEGOTIATE_VERSION clear come back unchanged, with
/// the payload at 72 (no MIC) or at 88 (MIC at 72).
#[test]
fn authenticate_version_bytes_without_flag() {
    let f = NegotiateFlags::NEGOTIATE_UNICODE;
    let user = ntlm::wire::utf16le("user");
    let payloads: [&[u8]; 6] = [b"", b"", b"", &user, b"", b""];
    for shape in [AuthShape::Raw72(RAW), AuthShape::Raw88(RAW, [7; 16])] {
        let bytes = authenticate_bytes(f, shape, payloads, &no_gaps(6));
        assert_eq!(&bytes[64..72], RAW);
        let mut m = AuthenticateMessage::decode(&bytes).unwrap();
        assert_eq!(m.version, None, "{shape:?}");
        assert_eq!(m.mic, shape.mic().map(|(mic, _)| mic), "{shape:?}");
        assert_eq!(m.encode(), bytes, "{shape:?}");
        // A VERSION set afterwards is what gets written.
        m.version = Some(Version::WINDOWS_10);
        assert_eq!(
            &m.encode()[64..72],
            Version::WINDOWS_10.encode(),
            "{shape:?}"
        );
    }
}

/// The MIC at 72 after VERSION (MS-NLMP §2.2.1.3), at 72 after a zero VERSION slot when
/// NTLMSSP_NEGOTIATE_VERSION is clear, and at 64 when the flag is clear and the payload
/// starts at 80 (pyspnego's reading); with the flag set, 80 bytes are VERSION and no MIC.
#[test]
fn mic_offset_64_or_72() {
    let mic = [0x4d; 16];
    let nt = [9u8; 24];
    let payloads: [&[u8]; 6] = [b"", &nt, b"", b"", b"", b""];
    let no_version = NegotiateFlags::NEGOTIATE_NTLM;
    let version = no_version | NegotiateFlags::NEGOTIATE_VERSION;
    let cases = [
        (version, AuthShape::H88(Version::WINDOWS_10, mic), Some(72)),
        (no_version, AuthShape::Raw88([0; 8], mic), Some(72)),
        (no_version, AuthShape::Mic64(mic), Some(64)),
        (version, AuthShape::H72(Version::WINDOWS_10), None),
    ];
    for (f, shape, at) in cases {
        let mut bytes = authenticate_bytes(f, shape, payloads, &no_gaps(6));
        if matches!(shape, AuthShape::H72(_)) {
            // VERSION then 8 unreferenced bytes: the payload starts at 80.
            bytes.splice(72..72, [0; 8]);
            bytes[20 + 4] = 80;
        }
        let m = AuthenticateMessage::decode(&bytes).unwrap();
        assert_eq!(m.mic_offset(), at, "{shape:?}");
        assert_eq!(m.mic, at.map(|_| mic), "{shape:?}");
        if let Some(at) = at {
            assert_eq!(bytes[at..at + 16], mic, "{shape:?}");
        }
        assert_eq!(m.version, shape.version(), "{shape:?}");
        assert_eq!(m.nt_challenge_response, nt, "{shape:?}");
        assert_eq!(m.encode(), bytes, "{shape:?}");
    }
}

/// MS-NLMP's earlier AUTHENTICATE: the 52-byte header (five descriptors, no
/// EncryptedRandomSessionKeyFields, NegotiateFlags, VERSION or MIC), payload from 52.
fn short_authenticate_bytes(payloads: [&[u8]; 5], p: &Placement) -> Vec<u8> {
    let mut h = b"NTLMSSP\0".to_vec();
    h.extend_from_slice(&3u32.to_le_bytes());
    h.extend_from_slice(&[0; 40]);
    lay_out(h, &[12, 20, 28, 36, 44], &payloads, p)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn authenticate_52_byte_header(
        (unicode, domain, user, ws) in any::<bool>()
            .prop_flat_map(|u| (Just(u), name(u), name(u), name(u))),
        lm in prop::sample::select(vec![0usize, 1, 24])
            .prop_flat_map(|n| prop::collection::vec(any::<u8>(), n)),
        nt in prop::collection::vec(any::<u8>(), 0..300),
        p in placement(5),
    ) {
        let bytes = short_authenticate_bytes([&lm, &nt, &domain, &user, &ws], &p);
        let m = AuthenticateMessage::decode_as(&bytes, unicode).unwrap();
        prop_assert_eq!(m.header_len(), 52);
        prop_assert_eq!(m.flags, NegotiateFlags::EMPTY);
        prop_assert_eq!(m.lm_challenge_response, &lm[..]);
        prop_assert_eq!(m.nt_challenge_response, &nt[..]);
        prop_assert_eq!(m.domain_name, WireString::new(unicode, &domain));
        prop_assert_eq!(m.user_name, WireString::new(unicode, &user));
        prop_assert_eq!(m.workstation, WireString::new(unicode, &ws));
        prop_assert!(m.encrypted_random_session_key.is_empty());
        prop_assert_eq!((m.version, m.mic, m.mic_offset()), (None, None, None));
        prop_assert_eq!(m.encode(), bytes.clone());
        // Without flags, `decode` reads the strings as OEM.
        let oem = AuthenticateMessage::decode(&bytes).unwrap();
        prop_assert_eq!(oem.user_name, WireString::Oem(&user));
        prop_assert_eq!(oem.encode(), bytes.clone());
        // Canonical: the §2.2.1.3 64-byte header, the same fields.
        let mut c = m.clone();
        c.canonicalize();
        let canonical = c.encode();
        prop_assert_eq!(canonical.len(), 64 + payload_len(&m));
        prop_assert_eq!(AuthenticateMessage::decode_as(&canonical, unicode).unwrap(), m);
    }
}

/// Bytes of `m`'s payload fields.
fn payload_len(m: &AuthenticateMessage<'_>) -> usize {
    m.lm_challenge_response.len()
        + m.nt_challenge_response.len()
        + m.domain_name.as_bytes().len()
        + m.user_name.as_bytes().len()
        + m.workstation.as_bytes().len()
}

#[test]
fn authenticate_64_byte_header_is_not_mistaken_for_52() {
    // Payload at 64 with every field placed there or later: the §2.2.1.3 layout.
    let bytes = authenticate_bytes(
        flags(0x0000_0201, true, false),
        AuthShape::H64,
        [&[0; 24], &[1; 24], b"D\0", b"u\0", b"", b""],
        &no_gaps(6),
    );
    let m = AuthenticateMessage::decode(&bytes).unwrap();
    assert_eq!(m.header_len(), 64);
    assert_eq!(m.encode(), bytes);
}
