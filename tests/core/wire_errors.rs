//! Every decode error, produced from MS-NLMP §4.2 messages mutated.

use crate::common;

use common::Vectors;
use ntlm::wire::{
    message_type, utf16le, AuthenticateMessage, AvPair, ChallengeMessage, NegotiateFlags,
    NegotiateMessage, NtlmV2Response, TargetInfo, WireString, MAX_NAME_LEN,
    MAX_NT_CHALLENGE_RESPONSE_LEN, MAX_TARGET_INFO_LEN,
};
use ntlm::{DecodeError, DecodeErrorKind as K};

fn auth() -> Vec<u8> {
    Vectors::nlmp().hex("ntlmv2.authenticate_message")
}

fn chal() -> Vec<u8> {
    Vectors::nlmp().hex("ntlmv2.challenge_message")
}

fn put16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_le_bytes());
}

fn put32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

fn err(field: &'static str, offset: usize, kind: K) -> DecodeError {
    DecodeError::new(field, offset, kind)
}

// AUTHENTICATE §4.2.4 descriptor positions.
const LM_DESC: usize = 12;
const NT_DESC: usize = 20;
const USER_DESC: usize = 36;
const WS_DESC: usize = 44;
const KEY_DESC: usize = 52;

#[test]
fn truncated_header() {
    let b = chal();
    assert_eq!(
        ChallengeMessage::decode(&b[..30]),
        Err(err(
            "ServerChallenge",
            24,
            K::Truncated {
                needed: 8,
                available: 6
            }
        ))
    );
    assert_eq!(
        AuthenticateMessage::decode(&auth()[..5]),
        Err(err(
            "Signature",
            0,
            K::Truncated {
                needed: 8,
                available: 5
            }
        ))
    );
    assert_eq!(
        message_type(&b[..10]),
        Err(err(
            "MessageType",
            8,
            K::Truncated {
                needed: 4,
                available: 2
            }
        ))
    );
    // A NEGOTIATE cut inside WorkstationFields.
    let n = NegotiateMessage::new(NegotiateFlags::NEGOTIATE_UNICODE).encode();
    assert_eq!(
        NegotiateMessage::decode(&n[..26]),
        Err(err(
            "WorkstationFields",
            26,
            K::Truncated {
                needed: 2,
                available: 0
            }
        ))
    );
}

#[test]
fn truncated_field_past_end() {
    // The message ends inside the EncryptedRandomSessionKey payload.
    let b = auth();
    let cut = &b[..b.len() - 1];
    assert_eq!(
        AuthenticateMessage::decode(cut),
        Err(err(
            "EncryptedRandomSessionKeyFields",
            0xd8,
            K::OutOfBounds {
                len: 16,
                message_len: cut.len()
            }
        ))
    );
}

#[test]
fn bad_signature() {
    let mut b = auth();
    b[0] = b'X';
    assert_eq!(
        AuthenticateMessage::decode(&b),
        Err(err("Signature", 0, K::BadSignature))
    );
    assert_eq!(message_type(&b), Err(err("Signature", 0, K::BadSignature)));
}

#[test]
fn wrong_message_type() {
    assert_eq!(
        AuthenticateMessage::decode(&chal()),
        Err(err(
            "MessageType",
            8,
            K::WrongMessageType {
                expected: 3,
                found: 2
            }
        ))
    );
    assert_eq!(
        ChallengeMessage::decode(&auth()),
        Err(err(
            "MessageType",
            8,
            K::WrongMessageType {
                expected: 2,
                found: 3
            }
        ))
    );
    let mut b = auth();
    put32(&mut b, 8, 4);
    assert_eq!(
        message_type(&b),
        Err(err("MessageType", 8, K::UnknownMessageType { found: 4 }))
    );
}

#[test]
fn field_past_end() {
    let mut b = auth();
    let len = b.len();
    put32(&mut b, NT_DESC + 4, len as u32 - 0x40);
    assert_eq!(
        AuthenticateMessage::decode(&b),
        Err(err(
            "NtChallengeResponseFields",
            len - 0x40,
            K::OutOfBounds {
                len: 0x54,
                message_len: len
            }
        ))
    );
}

