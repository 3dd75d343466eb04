#![no_main]
//! A client context (level from the first byte) fed an arbitrary CHALLENGE: never panics, and
//! any AUTHENTICATE it produces decodes.
use libfuzzer_sys::fuzz_target;
use ntlm::client::ClientContext;
use ntlm::wire::AuthenticateMessage;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let Some((&level, challenge)) = data.split_first() else {
        return;
    };
    let mut client = ClientContext::new(common::client_config(level, "Secret1"));
    let _ = client.negotiate().expect("negotiate");
    if let Ok(auth) = client.authenticate(challenge, common::now()) {
        AuthenticateMessage::decode(&auth).expect("our own AUTHENTICATE decodes");
        let est = client.established().expect("done");
        let _ = est.flags();
    }
});
