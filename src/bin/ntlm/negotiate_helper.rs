//! `ntlm negotiate-helper`: SPNEGO (RFC 4178) wrapping NTLM (MS-NLMP §3.2, MS-SPNG) behind
//! Squid's stateful `auth_param negotiate` helper protocol: the stdin/stdout loop around
//! [`ntlm::helper::NegotiateHelper`], with `squid-helper`'s arguments and DC transport
//! (pass-through, MS-APDS §3.1.5.2).

use std::process::ExitCode;
use std::sync::Arc;
use std::time::SystemTime;

use ntlm::helper::NegotiateHelper;
use ntlm::metrics::Metrics;

use crate::dc_verifier::resolve;
use crate::helper::{log_counters, serve_stdio};

pub const HELP: &str = "\
ntlm negotiate-helper: a stateful Negotiate (SPNEGO wrapping NTLM) authenticator for Squid
(`auth_param negotiate program`)

usage: ntlm negotiate-helper --level N --users FILE [--audit-level N] [--preset dc|symmetric]
                             [--domain NAME] [--computer NAME]
                             [--dns-domain NAME] [--dns-computer NAME]
       ntlm negotiate-helper --level N --dc HOST[:PORT] [--dc HOST2 ...]
                             --machine-account 'DOMAIN\\NAME$'
                             (--machine-password-env VAR | --machine-password-file FILE)
                             [--dc-timeout SECONDS] [--preset ...] [--dns-... NAME]

The options are squid-helper's (`ntlm squid-helper --help` describes each):
  --level N, --users FILE, --audit-level N, --preset dc|symmetric, --domain NAME,
  --computer NAME, --dns-domain NAME, --dns-computer NAME, and for pass-through (the
  domain controller verifies, over NETLOGON): --dc HOST[:PORT] (repeat for failover),
  --machine-account NAME, --machine-password-env VAR / --machine-password-file FILE,
  --dc-timeout S.

Requests (stdin, one per line) and replies (stdout, one line each, flushed):
  YR <base64 SPNEGO token>  -> TT <base64 token>              (starts a new handshake)
  KK <base64 SPNEGO token>  -> TT <base64 token>              (handshake continues)
                            -> AF <base64 token> DOMAIN\\user  (logon accepted)
                            -> NA <base64 token> <reason>     (logon refused: a SPNEGO reject)
  KK when no domain controller can be asked (--dc)
                            -> BH DC unavailable              (never NA: not a bad password)
  anything else, YR/KK without a token, KK before YR, bad base64 or a malformed token
                            -> BH <reason>
Only NTLM is offered inside SPNEGO (no Kerberos); a client offering no NTLM gets NA.
As with squid-helper, a refusal about the account itself (unknown user, bad or stale
password, locked out, disabled, or any refusal by the DC) is NA ... NT_STATUS_LOGON_FAILURE;
the full reason and every decision are logged to stderr as `tracing` events (user, domain,
workstation, response kind, rule). With --dc, AF carries the account as the DC names it and
the final token's mechListMIC is made with the session key the DC returned. At end of
input the decision counters are logged and the helper exits 0.
";

/// Runs the helper on stdin/stdout.
pub fn main(args: &[String]) -> ExitCode {
    let (config, dc) = match crate::squid::setup("negotiate-helper", HELP, args) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let mut helper = NegotiateHelper::new(Arc::new(config), Arc::new(Metrics::new()));
    if dc.is_some() {
        helper = helper.with_pass_through();
    }
    let status = serve_stdio("negotiate-helper", |line| {
        let step = helper.handle(line, SystemTime::now());
        resolve(step, dc.as_ref(), |answer| {
            helper.dc_answer(answer, SystemTime::now())
        })
        .to_string()
    });
    log_counters("negotiate-helper", &helper.metrics().snapshot());
    status
}
