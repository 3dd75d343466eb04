#![no_main]
//! Session security on arbitrary bytes: `unseal` and `verify` never panic, and a failed unseal
//! leaves no plaintext. The first byte picks the negotiated flags, the next 16 are the
//! signature, the rest is the message.
use libfuzzer_sys::fuzz_target;
use ntlm::crypto::{SessionSecurity, Side};
use ntlm::{NegotiateFlags as F, SessionKey};

fn flags(b: u8) -> F {
    let mut f = F::NEGOTIATE_SIGN | F::NEGOTIATE_SEAL;
    for (bit, flag) in [
        F::NEGOTIATE_EXTENDED_SESSIONSECURITY,
        F::NEGOTIATE_KEY_EXCH,
        F::NEGOTIATE_128,
        F::NEGOTIATE_56,
        F::NEGOTIATE_LM_KEY,
        F::NEGOTIATE_DATAGRAM,
    ]
    .into_iter()
    .enumerate()
    {
        if b & (1 << bit) != 0 {
            f |= flag;
        }
    }
    f
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let (sig, message) = rest.split_at(rest.len().min(16));
    let f = flags(selector);
    let key = SessionKey::from_bytes([0x55; 16]);
    let mut server = SessionSecurity::new(f, &key, Side::Server);
    let mut m = message.to_vec();
    if server.unseal(&mut m, sig).is_err() {
        assert!(m.iter().all(|&b| b == 0));
        assert!(server.verify(message, sig).is_err());
    }
    let mut server = SessionSecurity::new(f, &key, Side::Server);
    let _ = server.verify(message, sig);

    // A real message in the same context still goes through, both ways.
    let mut client = SessionSecurity::new(f, &key, Side::Client);
    let mut server = SessionSecurity::new(f, &key, Side::Server);
    let mut sealed = message.to_vec();
    let s = client.seal(&mut sealed);
    server
        .unseal(&mut sealed, &s)
        .expect("genuine sealed message");
    assert_eq!(sealed, message);
    let s = server.sign(message);
    client.verify(message, &s).expect("genuine signature");
});
