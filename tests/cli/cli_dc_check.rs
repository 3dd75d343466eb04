//! `ntlm dc-check` without a DC: argument errors exit 2 and name the problem, a password is
//! never taken from the command line, and a DC that cannot be reached exits 1 with the
//! failing step. (With the Samba DC it runs in tests/interop/samba_dc/run.sh.)
#![cfg(feature = "cli")]

use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_ntlm");

fn dc_check(args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("dc-check")
        .args(args)
        .env("NTLM_TEST_MACHINE_PW", "Machine-Pass-1")
        .env_remove("NTLM_TEST_UNSET")
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn argument_errors_exit_2() {
    let base = [
        "--machine-account",
        "CORP\\WEB1$",
        "--machine-password-env",
        "NTLM_TEST_MACHINE_PW",
    ];
    for (args, expect) in [
        (&base[..], "missing required option --dc"),
        (
            &[
                "--dc",
                "127.0.0.1",
                "--machine-password-env",
                "NTLM_TEST_MACHINE_PW",
            ][..],
            "--machine-account",
        ),
        (
            &["--dc", "127.0.0.1", "--machine-account", "CORP\\WEB1$"][..],
            "exactly one of",
        ),
        (
            &[
                "--dc",
                "127.0.0.1",
                "--machine-account",
                "CORP\\WEB1$",
                "--machine-password-env",
                "NTLM_TEST_UNSET",
            ][..],
            "is not set",
        ),
        (
            &[
                "--dc",
                "127.0.0.1",
                "--machine-account",
                "WEB1$",
                "--machine-password-env",
                "NTLM_TEST_MACHINE_PW",
            ][..],
            "give the domain",
        ),
        (
            &[
                "--dc",
                "127.0.0.1:x",
                "--machine-account",
                "CORP\\WEB1$",
                "--machine-password-env",
                "NTLM_TEST_MACHINE_PW",
            ][..],
            "bad port",
        ),
        (
            &[
                "--dc",
                "127.0.0.1",
                "--machine-account",
                "CORP\\WEB1$",
                "--machine-password-env",
                "NTLM_TEST_MACHINE_PW",
                "--user",
                "CORP\\alice",
            ][..],
            "go together",
        ),
        (
            &[
                "--dc",
                "127.0.0.1",
                "--machine-account",
                "CORP\\WEB1$",
                "--machine-password-env",
                "NTLM_TEST_MACHINE_PW",
                "Secret",
            ][..],
            "unexpected argument",
        ),
    ] {
        let o = dc_check(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o));
        assert!(text(&o).contains(expect), "{args:?}: {}", text(&o));
    }
    let o = dc_check(&["--help"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(text(&o).contains("--machine-password-file"));
}

/// Two DCs that refuse connections: both tried in order, exit 1, the step and the DC named,
/// the machine password nowhere in the output.
#[test]
fn unreachable_dcs_exit_1() {
    let o = dc_check(&[
        "--dc",
        "127.0.0.1:1",
        "--dc=127.0.0.1:2",
        "--machine-account",
        "CORP\\WEB1$",
        "--machine-password-env",
        "NTLM_TEST_MACHINE_PW",
        "--timeout",
        "2",
    ]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains("127.0.0.1:1: failed") && out.contains("FAILED: DC unavailable (127.0.0.1:2)"),
        "{out}"
    );
    assert!(!out.contains("Machine-Pass-1"));
}
