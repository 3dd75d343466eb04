//! The `ntlm` binary: squid-helper and client-helper driven by the library's own contexts,
//! decode of every message kind, hash, and argument errors.
#![cfg(feature = "cli")]

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use base64::Engine as _;
use ntlm::client::{ClientConfig, ClientContext};
use ntlm::guard::ReflectionGuard;
use ntlm::policy::{LmCompatibilityLevel, ServerPolicy};
use ntlm::server::{ServerConfig, ServerContext};
use ntlm::store::MemoryStore;

const BIN: &str = env!("CARGO_BIN_EXE_ntlm");
const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

fn level(n: u8) -> LmCompatibilityLevel {
    LmCompatibilityLevel::new(n).unwrap()
}

fn own_guard() -> Option<Arc<ReflectionGuard>> {
    Some(Arc::new(ReflectionGuard::new(Duration::from_secs(600))))
}

/// 2023-11-14T22:13:20Z.
fn t0() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)
}

/// A new file per call: tests run in parallel, and a helper must never read a file another
/// test is rewriting.
fn temp_file(name: &str, contents: &str) -> PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!("ntlm-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}-{}", N.fetch_add(1, Ordering::Relaxed)));
    std::fs::write(&path, contents).unwrap();
    path
}

fn users_file() -> PathBuf {
    temp_file("users", "# test users\nCORP:alice:Secret1\n")
}

/// A running helper, one request line in, one reply line out.
struct Helper {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
}

impl Helper {
    fn spawn(args: &[&str], env: &[(&str, &str)]) -> Self {
        let mut command = Command::new(BIN);
        command
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            command.env(k, v);
        }
        let mut child = command.spawn().expect("spawn ntlm");
        let stdin = child.stdin.take();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        Self {
            child,
            stdin,
            stdout,
        }
    }

    fn squid(server_level: u8) -> Self {
        let users = users_file();
        Self::spawn(
            &[
                "squid-helper",
                "--level",
                &server_level.to_string(),
                "--users",
                users.to_str().unwrap(),
            ],
            &[],
        )
    }

    fn ask(&mut self, line: &str) -> String {
        let stdin = self.stdin.as_mut().unwrap();
        stdin.write_all(line.as_bytes()).unwrap();
        stdin.write_all(b"\n").unwrap();
        stdin.flush().unwrap();
        let mut reply = String::new();
        self.stdout.read_line(&mut reply).unwrap();
        assert!(reply.ends_with('\n'), "one full line: {reply:?}");
        reply.trim_end().to_string()
    }

    /// Closes stdin; the helper must exit 0. Returns its stderr.
    fn finish(mut self) -> String {
        drop(self.stdin.take());
        let output = self.child.wait_with_output().unwrap();
        assert!(output.status.success(), "exit status {:?}", output.status);
        String::from_utf8_lossy(&output.stderr).into_owned()
    }
}

fn client(level_n: u8, password: &str) -> ClientContext {
    let mut config = ClientConfig::new(level(level_n), "CORP", "alice", password);
    config.reflection_guard = own_guard();
    config.workstation = "WS01".into();
    ClientContext::new(config)
}

/// One handshake of our client against the squid helper: the KK reply.
fn squid_login(helper: &mut Helper, client_level: u8, password: &str) -> String {
    let mut c = client(client_level, password);
    let tt = helper.ask(&format!("YR {}", B64.encode(c.negotiate().unwrap())));
    let challenge = B64
        .decode(tt.strip_prefix("TT ").unwrap_or_else(|| panic!("TT: {tt}")))
        .unwrap();
    let authenticate = c.authenticate(&challenge, SystemTime::now()).unwrap();
    helper.ask(&format!("KK {}", B64.encode(authenticate)))
}

#[test]
fn squid_helper_accepts_every_client_level_at_server_level_3() {
    let mut h = Helper::squid(3);
    for c in 0..=5 {
        assert_eq!(
            squid_login(&mut h, c, "Secret1"),
            "AF CORP\\alice",
            "client {c}"
        );
    }
    h.finish();
}

