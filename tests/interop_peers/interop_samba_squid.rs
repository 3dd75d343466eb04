//! Runs tests/interop/samba_squid/run.sh (Samba ntlm_auth both ways, Squid with curl) against
//! the `ntlm` binary of this build. A missing peer fails the test; set NTLM_SKIP_INTEROP=1 to
//! skip it (and only then).
#![cfg(feature = "cli")]

use std::process::Command;

#[test]
fn samba_and_squid_interop() {
    if std::env::var("NTLM_SKIP_INTEROP").as_deref() == Ok("1") {
        eprintln!("NTLM_SKIP_INTEROP=1: interop with ntlm_auth and Squid skipped");
        return;
    }
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/interop/samba_squid/run.sh"
    );
    let output = Command::new("bash")
        .arg(script)
        .env("NTLM_BIN", env!("CARGO_BIN_EXE_ntlm"))
        .output()
        .expect("run bash");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    assert!(
        output.status.success(),
        "interop failed ({:?}):\n{stdout}\n{stderr}",
        output.status
    );
}
