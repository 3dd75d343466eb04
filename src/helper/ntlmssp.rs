//! The verifier behind Squid's stateful `squid-2.5-ntlmssp` helper protocol, as Samba's
//! `ntlm_auth` speaks it: `YR <NEGOTIATE>` gets `TT <CHALLENGE>`, `KK <AUTHENTICATE>` gets
//! `AF DOMAIN\user`, `NA <reason>` or `BH <reason>` (MS-NLMP §3.2 server).
//!
//! Sans-IO: [`NtlmsspHelper::handle`] maps a line and the time to a reply, or, with
//! pass-through (MS-APDS §3.1.5.2), to the network logon to ask a domain controller; the
//! caller gives the DC's answer to [`NtlmsspHelper::dc_answer`] for the reply.

use std::sync::Arc;
use std::time::SystemTime;

use crate::metrics::Metrics;
use crate::netlogon::{PassThroughError, Validation};
use crate::server::{Authenticated, PassThroughStep, Refusal, ServerConfig, ServerContext};

use super::events;
use super::line::split_request;
use super::reply::{token, Command, HelperStep, RequestError, ServerReply};
use crate::http::claims::Claimed;

/// The state between lines.
enum State {
    Idle,
    /// A CHALLENGE was sent; the context waits for the AUTHENTICATE.
    Challenged(ServerContext),
    /// Pass-through: the context waits for the DC's answer.
    AwaitingDc(ServerContext, Option<Claimed>),
}

/// One `squid-2.5-ntlmssp` helper: the configuration and at most one pending handshake
/// (Squid drives a stateful helper one connection at a time), its counters, and a
/// `tracing` span per handshake with one event per decision.
pub struct NtlmsspHelper {
    config: Arc<ServerConfig>,
    state: State,
    pass_through: bool,
    metrics: Arc<Metrics>,
    span: tracing::Span,
    handshakes: u64,
}

impl NtlmsspHelper {
    /// A helper verifying against `config`'s store, counting into `metrics`.
    pub fn new(config: Arc<ServerConfig>, metrics: Arc<Metrics>) -> Self {
        Self {
            config,
            state: State::Idle,
            pass_through: false,
            metrics,
            span: tracing::Span::none(),
            handshakes: 0,
        }
    }

    /// Pass-through: a `KK` yields [`HelperStep::AskDc`] instead of checking the store.
    pub fn with_pass_through(mut self) -> Self {
        self.pass_through = true;
        self
    }

    /// The counters of this helper's decisions.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// The step for one request line (without its newline).
    pub fn handle(&mut self, line: &[u8], now: SystemTime) -> HelperStep {
        let (command, argument) = split_request(line);
        match Command::parse(command, &[Command::Yr, Command::Kk]) {
            Some(Command::Kk) => self.authenticate(argument, now),
            Some(_) => HelperStep::Reply(self.negotiate(argument, now)),
            None => {
                self.state = State::Idle;
                HelperStep::Reply(RequestError::unknown(command, "YR or KK").into())
            }
        }
    }

    /// The reply to the request that yielded [`HelperStep::AskDc`], given the DC's answer
    /// (`BH DC unavailable` when no DC could be asked: never `NA`, not a bad password).
    pub fn dc_answer(
        &mut self,
        answer: Result<Validation, PassThroughError>,
        now: SystemTime,
    ) -> ServerReply {
        let State::AwaitingDc(mut context, claimed) =
            std::mem::replace(&mut self.state, State::Idle)
        else {
            return ServerReply::broken("no logon awaits a DC answer");
        };
        let span = self.span.clone();
        let _entered = span.enter();
        let verdict = context.complete_pass_through(answer, now);
        self.decide(verdict, claimed.as_ref())
    }

    fn negotiate(&mut self, argument: &[u8], now: SystemTime) -> ServerReply {
        self.state = State::Idle;
        self.handshakes = self.handshakes.saturating_add(1);
        self.span = tracing::info_span!("ntlm.handshake", helper = "ntlmssp", n = self.handshakes);
        let negotiate = match token(Command::Yr, argument, "a NEGOTIATE token") {
            Ok(t) => t,
            Err(e) => return e.into(),
        };
        let mut context = ServerContext::new(self.config.clone());
        match context.challenge(&negotiate, now) {
            Ok(challenge) => {
                self.state = State::Challenged(context);
                ServerReply::Continue(challenge)
            }
            Err(e) => {
                self.span
                    .in_scope(|| tracing::debug!(reason = %e, "NEGOTIATE refused"));
                ServerReply::broken(e)
            }
        }
    }

