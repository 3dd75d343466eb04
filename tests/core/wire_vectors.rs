//! MS-NLMP §4.2 messages decoded field by field and encoded back.

use crate::common;

use common::Vectors;
use ntlm::wire::{
    message_type, utf16le, AuthenticateMessage, AvId, AvPair, ChallengeMessage, NegotiateFlags,
    NegotiateMessage, NtlmV2Response, TargetInfo, TargetInfoBuilder, Version, WireString,
};

fn u16s(s: &str) -> Vec<u8> {
    utf16le(s)
}

/// Checks the AUTHENTICATE_MESSAGE fields common to §4.2.2 and §4.2.4.
fn check_auth_names(m: &AuthenticateMessage<'_>, v: &Vectors) {
    assert_eq!(
        m.domain_name,
        WireString::Utf16(&u16s(v.get("inputs.domain")))
    );
    assert_eq!(m.user_name, WireString::Utf16(&u16s(v.get("inputs.user"))));
    assert_eq!(
        m.workstation,
        WireString::Utf16(&u16s(v.get("inputs.workstation")))
    );
    assert_eq!(m.domain_name.to_string_lossy(), "Domain");
    assert_eq!(m.user_name.to_string_lossy(), "User");
    assert_eq!(m.workstation.to_string_lossy(), "COMPUTER");
    assert_eq!(m.version, Some(Version::WINDOWS_XP));
    assert_eq!(m.version.map(|v| v.revision), Some(15));
    assert_eq!(m.mic, None);
    assert_eq!(m.mic_offset(), None);
}

#[test]
fn ntlmv1_challenge_4_2_2() {
    let v = Vectors::nlmp();
    let bytes = v.hex("ntlmv1.challenge_message");
    assert_eq!(message_type(&bytes), Ok(2));
    let m = ChallengeMessage::decode(&bytes).unwrap();
    assert_eq!(m.flags, NegotiateFlags::from_bits(0xe202_8233));
    assert_eq!(m.server_challenge, v.arr::<8>("inputs.server_challenge"));
    assert_eq!(m.reserved, [0; 8]);
    assert_eq!(
        m.target_name,
        WireString::Utf16(&u16s(v.get("inputs.server_name")))
    );
    assert_eq!(m.target_name.to_string_lossy(), "Server");
    assert_eq!(m.target_info, None);
    assert_eq!(
        m.version,
        Some(Version {
            major: 6,
            minor: 0,
            build: 6000,
            reserved: [0; 3],
            revision: 15
        })
    );
    // TargetInfoFields is all zero here (offset 0): the layout record keeps it.
    assert_eq!(m.encode(), bytes);
}

#[test]
fn ntlmv1_authenticate_4_2_2() {
    let v = Vectors::nlmp();
    let bytes = v.hex("ntlmv1.authenticate_message");
    assert_eq!(message_type(&bytes), Ok(3));
    let m = AuthenticateMessage::decode(&bytes).unwrap();
    assert_eq!(m.flags, NegotiateFlags::from_bits(0xe280_8235));
    assert_eq!(m.lm_challenge_response, v.hex("ntlmv1.lm_response"));
    assert_eq!(m.nt_challenge_response, v.hex("ntlmv1.nt_response"));
    assert_eq!(
        m.encrypted_random_session_key,
        v.hex("ntlmv1.encrypted_session_key")
    );
    check_auth_names(&m, &v);
    assert_eq!(m.encode(), bytes);
    // A 24-byte response is not NTLMv2.
    assert!(NtlmV2Response::decode(m.nt_challenge_response).is_err());
}

#[test]
fn ntlmv2_challenge_4_2_4() {
    let v = Vectors::nlmp();
    let bytes = v.hex("ntlmv2.challenge_message");
    let m = ChallengeMessage::decode(&bytes).unwrap();
    assert_eq!(m.flags, NegotiateFlags::from_bits(0xe28a_8233));
    assert!(m.flags.contains(NegotiateFlags::NEGOTIATE_TARGET_INFO));
    assert_eq!(m.server_challenge, v.arr::<8>("inputs.server_challenge"));
    assert_eq!(m.target_name.to_string_lossy(), "Server");
    assert_eq!(m.version, Some(Version::WINDOWS_VISTA));
    let ti = m.target_info.unwrap();
    assert_eq!(ti.as_bytes(), v.hex("ntlmv2.target_info"));
    let pairs: Vec<_> = ti.iter().collect();
    let domain = u16s("Domain");
    let server = u16s("Server");
    assert_eq!(
        pairs,
        [
            AvPair::NbDomainName(WireString::Utf16(&domain)),
            AvPair::NbComputerName(WireString::Utf16(&server)),
        ]
    );
    assert_eq!(
        ti.get(AvId::NbComputerName),
        Some(AvPair::NbComputerName(WireString::Utf16(&server)))
    );
    assert_eq!(ti.timestamp(), None);
    assert_eq!(ti.flags(), None);
    assert_eq!(m.encode(), bytes);

    // The canonical layout of the same fields is the spec's layout too.
    let mut c = m.clone();
    c.canonicalize();
    assert_eq!(c.encode(), bytes);
    let mut built = ChallengeMessage::new(m.flags, m.server_challenge);
    built.target_name = WireString::Utf16(&server);
    built.target_info = Some(ti);
    built.version = Some(Version::WINDOWS_VISTA);
    assert_eq!(built.encode(), bytes);
    assert_eq!(built, m);
}