#[test]
fn squid_helper_refusals_are_na_with_the_reason_and_logged() {
    let mut h = Helper::squid(5);
    assert_eq!(
        squid_login(&mut h, 3, "wrong"),
        "NA NT_STATUS_LOGON_FAILURE"
    );
    assert_eq!(
        squid_login(&mut h, 2, "Secret1"),
        "NA NTLMv1-ESS refused by server level 5"
    );
    assert_eq!(
        squid_login(&mut h, 0, "Secret1"),
        "NA NTLMv1 refused by server level 5"
    );
    assert_eq!(squid_login(&mut h, 5, "Secret1"), "AF CORP\\alice");
    let stderr = h.finish();
    assert!(
        stderr.contains("refused \"CORP\\\\alice\": bad password"),
        "{stderr}"
    );
    assert!(
        stderr.contains("NTLMv1 refused by server level 5"),
        "{stderr}"
    );
}

#[test]
fn squid_helper_protocol_misuse_is_bh_and_never_fatal() {
    let mut h = Helper::squid(3);
    assert_eq!(
        h.ask("KK TlRMTVNTUAADAAAA"),
        "BH KK without a pending handshake (YR first)"
    );
    assert_eq!(h.ask("YR"), "BH YR without a NEGOTIATE token");
    assert!(h.ask("YR !!!notbase64").starts_with("BH YR: bad base64"));
    assert!(h.ask("garbage").starts_with("BH unknown request"));
    assert!(h.ask("").starts_with("BH unknown request"));
    let truncated = h.ask("YR TlRMTVNTUAABAAAA");
    assert!(
        truncated.starts_with("BH malformed NEGOTIATE: "),
        "{truncated}"
    );
    // A malformed AUTHENTICATE after a good YR is the client's fault: a logon failure (NA),
    // not a broken helper (BH).
    let mut c = client(3, "Secret1");
    let tt = h.ask(&format!("YR {}", B64.encode(c.negotiate().unwrap())));
    assert!(tt.starts_with("TT "));
    let bad = h.ask("KK TlRMTVNTUAADAAAAGAAY");
    assert!(bad.starts_with("NA malformed AUTHENTICATE: "), "{bad}");
    // A line longer than the limit, then the helper still works.
    let long = format!("YR {}", "A".repeat(70_000));
    assert!(h.ask(&long).starts_with("BH request longer than"));
    assert_eq!(squid_login(&mut h, 3, "Secret1"), "AF CORP\\alice");
    h.finish();
}

#[test]
fn squid_helper_two_hundred_handshakes_in_one_process() {
    let mut h = Helper::squid(3);
    let start = Instant::now();
    for i in 0..200 {
        let (password, want) = if i % 10 == 9 {
            ("nope", "NA NT_STATUS_LOGON_FAILURE")
        } else {
            ("Secret1", "AF CORP\\alice")
        };
        assert_eq!(
            squid_login(&mut h, 3 + (i % 3) as u8, password),
            want,
            "{i}"
        );
    }
    let elapsed = start.elapsed();
    h.finish();
    assert!(
        elapsed < Duration::from_secs(30),
        "200 handshakes took {elapsed:?}"
    );
}

