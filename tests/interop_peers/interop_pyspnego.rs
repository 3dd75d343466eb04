//! Interop with a real peer: pyspnego (PyPI) as the client against our server, and our client
//! against pyspnego's server, at LmCompatibilityLevel 0, 1, 2, 3 and 5 on both sides, plus
//! sealing and signing across the two implementations.
//!
//! The peer runs as a subprocess (`tests/interop/pyspnego_peer.py`, one line per token) from
//! the venv that `tests/interop/setup-pyspnego.sh` makes under `target/`; this test runs the
//! script itself when the venv is missing. A missing peer fails the test; set
//! `NTLM_SKIP_INTEROP=1` to skip it explicitly.

use crate::common;

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};

use common::handshake::*;
use ntlm::classify::{classify, NtKind};
use ntlm::client::ClientContext;
use ntlm::policy::ServerPolicy;
use ntlm::server::{Refusal, ServerContext};
use ntlm::wire::AuthenticateMessage;

const LEVELS: [u8; 5] = [0, 1, 2, 3, 5];
const TIMEOUT: Duration = Duration::from_secs(30);

fn skip() -> bool {
    let skip = std::env::var("NTLM_SKIP_INTEROP").is_ok_and(|v| v == "1");
    if skip {
        eprintln!("NTLM_SKIP_INTEROP=1: interop with pyspnego skipped");
    }
    skip
}

/// The venv's python, installing it on first use.
fn python() -> &'static PathBuf {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let venv = std::env::var_os("NTLM_PYSPNEGO_VENV")
            .map(PathBuf::from)
            .unwrap_or_else(|| root.join("target/pyspnego-venv"));
        let python = venv.join("bin/python");
        if !python.exists() {
            let status = Command::new("bash")
                .arg(root.join("tests/interop/setup-pyspnego.sh"))
                .env("NTLM_PYSPNEGO_VENV", &venv)
                .status()
                .expect("run setup-pyspnego.sh");
            assert!(status.success(), "pyspnego peer could not be installed: a missing peer fails this test (NTLM_SKIP_INTEROP=1 skips it)");
        }
        assert!(python.exists(), "no python in {}", venv.display());
        python
    })
}

struct Peer {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<String>,
}

impl Peer {
    fn spawn(role: &str, envs: &[(&str, String)]) -> Self {
        let script =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/interop/pyspnego_peer.py");
        let mut command = Command::new(python());
        command
            .arg(script)
            .arg(role)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (k, v) in envs {
            command.env(k, v);
        }
        let mut child = command.spawn().expect("start pyspnego peer");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Self {
            child,
            stdin,
            lines,
        }
    }

    fn read(&self) -> String {
        self.lines
            .recv_timeout(TIMEOUT)
            .expect("pyspnego peer answered within the time limit")
    }

    fn send(&mut self, line: &str) {
        writeln!(self.stdin, "{line}").expect("write to peer");
        self.stdin.flush().expect("flush");
    }

    fn token(&self) -> Result<Vec<u8>, String> {
        let line = self.read();
        match line.strip_prefix("TOKEN ") {
            Some(b64) => Ok(b64decode(b64)),
            None => Err(line),
        }
    }

    fn send_token(&mut self, token: &[u8]) {
        self.send(&format!("TOKEN {}", b64encode(token)));
    }

    /// `DONE user=.. domain=.. flags=0x.. session_key=..` as key/value pairs.
    fn done(&self) -> Result<Vec<(String, String)>, String> {
        let line = self.read();
        let Some(rest) = line.strip_prefix("DONE ") else {
            return Err(line);
        };
        Ok(rest
            .split(' ')
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect())
    }

