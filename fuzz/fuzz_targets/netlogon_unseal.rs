#![no_main]
//! Schannel unsealing (MS-NRPC §3.3.4.2.2) on arbitrary bytes: never panics, never accepts
//! a message it did not seal; a sealed response PDU altered anywhere is refused by the
//! response assembler (except in the bytes no check covers), and the untouched one is
//! accepted.
use libfuzzer_sys::fuzz_target;
use ntlm::netlogon::channel::ResponseAssembler;
use ntlm::netlogon::credential::ChannelKey;
use ntlm::netlogon::pdu::{
    AuthVerifier, Body, Pdu, Response, DREP_LE, PFC_FIRST_FRAG, PFC_LAST_FRAG,
};
use ntlm::netlogon::schannel::Schannel;

const KEY: [u8; 16] = [0x42; 16];

fuzz_target!(|data: &[u8]| {
    // Arbitrary signature and message: refused (a forgery would need the key).
    let (sig, message) = data.split_at(data.len().min(56));
    let mut client = Schannel::new(ChannelKey::from_bytes(KEY), true);
    let mut m = message.to_vec();
    assert!(client.unseal(&mut m, sig).is_err());

    // A response the DC sealed, then one byte flipped by the input.
    let mut server = Schannel::new(ChannelKey::from_bytes(KEY), false);
    let mut client = Schannel::new(ChannelKey::from_bytes(KEY), true);
    let _ = server.seal(&mut [0u8; 16]); // the request the client sent (sequence 0)
    let _ = client.seal(&mut [0u8; 16]);
    let mut stub = message.iter().copied().take(512).collect::<Vec<u8>>();
    let pad = stub.len().wrapping_neg() & 15;
    stub.resize(stub.len() + pad, 0);
    let plain = stub.clone();
    let value = server.seal_with_confounder(&mut stub, [7; 8]);
    let pdu = Pdu {
        minor_version: 0,
        flags: PFC_FIRST_FRAG | PFC_LAST_FRAG,
        drep: DREP_LE,
        call_id: 5,
        body: Body::Response(Response {
            alloc_hint: 0,
            context_id: 0,
            cancel_count: 0,
            reserved: 0,
            stub: &stub,
        }),
        auth: Some(AuthVerifier {
            auth_type: 0x44,
            auth_level: 6,
            pad_length: pad as u8,
            reserved: 0,
            context_id: 1,
            value: &value,
        }),
    };
    let mut bytes = pdu.encode();
    // Bytes no check covers: the response's alloc_hint, context and cancel fields (before
    // 24), auth_reserved, and the signature's Flags and Reserved bytes ("ignored on
    // receipt", MS-NRPC §2.2.1.3.3).
    let sig_at = bytes.len() - value.len();
    let ignored = |i: usize| {
        i < 24 || i == sig_at - 5 || (sig_at + 6..sig_at + 8).contains(&i) || i >= sig_at + 32
    };
    let flip = sig.first().map(|&b| usize::from(b) * 7 % bytes.len());
    if flip == Some(sig_at - 6) {
        // auth_pad_length is not signed either: a change is refused or cuts less than 16
        // bytes of padding and message.
        bytes[sig_at - 6] ^= sig.get(1).copied().unwrap_or(1) | 1;
        let mut asm = ResponseAssembler::new(5, 4096);
        if let Ok(Some(out)) = asm.push(&bytes, Some(&mut client)) {
            assert!(out.len() + 16 > plain.len() && plain.starts_with(&out));
        }
    } else if let Some(i) = flip.filter(|&i| !ignored(i)) {
        bytes[i] ^= sig.get(1).copied().unwrap_or(1) | 1;
        let mut asm = ResponseAssembler::new(5, 4096);
        assert!(
            asm.push(&bytes, Some(&mut client)).is_err(),
            "altered byte {i} accepted"
        );
    } else {
        let mut asm = ResponseAssembler::new(5, 4096);
        let out = asm
            .push(&bytes, Some(&mut client))
            .expect("genuine response")
            .expect("last fragment");
        assert_eq!(out, message.iter().copied().take(512).collect::<Vec<u8>>());
    }
});