#[test]
fn client_helper_against_our_server_at_every_level() {
    for c in 0..=5u8 {
        for (password, ok) in [("Secret1", true), ("wrong", false)] {
            let mut h = Helper::spawn(
                &[
                    "client-helper",
                    "--level",
                    &c.to_string(),
                    "--user",
                    "CORP\\alice",
                    "--password-env",
                    "NTLM_TEST_PW",
                ],
                &[("NTLM_TEST_PW", password)],
            );
            let mut users = MemoryStore::new();
            users.add_password("CORP", "alice", "Secret1");
            let mut config = ServerConfig::new(ServerPolicy::domain_controller(level(0)), users);
            config.reflection_guard = own_guard();
            let mut server = ServerContext::new(Arc::new(config));
            let yr = h.ask("YR");
            let negotiate = B64.decode(yr.strip_prefix("YR ").unwrap()).unwrap();
            let challenge = server.challenge(&negotiate, SystemTime::now()).unwrap();
            let af = h.ask(&format!("TT {}", B64.encode(&challenge)));
            assert!(!af.contains(password), "password leaked");
            let authenticate = B64.decode(af.strip_prefix("AF ").unwrap()).unwrap();
            let result = server.accept(&authenticate, SystemTime::now());
            assert_eq!(result.is_ok(), ok, "client level {c}, {result:?}");
            assert_eq!(
                h.ask("TT AAAA"),
                "BH TT without a pending handshake (YR first)"
            );
            assert!(h.ask("XX").starts_with("BH unknown request"));
            let yr = h.ask("YR");
            assert!(yr.starts_with("YR "));
            assert!(h.ask("TT !!").starts_with("BH TT: bad base64"));
            let stderr = h.finish();
            assert!(!stderr.contains(password));
        }
    }
}

#[test]
fn client_helper_requires_the_password_variable() {
    let out = run(
        &[
            "client-helper",
            "--level",
            "3",
            "--user",
            "CORP\\alice",
            "--password-env",
            "NTLM_TEST_SURELY_UNSET",
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("\"NTLM_TEST_SURELY_UNSET\" is not set"));
}

fn run(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// NEGOTIATE, CHALLENGE and AUTHENTICATE of one handshake at a fixed time.
fn messages(client_config: ClientConfig) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    messages_with(ServerPolicy::domain_controller(level(0)), client_config)
}

/// [`messages`] against a server with `policy`.
fn messages_with(policy: ServerPolicy, client_config: ClientConfig) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let mut users = MemoryStore::new();
    users.add_password("CORP", "alice", "Secret1");
    let mut config = ServerConfig::new(policy, users);
    config.reflection_guard = own_guard();
    let mut server = ServerContext::new(Arc::new(config));
    let mut client = ClientContext::new(client_config);
    let negotiate = client.negotiate().unwrap();
    let challenge = server.challenge(&negotiate, t0()).unwrap();
    let authenticate = client.authenticate(&challenge, t0()).unwrap();
    (negotiate, challenge, authenticate)
}

fn decode(token: &str) -> String {
    let out = run(&["decode", token], "");
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out)
}

fn client_config(level_n: u8) -> ClientConfig {
    let mut config = ClientConfig::new(level(level_n), "CORP", "alice", "Secret1");
    config.reflection_guard = own_guard();
    config.workstation = "WS01".into();
    config
}

#[test]
fn decode_negotiate_and_challenge() {
    let (negotiate, challenge, _) = messages(client_config(3));
    let text = decode(&B64.encode(&negotiate));
    assert!(
        text.starts_with("NEGOTIATE_MESSAGE (MessageType 1)"),
        "{text}"
    );
    assert!(text.contains("EXTENDED_SESSIONSECURITY"), "{text}");
    assert!(
        text.contains("Version: 10.0.19041, NTLM revision 15"),
        "{text}"
    );
    let text = decode(&B64.encode(&challenge));
    assert!(
        text.starts_with("CHALLENGE_MESSAGE (MessageType 2)"),
        "{text}"
    );
    assert!(text.contains("TargetName: \"DOMAIN\""), "{text}");
    assert!(text.contains("MsvAvNbComputerName: \"SERVER\""), "{text}");
    assert!(
        text.contains("MsvAvTimestamp: 2023-11-14T22:13:20Z"),
        "{text}"
    );
}