#[test]
fn field_offset_overflows() {
    let mut b = auth();
    let len = b.len();
    put32(&mut b, NT_DESC + 4, u32::MAX);
    assert_eq!(
        AuthenticateMessage::decode(&b),
        Err(err(
            "NtChallengeResponseFields",
            u32::MAX as usize,
            K::OutOfBounds {
                len: 0x54,
                message_len: len
            }
        ))
    );
    // An empty field must not point past the end either (encode could not reproduce it).
    let mut b = chal();
    put16(&mut b, 12, 0);
    put32(&mut b, 16, 0x1000);
    assert_eq!(
        ChallengeMessage::decode(&b),
        Err(err(
            "TargetNameFields",
            0x1000,
            K::OutOfBounds {
                len: 0,
                message_len: b.len()
            }
        ))
    );
}

/// A NEGOTIATE with DomainName "DOMAIN" at 32..38 and Workstation "WS" at 38..40.
fn nego() -> Vec<u8> {
    let mut m = NegotiateMessage::new(
        NegotiateFlags::NEGOTIATE_OEM_DOMAIN_SUPPLIED
            | NegotiateFlags::NEGOTIATE_OEM_WORKSTATION_SUPPLIED,
    );
    m.domain_name = b"DOMAIN";
    m.workstation = b"WS";
    m.encode()
}

// NEGOTIATE §2.2.1.1 descriptor positions.
const N_DOMAIN_DESC: usize = 16;
const N_WS_DESC: usize = 24;

#[test]
fn negotiate_field_past_end() {
    let mut b = nego();
    assert_eq!(b.len(), 40);
    // Workstation starting at the message end, then straddling it.
    for at in [40, 39] {
        put32(&mut b, N_WS_DESC + 4, at);
        assert_eq!(
            NegotiateMessage::decode(&b),
            Err(err(
                "WorkstationFields",
                at as usize,
                K::OutOfBounds {
                    len: 2,
                    message_len: 40
                }
            ))
        );
    }
    // An empty field may sit at the end, not past it.
    let mut b = nego();
    put16(&mut b, N_WS_DESC, 0);
    put32(&mut b, N_WS_DESC + 4, 41);
    assert_eq!(
        NegotiateMessage::decode(&b),
        Err(err(
            "WorkstationFields",
            41,
            K::OutOfBounds {
                len: 0,
                message_len: 40
            }
        ))
    );
}

#[test]
fn negotiate_length_overflow() {
    // BufferOffset + Len past u32::MAX (and past usize::MAX on 32-bit targets).
    for at in [u32::MAX - 1, u32::MAX] {
        let mut b = nego();
        put32(&mut b, N_DOMAIN_DESC + 4, at);
        assert_eq!(
            NegotiateMessage::decode(&b),
            Err(err(
                "DomainNameFields",
                at as usize,
                K::OutOfBounds {
                    len: 6,
                    message_len: 40
                }
            ))
        );
    }
    // Len 0xffff from inside the message.
    let mut b = nego();
    put16(&mut b, N_DOMAIN_DESC, u16::MAX);
    assert_eq!(
        NegotiateMessage::decode(&b),
        Err(err(
            "DomainNameFields",
            32,
            K::OutOfBounds {
                len: 0xffff,
                message_len: 40
            }
        ))
    );
}

#[test]
fn negotiate_fields_overlap() {
    // Workstation inside DomainName.
    let mut b = nego();
    put32(&mut b, N_WS_DESC + 4, 36);
    assert_eq!(
        NegotiateMessage::decode(&b),
        Err(err(
            "WorkstationFields",
            36,
            K::FieldsOverlap {
                other: "DomainNameFields",
                other_offset: 32
            }
        ))
    );
    // Both at the same offset.
    put32(&mut b, N_WS_DESC + 4, 32);
    assert_eq!(
        NegotiateMessage::decode(&b),
        Err(err(
            "WorkstationFields",
            32,
            K::FieldsOverlap {
                other: "DomainNameFields",
                other_offset: 32
            }
        ))
    );
    // Into the 32-byte fixed header.
    let mut b = nego();
    put32(&mut b, N_DOMAIN_DESC + 4, 28);
    assert_eq!(
        NegotiateMessage::decode(&b),
        Err(err(
            "DomainNameFields",
            28,
            K::OverlapsHeader { header_len: 32 }
        ))
    );
}

#[test]
fn negotiate_wrong_message_type() {
    assert_eq!(
        NegotiateMessage::decode(&chal()),
        Err(err(
            "MessageType",
            8,
            K::WrongMessageType {
                expected: 1,
                found: 2
            }
        ))
    );
    let mut b = nego();
    put32(&mut b, 8, 3);
    assert_eq!(
        NegotiateMessage::decode(&b),
        Err(err(
            "MessageType",
            8,
            K::WrongMessageType {
                expected: 1,
                found: 3
            }
        ))
    );
    assert_eq!(
        ChallengeMessage::decode(&nego()),
        Err(err(
            "MessageType",
            8,
            K::WrongMessageType {
                expected: 2,
                found: 1
            }
        ))
    );
}

