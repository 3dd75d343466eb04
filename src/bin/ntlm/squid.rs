//! `ntlm squid-helper`: the server side of MS-NLMP §3.2 behind Squid's stateful
//! `squid-2.5-ntlmssp` helper protocol, as Samba's `ntlm_auth` speaks it.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::SystemTime;

use ntlm::netlogon::{DcClient, DcConfig};
use ntlm::policy::{LmCompatibilityLevel, ServerPolicy, ServerPreset};
use ntlm::server::{Authenticated, PassThroughStep, Refusal, ServerConfig, ServerContext};
use ntlm::store::MemoryStore;
use ntlm::wire::AuthenticateMessage;

use crate::helper::{base64_decode, base64_encode, one_line, serve_stdio, show, split_request};

pub const HELP: &str = "\
ntlm squid-helper: a stateful NTLM authenticator for Squid (`squid-2.5-ntlmssp` protocol)

usage: ntlm squid-helper --level N --users FILE [--preset dc|symmetric]
                         [--domain NAME] [--computer NAME]
                         [--dns-domain NAME] [--dns-computer NAME]
       ntlm squid-helper --level N --dc HOST[:PORT] [--dc HOST2 ...]
                         --machine-account 'DOMAIN\\NAME$'
                         (--machine-password-env VAR | --machine-password-file FILE)
                         [--dc-timeout SECONDS] [--preset ...] [--dns-... NAME]

  --level N        server LmCompatibilityLevel, 0 to 5
  --users FILE     users: DOMAIN:USER:PASSWORD lines (empty DOMAIN = any domain) or
                   smbpasswd lines USER:UID:LMHEX:NTHEX:[FLAGS]:LCT-X:; # comments
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
One handshake is pending at a time; end of input exits 0.
";