#[test]
fn decode_authenticate_kinds_and_levels() {
    // NTLMv2 with MIC (the server sent a timestamp).
    let (_, _, v2) = messages(client_config(3));
    let text = decode(&B64.encode(&v2));
    assert!(
        text.starts_with("AUTHENTICATE_MESSAGE (MessageType 3)"),
        "{text}"
    );
    assert!(text.contains("UserName: \"alice\""), "{text}");
    assert!(
        text.contains("LmChallengeResponse: 24 bytes, Z(24)"),
        "{text}"
    );
    assert!(text.contains("bytes, NTLMv2: "), "{text}");
    assert!(text.contains("TimeStamp: 2023-11-14T22:13:20Z"), "{text}");
    assert!(text.contains("ChallengeFromClient: "), "{text}");
    assert!(
        text.contains("MsvAvFlags: 0x00000002 MIC_PRESENT"),
        "{text}"
    );
    assert!(text.contains("MIC: present"), "{text}");
    assert!(
        text.contains("level 5: accepted: verifies the NTLMv2 response"),
        "{text}"
    );
    assert!(
        text.contains("level 0: NTLMv2 refused by server level 0 (symmetric)"),
        "{text}"
    );

    // ESS (level 2 against a server offering ESS).
    let (_, _, ess) = messages(client_config(2));
    let text = decode(&format!("Authorization: NTLM {}", B64.encode(&ess)));
    assert!(text.contains("CC+Z(16): ESS client challenge"), "{text}");
    assert!(
        text.contains("NTLMv1-ESS: NTLMv1 response with extended"),
        "{text}"
    );
    assert!(text.contains("MIC: absent"), "{text}");
    assert!(
        text.contains("level 5: NTLMv1-ESS refused by server level 5 (it accepts NTLMv2)"),
        "{text}"
    );
    assert!(
        text.contains("level 4: accepted: verifies the NTLMv1 extended"),
        "{text}"
    );

    // Plain NTLMv1 with the LM response (level 0 does not ask for ESS).
    let (_, _, v1) = messages(client_config(0));
    let text = decode(&format!("NTLM {}", B64.encode(&v1)));
    assert!(text.contains("24 bytes, LM: LM response"), "{text}");
    assert!(text.contains("24 bytes, NTLMv1: NTLMv1 response"), "{text}");
    assert!(
        text.contains("level 5: NTLMv1 refused by server level 5"),
        "{text}"
    );

    // Level 2 without ESS: the LM field is a copy of the NT response.
    let mut users = MemoryStore::new();
    users.add_password("CORP", "alice", "Secret1");
    let mut policy = ServerPolicy::domain_controller(level(0));
    policy.offer_ess = false;
    let mut config = ServerConfig::new(policy, users);
    config.reflection_guard = own_guard();
    let mut server = ServerContext::new(Arc::new(config));
    let mut c = ClientContext::new(client_config(2));
    let challenge = server.challenge(&c.negotiate().unwrap(), t0()).unwrap();
    let copy = c.authenticate(&challenge, t0()).unwrap();
    let text = decode(&format!("Proxy-Authorization: NTLM {}", B64.encode(&copy)));
    assert!(
        text.contains("NT copy: a copy of the NTLMv1 response"),
        "{text}"
    );

    // Anonymous.
    let mut anon = ClientConfig::anonymous(level(3));
    anon.reflection_guard = own_guard();
    let (_, _, anonymous) = messages(anon);
    let text = decode(&format!(
        "WWW-Authenticate: Negotiate {}",
        B64.encode(&anonymous)
    ));
    assert!(text.contains("1 bytes, Z(1)"), "{text}");
    assert!(text.contains("Anonymous: yes"), "{text}");
    assert!(
        text.contains("anonymous refused by server level 3"),
        "{text}"
    );
}