    fn authenticate(&mut self, argument: &[u8], now: SystemTime) -> HelperStep {
        let State::Challenged(mut context) = std::mem::replace(&mut self.state, State::Idle) else {
            return HelperStep::Reply(
                RequestError::NotPending {
                    command: Command::Kk,
                }
                .into(),
            );
        };
        let span = self.span.clone();
        let _entered = span.enter();
        // A token that is not base64 is the client's fault, not the helper's: a logon
        // failure (NA), never BH, which Squid takes for a broken helper.
        let authenticate = match token(Command::Kk, argument, "an AUTHENTICATE token") {
            Ok(t) => t,
            Err(e @ RequestError::BadBase64 { .. }) => {
                events::refused(None, "malformed", None, &e, &self.metrics);
                return HelperStep::Reply(ServerReply::Refused {
                    token: None,
                    reason: e.to_string(),
                });
            }
            Err(e) => return HelperStep::Reply(e.into()),
        };
        let claimed = events::claimed_ntlm(&authenticate);
        let verdict = if self.pass_through {
            match context.begin_pass_through(&authenticate, now) {
                Ok(PassThroughStep::AskDc(request)) => {
                    self.state = State::AwaitingDc(context, claimed);
                    return HelperStep::AskDc(request);
                }
                Ok(PassThroughStep::Accepted(logon)) => Ok(*logon),
                Err(refusal) => Err(refusal),
            }
        } else {
            context.accept(&authenticate, now)
        };
        HelperStep::Reply(self.decide(verdict, claimed.as_ref()))
    }

    fn decide(
        &self,
        verdict: Result<Authenticated, Refusal>,
        claimed: Option<&Claimed>,
    ) -> ServerReply {
        match verdict {
            Ok(logon) => match events::account(&logon) {
                Some(account) => {
                    events::accepted(&logon, &self.metrics);
                    ServerReply::Accepted {
                        token: None,
                        account,
                    }
                }
                None => {
                    events::unsafe_account(&logon, &self.metrics);
                    ServerReply::Refused {
                        token: None,
                        reason: "account name with whitespace or control characters".into(),
                    }
                }
            },
            Err(refusal) => {
                let policy = match &refusal {
                    Refusal::Policy(p) => Some(p),
                    _ => None,
                };
                events::refused(claimed, refusal.rule(), policy, &refusal, &self.metrics);
                if matches!(refusal, Refusal::DcUnavailable { .. }) {
                    ServerReply::broken("DC unavailable")
                } else {
                    ServerReply::Refused {
                        token: None,
                        reason: na_reason(&refusal),
                    }
                }
            }
        }
    }
}