#[test]
fn ntlmv2_authenticate_4_2_4() {
    let v = Vectors::nlmp();
    let bytes = v.hex("ntlmv2.authenticate_message");
    let m = AuthenticateMessage::decode(&bytes).unwrap();
    assert_eq!(m.flags, NegotiateFlags::from_bits(0xe288_8235));
    assert_eq!(m.lm_challenge_response, v.hex("ntlmv2.lmv2_response"));
    assert_eq!(m.nt_challenge_response, v.hex("ntlmv2.nt_response"));
    assert_eq!(
        m.encrypted_random_session_key,
        v.hex("ntlmv2.encrypted_session_key")
    );
    check_auth_names(&m, &v);
    assert_eq!(m.encode(), bytes);

    let r = NtlmV2Response::decode(m.nt_challenge_response).unwrap();
    assert_eq!(r.nt_proof_str, v.arr::<16>("ntlmv2.nt_proof_str"));
    assert_eq!(r.blob, &m.nt_challenge_response[16..]);
    assert_eq!(r.resp_type, 1);
    assert_eq!(r.hi_resp_type, 1);
    assert_eq!(r.timestamp, u64::from_le_bytes(v.arr::<8>("inputs.time")));
    assert_eq!(r.timestamp, 0);
    assert_eq!(r.client_challenge, v.arr::<8>("inputs.client_challenge"));
    assert_eq!(r.av_pairs.as_bytes(), v.hex("ntlmv2.target_info"));
    let domain = u16s("Domain");
    let server = u16s("Server");
    assert_eq!(
        r.av_pairs.iter().collect::<Vec<_>>(),
        [
            AvPair::NbDomainName(WireString::Utf16(&domain)),
            AvPair::NbComputerName(WireString::Utf16(&server)),
        ]
    );
    assert_eq!(
        NtlmV2Response::encode_blob(0, [0xaa; 8], r.av_pairs.as_bytes()),
        r.blob
    );

    // Rebuilt with the constructor, the canonical layout is Windows' layout.
    let mut built = AuthenticateMessage::new(m.flags);
    built.lm_challenge_response = m.lm_challenge_response;
    built.nt_challenge_response = m.nt_challenge_response;
    built.domain_name = WireString::Utf16(&domain);
    let user = u16s("User");
    let ws = u16s("COMPUTER");
    built.user_name = WireString::Utf16(&user);
    built.workstation = WireString::Utf16(&ws);
    built.encrypted_random_session_key = m.encrypted_random_session_key;
    built.version = Some(Version::WINDOWS_XP);
    assert_eq!(built.encode(), bytes);
    assert_eq!(built, m);
}

#[test]
fn negotiate_round_trip_and_canonical_layout() {
    let mut m = NegotiateMessage::new(
        NegotiateFlags::NEGOTIATE_UNICODE
            | NegotiateFlags::NEGOTIATE_OEM_DOMAIN_SUPPLIED
            | NegotiateFlags::NEGOTIATE_OEM_WORKSTATION_SUPPLIED
            | NegotiateFlags::NEGOTIATE_VERSION,
    );
    m.domain_name = b"DOMAIN";
    m.workstation = b"COMPUTER";
    m.version = Some(Version::WINDOWS_10);
    let bytes = m.encode();
    assert_eq!(&bytes[..8], b"NTLMSSP\0");
    assert_eq!(bytes.len(), 40 + 6 + 8);
    // DomainNameFields: len 6, maxlen 6, offset 40; WorkstationFields at 46.
    assert_eq!(
        &bytes[16..32],
        &[6, 0, 6, 0, 40, 0, 0, 0, 8, 0, 8, 0, 46, 0, 0, 0]
    );
    assert_eq!(&bytes[32..40], &[10, 0, 0x61, 0x4a, 0, 0, 0, 15]);
    let d = NegotiateMessage::decode(&bytes).unwrap();
    assert_eq!(d, m);
    assert_eq!(d.encode(), bytes);
    assert_eq!(message_type(&bytes), Ok(1));
}