#[test]
fn field_overlaps_header() {
    let mut b = auth();
    put32(&mut b, USER_DESC + 4, 0x20);
    assert_eq!(
        AuthenticateMessage::decode(&b),
        Err(err(
            "UserNameFields",
            0x20,
            K::OverlapsHeader { header_len: 64 }
        ))
    );
    let mut b = chal();
    put32(&mut b, 16, 40);
    assert_eq!(
        ChallengeMessage::decode(&b),
        Err(err(
            "TargetNameFields",
            40,
            K::OverlapsHeader { header_len: 48 }
        ))
    );
}

#[test]
fn fields_overlap() {
    let mut b = auth();
    // UserName onto DomainName.
    put32(&mut b, USER_DESC + 4, 0x48);
    assert_eq!(
        AuthenticateMessage::decode(&b),
        Err(err(
            "UserNameFields",
            0x48,
            K::FieldsOverlap {
                other: "DomainNameFields",
                other_offset: 0x48
            }
        ))
    );
    // Partial overlap: Workstation's last byte is the LM response's first.
    let mut b = auth();
    put32(&mut b, WS_DESC + 4, 0x5d);
    assert_eq!(
        AuthenticateMessage::decode(&b),
        Err(err(
            "WorkstationFields",
            0x5d,
            K::FieldsOverlap {
                other: "LmChallengeResponseFields",
                other_offset: 0x6c
            }
        ))
    );
}

#[test]
fn odd_utf16_length() {
    let mut b = auth();
    put16(&mut b, USER_DESC, 7);
    put16(&mut b, USER_DESC + 2, 7);
    assert_eq!(
        AuthenticateMessage::decode(&b),
        Err(err("UserNameFields", 0x54, K::OddUtf16Length { len: 7 }))
    );
    // Without NTLMSSP_NEGOTIATE_UNICODE the same bytes are an OEM string.
    let flags = u32::from_le_bytes(b[60..64].try_into().unwrap()) & !1;
    put32(&mut b, 60, flags);
    let m = AuthenticateMessage::decode(&b).unwrap();
    assert!(matches!(m.user_name, WireString::Oem(s) if s.len() == 7));

    let mut c = chal();
    put16(&mut c, 12, 11);
    assert_eq!(
        ChallengeMessage::decode(&c),
        Err(err("TargetNameFields", 0x38, K::OddUtf16Length { len: 11 }))
    );
    // An AV pair name is always UTF-16.
    let ti = [1, 0, 3, 0, b'a', 0, b'b', 0, 0, 0, 0];
    assert_eq!(
        TargetInfo::decode(&ti),
        Err(err("MsvAvNbComputerName", 4, K::OddUtf16Length { len: 3 }))
    );
}

#[test]
fn av_list_without_eol() {
    // Cut the MsvAvEOL off the CHALLENGE's TargetInfo; offsets are message offsets.
    let mut b = chal();
    put16(&mut b, 40, 0x20);
    assert_eq!(
        ChallengeMessage::decode(&b),
        Err(err("MsvAvEOL", 0x44 + 0x20, K::MissingEol))
    );
    assert_eq!(
        TargetInfo::decode(&[]),
        Err(err("MsvAvEOL", 0, K::MissingEol))
    );
    // Two bytes left where a pair header is expected.
    assert_eq!(
        TargetInfo::decode(&[0, 0]),
        Err(err(
            "AvLen",
            2,
            K::Truncated {
                needed: 2,
                available: 0
            }
        ))
    );
    // A pair whose AvLen runs past the end.
    assert_eq!(
        TargetInfo::decode(&[7, 0, 8, 0, 1, 2, 3]),
        Err(err(
            "MsvAvTimestamp",
            4,
            K::Truncated {
                needed: 8,
                available: 3
            }
        ))
    );
}

#[test]
fn eol_with_length() {
    let ti = [0, 0, 4, 0, 0, 0, 0, 0];
    assert_eq!(
        TargetInfo::decode(&ti),
        Err(err("MsvAvEOL", 0, K::EolNonZeroLength { len: 4 }))
    );
    let v = Vectors::nlmp();
    let mut nt = v.hex("ntlmv2.nt_response");
    // The EOL of the blob's AV list sits 8 bytes before the end (EOL, then Z(4)).
    let eol = nt.len() - 8;
    put16(&mut nt, eol + 2, 4);
    assert_eq!(
        NtlmV2Response::decode(&nt),
        Err(err("MsvAvEOL", eol, K::EolNonZeroLength { len: 4 }))
    );
}