/// The reason sent to Squid in `NA`: the rule for protocol and policy refusals, but
/// `NT_STATUS_LOGON_FAILURE` for a refusal about the account itself (unknown user,
/// disabled, bad or stale password, locked out, or refused by the DC), as Samba's
/// `ntlm_auth` squashes them: Squid may show the text to the client, which must not learn
/// whether an account exists, is locked or had a nearly right password.
pub fn na_reason(refusal: &Refusal) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::{ClientConfig, ClientContext};
    use crate::guard::ReflectionGuard;
    use crate::helper::line::{base64_decode, base64_encode};
    use crate::policy::{LmCompatibilityLevel, ServerPolicy, Verify};
    use crate::store::MemoryStore;
    use std::time::Duration;

    fn helper(level: u8, pass_through: bool) -> NtlmsspHelper {
        let mut users = MemoryStore::new();
        users.add_password("CORP", "alice", "Secret1");
        let level = LmCompatibilityLevel::new(level).unwrap();
        let mut config = ServerConfig::new(ServerPolicy::domain_controller(level), users);
        config.reflection_guard = Some(Arc::new(ReflectionGuard::new(Duration::from_secs(60))));
        let h = NtlmsspHelper::new(Arc::new(config), Arc::new(Metrics::new()));
        if pass_through {
            h.with_pass_through()
        } else {
            h
        }
    }

    fn reply(step: HelperStep) -> String {
        match step {
            HelperStep::Reply(r) => r.to_string(),
            HelperStep::AskDc(_) => "ask DC".into(),
        }
    }

    fn login(h: &mut NtlmsspHelper, client_level: u8, password: &str) -> String {
        let level = LmCompatibilityLevel::new(client_level).unwrap();
        let config = ClientConfig::new(level, "CORP", "alice", password);
        let mut client = ClientContext::new(config);
        let now = SystemTime::now();
        let yr = format!("YR {}", base64_encode(&client.negotiate().unwrap()));
        let tt = reply(h.handle(yr.as_bytes(), now));
        let challenge = base64_decode(tt.strip_prefix("TT ").unwrap().as_bytes()).unwrap();
        let auth = client.authenticate(&challenge, now).unwrap();
        reply(h.handle(format!("KK {}", base64_encode(&auth)).as_bytes(), now))
    }

    #[test]
    fn accepts_refuses_and_complains() {
        let mut h = helper(5, false);
        assert_eq!(login(&mut h, 3, "Secret1"), "AF CORP\\alice");
        assert_eq!(login(&mut h, 3, "wrong"), "NA NT_STATUS_LOGON_FAILURE");
        assert_eq!(
            login(&mut h, 2, "Secret1"),
            "NA NTLMv1-ESS refused by server level 5"
        );
        let now = SystemTime::now();
        let kk = reply(h.handle(b"KK TlRMTVNTUAADAAAA", now));
        assert_eq!(kk, "BH KK without a pending handshake (YR first)");
        assert_eq!(
            reply(h.handle(b"YR", now)),
            "BH YR without a NEGOTIATE token"
        );
        assert!(reply(h.handle(b"YR !!!", now)).starts_with("BH YR: bad base64"));
        let unknown = reply(h.handle(b"hello", now));
        assert_eq!(unknown, "BH unknown request \"hello\": expected YR or KK");
        let s = h.metrics().snapshot();
        assert_eq!(s.accepted(Verify::NtlmV2), 1);
        assert_eq!(s.refused("bad password"), 1);
        assert_eq!(s.refused("policy level"), 1);
        assert_eq!(
            h.dc_answer(
                Err(PassThroughError::Refused(
                    crate::netlogon::LogonRefusal::WrongPassword
                )),
                now
            )
            .to_string(),
            "BH no logon awaits a DC answer"
        );
    }

    #[test]
    fn audit_level_reports_and_counts() {
        let mut users = MemoryStore::new();
        users.add_password("CORP", "alice", "Secret1");
        let mut policy = ServerPolicy::domain_controller(LmCompatibilityLevel::L2);
        policy.audit_level = Some(LmCompatibilityLevel::L5);
        let mut config = ServerConfig::new(policy, users);
        config.reflection_guard = Some(Arc::new(ReflectionGuard::new(Duration::from_secs(60))));
        let mut h = NtlmsspHelper::new(Arc::new(config), Arc::new(Metrics::new()));
        assert_eq!(login(&mut h, 2, "Secret1"), "AF CORP\\alice");
        assert_eq!(login(&mut h, 3, "Secret1"), "AF CORP\\alice");
        let s = h.metrics().snapshot();
        assert_eq!(s.accepted_total(), 2);
        assert_eq!(s.would_refuse_total(), 1);
    }

    #[test]
    fn pass_through_asks_then_answers() {
        let mut h = helper(3, true);
        let now = SystemTime::now();
        assert_eq!(login(&mut h, 3, "Secret1"), "ask DC");
        let unavailable = PassThroughError::Unavailable {
            dc: "127.0.0.1:1".into(),
            reason: crate::netlogon::Unavailable::NoDc,
        };
        assert_eq!(
            h.dc_answer(Err(unavailable), now).to_string(),
            "BH DC unavailable"
        );
        assert_eq!(login(&mut h, 3, "Secret1"), "ask DC");
        let refused = h.dc_answer(
            Err(PassThroughError::Refused(
                crate::netlogon::LogonRefusal::WrongPassword,
            )),
            now,
        );
        assert_eq!(refused.to_string(), "NA NT_STATUS_LOGON_FAILURE");
        // The level is the helper's: NTLMv1 at level 5 never reaches the DC.
        let mut h5 = helper(5, true);
        assert!(login(&mut h5, 0, "Secret1").starts_with("NA NTLMv1"));
    }
}
