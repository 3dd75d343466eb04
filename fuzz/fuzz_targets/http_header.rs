#![no_main]
//! `WWW-Authenticate` / `Authorization` parsing: never panics on any bytes, several header
//! values at once, and respects its size limit.
use libfuzzer_sys::fuzz_target;
use ntlm::http::header::{decode_token, parse_challenges, parse_credentials};

fuzz_target!(|data: &[u8]| {
    let values: Vec<&[u8]> = data.split(|b| *b == b'\n').collect();
    if let Ok(challenges) = parse_challenges(&values, 4096) {
        for c in &challenges {
            let _ = c.token();
            if let Some(t) = &c.token68 {
                let _ = decode_token(t);
            }
        }
    }
    if let Ok(credentials) = parse_credentials(data, 4096) {
        assert!(!credentials.scheme.is_empty() || credentials.token.is_empty());
    }
    assert!(parse_credentials(&vec![b'a'; 5000], 4096).is_err());
});