#[test]
fn av_pair_wrong_length() {
    let cases: [(&[u8], &str, usize, &[usize]); 3] = [
        (&[6, 0, 3, 0, 1, 2, 3, 0, 0, 0, 0], "MsvAvFlags", 3, &[4]),
        (
            &[7, 0, 7, 0, 1, 2, 3, 4, 5, 6, 7, 0, 0, 0, 0],
            "MsvAvTimestamp",
            7,
            &[8],
        ),
        (
            &[
                10, 0, 15, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            ],
            "MsvAvChannelBindings",
            15,
            &[16],
        ),
    ];
    for (bytes, field, found, allowed) in cases {
        assert_eq!(
            TargetInfo::decode(bytes),
            Err(err(field, 4, K::UnexpectedLength { found, allowed })),
            "{field}"
        );
    }
}

#[test]
fn duplicate_known_av_pair() {
    let flags = [6, 0, 4, 0, 2, 0, 0, 0];
    let ts = [7, 0, 8, 0, 1, 0, 0, 0, 0, 0, 0, 0];
    let eol = [0, 0, 0, 0];
    let two_flags = [&flags[..], &flags, &eol].concat();
    assert_eq!(
        TargetInfo::decode(&two_flags),
        Err(err("MsvAvFlags", 8, K::DuplicateAvPair { id: 6 }))
    );
    let two_ts = [&ts[..], &flags, &ts, &eol].concat();
    assert_eq!(
        TargetInfo::decode(&two_ts),
        Err(err("MsvAvTimestamp", 20, K::DuplicateAvPair { id: 7 }))
    );
    // Unknown ids may repeat.
    let unknown = [0x34, 0x12, 1, 0, 9];
    let ok = [&unknown[..], &unknown, &flags, &eol].concat();
    let ti = TargetInfo::decode(&ok).unwrap();
    assert_eq!(
        ti.iter().collect::<Vec<_>>(),
        [
            AvPair::Unknown {
                id: 0x1234,
                value: &[9]
            },
            AvPair::Unknown {
                id: 0x1234,
                value: &[9]
            },
            AvPair::Flags(ntlm::wire::AvFlags::MIC_PRESENT),
        ]
    );
}

#[test]
fn trailing_bytes_after_eol() {
    let ti = [0, 0, 0, 0, 0];
    assert_eq!(
        TargetInfo::decode(&ti),
        Err(err("MsvAvEOL", 4, K::TrailingBytes { count: 1 }))
    );
    // In a CHALLENGE, TargetInfoFields must end at MsvAvEOL.
    let v = Vectors::nlmp();
    let mut b = chal();
    b.extend_from_slice(&[0, 0]);
    put16(&mut b, 40, 0x26);
    assert_eq!(
        ChallengeMessage::decode(&b),
        Err(err("MsvAvEOL", 0x44 + 0x24, K::TrailingBytes { count: 2 }))
    );
    // In an NTLMv2 blob, padding after the list is fine.
    assert!(NtlmV2Response::decode(&v.hex("ntlmv2.nt_response")).is_ok());
}

#[test]
fn name_too_long() {
    let long = vec![b'a'; MAX_NAME_LEN + 2];
    let mut m = AuthenticateMessage::new(NegotiateFlags::NEGOTIATE_UNICODE);
    m.workstation = WireString::Utf16(&long);
    let b = m.encode();
    assert_eq!(
        AuthenticateMessage::decode(&b),
        Err(err(
            "WorkstationFields",
            64,
            K::TooLong {
                len: MAX_NAME_LEN + 2,
                max: MAX_NAME_LEN
            }
        ))
    );
    let mut c = ChallengeMessage::new(NegotiateFlags::EMPTY, [0; 8]);
    c.target_name = WireString::Oem(&long);
    assert_eq!(
        ChallengeMessage::decode(&c.encode()),
        Err(err(
            "TargetNameFields",
            48,
            K::TooLong {
                len: MAX_NAME_LEN + 2,
                max: MAX_NAME_LEN
            }
        ))
    );
    let mut n = NegotiateMessage::new(NegotiateFlags::EMPTY);
    n.domain_name = &long;
    assert_eq!(
        NegotiateMessage::decode(&n.encode()),
        Err(err(
            "DomainNameFields",
            32,
            K::TooLong {
                len: MAX_NAME_LEN + 2,
                max: MAX_NAME_LEN
            }
        ))
    );
}

