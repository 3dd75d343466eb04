//! `ntlm squid-helper`: the server side of MS-NLMP §3.2 behind Squid's stateful
//! `squid-2.5-ntlmssp` helper protocol, as Samba's `ntlm_auth` speaks it: arguments, the
//! stdin/stdout loop and the DC transport around [`ntlm::helper::NtlmsspHelper`].

use std::process::ExitCode;
use std::sync::Arc;
use std::time::SystemTime;

use ntlm::helper::{NtlmsspHelper, ServerReply};
use ntlm::metrics::Metrics;
use ntlm::netlogon::DcConfig;
use ntlm::policy::{LmCompatibilityLevel, ServerPolicy, ServerPreset};
use ntlm::server::ServerConfig;
use ntlm::store::MemoryStore;

use crate::dc_verifier::{resolve, DcVerifier};
use crate::helper::{init_tracing, log_counters, serve_stdio};

pub const HELP: &str = "\
ntlm squid-helper: a stateful NTLM authenticator for Squid (`squid-2.5-ntlmssp` protocol)

usage: ntlm squid-helper --level N --users FILE [--audit-level N] [--preset dc|symmetric]
                         [--domain NAME] [--computer NAME]
                         [--dns-domain NAME] [--dns-computer NAME]
       ntlm squid-helper --level N --dc HOST[:PORT] [--dc HOST2 ...]
                         --machine-account 'DOMAIN\\NAME$'
                         (--machine-password-env VAR | --machine-password-file FILE)
                         [--dc-timeout SECONDS] [--preset ...] [--dns-... NAME]

  --level N        server LmCompatibilityLevel, 0 to 5
  --users FILE     users: DOMAIN:USER:PASSWORD lines (empty DOMAIN = any domain) or
                   smbpasswd lines USER:UID:LMHEX:NTHEX:[FLAGS]:LCT-X:; # comments
  --audit-level N  audit mode: a logon accepted at --level that level N would refuse is
                   accepted and logged as an audit finding (and counted)
  --dc HOST[:PORT] pass-through (MS-APDS): the domain controller verifies (NETLOGON over
                   an AES secure channel); PORT is its endpoint mapper port (default 135);
                   repeat for failover. Instead of --users.
  --machine-account NAME   this verifier's computer account, e.g. 'CORP\\WEB1$'; the
                   CHALLENGE then names its domain and computer (a DC requires it)
  --machine-password-env VAR / --machine-password-file FILE   its password (first line)
  --dc-timeout S   bound on each connect and call to a DC (default 5)
  --preset P       dc (domain-controller semantics, default) or symmetric
  --domain NAME    NetBIOS domain announced in the CHALLENGE (default DOMAIN)
  --computer NAME  NetBIOS computer name announced in the CHALLENGE (default SERVER)
  --dns-domain NAME    MsvAvDnsDomainName (default: the NetBIOS domain in lowercase)
  --dns-computer NAME  MsvAvDnsComputerName (default: this host's name, lowercase, plus
                       `.` and the DNS domain unless it has a dot); empty: neither pair