#[test]
fn decode_json_is_json_with_stable_keys() {
    let (negotiate, challenge, authenticate) = messages(client_config(3));
    let input = format!(
        "{}\nNTLM {}\n\nAuthorization: NTLM {}\n",
        B64.encode(&negotiate),
        B64.encode(&challenge),
        B64.encode(&authenticate)
    );
    let out = run(&["decode", "--json"], &input);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let objects: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert_eq!(objects.len(), 3);
    assert_eq!(objects[0]["message"], "NEGOTIATE");
    assert_eq!(objects[1]["message_type"], 2);
    let info = objects[1]["target_info"].as_array().unwrap();
    assert!(info
        .iter()
        .any(|p| p["name"] == "MsvAvTimestamp" && p["value"] == "2023-11-14T22:13:20Z"));
    let auth = &objects[2];
    assert_eq!(auth["message"], "AUTHENTICATE");
    assert_eq!(auth["user_name"], "alice");
    assert_eq!(auth["lm_response"]["kind"], "Z(24)");
    assert_eq!(auth["nt_response"]["kind"], "NTLMv2");
    assert_eq!(auth["ntlmv2"]["timestamp"], "2023-11-14T22:13:20Z");
    assert_eq!(auth["mic_present"], true);
    assert_eq!(auth["anonymous"], false);
    let flags = auth["flags"]["names"].as_array().unwrap();
    assert!(flags.iter().any(|f| f == "UNICODE"));
    let dc = auth["acceptance"]["domain_controller"].as_array().unwrap();
    assert_eq!(dc.len(), 6);
    assert!(dc.iter().all(|v| v["accepted"] == true));
    let sym = auth["acceptance"]["symmetric"].as_array().unwrap();
    assert_eq!(sym[0]["accepted"], false);
    assert_eq!(sym[3]["level"], 3);
    let av = auth["ntlmv2"]["av_pairs"].as_array().unwrap();
    assert!(av
        .iter()
        .any(|p| p["name"] == "MsvAvFlags" && p["flags"][0] == "MIC_PRESENT"));
}

#[test]
fn decode_broken_tokens_name_the_field_and_offset() {
    let (_, _, authenticate) = messages(client_config(3));
    let truncated = B64.encode(&authenticate[..40]);
    let out = run(&["decode", &truncated], "");
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("at offset"), "{err}");
    assert!(err.contains("Truncated"), "{err}");

    let out = run(&["decode", "TlRM$$$"], "");
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("bad base64"), "{}", stderr(&out));

    let out = run(&["decode", &B64.encode(b"NOTNTLM\0\x01\0\0\0")], "");
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("BadSignature"), "{}", stderr(&out));

    // A truncated SPNEGO token: a precise SPNEGO error.
    let out = run(&["decode", "Negotiate YIIBhgYGKwYBBQUCoIIBejCCAXag"], "");
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("SPNEGO"), "{}", stderr(&out));
    // A whole SPNEGO NegTokenInit around our NEGOTIATE decodes to the NTLM message.
    let mut c = client(3, "Secret1");
    let init = ntlm::http::spnego::NegotiationToken::Init(ntlm::http::spnego::NegTokenInit::ntlm(
        c.negotiate().unwrap(),
    ));
    let header = format!(
        "Authorization: Negotiate {}",
        B64.encode(init.encode().unwrap())
    );
    let out = run(&["decode", &header], "");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(text.contains("NEGOTIATE_MESSAGE"), "{text}");

    // stdin: a bad line does not stop the others, and the exit code says one failed.
    let input = format!("garbage!\n{}\n", B64.encode(&authenticate));
    let out = run(&["decode", "--json"], &input);
    assert_eq!(out.status.code(), Some(1));
    let lines: Vec<&str> = std::str::from_utf8(&out.stdout).unwrap().lines().collect();
    assert_eq!(lines.len(), 2);
    let first: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
    assert!(first["error"].as_str().unwrap().contains("base64"));
}

