#![no_main]
//! AUTHENTICATE_MESSAGE decoding, with the NTLMv2 response inside it and classification:
//! never panics.
use libfuzzer_sys::fuzz_target;
use ntlm::classify::classify;
use ntlm::wire::{AuthenticateMessage, NtlmV2Response};

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = AuthenticateMessage::decode(data) {
        let _ = classify(&m);
        let _ = (
            m.user_name.to_string_lossy(),
            m.domain_name.to_string_lossy(),
        );
        let _ = m.workstation.to_string_lossy();
        if let Some(at) = m.mic_offset() {
            assert!(at + 16 <= data.len());
        }
        if let Ok(v2) = NtlmV2Response::decode(m.nt_challenge_response) {
            let _ = v2.av_pairs.iter().count();
            let _ = (v2.av_pairs.flags(), v2.av_pairs.timestamp());
            assert_eq!(v2.blob.len() + 16, m.nt_challenge_response.len());
        }
        let again = m.encode();
        assert_eq!(AuthenticateMessage::decode(&again).as_ref(), Ok(&m));
    }
});
