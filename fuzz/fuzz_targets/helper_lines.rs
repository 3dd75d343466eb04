#![no_main]
//! The `ntlm` command's helpers as they run: the line loop of `ntlm::helper::serve` driving
//! the library's `NtlmsspHelper` (squid-2.5-ntlmssp, a server context), `NegotiateHelper`
//! (auth_param negotiate, SPNEGO around a server context) or `ClientHelper`
//! (ntlmssp-client-1, a client context). The first byte picks the helper; the rest is the
//! byte stream on its stdin. Whatever it is: exactly one reply line per input line, each
//! starting with a reply code of that protocol, memory bounded (over-long lines are
//! dropped), and a verifier's logon is only ever alice's.
use std::io::BufReader;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use libfuzzer_sys::fuzz_target;
use ntlm::client::ClientConfig;
use ntlm::guard::ReflectionGuard;
use ntlm::helper::{serve, ClientHelper, HelperStep, NegotiateHelper, NtlmsspHelper};
use ntlm::metrics::Metrics;
use ntlm::policy::{LmCompatibilityLevel, ServerPolicy};
use ntlm::server::ServerConfig;
use ntlm::store::MemoryStore;
use ntlm::Password;

fn server_config() -> Arc<ServerConfig> {
    let mut users = MemoryStore::new();
    users.add_password("CORP", "alice", "Secret1");
    let mut config = ServerConfig::new(
        ServerPolicy::domain_controller(LmCompatibilityLevel::L3),
        users,
    );
    config.reflection_guard = Some(Arc::new(ReflectionGuard::new(Duration::from_secs(60))));
    Arc::new(config)
}

fn client_helper() -> ClientHelper {
    let mut config = ClientConfig::new(
        LmCompatibilityLevel::L3,
        "CORP",
        "alice",
        Password::new("Secret1"),
    );
    config.reflection_guard = Some(Arc::new(ReflectionGuard::new(Duration::from_secs(60))));
    ClientHelper::new(config)
}

#[derive(Clone, Copy, PartialEq)]
enum Which {
    Ntlmssp,
    Negotiate,
    Client,
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, stream)) = data.split_first() else {
        return;
    };
    let which = match first % 3 {
        0 => Which::Ntlmssp,
        1 => Which::Client,
        _ => Which::Negotiate,
    };
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let mut out = Vec::new();
    // A small reader buffer exercises lines split across reads.
    let input = BufReader::with_capacity(7, stream);
    let result = match which {
        Which::Ntlmssp => {
            let mut h = NtlmsspHelper::new(server_config(), Arc::new(Metrics::new()));
            serve(input, &mut out, |line| match h.handle(line, now) {
                HelperStep::Reply(reply) => reply.to_string(),
                // No pass-through configured: the store decides, the DC is never asked.
                other => panic!("unexpected step {other:?}"),
            })
        }
        Which::Negotiate => {
            let mut h = NegotiateHelper::new(server_config(), Arc::new(Metrics::new()));
            serve(input, &mut out, |line| match h.handle(line, now) {
                HelperStep::Reply(reply) => reply.to_string(),
                other => panic!("unexpected step {other:?}"),
            })
        }
        Which::Client => {
            let mut h = client_helper();
            serve(input, &mut out, |line| h.handle(line, now).to_string())
        }
    };
    assert!(result.is_ok());
    let newlines = stream.iter().filter(|b| **b == b'\n').count();
    let lines = newlines + usize::from(!stream.is_empty() && !stream.ends_with(b"\n"));
    let text = String::from_utf8(out).expect("replies are UTF-8");
    assert_eq!(text.matches('\n').count(), lines, "one reply per line");
    let codes: &[&str] = match which {
        Which::Client => &["YR ", "AF ", "BH "],
        _ => &["TT ", "AF ", "NA ", "BH "],
    };
    for reply in text.lines() {
        assert!(
            codes.iter().any(|c| reply.starts_with(c)),
            "reply {reply:?}"
        );
        let account = match which {
            Which::Ntlmssp => reply.strip_prefix("AF "),
            // `AF <token> <account>`: the account is the last word.
            Which::Negotiate => reply.strip_prefix("AF ").and_then(|r| r.split(' ').nth(1)),
            Which::Client => None,
        };
        if let Some(account) = account {
            assert_eq!(
                account.to_ascii_lowercase(),
                "corp\\alice",
                "reply {reply:?}"
            );
        }
    }
});
