#![no_main]
//! A server context that issued a real CHALLENGE (to a level-3 client's NEGOTIATE) fed an
//! arbitrary AUTHENTICATE: never panics; a logon, if any, is alice's (the only user).
use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use ntlm::server::ServerConfig;

#[path = "common.rs"]
mod common;

static CONFIG: OnceLock<Arc<ServerConfig>> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let config = CONFIG.get_or_init(common::server_config);
    let (_, _, mut server) = common::challenged_server(config, 3);
    if let Ok(logon) = server.accept(data, common::now()) {
        assert!(logon.user == "alice" || logon.user.is_empty());
    }
});
