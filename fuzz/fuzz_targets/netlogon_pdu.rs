#![no_main]
//! DCE/RPC PDUs (C706 §12.6) from arbitrary bytes: `Pdu::decode` never panics, a decoded PDU
//! encodes back to exactly its input, and `frame_length` agrees with the decoder.
use libfuzzer_sys::fuzz_target;
use ntlm::netlogon::channel::ResponseAssembler;
use ntlm::netlogon::pdu::{frame_length, Pdu};

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = Pdu::decode(data) {
        assert_eq!(p.encode(), data);
        assert_eq!(frame_length(data, 65535).ok(), Some(data.len()));
    }
    let mut asm = ResponseAssembler::new(1, 4096);
    for chunk in data.split(|&b| b == 0xfe).take(8) {
        match asm.push(chunk, None) {
            Ok(Some(stub)) => assert!(stub.len() <= 4096),
            Ok(None) => {}
            Err(_) => break,
        }
    }
});
