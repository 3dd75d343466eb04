//! `ntlm negotiate-helper`: SPNEGO (RFC 4178) wrapping NTLM (MS-NLMP §3.2, MS-SPNG) behind
//! Squid's stateful `auth_param negotiate` helper protocol.
//!
//! Squid sends `YR <token>` for the first token of a connection and `KK <token>` for the
//! next; the helper answers `TT <token>` (continue), `AF <token> <user>` (logged on, with the
//! final token), `NA <token> <reason>` (refused, with a SPNEGO reject token) or `BH <reason>`
//! (a broken request). Squid reads `AF`'s first word as the token and the second as the user
//! (`src/helper/Reply.cc`), so neither may contain whitespace.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::SystemTime;

use ntlm::http::claims::Claimed;
use ntlm::http::spnego::{SpnegoRefusal, SpnegoServer, SpnegoStep};
use ntlm::metrics::Metrics;

// The reason sent to Squid: the same squashing as `squid-helper`, one function for both.
use crate::squid::na_reason;
use ntlm::policy::{LmCompatibilityLevel, PolicyRefusal, ServerPolicy, ServerPreset};
use ntlm::server::{Authenticated, Refusal, ServerConfig, ServerContext};
use ntlm::store::MemoryStore;

use crate::helper::{base64_decode, base64_encode, one_line, serve_stdio, show, split_request};

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
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .try_init();
    let mut helper = NegotiateHelper::new(Arc::new(config), Arc::new(Metrics::new()));
    let status = serve_stdio("negotiate-helper", |line| {
        helper.handle(line, SystemTime::now())
    });
    let s = helper.metrics.snapshot();
    tracing::info!(
        accepted = s.accepted_total(),
        refused = s.refused_total(),
        audit_would_refuse = s.would_refuse_total(),
        detail = %counters(&s),
        "negotiate-helper: end of input"
    );
    status
}

/// The non-zero counters of a snapshot, on one line.
fn counters(s: &ntlm::metrics::MetricsSnapshot) -> String {
    let accepted = s
        .accepted_by_kind
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(k, n)| format!("accepted {k:?}={n}"));
    let refused = s
        .refused_by_rule
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(r, n)| format!("refused {r}={n}"));
    let audit = s
        .audit_would_refuse
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(k, n)| format!("audit would refuse {k}={n}"));
    accepted
        .chain(refused)
        .chain(audit)
        .collect::<Vec<_>>()
        .join("; ")
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

/// The helper's state: the configuration, at most one pending handshake, the counters.
pub struct NegotiateHelper {
    config: Arc<ServerConfig>,
    pending: Option<SpnegoServer>,
    /// The span of the pending handshake.
    span: tracing::Span,
    handshakes: u64,
    metrics: Arc<Metrics>,
}

impl NegotiateHelper {
    /// A helper with no pending handshake, counting into `metrics`.
    pub fn new(config: Arc<ServerConfig>, metrics: Arc<Metrics>) -> Self {
        Self {
            config,
            pending: None,
            span: tracing::Span::none(),
            handshakes: 0,
            metrics,
        }
    }

    /// The reply to one request line (without the newline).
    pub fn handle(&mut self, line: &[u8], now: SystemTime) -> String {
        let (command, argument) = split_request(line);
        match command {
            b"YR" => {
                self.pending = None;
                self.handshakes = self.handshakes.saturating_add(1);
                self.span = tracing::info_span!(
                    "ntlm.handshake",
                    helper = "negotiate",
                    n = self.handshakes
                );
                let spnego = SpnegoServer::with_context(ServerContext::new(self.config.clone()));
                self.step(spnego, "YR", argument, now)
            }
            b"KK" => match self.pending.take() {
                Some(spnego) => self.step(spnego, "KK", argument, now),
                None => "BH KK without a pending handshake (YR first)".into(),
            },
            _ => {
                self.pending = None;
                format!("BH unknown request {:?}: expected YR or KK", show(command))
            }
        }
    }

    fn step(
        &mut self,
        mut spnego: SpnegoServer,
        command: &str,
        argument: &[u8],
        now: SystemTime,
    ) -> String {
        if argument.is_empty() {
            return format!("BH {command} without a token");
        }
        let token = match base64_decode(argument) {
            Ok(t) => t,
            Err(e) => return format!("BH {command}: {e}"),
        };
        let span = self.span.clone();
        let _entered = span.enter();
        match spnego.step(&token, now) {
            Ok(SpnegoStep::Continue(reply)) => {
                self.pending = Some(spnego);
                format!("TT {}", base64_encode(&reply))
            }
            Ok(SpnegoStep::Done { logon, token: last }) => self.accepted(&logon, &last),
            Err(refusal) => self.refused(&refusal, &token),
        }
    }

