#![no_main]
//! NEGOTIATE_MESSAGE decoding: never panics; whatever decodes also encodes.
use libfuzzer_sys::fuzz_target;
use ntlm::wire::NegotiateMessage;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = NegotiateMessage::decode(data) {
        let _ = format!("{m:?}");
        let again = m.encode();
        assert_eq!(NegotiateMessage::decode(&again).as_ref(), Ok(&m));
    }
});
