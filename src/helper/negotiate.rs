//! The verifier behind Squid's stateful `auth_param negotiate` helper protocol: SPNEGO
//! (RFC 4178, MS-SPNG) wrapping NTLM (MS-NLMP §3.2 server).
//!
//! Squid sends `YR <token>` for the first token of a connection and `KK <token>` for the
//! next; the helper answers `TT <token>` (continue), `AF <token> <user>` (logged on, with
//! the final token), `NA <token> <reason>` (refused, with a SPNEGO reject token) or
//! `BH <reason>` (a broken request). Squid reads `AF`'s first word as the token and the
//! second as the user (`src/helper/Reply.cc`), so neither may contain whitespace.
//!
//! Sans-IO: [`NegotiateHelper::handle`] maps a line and the time to a reply, or, with
//! pass-through (MS-APDS §3.1.5.2), to the network logon the SPNEGO-wrapped AUTHENTICATE
//! asks a domain controller for; the caller gives the DC's answer to
//! [`NegotiateHelper::dc_answer`] for `AF <token> <user>`, `NA <token> <reason>`, or
//! `BH DC unavailable` when no DC could be asked.

use std::sync::Arc;
use std::time::SystemTime;

use crate::http::claims::Claimed;
use crate::http::spnego::{SpnegoPassThroughStep, SpnegoRefusal, SpnegoServer, SpnegoStep};
use crate::metrics::Metrics;
use crate::netlogon::{PassThroughError, Validation};
use crate::policy::PolicyRefusal;
use crate::server::{Authenticated, Refusal, ServerConfig, ServerContext};

use super::events;
use super::line::split_request;
use super::ntlmssp::na_reason;
use super::reply::{token, Command, HelperStep, RequestError, ServerReply};

/// A NegTokenResp with negState reject (RFC 4178 §4.2.2): the DER value
/// `a1 07 30 05 a0 03 0a 01 02`, checked against the encoder in the tests.
pub const REJECT_TOKEN: [u8; 9] = [0xa1, 0x07, 0x30, 0x05, 0xa0, 0x03, 0x0a, 0x01, 0x02];

/// The state between lines.
enum State {
    Idle,
    /// A token was answered with `TT`; the context waits for the next one.
    Pending(SpnegoServer),
    /// Pass-through: the context waits for the DC's answer.
    AwaitingDc(SpnegoServer, Option<Claimed>),
}

/// One `auth_param negotiate` helper: the configuration, at most one pending handshake,
/// its counters, and a `tracing` span per handshake with one event per decision.
pub struct NegotiateHelper {
    config: Arc<ServerConfig>,
    state: State,
    pass_through: bool,
    span: tracing::Span,
    handshakes: u64,
    metrics: Arc<Metrics>,
}

impl NegotiateHelper {
    /// A helper with no pending handshake, counting into `metrics`.
    pub fn new(config: Arc<ServerConfig>, metrics: Arc<Metrics>) -> Self {
        Self {
            config,
            state: State::Idle,
            pass_through: false,
            span: tracing::Span::none(),
            handshakes: 0,
            metrics,
        }
    }

    /// Pass-through: the `KK` carrying the AUTHENTICATE yields [`HelperStep::AskDc`]
    /// instead of checking the store.
    pub fn with_pass_through(mut self) -> Self {
        self.pass_through = true;
        self
    }

    /// The counters of this helper's decisions.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// The step for one request line (without its newline): a reply, or, with
    /// pass-through, the logon to ask the DC.
    pub fn handle(&mut self, line: &[u8], now: SystemTime) -> HelperStep {
        let (command, argument) = split_request(line);
        match Command::parse(command, &[Command::Yr, Command::Kk]) {
            Some(Command::Kk) => match std::mem::replace(&mut self.state, State::Idle) {
                State::Pending(spnego) => self.step(spnego, Command::Kk, argument, now),
                _ => HelperStep::Reply(
                    RequestError::NotPending {
                        command: Command::Kk,
                    }
                    .into(),
                ),
            },
            Some(_) => {
                self.state = State::Idle;
                self.handshakes = self.handshakes.saturating_add(1);
                self.span = tracing::info_span!(
                    "ntlm.handshake",
                    helper = "negotiate",
                    n = self.handshakes
                );
                let spnego = SpnegoServer::with_context(ServerContext::new(self.config.clone()));
                self.step(spnego, Command::Yr, argument, now)
            }
            None => {
                self.state = State::Idle;
                HelperStep::Reply(RequestError::unknown(command, "YR or KK").into())
            }
        }
    }

