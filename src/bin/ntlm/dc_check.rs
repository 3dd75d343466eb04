//! `ntlm dc-check`: sets up the NETLOGON secure channel with a domain controller and,
//! optionally, passes one NTLMv2 logon through it, printing every step (MS-NRPC §3.1.4,
//! §3.3, §3.5.4.5.1) so that an administrator sees where a pass-through setup fails.

use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use ntlm::client::{ClientConfig, ClientContext};
use ntlm::names::split_user;
use ntlm::netlogon::{DcClient, DcConfig, MachineAccount, NetworkLogonRequest};
use ntlm::policy::{LmCompatibilityLevel, ServerPolicy};
use ntlm::server::{ServerConfig, ServerContext};
use ntlm::store::MemoryStore;
use ntlm::wire::{AuthenticateMessage, ChallengeMessage};
use ntlm::Password;

pub const HELP: &str = "\
ntlm dc-check: check NTLM pass-through to a domain controller (NETLOGON secure channel)

usage: ntlm dc-check --dc HOST[:PORT] [--dc HOST2 ...] --machine-account 'DOMAIN\\NAME$'
                     (--machine-password-env VAR | --machine-password-file FILE)
                     [--user 'DOMAIN\\user' --password-env VAR2] [--level N]
                     [--workstation NAME] [--timeout SECONDS]

  --dc HOST[:PORT]         a DC; PORT is its endpoint mapper port (default 135); repeat for
                           failover, tried in order
  --machine-account NAME   this verifier's computer account, e.g. 'CORP\\WEB1$'
  --machine-password-env VAR   environment variable holding the machine password
  --machine-password-file FILE file holding it (first line); never on the command line
  --user NAME              also pass one logon of this user through the channel
  --password-env VAR2      environment variable holding the user's password
  --level N                the test client's LmCompatibilityLevel (default 3: NTLMv2)
  --workstation NAME       workstation name the test client sends (default CHECK)
  --timeout SECONDS        bound on each connect and call (default 5)

Prints each step: endpoint mapper lookup, bind, NetrServerReqChallenge,
NetrServerAuthenticate3 with the negotiated flags, the schannel bind, and with --user
the logon and the DC's validation information. Secrets are never printed.
Exit codes: 0 success, 1 the DC refused or could not be reached, 2 bad arguments.
";