#[test]
fn decode_lmv2_beside_ntlmv2_when_the_challenge_has_no_timestamp() {
    // Without MsvAvTimestamp in the CHALLENGE a level-3 client sends LMv2, not Z(24).
    let mut policy = ServerPolicy::domain_controller(level(0));
    policy.send_timestamp = false;
    let (_, challenge, authenticate) = messages_with(policy, client_config(3));
    assert!(!decode(&B64.encode(&challenge)).contains("MsvAvTimestamp"));
    let text = decode(&format!(
        "Authorization: NTLM {}",
        B64.encode(&authenticate)
    ));
    assert!(
        text.contains("LmChallengeResponse: 24 bytes, LMv2: LMv2 response\n"),
        "{text}"
    );
    assert!(text.contains("bytes, NTLMv2: "), "{text}");

    let out = run(&["decode", "--json", &B64.encode(&authenticate)], "");
    assert!(out.status.success(), "{}", stderr(&out));
    let auth: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    let lm = &auth["lm_response"];
    assert_eq!(lm["kind"], "LMv2");
    assert_eq!(lm["length"], 24);
    assert_eq!(lm["description"], "LMv2 response");
    let lm_hex = lm["hex"].as_str().unwrap();
    assert_eq!(lm_hex.len(), 48);
    assert_ne!(lm_hex, "0".repeat(48), "LMv2, not Z(24)");
    assert_eq!(auth["nt_response"]["kind"], "NTLMv2");
}

/// The four tokens of a Negotiate handshake of our SPNEGO client and server: NegTokenInit,
/// the CHALLENGE, the AUTHENTICATE with mechListMIC, the final accept-completed.
fn spnego_tokens() -> [Vec<u8>; 4] {
    use ntlm::http::spnego::{SpnegoClient, SpnegoServer, SpnegoStep};
    let mut users = MemoryStore::new();
    users.add_password("CORP", "alice", "Secret1");
    let mut config = ServerConfig::new(ServerPolicy::domain_controller(level(3)), users);
    config.reflection_guard = own_guard();
    let mut server = SpnegoServer::new(Arc::new(config));
    let mut client = SpnegoClient::new(ClientContext::new(client_config(3)));
    let init = client.initial_token().unwrap();
    let challenge = match server.step(&init, t0()).unwrap() {
        SpnegoStep::Continue(t) => t,
        other => panic!("{other:?}"),
    };
    let authenticate = client.step(&challenge, t0()).unwrap();
    let last = match server.step(&authenticate, t0()).unwrap() {
        SpnegoStep::Done { token, .. } => token,
        other => panic!("{other:?}"),
    };
    [init, challenge, authenticate, last]
}