    fn accepted(&self, logon: &Authenticated, last: &[u8]) -> String {
        let account = if logon.domain.is_empty() {
            logon.user.clone()
        } else {
            format!("{}\\{}", logon.domain, logon.user)
        };
        // Squid splits the AF line on whitespace: a name with spaces or controls could make
        // it read another user's name.
        if account.chars().any(|c| c.is_whitespace() || c.is_control()) {
            tracing::warn!(
                user = %logon.user.escape_debug(),
                domain = %logon.domain.escape_debug(),
                workstation = %logon.workstation.escape_debug(),
                kind = ?logon.verified,
                rule = "account name",
                "logon refused: whitespace or control characters in the account name"
            );
            self.metrics.record_refused("other", None);
            return format!(
                "NA {} account name with whitespace or control characters",
                reject_token()
            );
        }
        tracing::info!(
            user = %logon.user,
            domain = %logon.domain,
            workstation = %logon.workstation,
            kind = ?logon.verified,
            mic = logon.mic_verified,
            "logon accepted"
        );
        if let Some(finding) = &logon.audit {
            audit_event(logon, finding);
        }
        self.metrics
            .record_accepted(logon.verified, logon.audit.as_ref());
        format!("AF {} {account}", base64_encode(last))
    }

    fn refused(&self, refusal: &SpnegoRefusal, token: &[u8]) -> String {
        let claimed = Claimed::from_token(token).unwrap_or_default();
        let (rule, policy): (&str, Option<&PolicyRefusal>) = match refusal {
            SpnegoRefusal::Ntlm(r) => (
                r.rule(),
                match r {
                    Refusal::Policy(p) => Some(p),
                    _ => None,
                },
            ),
            SpnegoRefusal::Negotiate(_) => ("negotiate", None),
            _ => ("spnego", None),
        };
        let kind = policy.map_or_else(String::new, |p| p.refused.to_string());
        tracing::warn!(
            user = %claimed.user,
            domain = %claimed.domain,
            workstation = %claimed.workstation,
            kind = %kind,
            rule,
            reason = %refusal,
            "logon refused"
        );
        self.metrics.record_refused(rule, policy);
        match refusal {
            SpnegoRefusal::Malformed(e) => {
                format!("BH malformed SPNEGO token: {}", one_line(&e.to_string()))
            }
            SpnegoRefusal::OutOfOrder(what) => format!("BH {}", one_line(what)),
            SpnegoRefusal::Negotiate(e) => format!("BH {}", one_line(&e.to_string())),
            SpnegoRefusal::Ntlm(Refusal::Malformed(e)) => {
                format!("BH malformed AUTHENTICATE: {}", one_line(&e.to_string()))
            }
            SpnegoRefusal::Ntlm(r) => format!("NA {} {}", reject_token(), one_line(&na_reason(r))),
            other => format!("NA {} {}", reject_token(), one_line(&other.to_string())),
        }
    }
}

fn audit_event(logon: &Authenticated, finding: &PolicyRefusal) {
    tracing::warn!(
        user = %logon.user,
        domain = %logon.domain,
        workstation = %logon.workstation,
        kind = ?logon.verified,
        audit_level = %finding.level,
        rule = %finding,
        "audit: logon accepted that the audit level would refuse"
    );
}

/// A NegTokenResp with negState reject (RFC 4178 §4.2.2), base64: a fixed DER value
/// (`a1 07 30 05 a0 03 0a 01 02`), checked against the encoder in the tests.
const REJECT_TOKEN: &str = "oQcwBaADCgEC";