/// Runs the check.
pub fn main(args: &[String]) -> ExitCode {
    // `--dc` may repeat: take its values out before the common parser sees them.
    let mut dcs = Vec::new();
    let mut rest = Vec::new();
    let mut iter = args.iter();
    while let Some(a) = iter.next() {
        if a == "--dc" {
            match iter.next() {
                Some(v) => dcs.push(v.clone()),
                None => return crate::usage_error("dc-check", "option --dc needs a value"),
            }
        } else if let Some(v) = a.strip_prefix("--dc=") {
            dcs.push(v.to_string());
        } else {
            rest.push(a.clone());
        }
    }
    let parsed = match crate::args::parse(
        &rest,
        &[
            "machine-account",
            "machine-password-env",
            "machine-password-file",
            "user",
            "password-env",
            "level",
            "workstation",
            "timeout",
        ],
        &[],
    ) {
        Ok(p) => p,
        Err(e) => return crate::usage_error("dc-check", &e),
    };
    if parsed.flag("help") {
        print!("{HELP}");
        return ExitCode::SUCCESS;
    }
    let setup = match Setup::from_args(&parsed, &dcs) {
        Ok(s) => s,
        Err(e) => return crate::usage_error("dc-check", &e),
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("ntlm dc-check: tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run(setup))
}

struct Setup {
    config: DcConfig,
    user: Option<(String, String, Password)>,
    level: LmCompatibilityLevel,
    workstation: String,
}

impl Setup {
    fn from_args(parsed: &crate::args::Parsed, dcs: &[String]) -> Result<Self, String> {
        if let Some(extra) = parsed.positional.first() {
            return Err(format!(
                "unexpected argument {extra:?} (passwords are read from the environment or a file)"
            ));
        }
        if dcs.is_empty() {
            return Err("missing required option --dc".into());
        }
        // The same DC options as the verifying helpers, with dc-check's own `--timeout`.
        let mut config = crate::dc_args::dc_config(parsed, dcs)?
            .ok_or_else(|| "missing required option --dc".to_string())?;
        if let Some(t) = parsed.value("timeout") {
            let secs: u64 = t
                .parse()
                .map_err(|_| format!("--timeout: bad number {t:?}"))?;
            config.connect_timeout = Duration::from_secs(secs.max(1));
            config.call_timeout = Duration::from_secs(secs.max(1));
        }
        let user = match (parsed.value("user"), parsed.value("password-env")) {
            (Some(u), Some(var)) => {
                let (domain, user) = split_user(u);
                Some((domain.to_string(), user.to_string(), read_env(var)?))
            }
            (None, None) => None,
            _ => return Err("--user and --password-env go together".into()),
        };
        let level = match parsed.value("level") {
            Some(l) => l.parse().map_err(|e| format!("--level: {e}"))?,
            None => LmCompatibilityLevel::L3,
        };
        Ok(Self {
            config,
            user,
            level,
            workstation: parsed.value("workstation").unwrap_or("CHECK").to_string(),
        })
    }
}

fn read_env(var: &str) -> Result<Password, String> {
    match std::env::var(var) {
        Ok(p) => Ok(Password::new(p)),
        Err(std::env::VarError::NotPresent) => {
            Err(format!("environment variable {var:?} is not set"))
        }
        Err(std::env::VarError::NotUnicode(_)) => {
            Err(format!("environment variable {var:?} is not valid UTF-8"))
        }
    }
}

async fn run(setup: Setup) -> ExitCode {
    let m = &setup.config.machine;
    println!(
        "machine account: {}\\{} (computer {})",
        m.domain,
        m.account,
        m.computer()
    );
    let mut log = |line: &str| println!("{line}");
    let client = match DcClient::connect_verbose(setup.config.clone(), &mut log).await {
        Ok(c) => c,
        Err(e) => {
            println!("FAILED: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("secure channel: ready");
    let Some((domain, user, password)) = setup.user else {
        return ExitCode::SUCCESS;
    };
    let (request, expected_key) = match test_logon(
        &setup.config.machine,
        &domain,
        &user,
        password,
        setup.level,
        &setup.workstation,
    ) {
        Ok(r) => r,
        Err(e) => {
            println!("FAILED: building the test logon: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "logon: NetrLogonSamLogonEx for {}\\{} from workstation {}, {}-byte NT response, {}-byte LM response, ParameterControl {:#x}",
        request.domain,
        request.user,
        request.workstation,
        request.nt_response.len(),
        request.lm_response.len(),
        request.parameter_control
    );
    match client.logon(&request).await {
        Ok(v) => {
            println!("logon: accepted");
            println!("  account:        {}\\{}", v.domain, v.account);
            println!("  logon server:   {}", v.logon_server);
            println!("  user RID:       {}", v.user_rid);
            println!("  primary group:  {}", v.primary_group_rid);
            let groups: Vec<String> = v.groups.iter().map(|g| g.rid.to_string()).collect();
            println!("  group RIDs:     {}", groups.join(", "));
            if let (Some(sid), Some(user_sid)) = (&v.domain_sid, v.user_sid()) {
                println!("  domain SID:     {sid}");
                println!("  user SID:       {user_sid}");
            }
            println!("  user flags:     {:#x}", v.user_flags);
            let matches = expected_key
                .as_ref()
                .is_some_and(|k| v.user_session_key.ct_eq_bytes(k.as_bytes()));
            println!(
                "  session key:    {}",
                match (expected_key.is_some(), matches) {
                    (true, true) => "received; equal to the one the client derived",
                    (true, false) => "received; DIFFERENT from the one the client derived",
                    (false, _) => "received",
                }
            );
            if expected_key.is_some() && !matches {
                return ExitCode::FAILURE;
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            println!("logon: {e}");
            ExitCode::FAILURE
        }
    }
}

/// A CHALLENGE from a local server context, the client's AUTHENTICATE to it, and the
/// session base key the client derived (NTLMv2 only).
fn test_logon(
    machine: &MachineAccount,
    domain: &str,
    user: &str,
    password: Password,
    level: LmCompatibilityLevel,
    workstation: &str,
) -> Result<(NetworkLogonRequest, Option<ntlm::SessionKey>), String> {
    let now = SystemTime::now();
    let mut config = ClientConfig::new(level, domain, user, password.clone());
    config.workstation = workstation.to_string();
    // The challenge comes from a server context in this process on purpose: this is a
    // check, not a service, so the reflection guard (MS-NLMP §5.1) is off for both.
    config.reflection_guard = None;
    let mut client = ClientContext::new(config);
    let mut server_config = ServerConfig::new(
        ServerPolicy::domain_controller(LmCompatibilityLevel::L0),
        MemoryStore::new(),
    );
    server_config.reflection_guard = None;
    // A DC checks that the NTLMv2 blob names the computer of the secure channel
    // (MsvAvNbComputerName, MS-NRPC §3.5.4.5.1 and Samba's relay check): the CHALLENGE
    // must carry the machine account's names.
    server_config.nb_domain = machine.domain.clone();
    server_config.nb_computer = machine.computer().to_string();
    let mut server = ServerContext::new(std::sync::Arc::new(server_config));
    let negotiate = client.negotiate().map_err(|e| e.to_string())?;
    let challenge = server
        .challenge(&negotiate, now)
        .map_err(|e| e.to_string())?;
    let server_challenge = ChallengeMessage::decode(&challenge)
        .map_err(|e| e.to_string())?
        .server_challenge;
    let authenticate = client
        .authenticate(&challenge, now)
        .map_err(|e| e.to_string())?;
    let a = AuthenticateMessage::decode(&authenticate).map_err(|e| e.to_string())?;
    let request = NetworkLogonRequest::new(
        server_challenge,
        a.lm_challenge_response,
        a.nt_challenge_response,
        &a.user_name.to_string_lossy(),
        &a.domain_name.to_string_lossy(),
        &a.workstation.to_string_lossy(),
    );
    let expected = match a.nt_challenge_response.get(..16) {
        Some(proof) if a.nt_challenge_response.len() > 24 => {
            let key =
                ntlm::crypto::ntowf_v2(&ntlm::crypto::ntowf_v1(password.expose()), user, domain);
            let mut p = [0u8; 16];
            p.copy_from_slice(proof);
            Some(ntlm::crypto::ntlm_v2_session_base_key(&key, &p))
        }
        _ => None,
    };
    Ok((request, expected))
}