#[test]
fn decode_spnego_prints_the_spnego_layer_before_the_ntlm_message() {
    use ntlm::http::spnego::{NegTokenInit, NegTokenResp, NegotiationToken, NTLM_OID};
    let [init, challenge, authenticate, last] = spnego_tokens();

    let text = decode(&format!("Authorization: Negotiate {}", B64.encode(&init)));
    assert!(text.starts_with("SPNEGO: NegTokenInit\n"), "{text}");
    assert!(
        text.contains("  mechTypes: NTLM (1.3.6.1.4.1.311.2.2.10)\n"),
        "{text}"
    );
    assert!(text.contains("  mechListMIC: absent\n"), "{text}");
    let ntlm_at = text
        .find("NEGOTIATE_MESSAGE (MessageType 1)")
        .expect("NTLM part");
    assert!(ntlm_at > text.find("mechToken: ").unwrap(), "{text}");

    let text = decode(&format!(
        "WWW-Authenticate: Negotiate {}",
        B64.encode(&challenge)
    ));
    assert!(text.starts_with("SPNEGO: NegTokenResp\n"), "{text}");
    assert!(
        text.contains("  negState: accept-incomplete (1)\n"),
        "{text}"
    );
    assert!(
        text.contains("  supportedMech: NTLM (1.3.6.1.4.1.311.2.2.10)\n"),
        "{text}"
    );
    assert!(text.contains("CHALLENGE_MESSAGE (MessageType 2)"), "{text}");

    let text = decode(&format!("Negotiate {}", B64.encode(&authenticate)));
    assert!(text.contains("  negState: (none)\n"), "{text}");
    assert!(text.contains("  mechListMIC: present, "), "{text}");
    assert!(
        text.contains("AUTHENTICATE_MESSAGE (MessageType 3)"),
        "{text}"
    );

    // The final token carries no NTLM message: the SPNEGO section alone, and success.
    let text = decode(&B64.encode(&last));
    assert!(
        text.contains("  negState: accept-completed (0)\n"),
        "{text}"
    );
    assert!(text.contains("  responseToken: (none)\n"), "{text}");
    assert!(text.contains("  mechListMIC: present, "), "{text}");
    assert!(!text.contains("_MESSAGE"), "{text}");

    // Mechanisms other than NTLM (and Kerberos) are dotted OIDs; reqFlags as hex.
    let negoex: ntlm::http::spnego::Mechanism = "1.3.6.1.4.1.311.2.2.30".parse().unwrap();
    let mut c = client(3, "Secret1");
    let odd = NegotiationToken::Init(NegTokenInit {
        mech_types: vec![negoex, NTLM_OID],
        req_flags: Some(vec![0x60]),
        mech_token: Some(c.negotiate().unwrap()),
        mech_list_mic: None,
    })
    .encode()
    .unwrap();
    let text = decode(&B64.encode(&odd));
    assert!(
        text.contains("  mechTypes: 1.3.6.1.4.1.311.2.2.30, NTLM (1.3.6.1.4.1.311.2.2.10)\n"),
        "{text}"
    );
    assert!(text.contains("  reqFlags: 60\n"), "{text}");

    // --json: one `spnego` object first, null for a raw NTLM token.
    let (negotiate, _, _) = messages(client_config(3));
    let input: String = [&init, &challenge, &authenticate, &last, &odd, &negotiate]
        .iter()
        .map(|t| format!("Negotiate {}\n", B64.encode(t)))
        .collect();
    let out = run(&["decode", "--json"], &input);
    assert!(out.status.success(), "{}", stderr(&out));
    let objects: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert_eq!(objects.len(), 6);
    let spnego = &objects[0]["spnego"];
    assert_eq!(spnego["token"], "NegTokenInit");
    assert_eq!(spnego["mech_types"][0]["oid"], "1.3.6.1.4.1.311.2.2.10");
    assert_eq!(spnego["mech_types"][0]["name"], "NTLM");
    assert_eq!(spnego["mech_token_length"], objects[0]["length"]);
    assert_eq!(spnego["mech_list_mic_present"], false);
    assert_eq!(objects[0]["message"], "NEGOTIATE");
    let spnego = &objects[1]["spnego"];
    assert_eq!(spnego["token"], "NegTokenResp");
    assert_eq!(spnego["neg_state"], "accept-incomplete");
    assert_eq!(spnego["supported_mech"]["name"], "NTLM");
    assert_eq!(objects[1]["message"], "CHALLENGE");
    assert_eq!(objects[2]["spnego"]["mech_list_mic_present"], true);
    assert_eq!(
        objects[2]["spnego"]["mech_list_mic"].as_str().map(str::len),
        Some(32)
    );
    assert_eq!(objects[2]["message"], "AUTHENTICATE");
    assert_eq!(objects[3]["spnego"]["neg_state"], "accept-completed");
    assert_eq!(
        objects[3]["spnego"]["response_token_length"],
        serde_json::Value::Null
    );
    assert_eq!(objects[3]["message"], serde_json::Value::Null);
    assert_eq!(
        objects[4]["spnego"]["mech_types"][0]["name"],
        serde_json::Value::Null
    );
    assert_eq!(
        objects[4]["spnego"]["mech_types"][0]["oid"],
        "1.3.6.1.4.1.311.2.2.30"
    );
    assert_eq!(objects[4]["spnego"]["req_flags"], "60");
    assert_eq!(objects[5]["spnego"], serde_json::Value::Null);
    assert_eq!(objects[5]["message"], "NEGOTIATE");

    // A broken NTLM message inside SPNEGO names the SPNEGO field that carried it.
    let (_, _, authenticate) = messages(client_config(3));
    let broken = NegotiationToken::Resp(NegTokenResp {
        response_token: Some(authenticate[..40].to_vec()),
        ..NegTokenResp::default()
    })
    .encode()
    .unwrap();
    let out = run(&["decode", &B64.encode(&broken)], "");
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("SPNEGO NegTokenResp responseToken: "), "{err}");
    assert!(err.contains("at offset"), "{err}");
}

