#![no_main]
//! SPNEGO (RFC 4178) token decoding: never panics, and what decodes re-encodes to a token that
//! decodes to the same value.
use libfuzzer_sys::fuzz_target;
use ntlm::http::spnego::NegotiationToken;

fuzz_target!(|data: &[u8]| {
    if let Ok(token) = NegotiationToken::decode(data) {
        let again = token.encode().expect("a decoded token re-encodes");
        assert_eq!(NegotiationToken::decode(&again).as_ref(), Ok(&token));
    }
});
