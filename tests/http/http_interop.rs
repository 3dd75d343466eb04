//! Runs `tests/interop/http/run.sh`: curl and pyspnego against our HTTP client and server.
//! Skipped only when `NTLM_SKIP_INTEROP=1`; a missing peer fails the test.
#![cfg(feature = "tls")]

use std::process::Command;

#[test]
fn http_interop_with_curl_and_pyspnego() {
    if std::env::var("NTLM_SKIP_INTEROP").as_deref() == Ok("1") {
        eprintln!("NTLM_SKIP_INTEROP=1: HTTP interop skipped");
        return;
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/http/run.sh");
    let output = Command::new("bash")
        .arg(script)
        .output()
        .expect("bash runs the interop script");
    let stdout = String::from_utf8_lossy(&output.stdout);
    println!("{stdout}");
    eprintln!("{}", String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "interop failed:\n{stdout}");
    assert!(stdout.contains(" 0 failed"), "{stdout}");
}