#[test]
fn decode_ntlmv2_errors_count_offsets_from_the_message() {
    let (_, _, authenticate) = messages(client_config(3));
    let nt_at = u32::from_le_bytes(authenticate[24..28].try_into().unwrap()) as usize;
    assert!(nt_at >= 64);
    // RespType (byte 16 of the NTLMv2 response) other than 1.
    let mut bad = authenticate.clone();
    bad[nt_at + 16] = 2;
    let out = run(&["decode", &B64.encode(&bad)], "");
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "NtChallengeResponse (NTLMv2 response at offset {nt_at}): RespType at offset {}: ",
            nt_at + 16
        )),
        "{err}"
    );
    // The first AV pair (byte 44 of the response) with an AvLen past the end.
    let mut bad = authenticate.clone();
    bad[nt_at + 46..nt_at + 48].copy_from_slice(&[0xff, 0xff]);
    let out = run(&["decode", "--json", &B64.encode(&bad)], "");
    assert_eq!(out.status.code(), Some(1));
    let reply: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    let err = reply["error"].as_str().unwrap();
    assert!(
        err.contains(&format!("at offset {}: Truncated", nt_at + 48)),
        "{err}"
    );
}

#[test]
fn hash_matches_ms_nlmp_4_2() {
    let out = run(&["hash"], "Password\n");
    assert!(out.status.success());
    assert_eq!(stdout(&out), "a4f49c406510bdcab6824ee7c30fd852\n");
    let out = run(&["hash", "--lm"], "Password");
    assert_eq!(
        stdout(&out),
        "e52cac67419a9a224a3b108f3fa6cb6d:a4f49c406510bdcab6824ee7c30fd852\n"
    );
    let out = run(&["hash", "--lm"], "a password over fourteen\r\n");
    assert!(stdout(&out).starts_with("XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX:"));
    let out = run(&["hash"], "");
    assert_eq!(out.status.code(), Some(1));
    let out = run(&["hash", "Password"], "");
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn bad_arguments_and_user_files() {
    let out = run(&["squid-helper", "--users", "/x"], "");
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("missing required option --level"));
    let out = run(&["squid-helper", "--level", "9", "--users", "/x"], "");
    assert!(stderr(&out).contains("LmCompatibilityLevel must be 0 to 5"));
    let out = run(
        &["squid-helper", "--level", "3", "--users", "/nonexistent/u"],
        "",
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("/nonexistent/u: cannot read"),
        "{}",
        stderr(&out)
    );
    let bad = temp_file("bad-users", "CORP:alice:pw\nnonsense\n");
    let out = run(
        &[
            "squid-helper",
            "--level",
            "3",
            "--users",
            bad.to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains(":2: expected") && stderr(&out).contains("bad-users-"),
        "{}",
        stderr(&out)
    );
    let out = run(
        &[
            "squid-helper",
            "--level",
            "3",
            "--preset",
            "x",
            "--users",
            "/x",
        ],
        "",
    );
    assert!(stderr(&out).contains("--preset must be dc or symmetric"));
    let out = run(&["frobnicate"], "");
    assert_eq!(out.status.code(), Some(2));
    let out = run(&["decode", "--bogus"], "");
    assert_eq!(out.status.code(), Some(2));
    for sub in ["squid-helper", "client-helper", "decode", "hash"] {
        let out = run(&[sub, "--help"], "");
        assert!(out.status.success(), "{sub}");
        assert!(stdout(&out).starts_with(&format!("ntlm {sub}:")), "{sub}");
    }
    let out = run(&["--help"], "");
    assert!(out.status.success());
}