fn reject_token() -> String {
    REJECT_TOKEN.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ntlm::client::{ClientConfig, ClientContext};
    use ntlm::guard::ReflectionGuard;
    use ntlm::http::spnego::{NegState, NegTokenResp, NegotiationToken, SpnegoClient};
    use ntlm::policy::{RefusedKind, Verify};
    use std::time::Duration;

    fn helper(level: u8, audit: Option<u8>) -> NegotiateHelper {
        let mut users = MemoryStore::new();
        users.add_password("CORP", "alice", "Secret1");
        let level = LmCompatibilityLevel::new(level).unwrap();
        let mut policy = ServerPolicy::domain_controller(level);
        policy.audit_level = audit.and_then(LmCompatibilityLevel::new);
        policy.offer_ess = false;
        let mut config = ServerConfig::new(policy, users);
        config.reflection_guard = Some(Arc::new(ReflectionGuard::new(Duration::from_secs(60))));
        NegotiateHelper::new(Arc::new(config), Arc::new(Metrics::new()))
    }

    /// A whole SPNEGO handshake through the helper; the last reply.
    fn login(h: &mut NegotiateHelper, client_level: u8, password: &str) -> String {
        let level = LmCompatibilityLevel::new(client_level).unwrap();
        let mut config = ClientConfig::new(level, "CORP", "alice", password);
        config.reflection_guard = Some(Arc::new(ReflectionGuard::new(Duration::from_secs(60))));
        let mut client = SpnegoClient::new(ClientContext::new(config));
        let now = SystemTime::now();
        let init = client.initial_token().unwrap();
        let tt = h.handle(format!("YR {}", base64_encode(&init)).as_bytes(), now);
        let Some(challenge) = tt.strip_prefix("TT ") else {
            return tt;
        };
        let next = client
            .step(&base64_decode(challenge.as_bytes()).unwrap(), now)
            .unwrap();
        let reply = h.handle(format!("KK {}", base64_encode(&next)).as_bytes(), now);
        if let Some(rest) = reply.strip_prefix("AF ") {
            let (token, _) = rest.split_once(' ').unwrap();
            client
                .finish(&base64_decode(token.as_bytes()).unwrap())
                .unwrap();
        }
        reply
    }

    #[test]
    fn accepts_refuses_and_complains() {
        let mut h = helper(5, None);
        let ok = login(&mut h, 3, "Secret1");
        assert!(
            ok.starts_with("AF ") && ok.ends_with(" CORP\\alice"),
            "{ok}"
        );
        let wrong = login(&mut h, 3, "wrong");
        assert!(
            wrong.starts_with("NA ") && wrong.ends_with(" NT_STATUS_LOGON_FAILURE"),
            "{wrong}"
        );
        let v1 = login(&mut h, 2, "Secret1");
        assert!(v1.ends_with(" NTLMv1 refused by server level 5"), "{v1}");
        // The NA token is a SPNEGO reject.
        let token = v1.split(' ').nth(1).unwrap();
        assert!(matches!(
            NegotiationToken::decode(&base64_decode(token.as_bytes()).unwrap()),
            Ok(NegotiationToken::Resp(NegTokenResp {
                neg_state: Some(NegState::Reject),
                ..
            }))
        ));
        let now = SystemTime::now();
        assert!(h
            .handle(b"KK oQcwBaADCgEB", now)
            .starts_with("BH KK without a pending"));
        assert!(h.handle(b"YR", now).starts_with("BH YR without a token"));
        assert!(h.handle(b"YR !!!", now).starts_with("BH YR: bad base64"));
        assert!(h
            .handle(b"YR TlRMTVNTUAAB", now)
            .starts_with("BH malformed SPNEGO"));
        assert!(h.handle(b"hello", now).starts_with("BH unknown request"));
        let s = h.metrics.snapshot();
        assert_eq!(s.accepted(Verify::NtlmV2), 1);
        assert_eq!(s.refused("bad password"), 1);
        assert_eq!(s.refused("policy level"), 1);
    }

    #[test]
    fn audit_level_reports_and_counts() {
        let mut h = helper(2, Some(5));
        let ok = login(&mut h, 2, "Secret1");
        assert!(
            ok.starts_with("AF ") && ok.ends_with(" CORP\\alice"),
            "{ok}"
        );
        let s = h.metrics.snapshot();
        assert_eq!(s.accepted(Verify::NtlmV1), 1);
        assert_eq!(s.would_refuse(RefusedKind::NtlmV1), 1);
    }

    #[test]
    fn reject_token_is_the_encoded_reject() {
        let encoded = NegotiationToken::Resp(NegTokenResp {
            neg_state: Some(NegState::Reject),
            ..NegTokenResp::default()
        })
        .encode()
        .expect("encodes");
        assert_eq!(super::REJECT_TOKEN, base64_encode(&encoded));
    }
}
