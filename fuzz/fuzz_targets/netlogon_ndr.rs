#![no_main]
//! The NDR answers of a DC from arbitrary bytes: `ept_map`, NetrServerReqChallenge,
//! NetrServerAuthenticate3 and NetrLogonSamLogonEx responses, towers, NL_AUTH_MESSAGE and
//! NL_AUTH_SHA2_SIGNATURE. Decoders never panic; what decodes re-encodes to bytes that decode
//! to an equal value (and to the input itself where the encoding is canonical).
use libfuzzer_sys::fuzz_target;
use ntlm::netlogon::calls::{Authenticate3Response, ReqChallengeResponse};
use ntlm::netlogon::epm::{EptMapResponse, Tower};
use ntlm::netlogon::logon::SamLogonExResponse;
use ntlm::netlogon::schannel::{NlAuthMessage, Sha2Signature};

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    match which % 7 {
        0 => {
            if let Ok(r) = EptMapResponse::decode(rest) {
                let again = r.encode();
                assert_eq!(EptMapResponse::decode(&again), Ok(r));
            }
        }
        1 => {
            if let Ok(r) = SamLogonExResponse::decode(rest) {
                let again = r.encode();
                assert_eq!(SamLogonExResponse::decode(&again), Ok(r));
            }
        }
        2 => {
            if let Ok(r) = Authenticate3Response::decode(rest) {
                assert_eq!(r.encode(), rest);
            }
        }
        3 => {
            if let Ok(r) = ReqChallengeResponse::decode(rest) {
                assert_eq!(r.encode(), rest);
            }
        }
        4 => {
            if let Ok(t) = Tower::decode(rest, 0) {
                assert_eq!(t.encode(), rest);
            }
        }
        5 => {
            if let Ok(m) = NlAuthMessage::decode(rest, 0) {
                assert_eq!(m.encode(), rest);
            }
        }
        _ => {
            if let Ok(s) = Sha2Signature::decode(rest, 0) {
                assert_eq!(s.encode(), rest);
            }
        }
    }
});