#[test]
fn target_info_and_nt_response_too_long() {
    let big = vec![0u8; MAX_TARGET_INFO_LEN + 1];
    let mut b = chal();
    b.truncate(0x44);
    b.extend_from_slice(&big);
    put16(&mut b, 40, big.len() as u16);
    assert_eq!(
        ChallengeMessage::decode(&b),
        Err(err(
            "TargetInfoFields",
            0x44,
            K::TooLong {
                len: MAX_TARGET_INFO_LEN + 1,
                max: MAX_TARGET_INFO_LEN
            }
        ))
    );
    let nt = vec![0u8; MAX_NT_CHALLENGE_RESPONSE_LEN + 1];
    let mut m = AuthenticateMessage::new(NegotiateFlags::NEGOTIATE_UNICODE);
    m.nt_challenge_response = &nt;
    assert_eq!(
        AuthenticateMessage::decode(&m.encode()),
        Err(err(
            "NtChallengeResponseFields",
            64,
            K::TooLong {
                len: MAX_NT_CHALLENGE_RESPONSE_LEN + 1,
                max: MAX_NT_CHALLENGE_RESPONSE_LEN
            }
        ))
    );
}

#[test]
fn lm_response_and_session_key_lengths() {
    let mut b = auth();
    put16(&mut b, LM_DESC, 23);
    assert_eq!(
        AuthenticateMessage::decode(&b),
        Err(err(
            "LmChallengeResponseFields",
            0x6c,
            K::UnexpectedLength {
                found: 23,
                allowed: &[0, 1, 24]
            }
        ))
    );
    let mut b = auth();
    put16(&mut b, KEY_DESC, 15);
    assert_eq!(
        AuthenticateMessage::decode(&b),
        Err(err(
            "EncryptedRandomSessionKeyFields",
            0xd8,
            K::UnexpectedLength {
                found: 15,
                allowed: &[0, 16]
            }
        ))
    );
    // Anonymous: LM = Z(1), everything else empty.
    let z = [0u8];
    let mut m = AuthenticateMessage::new(NegotiateFlags::ANONYMOUS);
    m.lm_challenge_response = &z;
    assert_eq!(AuthenticateMessage::decode(&m.encode()), Ok(m));
}

#[test]
fn ntlmv2_response_too_short() {
    let nt = Vectors::nlmp().hex("ntlmv2.nt_response");
    assert_eq!(
        NtlmV2Response::decode(&nt[..43]),
        Err(err(
            "NtChallengeResponse",
            0,
            K::Truncated {
                needed: 44,
                available: 43
            }
        ))
    );
    // 44 bytes: no room for the MsvAvEOL.
    assert_eq!(
        NtlmV2Response::decode(&nt[..44]),
        Err(err("MsvAvEOL", 44, K::MissingEol))
    );
}

#[test]
fn ntlmv2_response_bad_resp_type() {
    let mut nt = Vectors::nlmp().hex("ntlmv2.nt_response");
    nt[16] = 2;
    assert_eq!(
        NtlmV2Response::decode(&nt),
        Err(err(
            "RespType",
            16,
            K::UnexpectedValue {
                found: 2,
                expected: 1
            }
        ))
    );
}

#[test]
fn errors_display_field_and_offset() {
    let e = TargetInfo::decode(&[]).unwrap_err();
    assert_eq!(e.to_string(), "MsvAvEOL at offset 0: MissingEol");
    let s = utf16le("x");
    assert_eq!(WireString::Utf16(&s).to_string_lossy(), "x");
}

#[test]
fn single_host_data_needs_48_bytes_and_its_own_size() {
    use ntlm::wire::SingleHostData;
    let mut value = [0u8; 52];
    value[..4].copy_from_slice(&52u32.to_le_bytes());
    value[8..16].copy_from_slice(&[1, 0, 0, 0, 0, 0x30, 0, 0]);
    let data = SingleHostData::decode(&value).unwrap();
    assert_eq!(data.custom_data, [1, 0, 0, 0, 0, 0x30, 0, 0]);
    assert_eq!(data.rest, &[0u8; 4]);
    assert_eq!(
        SingleHostData::decode(&value[..47]).unwrap_err(),
        DecodeError::new(
            "MsvAvSingleHost",
            0,
            K::Truncated {
                needed: 48,
                available: 47
            }
        )
    );
    assert_eq!(
        SingleHostData::decode(&value[..48]).unwrap_err().kind,
        K::UnexpectedValue {
            found: 52,
            expected: 48
        }
    );
}