    /// The reply to the request that yielded [`HelperStep::AskDc`], given the DC's answer:
    /// `AF <token> <user>` with the final token (its mechListMIC made with the session key
    /// the DC returned), `NA <reject> <reason>`, or `BH DC unavailable` when no DC could be
    /// asked (never `NA`: not a bad password).
    pub fn dc_answer(
        &mut self,
        answer: Result<Validation, PassThroughError>,
        now: SystemTime,
    ) -> ServerReply {
        let State::AwaitingDc(mut spnego, claimed) =
            std::mem::replace(&mut self.state, State::Idle)
        else {
            return ServerReply::broken("no logon awaits a DC answer");
        };
        let span = self.span.clone();
        let _entered = span.enter();
        match spnego.complete_pass_through(answer, now) {
            Ok(SpnegoStep::Done { logon, token: last }) => self.accepted(&logon, last),
            Ok(SpnegoStep::Continue(_)) => ServerReply::broken("a DC answer did not finish"),
            Err(refusal) => self.refused(&refusal, claimed.as_ref()),
        }
    }

    fn step(
        &mut self,
        mut spnego: SpnegoServer,
        command: Command,
        argument: &[u8],
        now: SystemTime,
    ) -> HelperStep {
        let token = match token(command, argument, "a token") {
            Ok(t) => t,
            Err(e) => return HelperStep::Reply(e.into()),
        };
        let span = self.span.clone();
        let _entered = span.enter();
        let step = if self.pass_through {
            spnego.step_pass_through(&token, now)
        } else {
            spnego.step(&token, now).map(Into::into)
        };
        HelperStep::Reply(match step {
            Ok(SpnegoPassThroughStep::Continue(reply)) => {
                self.state = State::Pending(spnego);
                ServerReply::Continue(reply)
            }
            Ok(SpnegoPassThroughStep::AskDc(request)) => {
                self.state = State::AwaitingDc(spnego, Claimed::from_token(&token));
                return HelperStep::AskDc(request);
            }
            Ok(SpnegoPassThroughStep::Done { logon, token: last }) => self.accepted(&logon, last),
            Err(refusal) => self.refused(&refusal, Claimed::from_token(&token).as_ref()),
        })
    }

    fn accepted(&self, logon: &Authenticated, last: Vec<u8>) -> ServerReply {
        match events::account(logon) {
            Some(account) => {
                events::accepted(logon, &self.metrics);
                ServerReply::Accepted {
                    token: Some(last),
                    account,
                }
            }
            None => {
                events::unsafe_account(logon, &self.metrics);
                ServerReply::Refused {
                    token: Some(REJECT_TOKEN.to_vec()),
                    reason: "account name with whitespace or control characters".into(),
                }
            }
        }
    }

