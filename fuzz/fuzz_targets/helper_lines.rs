#![no_main]
//! The helpers' line protocol (src/bin/ntlm/helper.rs, included by path): any byte stream
//! gives exactly one reply line per request line, memory stays bounded (lines over the limit
//! are dropped), and the requests' base64 tokens reach a real server context as the
//! squid-helper feeds them.
use std::io::BufReader;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use libfuzzer_sys::fuzz_target;
use ntlm::guard::ReflectionGuard;
use ntlm::policy::{LmCompatibilityLevel, ServerPolicy};
use ntlm::server::{ServerConfig, ServerContext};
use ntlm::store::MemoryStore;

#[path = "../../src/bin/ntlm/helper.rs"]
#[allow(dead_code)]
mod helper;

fuzz_target!(|data: &[u8]| {
    let mut users = MemoryStore::new();
    users.add_password("CORP", "alice", "Secret1");
    let mut config = ServerConfig::new(ServerPolicy::domain_controller(LmCompatibilityLevel::L3), users);
    config.reflection_guard = Some(Arc::new(ReflectionGuard::new(Duration::from_secs(60))));
    let config = Arc::new(config);
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let mut pending: Option<ServerContext> = None;
    let mut out = Vec::new();
    let mut requests = 0usize;
    // A small reader buffer exercises lines split across reads.
    let input = BufReader::with_capacity(7, data);
    let result = helper::serve(input, &mut out, |line| {
        requests += 1;
        let (command, argument) = helper::split_request(line);
        let token = match helper::base64_decode(argument) {
            Ok(t) => t,
            Err(e) => return format!("BH {}", helper::one_line(&e)),
        };
        match command {
            b"YR" => {
                let mut server = ServerContext::new(config.clone());
                match server.challenge(&token, now) {
                    Ok(c) => {
                        pending = Some(server);
                        format!("TT {}", helper::base64_encode(&c))
                    }
                    Err(e) => format!("BH {}", helper::one_line(&e.to_string())),
                }
            }
            b"KK" => match pending.take() {
                Some(mut server) => match server.accept(&token, now) {
                    Ok(logon) => format!("AF {}\\{}", logon.domain, logon.user),
                    Err(r) => format!("NA {}", helper::one_line(&r.to_string())),
                },
                None => "BH KK without YR".into(),
            },
            other => format!("BH unknown request {}", helper::show(other)),
        }
    });
    assert!(result.is_ok());
    let replies = out.iter().filter(|b| **b == b'\n').count();
    // One reply per request, plus one per over-long line (answered without the handler).
    assert!(replies >= requests);
    assert!(out.is_empty() || out.ends_with(b"\n"));
});