#[test]
fn windows_style_empty_fields_with_offsets_round_trip() {
    // A NEGOTIATE as Windows sends it: no names, both fields empty with offset 0x28,
    // VERSION present.
    let bytes: Vec<u8> = [
        &b"NTLMSSP\0"[..],
        &[1, 0, 0, 0],
        &0xe208_82b7u32.to_le_bytes(),
        &[0, 0, 0, 0, 0x28, 0, 0, 0],
        &[0, 0, 0, 0, 0x28, 0, 0, 0],
        &Version::WINDOWS_10.encode(),
    ]
    .concat();
    let m = NegotiateMessage::decode(&bytes).unwrap();
    assert_eq!(m.version, Some(Version::WINDOWS_10));
    assert!(m.domain_name.is_empty() && m.workstation.is_empty());
    assert_eq!(m.encode(), bytes);

    // An AUTHENTICATE with a MIC and an empty workstation whose offset is not canonical.
    let v = Vectors::nlmp();
    let nt = v.hex("ntlmv2.nt_response");
    let lm = [0u8; 24];
    let user = utf16le("User");
    let mut a = AuthenticateMessage::new(NegotiateFlags::from_bits(0xe288_8235));
    a.nt_challenge_response = &nt;
    a.lm_challenge_response = &lm;
    a.user_name = WireString::Utf16(&user);
    a.version = Some(Version::WINDOWS_10);
    a.mic = Some([0x11; 16]);
    let mut bytes = a.encode();
    assert_eq!(a.mic_offset(), Some(72));
    assert_eq!(&bytes[72..88], &[0x11; 16]);
    // Move WorkstationFields' offset to the end of the message.
    let end = bytes.len() as u32;
    bytes[48..52].copy_from_slice(&end.to_le_bytes());
    let d = AuthenticateMessage::decode(&bytes).unwrap();
    assert_eq!(d, a);
    assert_eq!(d.mic, Some([0x11; 16]));
    assert_eq!(d.mic_offset(), Some(72));
    assert_eq!(d.encode(), bytes);
}

#[test]
fn max_len_and_trailing_zeros_are_kept() {
    let v = Vectors::nlmp();
    let mut bytes = v.hex("ntlmv2.authenticate_message");
    // UserNameFields.MaxLen 0x20 instead of 8, and four zero bytes after the payload.
    bytes[38..40].copy_from_slice(&0x20u16.to_le_bytes());
    bytes.extend_from_slice(&[0; 4]);
    let m = AuthenticateMessage::decode(&bytes).unwrap();
    assert_eq!(m.user_name.to_string_lossy(), "User");
    assert_eq!(m.encode(), bytes);
    // Changing a field's length falls back to the canonical layout.
    let longer = utf16le("Users");
    let mut m2 = m.clone();
    m2.user_name = WireString::Utf16(&longer);
    let e = m2.encode();
    assert_eq!(&e[36..44], &[10, 0, 10, 0, 0x54, 0, 0, 0]);
    assert_eq!(AuthenticateMessage::decode(&e).unwrap(), m2);
}

#[test]
fn client_echo_of_target_info() {
    let v = Vectors::nlmp();
    let ti_bytes = v.hex("ntlmv2.target_info");
    let ti = TargetInfo::decode(&ti_bytes).unwrap();
    let mut b = TargetInfoBuilder::from_target_info(&ti);
    assert_eq!(b.encode(), ti_bytes);
    b.set(AvPair::Timestamp(0x01d0_0000_0000_0000));
    b.set(AvPair::Flags(ntlm::wire::AvFlags::MIC_PRESENT));
    let spn = utf16le("cifs/Server");
    b.set(AvPair::TargetName(WireString::Utf16(&spn)));
    b.set(AvPair::Timestamp(7)); // replaced in place
    let out = b.encode();
    let echo = TargetInfo::decode(&out).unwrap();
    assert_eq!(echo.timestamp(), Some(7));
    assert_eq!(echo.flags(), Some(ntlm::wire::AvFlags::MIC_PRESENT));
    assert_eq!(echo.target_name(), Some(WireString::Utf16(&spn)));
    let ids: Vec<u16> = echo.iter().map(|p| p.id()).collect();
    assert_eq!(ids, [2, 1, 7, 6, 9]);
    b.remove(AvId::Timestamp as u16);
    assert_eq!(TargetInfo::decode(&b.encode()).unwrap().timestamp(), None);
    assert_eq!(TargetInfo::empty().as_bytes(), [0, 0, 0, 0]);
    assert_eq!(TargetInfoBuilder::new().encode(), [0, 0, 0, 0]);
}