/// Runs the helper on stdin/stdout.
pub fn main(args: &[String]) -> ExitCode {
    let (dcs, rest) = match crate::args::take_repeated(args, "dc") {
        Ok(split) => split,
        Err(e) => return crate::usage_error("squid-helper", &e),
    };
    let mut options = vec![
        "level",
        "users",
        "preset",
        "domain",
        "computer",
        "dns-domain",
        "dns-computer",
    ];
    options.extend(crate::dc_args::OPTIONS);
    let parsed = match crate::args::parse(&rest, &options, &[]) {
        Ok(p) => p,
        Err(e) => return crate::usage_error("squid-helper", &e),
    };
    if parsed.flag("help") {
        print!("{HELP}");
        return ExitCode::SUCCESS;
    }
    let (config, dc) = match build_config(&parsed, &dcs) {
        Ok(c) => c,
        Err(e) => return crate::usage_error("squid-helper", &e),
    };
    let mut helper = SquidHelper::new(Arc::new(config));
    if let Some(dc) = dc {
        match DcVerifier::new(dc) {
            Ok(v) => helper.dc = Some(v),
            Err(e) => {
                eprintln!("ntlm squid-helper: tokio runtime: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    serve_stdio("squid-helper", |line| {
        helper.handle(line, SystemTime::now())
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
    let mut config = ServerConfig::new(ServerPolicy::new(preset, level), users);
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

/// Pass-through: a current-thread tokio runtime that drives the [`DcClient`] from the
/// synchronous line loop (Squid drives a stateful helper one request at a time).
pub struct DcVerifier {
    runtime: tokio::runtime::Runtime,
    client: DcClient,
}

impl DcVerifier {
    /// A verifier whose secure channel is set up on the first logon (so that the helper
    /// starts, and answers `BH`, while no DC is reachable).
    pub fn new(config: DcConfig) -> std::io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        Ok(Self {
            runtime,
            client: DcClient::new(config),
        })
    }
}

/// `computer` (a default DNS computer name) moved into `dns_domain` when `--dns-domain` named
/// another domain: its first label followed by `.dns_domain`.
fn dns_computer_in(computer: &str, dns_domain: &str) -> String {
    let host = computer.split('.').next().unwrap_or(computer);
    format!("{host}.{}", dns_domain.to_lowercase())
}

/// The helper's state: the configuration and at most one pending handshake.
pub struct SquidHelper {
    config: Arc<ServerConfig>,
    pending: Option<ServerContext>,
    /// Pass-through to a domain controller instead of the configuration's store.
    pub dc: Option<DcVerifier>,
}

impl SquidHelper {
    /// A helper with no pending handshake.
    pub fn new(config: Arc<ServerConfig>) -> Self {
        Self {
            config,
            pending: None,
            dc: None,
        }
    }

    /// The reply to one request line (without the newline).
    pub fn handle(&mut self, line: &[u8], now: SystemTime) -> String {
        let (command, argument) = split_request(line);
        match command {
            b"YR" => self.negotiate(argument, now),
            b"KK" => self.authenticate(argument, now),
            _ => {
                self.pending = None;
                format!("BH unknown request {:?}: expected YR or KK", show(command))
            }
        }
    }

    fn negotiate(&mut self, token: &[u8], now: SystemTime) -> String {
        self.pending = None;
        if token.is_empty() {
            return "BH YR without a NEGOTIATE token".into();
        }
        let negotiate = match base64_decode(token) {
            Ok(b) => b,
            Err(e) => return format!("BH YR: {e}"),
        };
        let mut context = ServerContext::new(self.config.clone());
        match context.challenge(&negotiate, now) {
            Ok(challenge) => {
                self.pending = Some(context);
                format!("TT {}", base64_encode(&challenge))
            }
            Err(e) => format!("BH {}", one_line(&e.to_string())),
        }
    }

    fn authenticate(&mut self, token: &[u8], now: SystemTime) -> String {
        let Some(mut context) = self.pending.take() else {
            return "BH KK without a pending handshake (YR first)".into();
        };
        if token.is_empty() {
            return "BH KK without an AUTHENTICATE token".into();
        }
        // A token that is not an AUTHENTICATE is the client's fault, not the helper's: a
        // logon failure (NA), never BH, which Squid takes for a broken helper.
        let authenticate = match base64_decode(token) {
            Ok(b) => b,
            Err(e) => return format!("NA KK: {}", one_line(&e.to_string())),
        };
        let verdict = match &self.dc {
            None => context.accept(&authenticate, now),
            Some(dc) => pass_through(&mut context, dc, &authenticate, now),
        };
        match verdict {
            Err(refusal @ Refusal::DcUnavailable { .. }) => {
                eprintln!(
                    "ntlm squid-helper: not verified {}: {refusal}",
                    who(&authenticate)
                );
                "BH DC unavailable".into()
            }
            Ok(logon) => {
                let account = if logon.domain.is_empty() {
                    logon.user.clone()
                } else {
                    format!("{}\\{}", logon.domain, logon.user)
                };
                // Squid splits the AF argument on whitespace: a name with spaces or
                // controls could make it read another user's name.
                if account.chars().any(|c| c.is_whitespace() || c.is_control()) {
                    eprintln!(
                        "ntlm squid-helper: refused {:?}: whitespace or control characters in the account name",
                        account
                    );
                    return "NA account name with whitespace or control characters".into();
                }
                format!("AF {account}")
            }
            Err(refusal) => {
                eprintln!(
                    "ntlm squid-helper: refused {}: {refusal}",
                    who(&authenticate)
                );
                format!("NA {}", one_line(&na_reason(&refusal)))
            }
        }
    }
}

/// One logon verified by the DC: the context screens it (level, reflection, replay), the
/// DC checks the responses, the context checks the rest with the DC's session key.
fn pass_through(
    context: &mut ServerContext,
    dc: &DcVerifier,
    authenticate: &[u8],
    now: SystemTime,
) -> Result<Authenticated, Refusal> {
    match context.begin_pass_through(authenticate, now)? {
        PassThroughStep::AskDc(request) => {
            let answer = dc.runtime.block_on(dc.client.logon(&request));
            context.complete_pass_through(answer, SystemTime::now())
        }
        PassThroughStep::Accepted(logon) => Ok(*logon),
        _ => Err(Refusal::OutOfOrder),
    }
}

/// The reason sent to Squid: the rule for protocol and policy refusals; nothing that tells
/// whether an account exists, is locked or had a nearly right password.
pub(crate) fn na_reason(refusal: &Refusal) -> String {
    match refusal {
        Refusal::UnknownUser
        | Refusal::AccountDisabled
        | Refusal::BadPassword { .. }
        | Refusal::StaleCredentials { .. }
        | Refusal::LockedOut { .. }
        | Refusal::LmV2Mismatch
        | Refusal::DcRefused(_) => "NT_STATUS_LOGON_FAILURE".into(),
        other => other.to_string(),
    }
}

/// `DOMAIN\user` of an AUTHENTICATE for the log, quoted (strings read as the message
/// claims, else as OEM, as a server that negotiated OEM reads them).
fn who(authenticate: &[u8]) -> String {
    let decoded = AuthenticateMessage::decode(authenticate)
        .or_else(|_| AuthenticateMessage::decode_as(authenticate, false));
    match decoded {
        Ok(m) => format!(
            "{:?}",
            format!(
                "{}\\{}",
                m.domain_name.to_string_lossy(),
                m.user_name.to_string_lossy()
            )
        ),
        Err(_) => "(undecodable)".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ntlm::client::{ClientConfig, ClientContext};
    use ntlm::guard::ReflectionGuard;
    use std::time::Duration;

    fn config_error(args: &[&str]) -> String {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let (dcs, rest) = crate::args::take_repeated(&args, "dc").unwrap();
        let mut options = vec!["level", "users"];
        options.extend(crate::dc_args::OPTIONS);
        let parsed = crate::args::parse(&rest, &options, &[]).unwrap();
        build_config(&parsed, &dcs).map(|_| ()).unwrap_err()
    }

    #[test]
    fn dc_options() {
        let both = ["--level", "3", "--users", "f", "--dc", "127.0.0.1"];
        assert!(config_error(&both).contains("not both"));
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
            "--machine-account",
            "CORP\\WEB1$",
            "--machine-password-file",
            "/dev/null",
        ]
        .iter()
        .map(|a| a.to_string())
        .collect();
        let mut options = vec!["level", "users"];
        options.extend(crate::dc_args::OPTIONS);
        let parsed = crate::args::parse(&args, &options, &[]).unwrap();
        let (config, dc) = build_config(&parsed, &["127.0.0.1:1135".into()]).unwrap();
        let dc = dc.unwrap();
        assert_eq!(
            (config.nb_domain.as_str(), config.nb_computer.as_str()),
            ("CORP", "WEB1")
        );
        assert_eq!(dc.dcs.len(), 1);
        assert_eq!(dc.call_timeout, std::time::Duration::from_secs(5));
    }

    /// No DC listening: the helper answers BH, never NA.
    #[test]
    fn unreachable_dc_is_bh() {
        let mut config = ServerConfig::new(
            ServerPolicy::domain_controller(LmCompatibilityLevel::L3),
            MemoryStore::new(),
        );
        config.reflection_guard = Some(Arc::new(ReflectionGuard::new(Duration::from_secs(60))));
        config.nb_domain = "CORP".into();
        let mut h = SquidHelper::new(Arc::new(config));
        let machine = ntlm::netlogon::MachineAccount::new("CORP\\WEB1$", &ntlm::Password::new("x"));
        let mut dc = DcConfig::new(vec!["127.0.0.1:1".parse().unwrap()], machine);
        dc.connect_timeout = Duration::from_secs(2);
        h.dc = Some(DcVerifier::new(dc).unwrap());
        assert_eq!(login(&mut h, 3, "Secret1"), "BH DC unavailable");
        // NTLMv1 at level 5: refused by the level, before the DC.
        let mut config = ServerConfig::new(
            ServerPolicy::domain_controller(LmCompatibilityLevel::L5),
            MemoryStore::new(),
        );
        config.reflection_guard = Some(Arc::new(ReflectionGuard::new(Duration::from_secs(60))));
        let mut h5 = SquidHelper::new(Arc::new(config));
        h5.dc = h.dc.take();
        assert!(login(&mut h5, 0, "Secret1").starts_with("NA NTLMv1"));
    }

    fn helper(level: u8) -> SquidHelper {
        let mut users = MemoryStore::new();
        users.add_password("CORP", "alice", "Secret1");
        let level = LmCompatibilityLevel::new(level).unwrap();
        let mut config = ServerConfig::new(ServerPolicy::domain_controller(level), users);
        config.reflection_guard = Some(Arc::new(ReflectionGuard::new(Duration::from_secs(60))));
        SquidHelper::new(Arc::new(config))
    }

    fn login(h: &mut SquidHelper, client_level: u8, password: &str) -> String {
        let level = LmCompatibilityLevel::new(client_level).unwrap();
        let mut config = ClientConfig::new(level, "CORP", "alice", password);
        config.reflection_guard = Some(Arc::new(ReflectionGuard::new(Duration::from_secs(60))));
        let mut client = ClientContext::new(config);
        let now = SystemTime::now();
        let yr = format!("YR {}", base64_encode(&client.negotiate().unwrap()));
        let tt = h.handle(yr.as_bytes(), now);
        let challenge = base64_decode(tt.strip_prefix("TT ").unwrap().as_bytes()).unwrap();
        let kk = format!(
            "KK {}",
            base64_encode(&client.authenticate(&challenge, now).unwrap())
        );
        h.handle(kk.as_bytes(), now)
    }

    fn negotiate() -> Vec<u8> {
        let config = ClientConfig::new(LmCompatibilityLevel::L3, "CORP", "alice", "Secret1");
        ClientContext::new(config).negotiate().unwrap()
    }

    #[test]
    fn accepts_refuses_and_complains() {
        let mut h = helper(5);
        assert_eq!(login(&mut h, 3, "Secret1"), "AF CORP\\alice");
        assert_eq!(login(&mut h, 3, "wrong"), "NA NT_STATUS_LOGON_FAILURE");
        assert_eq!(
            login(&mut h, 2, "Secret1"),
            "NA NTLMv1-ESS refused by server level 5"
        );
        let now = SystemTime::now();
        assert!(h
            .handle(b"KK TlRMTVNTUAADAAAA", now)
            .starts_with("BH KK without"));
        // An AUTHENTICATE that does not decode, or is not base64: a logon failure.
        for kk in [&b"KK TlRMTVNTUAADAAAA"[..], b"KK !!!"] {
            let yr = format!("YR {}", base64_encode(&negotiate()));
            assert!(h.handle(yr.as_bytes(), now).starts_with("TT "));
            let reply = h.handle(kk, now);
            assert!(reply.starts_with("NA "), "{reply}");
        }
        assert!(h.handle(b"YR", now).starts_with("BH YR without"));
        assert!(h.handle(b"YR !!!", now).starts_with("BH YR: bad base64"));
        assert!(h.handle(b"hello", now).starts_with("BH unknown request"));
    }
}
