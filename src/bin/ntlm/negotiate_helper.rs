//! `ntlm negotiate-helper`: SPNEGO (RFC 4178) wrapping NTLM (MS-NLMP §3.2, MS-SPNG) behind
//! Squid's stateful `auth_param negotiate` helper protocol: arguments and the stdin/stdout
//! loop around [`ntlm::helper::NegotiateHelper`].

use std::process::ExitCode;
use std::sync::Arc;
use std::time::SystemTime;

use ntlm::helper::NegotiateHelper;
use ntlm::metrics::Metrics;
use ntlm::policy::{LmCompatibilityLevel, ServerPolicy, ServerPreset};
use ntlm::server::ServerConfig;
use ntlm::store::MemoryStore;

use crate::helper::{init_tracing, log_counters, serve_stdio};

pub const HELP: &str = "\
ntlm negotiate-helper: a stateful Negotiate (SPNEGO wrapping NTLM) authenticator for Squid
(`auth_param negotiate program`)

usage: ntlm negotiate-helper --level N --users FILE [--audit-level N] [--preset dc|symmetric]
                             [--domain NAME] [--computer NAME]

  --level N        server LmCompatibilityLevel, 0 to 5
  --users FILE     users: DOMAIN:USER:PASSWORD lines (empty DOMAIN = any domain) or
                   smbpasswd lines USER:UID:LMHEX:NTHEX:[FLAGS]:LCT-X:; # comments
  --audit-level N  audit mode: a logon accepted at --level that level N would refuse is
                   accepted and logged as an audit finding (and counted)
  --preset P       dc (domain-controller semantics, default) or symmetric
  --domain NAME    NetBIOS domain announced in the CHALLENGE (default DOMAIN)
  --computer NAME  NetBIOS computer name announced in the CHALLENGE (default SERVER)

Requests (stdin, one per line) and replies (stdout, one line each, flushed):
  YR <base64 SPNEGO token>  -> TT <base64 token>              (starts a new handshake)
  KK <base64 SPNEGO token>  -> TT <base64 token>              (handshake continues)
                            -> AF <base64 token> DOMAIN\\user  (logon accepted)
                            -> NA <base64 token> <reason>     (logon refused: a SPNEGO reject)
  anything else, YR/KK without a token, KK before YR, bad base64 or a malformed token
                            -> BH <reason>
Only NTLM is offered inside SPNEGO (no Kerberos); a client offering no NTLM gets NA.
As with squid-helper, a refusal about the account itself (unknown user, bad or stale
password, locked out, disabled) is NA ... NT_STATUS_LOGON_FAILURE; the full reason and every
decision are logged to stderr as `tracing` events (user, domain, workstation, response kind,
rule). At end of input the decision counters are logged and the helper exits 0.
";

/// Runs the helper on stdin/stdout.
pub fn main(args: &[String]) -> ExitCode {
    let parsed = match crate::args::parse(
        args,
        &[
            "level",
            "users",
            "preset",
            "domain",
            "computer",
            "audit-level",
        ],
        &[],
    ) {
        Ok(p) => p,
        Err(e) => return crate::usage_error("negotiate-helper", &e),
    };
    if parsed.flag("help") {
        print!("{HELP}");
        return ExitCode::SUCCESS;
    }
    let config = match build_config(&parsed) {
        Ok(c) => c,
        Err(e) => return crate::usage_error("negotiate-helper", &e),
    };
    init_tracing();
    let mut helper = NegotiateHelper::new(Arc::new(config), Arc::new(Metrics::new()));
    let status = serve_stdio("negotiate-helper", |line| {
        helper.handle(line, SystemTime::now()).to_string()
    });
    log_counters("negotiate-helper", &helper.metrics().snapshot());
    status
}

fn build_config(parsed: &crate::args::Parsed) -> Result<ServerConfig, String> {
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
    let users =
        MemoryStore::from_file(parsed.required("users")?).map_err(|e| format!("user file {e}"))?;
    if users.is_empty() {
        return Err("the user file has no users".into());
    }
    let mut policy = ServerPolicy::new(preset, level);
    policy.audit_level = audit_level;
    let mut config = ServerConfig::new(policy, users);
    if let Some(domain) = parsed.value("domain") {
        config.nb_domain = domain.to_string();
    }
    if let Some(computer) = parsed.value("computer") {
        config.nb_computer = computer.to_string();
    }
    Ok(config)
}
