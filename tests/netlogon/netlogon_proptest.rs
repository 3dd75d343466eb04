//! Property tests of the NETLOGON codecs (issue 10): for arbitrary field values, decode
//! inverts encode; arbitrary bytes never panic a decoder, and what decodes re-encodes to
//! the same bytes (PDUs, towers, signatures).
#![cfg(feature = "netlogon")]

use ntlm::netlogon::epm::Tower;
use ntlm::netlogon::logon::SamLogonExResponse;
use ntlm::netlogon::pdu::{
    AuthVerifier, Bind, BindAck, Body, ContextElem, ContextResult, Fault, Pdu, Request, Response,
    SyntaxId, Uuid, DREP_LE,
};
use ntlm::netlogon::schannel::Sha2Signature;
use proptest::prelude::*;

fn syntax() -> impl Strategy<Value = SyntaxId> {
    (any::<[u8; 16]>(), any::<u16>(), any::<u16>()).prop_map(|(u, major, minor)| SyntaxId {
        uuid: Uuid(u),
        major,
        minor,
    })
}

proptest! {
    #[test]
    fn request_response_fault_round_trip(
        kind in 0u8..3, flags in any::<u8>(), call_id in any::<u32>(), hint in any::<u32>(),
        ctx in any::<u16>(), op in any::<u16>(), object in any::<Option<[u8; 16]>>(),
        stub in proptest::collection::vec(any::<u8>(), 0..300),
        auth in any::<Option<(u8, u8, u8, u32)>>(), value in proptest::collection::vec(any::<u8>(), 1..80),
    ) {
        let mut flags = flags & !0x80;
        let body = match kind {
            0 => {
                if object.is_some() { flags |= 0x80; }
                Body::Request(Request { alloc_hint: hint, context_id: ctx, opnum: op, object: object.map(Uuid), stub: &stub })
            }
            1 => Body::Response(Response { alloc_hint: hint, context_id: ctx, cancel_count: 0, reserved: 0, stub: &stub }),
            _ => Body::Fault(Fault { alloc_hint: hint, context_id: ctx, cancel_count: 1, reserved: 0, status: hint, rest: &stub }),
        };
        let auth = auth.map(|(t, l, pad, c)| AuthVerifier {
            auth_type: t, auth_level: l, pad_length: if kind == 2 { pad } else { pad.min(stub.len() as u8) }, reserved: 0, context_id: c, value: &value,
        });
        let pdu = Pdu { minor_version: 0, flags, drep: DREP_LE, call_id, body, auth };
        let bytes = pdu.encode();
        prop_assert_eq!(Pdu::decode(&bytes), Ok(pdu));
    }

    #[test]
    fn bind_and_ack_round_trip(
        contexts in proptest::collection::vec((any::<u16>(), syntax(), proptest::collection::vec(syntax(), 0..3)), 0..3),
        results in proptest::collection::vec((any::<u16>(), any::<u16>(), syntax()), 0..3),
        sec in proptest::collection::vec(any::<u8>(), 0..12), group in any::<u32>(),
    ) {
        let bind = Pdu { minor_version: 0, flags: 3, drep: DREP_LE, call_id: 7, body: Body::Bind(Bind {
            max_xmit_frag: 5840, max_recv_frag: 5840, assoc_group_id: group,
            contexts: contexts.into_iter().map(|(id, a, t)| ContextElem { context_id: id, abstract_syntax: a, transfer_syntaxes: t }).collect(),
            trailing: &[],
        }), auth: None };
        let bytes = bind.encode();
        prop_assert_eq!(Pdu::decode(&bytes), Ok(bind));
        let pad_len = (16 + 10 + sec.len()).wrapping_neg() & 3;
        let pad = vec![0u8; pad_len];
        let ack = Pdu { minor_version: 0, flags: 3, drep: DREP_LE, call_id: 7, body: Body::BindAck(BindAck {
            max_xmit_frag: 5840, max_recv_frag: 5840, assoc_group_id: group, sec_addr: &sec, sec_addr_pad: &pad,
            results: results.into_iter().map(|(r, why, t)| ContextResult { result: r, reason: why, transfer_syntax: t }).collect(),
            trailing: &[],
        }), auth: None };
        let bytes = ack.encode();
        prop_assert_eq!(Pdu::decode(&bytes), Ok(ack));
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        if let Ok(p) = Pdu::decode(&bytes) { prop_assert_eq!(p.encode(), bytes.clone()); }
        if let Ok(t) = Tower::decode(&bytes, 0) { prop_assert_eq!(t.encode(), bytes.clone()); }
        if let Ok(s) = Sha2Signature::decode(&bytes, 0) { prop_assert_eq!(s.encode(), bytes.clone()); }
        if let Ok(r) = SamLogonExResponse::decode(&bytes) {
            let again = r.encode();
            prop_assert_eq!(SamLogonExResponse::decode(&again), Ok(r));
        }
    }

    /// A PDU header that is valid with a body of random bytes: decode never panics.
    #[test]
    fn random_bodies(ptype in prop_oneof![Just(0u8), Just(2), Just(3), Just(11), Just(12), Just(13), Just(14), Just(15)],
                     body in proptest::collection::vec(any::<u8>(), 0..200), auth_len in 0u16..64) {
        let mut bytes = vec![5, 0, ptype, 3, 0x10, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0];
        bytes.extend_from_slice(&body);
        let len = bytes.len() as u16;
        bytes[8..10].copy_from_slice(&len.to_le_bytes());
        bytes[10..12].copy_from_slice(&auth_len.to_le_bytes());
        if let Ok(p) = Pdu::decode(&bytes) { prop_assert_eq!(p.encode(), bytes); }
    }
}
