//! The verifier behind Squid's stateful `auth_param negotiate` helper protocol: SPNEGO
//! (RFC 4178, MS-SPNG) wrapping NTLM (MS-NLMP §3.2 server).
//!
//! Squid sends `YR <token>` for the first token of a connection and `KK <token>` for the
//! next; the helper answers `TT <token>` (continue), `AF <token> <user>` (logged on, with
//! the final token), `NA <token> <reason>` (refused, with a SPNEGO reject token) or
//! `BH <reason>` (a broken request). Squid reads `AF`'s first word as the token and the
//! second as the user (`src/helper/Reply.cc`), so neither may contain whitespace.

use std::sync::Arc;
use std::time::SystemTime;

use crate::http::claims::Claimed;
use crate::http::spnego::{SpnegoRefusal, SpnegoServer, SpnegoStep};
use crate::metrics::Metrics;
use crate::policy::PolicyRefusal;
use crate::server::{Authenticated, Refusal, ServerConfig, ServerContext};

use super::events;
use super::line::split_request;
use super::ntlmssp::na_reason;
use super::reply::{token, Command, RequestError, ServerReply};

/// A NegTokenResp with negState reject (RFC 4178 §4.2.2): the DER value
/// `a1 07 30 05 a0 03 0a 01 02`, checked against the encoder in the tests.
pub const REJECT_TOKEN: [u8; 9] = [0xa1, 0x07, 0x30, 0x05, 0xa0, 0x03, 0x0a, 0x01, 0x02];

/// One `auth_param negotiate` helper: the configuration, at most one pending handshake,
/// its counters, and a `tracing` span per handshake with one event per decision.
pub struct NegotiateHelper {
    config: Arc<ServerConfig>,
    pending: Option<SpnegoServer>,
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

    /// The counters of this helper's decisions.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// The reply to one request line (without its newline).
    pub fn handle(&mut self, line: &[u8], now: SystemTime) -> ServerReply {
        let (command, argument) = split_request(line);
        match Command::parse(command, &[Command::Yr, Command::Kk]) {
            Some(Command::Kk) => match self.pending.take() {
                Some(spnego) => self.step(spnego, Command::Kk, argument, now),
                None => RequestError::NotPending {
                    command: Command::Kk,
                }
                .into(),
            },
            Some(_) => {
                self.pending = None;
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
                self.pending = None;
                RequestError::unknown(command, "YR or KK").into()
            }
        }
    }

    fn step(
        &mut self,
        mut spnego: SpnegoServer,
        command: Command,
        argument: &[u8],
        now: SystemTime,
    ) -> ServerReply {
        let token = match token(command, argument, "a token") {
            Ok(t) => t,
            Err(e) => return e.into(),
        };
        let span = self.span.clone();
        let _entered = span.enter();
        match spnego.step(&token, now) {
            Ok(SpnegoStep::Continue(reply)) => {
                self.pending = Some(spnego);
                ServerReply::Continue(reply)
            }
            Ok(SpnegoStep::Done { logon, token: last }) => self.accepted(&logon, last),
            Err(refusal) => self.refused(&refusal, &token),
        }
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

    fn refused(&self, refusal: &SpnegoRefusal, token: &[u8]) -> ServerReply {
        let claimed = Claimed::from_token(token);
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
        events::refused(claimed.as_ref(), rule, policy, refusal, &self.metrics);
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
        let tt = h
            .handle(format!("YR {}", base64_encode(&init)).as_bytes(), now)
            .to_string();
        let Some(challenge) = tt.strip_prefix("TT ") else {
            return tt;
        };
        let next = client
            .step(&base64_decode(challenge.as_bytes()).unwrap(), now)
            .unwrap();
        let reply = h
            .handle(format!("KK {}", base64_encode(&next)).as_bytes(), now)
            .to_string();
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
        assert_eq!(wrong, "NA oQcwBaADCgEC NT_STATUS_LOGON_FAILURE");
        let v1 = login(&mut h, 2, "Secret1");
        assert_eq!(v1, "NA oQcwBaADCgEC NTLMv1 refused by server level 5");
        let now = SystemTime::now();
        let reply = |h: &mut NegotiateHelper, line: &[u8]| h.handle(line, now).to_string();
        assert_eq!(
            reply(&mut h, b"KK oQcwBaADCgEB"),
            "BH KK without a pending handshake (YR first)"
        );
        assert_eq!(reply(&mut h, b"YR"), "BH YR without a token");
        assert!(reply(&mut h, b"YR !!!").starts_with("BH YR: bad base64"));
        assert!(reply(&mut h, b"YR TlRMTVNTUAAB").starts_with("BH malformed SPNEGO"));
        assert!(reply(&mut h, b"hello").starts_with("BH unknown request"));
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