    fn request(&mut self, verb: &str, data: &[u8]) -> Vec<u8> {
        self.send(&format!("{verb} {}", b64encode(data)));
        let line = self.read();
        let b64 = line
            .strip_prefix("OK ")
            .or_else(|| (line == "OK").then_some(""))
            .unwrap_or_else(|| panic!("{verb}: {line}"));
        b64decode(b64)
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn b64encode(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn b64decode(s: &str) -> Vec<u8> {
    let value = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' => 62,
            b'/' => 63,
            _ => panic!("bad base64 {c}"),
        }
    };
    let bytes: Vec<u8> = s.bytes().filter(|c| *c != b'=').collect();
    let mut out = Vec::new();
    for chunk in bytes.chunks(4) {
        let mut n = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            n |= value(*c) << (18 - 6 * i);
        }
        for i in 0..chunk.len().saturating_sub(1) {
            out.push((n >> (16 - 8 * i)) as u8);
        }
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What a domain controller at `server` decides for what a client at `client` sends (both
/// Windows semantics): v1 clients (0–2) are refused by level 5 only.
fn dc_accepts(client: u8, server: u8) -> bool {
    client >= 3 || server <= 4
}

#[test]
fn pyspnego_client_against_our_server() {
    if skip() {
        return;
    }
    let mut table = String::new();
    for c in LEVELS {
        for s in LEVELS {
            let config = Arc::new(server_config(ServerPolicy::domain_controller(level(s))));
            let mut peer = Peer::spawn(
                "client",
                &[
                    ("LM_COMPAT_LEVEL", c.to_string()),
                    ("NTLM_PEER_USER", "CORP\\alice".into()),
                    ("NTLM_PEER_PASSWORD", PASSWORD.into()),
                ],
            );
            let mut server = ServerContext::new(config);
            let now = SystemTime::now();
            let negotiate = peer.token().expect("pyspnego NEGOTIATE");
            let challenge = server.challenge(&negotiate, now).expect("our CHALLENGE");
            peer.send_token(&challenge);
            let authenticate = peer.token().expect("pyspnego AUTHENTICATE");
            let kinds = classify(&AuthenticateMessage::decode(&authenticate).expect("decodes"));
            let cell = format!(
                "pyspnego client L{c} -> our server L{s} ({}/{})",
                kinds.lm, kinds.nt
            );
            match server.accept(&authenticate, now) {
                Ok(mut logon) => {
                    assert!(dc_accepts(c, s), "{cell}: accepted, expected refusal");
                    assert_eq!(logon.user, "alice", "{cell}");
                    // pyspnego's NTLMv2 client answers our MsvAvTimestamp with a MIC.
                    assert_eq!(logon.mic_verified, c >= 3, "{cell}: MIC");
                    let done = peer.done().unwrap_or_else(|e| panic!("{cell}: {e}"));
                    let key = done
                        .iter()
                        .find(|(k, _)| k == "session_key")
                        .map(|(_, v)| v.clone());
                    assert_eq!(
                        key.as_deref(),
                        Some(hex(logon.established.exported_session_key().as_bytes()).as_str()),
                        "{cell}: exported session keys differ"
                    );
                    // Sealing both ways across the implementations.
                    let wrapped = peer.request("WRAP", b"from pyspnego");
                    let (sig, sealed) = wrapped.split_at(16);
                    let mut data = sealed.to_vec();
                    logon
                        .established
                        .security()
                        .unseal(&mut data, sig)
                        .unwrap_or_else(|e| panic!("{cell}: unseal pyspnego's message: {e}"));
                    assert_eq!(data, b"from pyspnego");
                    let mut ours = b"from ntlm-rs".to_vec();
                    let sig = logon.established.security().seal(&mut ours);
                    let mut wire = sig.to_vec();
                    wire.extend_from_slice(&ours);
                    assert_eq!(peer.request("UNWRAP", &wire), b"from ntlm-rs", "{cell}");
                    table.push_str(&format!("{cell}: accepted via {:?}\n", logon.verified));
                }
                Err(refusal) => {
                    assert!(
                        !dc_accepts(c, s),
                        "{cell}: refused ({refusal}), expected success"
                    );
                    assert!(matches!(refusal, Refusal::Policy(_)), "{cell}: {refusal}");
                    table.push_str(&format!("{cell}: refused: {refusal}\n"));
                }
            }
            // What pyspnego sends follows its level as Windows' does.
            let expected_nt = match c {
                0 => NtKind::NtlmV1,
                1 | 2 => NtKind::Ess,
                _ => NtKind::NtlmV2,
            };
            assert_eq!(kinds.nt, expected_nt, "{cell}");
        }
    }
    println!("{table}");
}

#[test]
fn wrong_password_from_pyspnego_is_refused() {
    if skip() {
        return;
    }
    let config = Arc::new(server_config(ServerPolicy::domain_controller(level(3))));
    for c in [1u8, 3] {
        let mut peer = Peer::spawn(
            "client",
            &[
                ("LM_COMPAT_LEVEL", c.to_string()),
                ("NTLM_PEER_USER", "CORP\\alice".into()),
                ("NTLM_PEER_PASSWORD", "wrong".into()),
            ],
        );
        let mut server = ServerContext::new(config.clone());
        let now = SystemTime::now();
        let challenge = server.challenge(&peer.token().unwrap(), now).unwrap();
        peer.send_token(&challenge);
        let authenticate = peer.token().unwrap();
        assert_eq!(
            server.accept(&authenticate, now).unwrap_err(),
            Refusal::BadPassword { failures: 0 },
            "pyspnego L{c}"
        );
    }
}

fn user_file() -> tempfile_path::TempPath {
    tempfile_path::TempPath::with_contents(&format!("CORP:alice:{PASSWORD}\n"))
}

/// A tiny temporary file holder (no dependency needed for one file).
mod tempfile_path {
    use std::path::PathBuf;

    pub struct TempPath(pub PathBuf);

    impl TempPath {
        pub fn with_contents(text: &str) -> Self {
            use std::sync::atomic::{AtomicUsize, Ordering};
            static N: AtomicUsize = AtomicUsize::new(0);
            let path = std::env::temp_dir().join(format!(
                "ntlm-users-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            ));
            std::fs::write(&path, text).expect("write user file");
            Self(path)
        }
    }

    impl Drop for TempPath {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }
}

/// What pyspnego's server at `server` accepts from our client at `client`.
fn pyspnego_server_accepts(client: u8, server: u8) -> bool {
    // pyspnego's acceptor refuses NTLMv1 (and LM) only at level 5, like a domain controller.
    dc_accepts(client, server)
}

#[test]
fn our_client_against_pyspnego_server() {
    if skip() {
        return;
    }
    let users = user_file();
    let mut table = String::new();
    for c in LEVELS {
        for s in LEVELS {
            let mut peer = Peer::spawn(
                "server",
                &[
                    ("LM_COMPAT_LEVEL", s.to_string()),
                    ("NTLM_USER_FILE", users.0.display().to_string()),
                ],
            );
            let mut client = ClientContext::new(client_config(level(c), PASSWORD));
            let now = SystemTime::now();
            peer.send_token(&client.negotiate().unwrap());
            let challenge = peer.token().expect("pyspnego CHALLENGE");
            let authenticate = client
                .authenticate(&challenge, now)
                .expect("our AUTHENTICATE");
            peer.send_token(&authenticate);
            let cell = format!("our client L{c} -> pyspnego server L{s}");
            match peer.done() {
                Ok(done) => {
                    assert!(
                        pyspnego_server_accepts(c, s),
                        "{cell}: accepted, expected refusal"
                    );
                    let get = |k: &str| done.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
                    assert_eq!(get("user").as_deref(), Some("alice"), "{cell}");
                    let mut established = client.into_established().unwrap();
                    assert_eq!(
                        get("session_key"),
                        Some(hex(established.exported_session_key().as_bytes())),
                        "{cell}: exported session keys differ"
                    );
                    let mut ours = b"client to server".to_vec();
                    let sig = established.security().seal(&mut ours);
                    let mut wire = sig.to_vec();
                    wire.extend_from_slice(&ours);
                    assert_eq!(peer.request("UNWRAP", &wire), b"client to server", "{cell}");
                    let wrapped = peer.request("WRAP", b"server to client");
                    let (sig, sealed) = wrapped.split_at(16);
                    let mut data = sealed.to_vec();
                    established
                        .security()
                        .unseal(&mut data, sig)
                        .unwrap_or_else(|e| panic!("{cell}: {e}"));
                    assert_eq!(data, b"server to client");
                    let signature = peer.request("SIGN", b"signed by pyspnego");
                    established
                        .security()
                        .verify(b"signed by pyspnego", &signature)
                        .unwrap_or_else(|e| panic!("{cell}: verify: {e}"));
                    table.push_str(&format!("{cell}: accepted\n"));
                }
                Err(error) => {
                    assert!(
                        !pyspnego_server_accepts(c, s),
                        "{cell}: refused ({error}), expected success"
                    );
                    table.push_str(&format!("{cell}: refused: {error}\n"));
                }
            }
        }
    }
    println!("{table}");
}