Requests (stdin, one per line) and replies (stdout, one line each, flushed):
  YR <base64 NEGOTIATE>     -> TT <base64 CHALLENGE>        (starts a new handshake)
  KK <base64 AUTHENTICATE>  -> AF DOMAIN\\user               (logon accepted)
                            -> NA <reason>                  (logon refused; full reason on stderr)
  KK whose AUTHENTICATE is not base64 or does not decode
                            -> NA <reason>                  (a logon failure, as Samba's)
  KK when no domain controller can be asked (--dc)
                            -> BH DC unavailable              (never NA: not a bad password)
  anything else, YR without a token, KK without a token or before YR, a YR token that
  is not base64 or not a NEGOTIATE
                            -> BH <reason>
AF carries the account as stored: its domain (or this helper's --domain for a user file
line without one) and user name. NA says which protocol rule refused a logon (e.g.
\"NTLMv1 refused by server level 5\"), but a refusal about the account itself (unknown user,
bad or stale password, locked out, disabled, or any refusal by the DC) is
NA NT_STATUS_LOGON_FAILURE, as Samba's ntlm_auth squashes it: Squid may show NA text to the
client. With --dc, AF carries the account as the DC names it, and lockout is the DC's.
Every decision is logged to stderr as a `tracing` event (user, domain, workstation,
response kind, rule; never a secret). One handshake is pending at a time; at end of input
the decision counters are logged and the helper exits 0.
";

/// Runs the helper on stdin/stdout.
pub fn main(args: &[String]) -> ExitCode {
    let (config, dc) = match setup("squid-helper", HELP, args) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let mut helper = NtlmsspHelper::new(Arc::new(config), Arc::new(Metrics::new()));
    if dc.is_some() {
        helper = helper.with_pass_through();
    }
    let status = serve_stdio("squid-helper", |line| {
        reply(&mut helper, dc.as_ref(), line, SystemTime::now()).to_string()
    });
    log_counters("squid-helper", &helper.metrics().snapshot());
    status
}

/// The start shared by the verifying helpers (`command` is `squid-helper` or
/// `negotiate-helper`): the arguments parsed into the configuration and, with `--dc`, the
/// DC transport; tracing started. `Err` is the exit code: after `--help` (printing
/// `help`), a usage error, or a runtime that cannot start.
pub fn setup(
    command: &str,
    help: &str,
    args: &[String],
) -> Result<(ServerConfig, Option<DcVerifier>), ExitCode> {
    let (dcs, rest) =
        crate::args::take_repeated(args, "dc").map_err(|e| crate::usage_error(command, &e))?;
    let mut options = vec![
        "level",
        "users",
        "audit-level",
        "preset",
        "domain",
        "computer",
        "dns-domain",
        "dns-computer",
    ];
    options.extend(crate::dc_args::OPTIONS);
    let parsed =
        crate::args::parse(&rest, &options, &[]).map_err(|e| crate::usage_error(command, &e))?;
    if parsed.flag("help") {
        print!("{help}");
        return Err(ExitCode::SUCCESS);
    }
    let (config, dc) = build_config(&parsed, &dcs).map_err(|e| crate::usage_error(command, &e))?;
    init_tracing();
    let dc = dc.map(DcVerifier::new).transpose().map_err(|e| {
        tracing::error!(error = %e, "{command}: cannot start the tokio runtime for --dc");
        ExitCode::FAILURE
    })?;
    Ok((config, dc))
}

/// The reply to one line: the helper's, after asking the DC when it says so.
fn reply(
    helper: &mut NtlmsspHelper,
    dc: Option<&DcVerifier>,
    line: &[u8],
    now: SystemTime,
) -> ServerReply {
    let step = helper.handle(line, now);
    resolve(step, dc, |answer| {
        helper.dc_answer(answer, SystemTime::now())
    })
}

fn build_config(
    parsed: &crate::args::Parsed,
    dcs: &[String],
) -> Result<(ServerConfig, Option<DcConfig>), String> {
    if let Some(extra) = parsed.positional.first() {
        return Err(format!("unexpected argument {extra:?}"));
    }
    let level: LmCompatibilityLevel = parsed
        .required("level")?
        .parse()
        .map_err(|e| format!("--level: {e}"))?;
    let audit_level = parsed
        .value("audit-level")
        .map(|v| v.parse::<LmCompatibilityLevel>())
        .transpose()
        .map_err(|e| format!("--audit-level: {e}"))?;
    let preset = match parsed.value("preset").unwrap_or("dc") {
        "dc" | "domain-controller" => ServerPreset::DomainController,
        "symmetric" => ServerPreset::Symmetric,
        other => return Err(format!("--preset must be dc or symmetric, not {other:?}")),
    };
    if !dcs.is_empty() && parsed.value("users").is_some() {
        return Err("give --users or --dc, not both".into());
    }
    let dc = crate::dc_args::dc_config(parsed, dcs)?;
    let users = match &dc {
        // Pass-through: no local users; the DC verifies.
        Some(_) => MemoryStore::new(),
        None => {
            let users = MemoryStore::from_file(parsed.required("users")?)
                .map_err(|e| format!("user file {e}"))?;
            if users.is_empty() {
                return Err("the user file has no users".into());
            }
            users
        }
    };
    let mut policy = ServerPolicy::new(preset, level);
    policy.audit_level = audit_level;
    let mut config = ServerConfig::new(policy, users);
    if let Some(dc) = &dc {
        // A DC refuses an NTLMv2 blob whose MsvAvNbComputerName is not the secure
        // channel's computer: the CHALLENGE names the machine account.
        config.nb_domain = dc.machine.domain.clone();
        config.nb_computer = dc.machine.computer().to_string();
    }
    if let Some(domain) = parsed.value("domain") {
        config.nb_domain = domain.to_string();
    }
    if let Some(computer) = parsed.value("computer") {
        config.nb_computer = computer.to_string();
    }
    // MsvAvDnsDomainName and MsvAvDnsComputerName (MS-NLMP §2.2.2.1), sent by default as
    // Windows and Samba do.
    let (dns_domain, dns_computer) =
        ServerConfig::default_dns_names(&config.nb_domain, &config.nb_computer);
    config.dns_domain = parsed
        .value("dns-domain")
        .map_or(dns_domain, str::to_string);
    config.dns_computer = match parsed.value("dns-computer") {
        Some(name) => name.to_string(),
        None if config.dns_domain.is_empty() => dns_computer,
        None => dns_computer_in(&dns_computer, &config.dns_domain),
    };
    if config.dns_computer.is_empty() {
        config.dns_domain.clear();
    }
    Ok((config, dc))
}

/// `computer` (a default DNS computer name) moved into `dns_domain` when `--dns-domain` named
/// another domain: its first label followed by `.dns_domain`.
fn dns_computer_in(computer: &str, dns_domain: &str) -> String {
    let host = computer.split('.').next().unwrap_or(computer);
    format!("{host}.{}", dns_domain.to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ntlm::client::{ClientConfig, ClientContext};
    use ntlm::guard::ReflectionGuard;
    use ntlm::helper::{base64_decode, base64_encode};
    use std::time::Duration;

    fn config_error(args: &[&str]) -> String {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let (dcs, rest) = crate::args::take_repeated(&args, "dc").unwrap();
        let mut options = vec!["level", "users", "audit-level"];
        options.extend(crate::dc_args::OPTIONS);
        let parsed = crate::args::parse(&rest, &options, &[]).unwrap();
        build_config(&parsed, &dcs).map(|_| ()).unwrap_err()
    }

    #[test]
    fn dc_options() {
        let both = ["--level", "3", "--users", "f", "--dc", "127.0.0.1"];
        assert!(config_error(&both).contains("not both"));
        let audit = ["--level", "3", "--users", "f", "--audit-level", "6"];
        assert!(config_error(&audit).starts_with("--audit-level: "));
        let machine = ["--level", "3", "--machine-account", "CORP\\WEB1$"];
        assert!(config_error(&machine).contains("needs --dc"));
        let no_pw = [
            "--level",
            "3",
            "--dc",
            "a",
            "--machine-account",
            "CORP\\WEB1$",
        ];
        assert!(config_error(&no_pw).contains("exactly one"));
        let env = [
            "--level",
            "3",
            "--dc",
            "a",
            "--machine-account",
            "CORP\\WEB1$",
            "--machine-password-env",
            "NTLM_TEST_SURELY_UNSET_VAR",
        ];
        assert!(config_error(&env).contains("not set"));
        let no_domain = [
            "--level",
            "3",
            "--dc",
            "h",
            "--machine-account",
            "WEB1$",
            "--machine-password-file",
            "/dev/null",
        ];
        assert!(config_error(&no_domain).contains("give the domain"));
    }

    #[test]
    fn pass_through_config_names_the_machine_account() {
        let args: Vec<String> = [
            "--level",
            "5",
            "--audit-level",
            "5",
            "--machine-account",
            "CORP\\WEB1$",
            "--machine-password-file",
            "/dev/null",
        ]
        .iter()
        .map(|a| a.to_string())
        .collect();
        let mut options = vec!["level", "users", "audit-level"];
        options.extend(crate::dc_args::OPTIONS);
        let parsed = crate::args::parse(&args, &options, &[]).unwrap();
        let (config, dc) = build_config(&parsed, &["127.0.0.1:1135".into()]).unwrap();
        let dc = dc.unwrap();
        assert_eq!(
            (config.nb_domain.as_str(), config.nb_computer.as_str()),
            ("CORP", "WEB1")
        );
        assert_eq!(config.policy.audit_level, Some(LmCompatibilityLevel::L5));
        assert_eq!(dc.dcs.len(), 1);
        assert_eq!(dc.call_timeout, std::time::Duration::from_secs(5));
    }

    /// No DC listening: the helper answers BH, never NA; a level refusal comes first.
    #[test]
    fn unreachable_dc_is_bh() {
        let machine = ntlm::netlogon::MachineAccount::new("CORP\\WEB1$", &ntlm::Password::new("x"));
        let mut dc = DcConfig::new(vec!["127.0.0.1:1".parse().unwrap()], machine);
        dc.connect_timeout = Duration::from_secs(2);
        let dc = DcVerifier::new(dc).unwrap();
        let mut h = helper(3);
        assert_eq!(login(&mut h, Some(&dc), 3), "BH DC unavailable");
        let mut h5 = helper(5);
        assert!(login(&mut h5, Some(&dc), 0).starts_with("NA NTLMv1"));
        // Pass-through without a transport: unavailable, never a logon.
        assert_eq!(login(&mut h, None, 3), "BH DC unavailable");
    }

    fn helper(level: u8) -> NtlmsspHelper {
        let level = LmCompatibilityLevel::new(level).unwrap();
        let mut config =
            ServerConfig::new(ServerPolicy::domain_controller(level), MemoryStore::new());
        config.reflection_guard = Some(Arc::new(ReflectionGuard::new(Duration::from_secs(60))));
        config.nb_domain = "CORP".into();
        NtlmsspHelper::new(Arc::new(config), Arc::new(Metrics::new())).with_pass_through()
    }

    fn login(h: &mut NtlmsspHelper, dc: Option<&DcVerifier>, client_level: u8) -> String {
        let level = LmCompatibilityLevel::new(client_level).unwrap();
        let mut client = ClientContext::new(ClientConfig::new(level, "CORP", "alice", "Secret1"));
        let now = SystemTime::now();
        let yr = format!("YR {}", base64_encode(&client.negotiate().unwrap()));
        let tt = reply(h, dc, yr.as_bytes(), now).to_string();
        let challenge = base64_decode(tt.strip_prefix("TT ").unwrap().as_bytes()).unwrap();
        let auth = client.authenticate(&challenge, now).unwrap();
        reply(
            h,
            dc,
            format!("KK {}", base64_encode(&auth)).as_bytes(),
            now,
        )
        .to_string()
    }
}
