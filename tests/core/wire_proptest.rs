//! Round trips of all messages and AV lists, and decoders that never panic.

use crate::common;

use common::Vectors;
use ntlm::wire::{
    utf16le, AuthenticateMessage, AvFlags, AvPair, ChallengeMessage, NegotiateFlags,
    NegotiateMessage, NtlmV2Response, TargetInfo, TargetInfoBuilder, Version, WireString,
};
use proptest::prelude::*;

/// An owned string of a message: UTF-16LE of random text, or random OEM bytes.
fn name(unicode: bool) -> BoxedStrategy<Vec<u8>> {
    if unicode {
        "\\PC{0,24}".prop_map(|s| utf16le(&s)).boxed()
    } else {
        prop::collection::vec(any::<u8>(), 0..40).boxed()
    }
}

fn version() -> impl Strategy<Value = Option<Version>> {
    prop::option::of(any::<[u8; 8]>().prop_map(|b| Version::decode(&b).unwrap()))
}

/// Flags with random (also unknown) bits; VERSION set exactly when a version is sent,
/// UNICODE as chosen.
fn flags(bits: u32, unicode: bool, version: bool) -> NegotiateFlags {
    let mut f = NegotiateFlags::from_bits(bits);
    f.set(NegotiateFlags::NEGOTIATE_UNICODE, unicode);
    f.set(NegotiateFlags::NEGOTIATE_VERSION, version);
    f
}

/// An owned AV pair: a known id with a valid value, or an unknown id.
#[derive(Clone, Debug)]
enum Pair {
    Name(u16, Vec<u8>),
    Flags(u32),
    Timestamp(u64),
    SingleHost(Vec<u8>),
    ChannelBindings([u8; 16]),
    Unknown(u16, Vec<u8>),
}

impl Pair {
    fn id(&self) -> u16 {
        match self {
            Pair::Name(id, _) | Pair::Unknown(id, _) => *id,
            Pair::Flags(_) => 6,
            Pair::Timestamp(_) => 7,
            Pair::SingleHost(_) => 8,
            Pair::ChannelBindings(_) => 10,
        }
    }

    fn borrow(&self) -> AvPair<'_> {
        match self {
            Pair::Name(1, s) => AvPair::NbComputerName(WireString::Utf16(s)),
            Pair::Name(2, s) => AvPair::NbDomainName(WireString::Utf16(s)),
            Pair::Name(3, s) => AvPair::DnsComputerName(WireString::Utf16(s)),
            Pair::Name(4, s) => AvPair::DnsDomainName(WireString::Utf16(s)),
            Pair::Name(5, s) => AvPair::DnsTreeName(WireString::Utf16(s)),
            Pair::Name(_, s) => AvPair::TargetName(WireString::Utf16(s)),
            Pair::Flags(f) => AvPair::Flags(AvFlags::from_bits(*f)),
            Pair::Timestamp(t) => AvPair::Timestamp(*t),
            Pair::SingleHost(v) => AvPair::SingleHost(v),
            Pair::ChannelBindings(c) => AvPair::ChannelBindings(*c),
            Pair::Unknown(id, v) => AvPair::Unknown { id: *id, value: v },
        }
    }
}

fn pair() -> impl Strategy<Value = Pair> {
    prop_oneof![
        (prop::sample::select(vec![1u16, 2, 3, 4, 5, 9]), name(true))
            .prop_map(|(id, s)| Pair::Name(id, s)),
        any::<u32>().prop_map(Pair::Flags),
        any::<u64>().prop_map(Pair::Timestamp),
        prop::collection::vec(any::<u8>(), 0..64).prop_map(Pair::SingleHost),
        any::<[u8; 16]>().prop_map(Pair::ChannelBindings),
        (11u16.., prop::collection::vec(any::<u8>(), 0..20))
            .prop_map(|(id, v)| Pair::Unknown(id, v)),
    ]
}

