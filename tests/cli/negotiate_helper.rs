//! The `ntlm negotiate-helper` binary driven by the library's SPNEGO initiator over its
//! stdin/stdout (Squid's `auth_param negotiate` lines): AF with the final token, NA with a
//! reject, audit findings and counters on stderr, argument errors.
#![cfg(feature = "cli")]

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use ntlm::client::{ClientConfig, ClientContext};
use ntlm::guard::ReflectionGuard;
use ntlm::http::spnego::SpnegoClient;
use ntlm::policy::LmCompatibilityLevel;

const BIN: &str = env!("CARGO_BIN_EXE_ntlm");
const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// A new file per call: the tests run in parallel and must not read a file being rewritten.
fn users_file() -> std::path::PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!("ntlm-negotiate-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("users-{}", N.fetch_add(1, Ordering::Relaxed)));
    std::fs::write(&path, "CORP:alice:Secret1\n").unwrap();
    path
}

/// Runs the helper over `logons` (client level, password) and returns each last reply and
/// the helper's stderr.
fn run(args: &[&str], logons: &[(u8, &str)]) -> (Vec<String>, String) {
    let users = users_file();
    let mut child = Command::new(BIN)
        .arg("negotiate-helper")
        .args(["--users", users.to_str().unwrap()])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut ask = |line: String| {
        stdin.write_all(line.as_bytes()).unwrap();
        stdin.write_all(b"\n").unwrap();
        stdin.flush().unwrap();
        let mut reply = String::new();
        stdout.read_line(&mut reply).unwrap();
        reply.trim_end().to_string()
    };
    let mut replies = Vec::new();
    for (level, password) in logons {
        let level = LmCompatibilityLevel::new(*level).unwrap();
        let mut config = ClientConfig::new(level, "CORP", "alice", *password);
        config.reflection_guard = Some(Arc::new(ReflectionGuard::new(Duration::from_secs(60))));
        let mut client = SpnegoClient::new(ClientContext::new(config));
        let now = SystemTime::now();
        let tt = ask(format!(
            "YR {}",
            B64.encode(client.initial_token().unwrap())
        ));
        let challenge = B64.decode(tt.strip_prefix("TT ").expect(&tt)).unwrap();
        let next = client.step(&challenge, now).unwrap();
        let reply = ask(format!("KK {}", B64.encode(next)));
        if let Some(rest) = reply.strip_prefix("AF ") {
            let (token, _) = rest.split_once(' ').expect("AF <token> <user>");
            client.finish(&B64.decode(token).unwrap()).unwrap();
            assert!(client.server_verified(), "the final token's mechListMIC");
        }
        replies.push(reply);
    }
    replies.push(ask("KK".into()));
    drop(stdin);
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    (
        replies,
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn logons_refusals_and_audit_through_the_binary() {
    let (replies, log) = run(
        &["--level", "2", "--audit-level", "5"],
        &[(3, "Secret1"), (2, "Secret1"), (3, "wrong")],
    );
    assert!(replies[0].starts_with("AF ") && replies[0].ends_with(" CORP\\alice"));
    assert!(replies[1].starts_with("AF ") && replies[1].ends_with(" CORP\\alice"));
    let wrong: Vec<&str> = replies[2].split(' ').collect();
    assert_eq!((wrong[0], wrong[2]), ("NA", "NT_STATUS_LOGON_FAILURE"));
    assert!(
        replies[3].starts_with("BH KK without a pending"),
        "{}",
        replies[3]
    );
    // One audit finding (the NTLMv1-ESS logon), with the user and the rule; no secret.
    let audits: Vec<&str> = log.lines().filter(|l| l.contains("audit: logon")).collect();
    assert_eq!(audits.len(), 1, "{log}");
    assert!(audits[0].contains("user=alice"), "{}", audits[0]);
    assert!(
        audits[0].contains("rule=NTLMv1-ESS refused by server level 5"),
        "{}",
        audits[0]
    );
    assert!(log.contains("rule=\"bad password\""), "{log}");
    assert!(!log.contains("Secret1") && !log.contains("wrong"), "{log}");
    let end = log
        .lines()
        .find(|l| l.contains("end of input"))
        .expect(&log);
    assert!(
        end.contains("accepted=2 refused=1 audit_would_refuse=1"),
        "{end}"
    );
}

#[test]
fn level_five_refuses_ntlmv1_and_arguments_are_checked() {
    let (replies, _) = run(&["--level", "5"], &[(2, "Secret1")]);
    assert!(
        replies[0].starts_with("NA ")
            && replies[0].ends_with(" NTLMv1-ESS refused by server level 5"),
        "{}",
        replies[0]
    );
    let bad = Command::new(BIN)
        .args(["negotiate-helper", "--level", "3", "--audit-level", "9"])
        .args(["--users", users_file().to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--audit-level"));
    let help = Command::new(BIN)
        .args(["negotiate-helper", "--help"])
        .output()
        .unwrap();
    assert!(help.status.success());
    assert!(String::from_utf8_lossy(&help.stdout).contains("AF <base64 token> DOMAIN\\user"));
}
