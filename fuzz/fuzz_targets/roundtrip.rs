#![no_main]
//! decode -> encode -> decode is the identity on every message a decoder accepts, and encode
//! gives back the input with only unreferenced bytes zeroed (the wire module's promise), so
//! an input whose unreferenced bytes are zero comes back byte for byte.
use libfuzzer_sys::fuzz_target;
use ntlm::wire::{message_type, AuthenticateMessage, ChallengeMessage, NegotiateMessage};

fn check(input: &[u8], encoded: &[u8]) {
    assert_eq!(encoded.len(), input.len(), "encode changed the length");
    for (i, (a, b)) in input.iter().zip(encoded).enumerate() {
        assert!(a == b || *b == 0, "byte {i}: {a:#04x} became {b:#04x}");
    }
}

fuzz_target!(|data: &[u8]| {
    match message_type(data) {
        Ok(1) => {
            if let Ok(m) = NegotiateMessage::decode(data) {
                let e = m.encode();
                check(data, &e);
                let m2 = NegotiateMessage::decode(&e).expect("re-decode");
                assert_eq!(m2, m);
                assert_eq!(m2.encode(), e);
            }
        }
        Ok(2) => {
            if let Ok(m) = ChallengeMessage::decode(data) {
                let e = m.encode();
                check(data, &e);
                let m2 = ChallengeMessage::decode(&e).expect("re-decode");
                assert_eq!(m2, m);
                assert_eq!(m2.encode(), e);
            }
        }
        Ok(3) => {
            if let Ok(m) = AuthenticateMessage::decode(data) {
                let e = m.encode();
                check(data, &e);
                let m2 = AuthenticateMessage::decode(&e).expect("re-decode");
                assert_eq!(m2, m);
                assert_eq!(m2.encode(), e);
                assert_eq!(m2.mic_offset(), m.mic_offset());
            }
        }
        _ => {}
    }
});