/// A list with every known id at most once; unknown ids may repeat.
fn pairs() -> impl Strategy<Value = Vec<Pair>> {
    prop::collection::vec(pair(), 0..12).prop_map(|ps| {
        let mut seen = Vec::new();
        ps.into_iter()
            .filter(|p| {
                if p.id() > 10 {
                    return true;
                }
                let new = !seen.contains(&p.id());
                seen.push(p.id());
                new
            })
            .collect()
    })
}

fn encode_pairs(ps: &[Pair]) -> Vec<u8> {
    let mut b = TargetInfoBuilder::new();
    for p in ps {
        b.push(p.borrow());
    }
    b.encode()
}

/// Decodes `bytes` with every decoder; an accepted message must survive re-encoding.
fn decode_all(bytes: &[u8]) {
    if let Ok(m) = NegotiateMessage::decode(bytes) {
        let e = m.encode();
        let d = NegotiateMessage::decode(&e).unwrap();
        assert_eq!(d, m);
        assert_eq!(d.encode(), e);
    }
    if let Ok(m) = ChallengeMessage::decode(bytes) {
        let e = m.encode();
        let d = ChallengeMessage::decode(&e).unwrap();
        assert_eq!(d, m);
        assert_eq!(d.encode(), e);
    }
    if let Ok(m) = AuthenticateMessage::decode(bytes) {
        let e = m.encode();
        let d = AuthenticateMessage::decode(&e).unwrap();
        assert_eq!(d, m);
        assert_eq!(d.encode(), e);
        if let Some(at) = m.mic_offset() {
            assert_eq!(e.get(at..at + 16), m.mic.as_ref().map(|m| &m[..]));
        }
        let _ = NtlmV2Response::decode(m.nt_challenge_response);
    }
    if let Ok(t) = TargetInfo::decode(bytes) {
        assert_eq!(TargetInfoBuilder::from_target_info(&t).encode(), bytes);
    }
    let _ = TargetInfo::decode_prefix(bytes);
    let _ = NtlmV2Response::decode(bytes);
    let _ = ntlm::wire::message_type(bytes);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn negotiate_round_trip(
        bits in any::<u32>(),
        domain in prop::collection::vec(any::<u8>(), 0..40),
        ws in prop::collection::vec(any::<u8>(), 0..40),
        version in version(),
    ) {
        let mut m = NegotiateMessage::new(flags(bits, bits & 1 != 0, version.is_some()));
        m.domain_name = &domain;
        m.workstation = &ws;
        m.version = version;
        let bytes = m.encode();
        let d = NegotiateMessage::decode(&bytes).unwrap();
        prop_assert_eq!(&d, &m);
        prop_assert_eq!(d.encode(), bytes);
    }

    #[test]
    fn challenge_round_trip(
        (unicode, target) in any::<bool>().prop_flat_map(|u| (Just(u), name(u))),
        bits in any::<u32>(),
        challenge in any::<[u8; 8]>(),
        reserved in any::<[u8; 8]>(),
        info in prop::option::of(pairs()),
        version in version(),
    ) {
        let info = info.map(|ps| encode_pairs(&ps));
        let mut m = ChallengeMessage::new(flags(bits, unicode, version.is_some()), challenge);
        m.reserved = reserved;
        m.target_name = WireString::new(unicode, &target);
        m.target_info = info.as_deref().map(|b| TargetInfo::decode(b).unwrap());
        m.version = version;
        let bytes = m.encode();
        let d = ChallengeMessage::decode(&bytes).unwrap();
        prop_assert_eq!(&d, &m);
        prop_assert_eq!(d.encode(), bytes);
    }

    #[test]
    fn authenticate_round_trip(
        (unicode, domain, user, ws) in any::<bool>()
            .prop_flat_map(|u| (Just(u), name(u), name(u), name(u))),
        bits in any::<u32>(),
        lm in prop::sample::select(vec![0usize, 1, 24])
            .prop_flat_map(|n| prop::collection::vec(any::<u8>(), n)),
        nt in prop::collection::vec(any::<u8>(), 0..300),
        key in prop::option::of(any::<[u8; 16]>()),
        version in version(),
        mic in prop::option::of(any::<[u8; 16]>()),
    ) {
        let mut m = AuthenticateMessage::new(flags(bits, unicode, version.is_some()));
        m.lm_challenge_response = &lm;
        m.nt_challenge_response = &nt;
        m.domain_name = WireString::new(unicode, &domain);
        m.user_name = WireString::new(unicode, &user);
        m.workstation = WireString::new(unicode, &ws);
        m.encrypted_random_session_key = key.as_ref().map_or(&[][..], |k| &k[..]);
        m.version = version;
        m.mic = mic;
        let bytes = m.encode();
        if let (Some(at), Some(mic)) = (m.mic_offset(), mic) {
            prop_assert_eq!(&bytes[at..at + 16], &mic[..]);
        }
        let d = AuthenticateMessage::decode(&bytes).unwrap();
        prop_assert_eq!(&d, &m);
        prop_assert_eq!(d.mic_offset(), m.mic_offset());
        prop_assert_eq!(d.encode(), bytes);
    }

    #[test]
    fn av_list_round_trip(ps in pairs(), padding in prop::collection::vec(any::<u8>(), 0..8)) {
        let bytes = encode_pairs(&ps);
        let t = TargetInfo::decode(&bytes).unwrap();
        let got: Vec<AvPair<'_>> = t.iter().collect();
        let want: Vec<AvPair<'_>> = ps.iter().map(Pair::borrow).collect();
        prop_assert_eq!(got, want);
        prop_assert_eq!(t.as_bytes(), &bytes[..]);
        prop_assert_eq!(TargetInfoBuilder::from_target_info(&t).encode(), bytes.clone());
        // As the tail of an NTLMv2 blob, with padding after the list.
        let mut tail = bytes.clone();
        tail.extend_from_slice(&padding);
        let (p, rest) = TargetInfo::decode_prefix(&tail).unwrap();
        prop_assert_eq!(p, t);
        prop_assert_eq!(rest, &padding[..]);
        let mut nt = vec![7u8; 16];
        nt.extend_from_slice(&NtlmV2Response::encode_blob(5, [9; 8], &bytes));
        let r = NtlmV2Response::decode(&nt).unwrap();
        prop_assert_eq!(r.av_pairs, t);
        prop_assert_eq!(r.timestamp, 5);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn decode_arbitrary_bytes_never_panics(
        ty in 0u32..5,
        with_header in any::<bool>(),
        body in prop::collection::vec(any::<u8>(), 0..200),
    ) {
        let mut bytes = Vec::new();
        if with_header {
            bytes.extend_from_slice(b"NTLMSSP\0");
            bytes.extend_from_slice(&ty.to_le_bytes());
        }
        bytes.extend_from_slice(&body);
        decode_all(&bytes);
    }

    #[test]
    fn decode_mutated_messages_never_panics(
        which in 0usize..5,
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let v = Vectors::nlmp();
        let key = [
            "ntlmv1.challenge_message",
            "ntlmv1.authenticate_message",
            "ntlmv2.challenge_message",
            "ntlmv2.authenticate_message",
            "ntlmv2.nt_response",
        ][which];
        let mut bytes = v.hex(key);
        for (at, value) in edits {
            let i = at.index(bytes.len());
            // Mostly hit the headers, where offsets and lengths live.
            let i = if i % 2 == 0 { i % 64 } else { i };
            bytes[i] = value;
        }
        if truncate {
            bytes.truncate(cut.index(bytes.len() + 1));
        }
        decode_all(&bytes);
    }

    #[test]
    fn decode_mutated_av_lists_never_panics(
        ps in pairs(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let mut bytes = encode_pairs(&ps);
        for (at, value) in edits {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        decode_all(&bytes);
    }
}
