#![no_main]
//! The sans-IO HTTP authentication state machines end to end, on one connection:
//!
//! * first byte even: a `ServerAuth` (NTLM and Negotiate offered, deterministic challenge) fed
//!   one `Authorization` value per line; it serves only CORP\alice, and every challenge
//!   header it sends names a scheme it offers;
//! * first byte odd: a `ClientAuth` fed one response per line (`1` 401 kept alive, `3` 401
//!   closing, `7` 407, anything else 200, then the `WWW-Authenticate` value); every header it
//!   asks to send names its scheme, and after it stops it stays stopped.
use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use ntlm::http::auth::{
    ClientAuth, ClientAuthOptions, ClientStep, ServerAuth, ServerAuthOptions, ServerDecision,
};

#[path = "common.rs"]
mod common;

const MAX_STEPS: usize = 8;

fn server(lines: &[&[u8]]) {
    let config = common::server_config();
    let mut server = ServerAuth::new(Arc::clone(&config), ServerAuthOptions::default());
    for line in lines.iter().take(MAX_STEPS) {
        let values: &[&[u8]] = if line.is_empty() {
            &[]
        } else {
            std::slice::from_ref(line)
        };
        match server.on_request(values, common::now()) {
            ServerDecision::Serve { principal, .. } => {
                assert_eq!(principal.user, "alice");
                assert_eq!(server.principal().map(|p| p.user.as_str()), Some("alice"));
            }
            ServerDecision::Challenge {
                status, headers, ..
            } => {
                assert_eq!(status, 401);
                assert!(!headers.is_empty());
                for (name, value) in &headers {
                    assert_eq!(*name, "WWW-Authenticate");
                    assert!(
                        value.starts_with("NTLM") || value.starts_with("Negotiate"),
                        "{value}"
                    );
                }
            }
        }
    }
}

fn client(lines: &[&[u8]]) {
    let mut client = ClientAuth::new(
        common::client_config(3, "Secret1"),
        ClientAuthOptions::default(),
    );
    let mut stopped = false;
    for line in lines.iter().take(MAX_STEPS) {
        let (code, value) = line.split_first().unwrap_or((&b'2', &[]));
        let (status, kept_alive) = match code {
            b'1' => (401, true),
            b'3' => (401, false),
            b'7' => (407, true),
            _ => (200, true),
        };
        let values: &[&[u8]] = if value.is_empty() {
            &[]
        } else {
            std::slice::from_ref(&value)
        };
        match client.on_response(status, values, kept_alive, common::now()) {
            Ok(ClientStep::Authorize { name, value }) => {
                assert!(!stopped, "a stopped handshake went on");
                assert!(name == "Authorization" || name == "Proxy-Authorization");
                assert!(
                    value.starts_with("NTLM ") || value.starts_with("Negotiate "),
                    "{value}"
                );
            }
            Ok(ClientStep::Done(_)) | Err(_) => stopped = true,
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let lines: Vec<&[u8]> = rest.split(|b| *b == b'\n').collect();
    if which & 1 == 0 {
        server(&lines);
    } else {
        client(&lines);
    }
});
