#![no_main]
//! The `ntlm` command's two helpers, as they run: the line protocol of
//! src/bin/ntlm/helper.rs driving the real `SquidHelper` (squid-2.5-ntlmssp, a server
//! context) or `ClientHelper` (ntlmssp-client-1, a client context), both included by path.
//! The first byte picks the helper; the rest is the byte stream on its stdin. Whatever it
//! is: exactly one reply line per input line, each starting with a reply code of that
//! protocol, memory bounded (over-long lines are dropped), and a squid-helper logon is
//! only ever alice's.
use std::io::BufReader;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use libfuzzer_sys::fuzz_target;
use ntlm::client::ClientConfig;
use ntlm::guard::ReflectionGuard;
use ntlm::policy::{LmCompatibilityLevel, ServerPolicy};
use ntlm::server::ServerConfig;
use ntlm::store::MemoryStore;
use ntlm::Password;

#[path = "../../src/bin/ntlm/args.rs"]
#[allow(dead_code)]
mod args;
#[path = "../../src/bin/ntlm/dc_args.rs"]
#[allow(dead_code)]
mod dc_args;
#[path = "../../src/bin/ntlm/client_helper.rs"]
#[allow(dead_code)]
mod client_helper;
#[path = "../../src/bin/ntlm/helper.rs"]
#[allow(dead_code)]
mod helper;
#[path = "../../src/bin/ntlm/squid.rs"]
#[allow(dead_code)]
mod squid;

/// What the helpers' `main` functions call on bad arguments (never reached here).
#[allow(dead_code)]
fn usage_error(_command: &str, _message: &str) -> ExitCode {
    ExitCode::from(2)
}

fn squid_helper() -> squid::SquidHelper {
    let mut users = MemoryStore::new();
    users.add_password("CORP", "alice", "Secret1");
    let mut config =
        ServerConfig::new(ServerPolicy::domain_controller(LmCompatibilityLevel::L3), users);
    config.reflection_guard = Some(Arc::new(ReflectionGuard::new(Duration::from_secs(60))));
    squid::SquidHelper::new(Arc::new(config))
}

fn client_helper() -> client_helper::ClientHelper {
    let mut config = ClientConfig::new(
        LmCompatibilityLevel::L3,
        "CORP",
        "alice",
        Password::new("Secret1"),
    );
    config.reflection_guard = Some(Arc::new(ReflectionGuard::new(Duration::from_secs(60))));
    client_helper::ClientHelper::new(config)
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, stream)) = data.split_first() else {
        return;
    };
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let mut out = Vec::new();
    // A small reader buffer exercises lines split across reads.
    let input = BufReader::with_capacity(7, stream);
    let squid = which & 1 == 0;
    let result = if squid {
        let mut h = squid_helper();
        helper::serve(input, &mut out, |line| h.handle(line, now))
    } else {
        let mut h = client_helper();
        helper::serve(input, &mut out, |line| h.handle(line, now))
    };
    assert!(result.is_ok());
    let newlines = stream.iter().filter(|b| **b == b'\n').count();
    let lines = newlines + usize::from(!stream.is_empty() && !stream.ends_with(b"\n"));
    let text = String::from_utf8(out).expect("replies are UTF-8");
    assert_eq!(text.matches('\n').count(), lines, "one reply per line");
    let codes: &[&str] = if squid {
        &["TT ", "AF ", "NA ", "BH "]
    } else {
        &["YR ", "AF ", "BH "]
    };
    for reply in text.lines() {
        assert!(codes.iter().any(|c| reply.starts_with(c)), "reply {reply:?}");
        if squid {
            if let Some(account) = reply.strip_prefix("AF ") {
                assert_eq!(account.to_ascii_lowercase(), "corp\\alice");
            }
        }
    }
});