    fn refused(&self, refusal: &SpnegoRefusal, claimed: Option<&Claimed>) -> ServerReply {
        let (rule, policy): (&'static str, Option<&PolicyRefusal>) = match refusal {
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
        events::refused(claimed, rule, policy, refusal, &self.metrics);
        let reject = |reason: String| ServerReply::Refused {
            token: Some(REJECT_TOKEN.to_vec()),
            reason,
        };
        match refusal {
            SpnegoRefusal::Malformed(e) => {
                ServerReply::Broken(format!("malformed SPNEGO token: {e}"))
            }
            SpnegoRefusal::OutOfOrder(what) => ServerReply::broken(what),
            SpnegoRefusal::Negotiate(e) => ServerReply::broken(e),
            SpnegoRefusal::Ntlm(Refusal::DcUnavailable { .. }) => {
                ServerReply::broken("DC unavailable")
            }
            SpnegoRefusal::Ntlm(Refusal::Malformed(e)) => {
                ServerReply::Broken(format!("malformed AUTHENTICATE: {e}"))
            }
            SpnegoRefusal::Ntlm(r) => reject(na_reason(r)),
            other => reject(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::{ClientConfig, ClientContext};
    use crate::guard::ReflectionGuard;
    use crate::helper::line::{base64_decode, base64_encode};
    use crate::http::spnego::{NegState, NegTokenResp, NegotiationToken, SpnegoClient};
    use crate::policy::{LmCompatibilityLevel, RefusedKind, ServerPolicy, Verify};
    use crate::store::MemoryStore;
    use std::time::Duration;

    fn reply(step: HelperStep) -> String {
        match step {
            HelperStep::Reply(r) => r.to_string(),
            HelperStep::AskDc(_) => "ask DC".into(),
        }
    }

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
        let config = ClientConfig::new(level, "CORP", "alice", password);
        let mut client = SpnegoClient::new(ClientContext::new(config));
        let now = SystemTime::now();
        let init = client.initial_token().unwrap();
        let tt = reply(h.handle(format!("YR {}", base64_encode(&init)).as_bytes(), now));
        let Some(challenge) = tt.strip_prefix("TT ") else {
            return tt;
        };
        let next = client
            .step(&base64_decode(challenge.as_bytes()).unwrap(), now)
            .unwrap();
        let last = reply(h.handle(format!("KK {}", base64_encode(&next)).as_bytes(), now));
        if let Some(rest) = last.strip_prefix("AF ") {
            let (token, _) = rest.split_once(' ').unwrap();
            client
                .finish(&base64_decode(token.as_bytes()).unwrap())
                .unwrap();
        }
        last
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
        assert_eq!(wrong, "NA oQcwBaADCgEC NT_STATUS_LOGON_FAILURE");
        let v1 = login(&mut h, 2, "Secret1");
        assert_eq!(v1, "NA oQcwBaADCgEC NTLMv1 refused by server level 5");
        let now = SystemTime::now();
        let say = |h: &mut NegotiateHelper, line: &[u8]| reply(h.handle(line, now));
        assert_eq!(
            say(&mut h, b"KK oQcwBaADCgEB"),
            "BH KK without a pending handshake (YR first)"
        );
        assert_eq!(say(&mut h, b"YR"), "BH YR without a token");
        assert!(say(&mut h, b"YR !!!").starts_with("BH YR: bad base64"));
        assert!(say(&mut h, b"YR TlRMTVNTUAAB").starts_with("BH malformed SPNEGO"));
        assert!(say(&mut h, b"hello").starts_with("BH unknown request"));
        let s = h.metrics().snapshot();
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
        let s = h.metrics().snapshot();
        assert_eq!(s.accepted(Verify::NtlmV1), 1);
        assert_eq!(s.would_refuse(RefusedKind::NtlmV1), 1);
    }

    /// Pass-through: YR and KK as a SPNEGO client sends them, up to the DC request; the
    /// client, to check the final token.
    fn up_to_dc(
        h: &mut NegotiateHelper,
        client_level: u8,
        now: SystemTime,
    ) -> (SpnegoClient, HelperStep) {
        let level = LmCompatibilityLevel::new(client_level).unwrap();
        let mut config = ClientConfig::new(level, "CORP", "alice", "Secret1");
        // Client and helper share one process: no reflection guard between them.
        config.reflection_guard = None;
        let mut client = SpnegoClient::new(ClientContext::new(config));
        let init = client.initial_token().unwrap();
        let tt = reply(h.handle(format!("YR {}", base64_encode(&init)).as_bytes(), now));
        let challenge = base64_decode(tt.strip_prefix("TT ").unwrap().as_bytes()).unwrap();
        let next = client.step(&challenge, now).unwrap();
        let step = h.handle(format!("KK {}", base64_encode(&next)).as_bytes(), now);
        (client, step)
    }

    #[test]
    fn pass_through_asks_the_dc_then_answers() {
        let mut users = MemoryStore::new();
        // The store is never consulted with pass-through: a wrong password here.
        users.add_password("CORP", "alice", "NotTheDcs1");
        let policy = ServerPolicy::domain_controller(LmCompatibilityLevel::L5);
        let mut config = ServerConfig::new(policy, users);
        config.reflection_guard = None;
        let mut h =
            NegotiateHelper::new(Arc::new(config), Arc::new(Metrics::new())).with_pass_through();
        let now = SystemTime::now();
        // The DC accepts: AF with the final token (its mechListMIC made with the DC's
        // session key verifies at the client) and the account as the DC spells it.
        let (mut client, step) = up_to_dc(&mut h, 3, now);
        let HelperStep::AskDc(request) = step else {
            panic!("expected a DC request, got {step:?}")
        };
        assert_eq!(
            (request.user.as_str(), request.domain.as_str()),
            ("alice", "CORP")
        );
        let answer = crate::server::validation_for(&request, "Secret1");
        let af = h.dc_answer(Ok(answer), now).to_string();
        let rest = af.strip_prefix("AF ").unwrap_or_else(|| panic!("{af}"));
        let (token, account) = rest.split_once(' ').unwrap();
        assert_eq!(account, "CORP\\Alice");
        client
            .finish(&base64_decode(token.as_bytes()).unwrap())
            .unwrap();
        assert!(client.server_verified());
        // The answer was used: another one is out of order.
        assert_eq!(
            h.dc_answer(Ok(crate::server::validation_for(&request, "Secret1")), now)
                .to_string(),
            "BH no logon awaits a DC answer"
        );
        // The DC refuses: NA with the SPNEGO reject, the account refusal squashed.
        let (_, step) = up_to_dc(&mut h, 3, now);
        assert!(matches!(step, HelperStep::AskDc(_)), "{step:?}");
        let refused = Err(PassThroughError::Refused(
            crate::netlogon::LogonRefusal::WrongPassword,
        ));
        assert_eq!(
            h.dc_answer(refused, now).to_string(),
            "NA oQcwBaADCgEC NT_STATUS_LOGON_FAILURE"
        );
        // A "DC" whose key is not the client's: the NTLM MIC refuses.
        let (_, step) = up_to_dc(&mut h, 3, now);
        let HelperStep::AskDc(request) = step else {
            panic!("expected a DC request, got {step:?}")
        };
        let wrong = crate::server::validation_for(&request, "Other1");
        assert!(h
            .dc_answer(Ok(wrong), now)
            .to_string()
            .starts_with("NA oQcwBaADCgEC "));
        // No DC could be asked: BH, never NA.
        let (_, step) = up_to_dc(&mut h, 3, now);
        assert!(matches!(step, HelperStep::AskDc(_)), "{step:?}");
        let unavailable = Err(PassThroughError::Unavailable {
            dc: "127.0.0.1:1".into(),
            reason: crate::netlogon::Unavailable::NoDc,
        });
        assert_eq!(
            h.dc_answer(unavailable, now).to_string(),
            "BH DC unavailable"
        );
        // The level is the helper's: NTLMv1 never reaches the DC.
        let (_, step) = up_to_dc(&mut h, 0, now);
        let HelperStep::Reply(r) = step else {
            panic!("NTLMv1 asked the DC")
        };
        assert!(r.to_string().starts_with("NA oQcwBaADCgEC NTLMv1"), "{r}");
        let s = h.metrics().snapshot();
        assert_eq!(s.accepted(Verify::NtlmV2), 1);
        assert_eq!(s.refused("policy level"), 1);
    }

    #[test]
    fn reject_token_is_the_encoded_reject() {
        let encoded = NegotiationToken::Resp(NegTokenResp {
            neg_state: Some(NegState::Reject),
            ..NegTokenResp::default()
        })
        .encode()
        .expect("encodes");
        assert_eq!(REJECT_TOKEN.as_slice(), encoded.as_slice());
        assert_eq!(base64_encode(&REJECT_TOKEN), "oQcwBaADCgEC");
    }
}
