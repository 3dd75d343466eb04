//! Pass-through (MS-APDS §3.1.5.2) inside SPNEGO, sans-IO: the acceptor unwraps the
//! `NegTokenResp` carrying the NTLM AUTHENTICATE, yields the [`NetworkLogonRequest`] for the
//! domain controller, and finishes with the DC's answer: the NTLM checks of
//! [`ServerContext::complete_pass_through`](crate::server::ServerContext::complete_pass_through)
//! with the DC's session key, then the initiator's mechListMIC checked and the acceptor's
//! made with the exported session key that key yields (MS-SPNG §3.1.5.1), and the final
//! `accept-completed` token.
//!
//! A Squid Negotiate helper drives it as: `YR`/`KK` token → [`SpnegoServer::step_pass_through`]:
//! [`SpnegoPassThroughStep::Continue`] → `TT`; [`SpnegoPassThroughStep::AskDc`] →
//! [`DcClient::logon`](crate::netlogon::DcClient::logon), then
//! [`SpnegoServer::complete_pass_through`]: [`SpnegoStep::Done`] → `AF`, a refusal → `NA`
//! (`BH` for [`Refusal::DcUnavailable`](crate::server::Refusal::DcUnavailable)).

use std::time::SystemTime;

use super::{ServerState, SpnegoRefusal, SpnegoServer, SpnegoStep};
use crate::http::spnego::token::NegotiationToken;
use crate::netlogon::{NetworkLogonRequest, PassThroughError, Validation};
use crate::server::{Authenticated, PassThroughStep};

/// What [`SpnegoServer::step_pass_through`] decided.
#[derive(Debug)]
#[non_exhaustive]
pub enum SpnegoPassThroughStep {
    /// Send this token and wait for the initiator's next one (as [`SpnegoStep::Continue`]).
    Continue(Vec<u8>),
    /// Ask the DC, then give its answer to [`SpnegoServer::complete_pass_through`] (no other
    /// token is accepted meanwhile).
    AskDc(NetworkLogonRequest),
    /// Decided without the DC (an anonymous logon the policy accepts): send the final
    /// token, as [`SpnegoStep::Done`].
    Done {
        /// The logon.
        logon: Box<Authenticated>,
        /// The final token.
        token: Vec<u8>,
    },
}

impl From<SpnegoStep> for SpnegoPassThroughStep {
    fn from(step: SpnegoStep) -> Self {
        match step {
            SpnegoStep::Continue(token) => Self::Continue(token),
            SpnegoStep::Done { logon, token } => Self::Done { logon, token },
        }
    }
}

impl SpnegoServer {
    /// [`Self::step`], except that the `NegTokenResp` carrying the NTLM AUTHENTICATE is not
    /// verified here: it is screened as
    /// [`ServerContext::begin_pass_through`](crate::server::ServerContext::begin_pass_through)
    /// screens it (level policy, reflection, replay, challenge lifetime) and, unless that
    /// refuses it, yields the network logon to send to the DC. Its mechListMIC is kept for
    /// [`Self::complete_pass_through`]. On a refusal the context is finished.
    pub fn step_pass_through(
        &mut self,
        token: &[u8],
        now: SystemTime,
    ) -> Result<SpnegoPassThroughStep, SpnegoRefusal> {
        let result = self.step_pass_through_inner(token, now);
        if result.is_err() {
            self.state = ServerState::Failed;
        }
        result
    }

    fn step_pass_through_inner(
        &mut self,
        token: &[u8],
        now: SystemTime,
    ) -> Result<SpnegoPassThroughStep, SpnegoRefusal> {
        if !matches!(self.state, ServerState::Challenged) {
            return self.step_inner(token, now).map(Into::into);
        }
        let resp = match NegotiationToken::decode(token).map_err(SpnegoRefusal::Malformed)? {
            NegotiationToken::Resp(resp) => resp,
            NegotiationToken::Init(_) => {
                return Err(SpnegoRefusal::OutOfOrder(
                    "a second NegTokenInit on one context",
                ))
            }
        };
        let authenticate = resp.response_token.ok_or(SpnegoRefusal::OutOfOrder(
            "NegTokenResp without the AUTHENTICATE",
        ))?;
        match self
            .ntlm
            .begin_pass_through(&authenticate, now)
            .map_err(SpnegoRefusal::Ntlm)?
        {
            PassThroughStep::AskDc(request) => {
                self.state = ServerState::AwaitingDc {
                    mech_list_mic: resp.mech_list_mic,
                };
                Ok(SpnegoPassThroughStep::AskDc(request))
            }
            PassThroughStep::Accepted(logon) => {
                self.finish(*logon, resp.mech_list_mic).map(Into::into)
            }
        }
    }

    /// The DC's answer to the request [`Self::step_pass_through`] yielded:
    /// [`SpnegoStep::Done`] with the DC's account and the final token (its mechListMIC made
    /// with the session key derived from the DC's), or a refusal:
    /// [`SpnegoRefusal::Ntlm`] with [`Refusal::DcRefused`](crate::server::Refusal::DcRefused)
    /// or [`Refusal::DcUnavailable`](crate::server::Refusal::DcUnavailable) from the DC, any
    /// other NTLM rule (MIC, channel bindings, ...) checked with the DC's key, or
    /// [`SpnegoRefusal::BadMechListMic`] / [`SpnegoRefusal::MissingMechListMic`]. The context
    /// is finished either way.
    pub fn complete_pass_through(
        &mut self,
        answer: Result<Validation, PassThroughError>,
        now: SystemTime,
    ) -> Result<SpnegoStep, SpnegoRefusal> {
        let mech_list_mic = match std::mem::replace(&mut self.state, ServerState::Failed) {
            ServerState::AwaitingDc { mech_list_mic } => mech_list_mic,
            _ => {
                return Err(SpnegoRefusal::OutOfOrder(
                    "a DC answer without a pass-through request",
                ))
            }
        };
        let logon = self
            .ntlm
            .complete_pass_through(answer, now)
            .map_err(SpnegoRefusal::Ntlm)?;
        let result = self.finish(logon, mech_list_mic);
        if result.is_err() {
            self.state = ServerState::Failed;
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::client::{ClientConfig, ClientContext};
    use crate::http::spnego::SpnegoClient;
    use crate::netlogon::LogonRefusal;
    use crate::policy::{LmCompatibilityLevel, ServerPolicy};
    use crate::server::{Refusal, ServerConfig};
    use crate::store::MemoryStore;

    /// A pass-through acceptor: an empty store (the DC decides), its own reflection guard.
    fn acceptor() -> SpnegoServer {
        let policy = ServerPolicy::domain_controller(LmCompatibilityLevel::L5);
        let mut config = ServerConfig::new(policy, MemoryStore::new());
        config.reflection_guard = None;
        SpnegoServer::new(Arc::new(config))
    }

    fn initiator(password: &str) -> SpnegoClient {
        let mut config = ClientConfig::new(LmCompatibilityLevel::L3, "CORP", "alice", password);
        config.reflection_guard = None;
        SpnegoClient::new(ClientContext::new(config))
    }

    fn validation(request: &NetworkLogonRequest, password: &str) -> Validation {
        crate::server::validation_for(request, password)
    }

    /// Runs the handshake up to the DC request: (initiator, acceptor, request).
    fn up_to_dc(now: SystemTime) -> (SpnegoClient, SpnegoServer, NetworkLogonRequest) {
        let mut client = initiator("Secret1");
        let mut server = acceptor();
        let init = client.initial_token().unwrap();
        let challenge = match server.step_pass_through(&init, now).unwrap() {
            SpnegoPassThroughStep::Continue(token) => token,
            other => panic!("expected the CHALLENGE, got {other:?}"),
        };
        let authenticate = client.step(&challenge, now).unwrap();
        assert!(client.sent_mech_list_mic());
        let request = match server.step_pass_through(&authenticate, now).unwrap() {
            SpnegoPassThroughStep::AskDc(request) => request,
            other => panic!("expected a DC request, got {other:?}"),
        };
        (client, server, request)
    }

    #[test]
    fn pass_through_finishes_with_the_dcs_session_key() {
        let now = SystemTime::now();
        let (_, mut server, request) = up_to_dc(now);
        assert_eq!(
            (request.user.as_str(), request.domain.as_str()),
            ("alice", "CORP")
        );
        // No other token while the DC is asked.
        assert!(matches!(
            server.step(
                &NegotiationToken::Resp(Default::default()).encode().unwrap(),
                now
            ),
            Err(SpnegoRefusal::OutOfOrder(_))
        ));
        let (mut client2, mut server2, request2) = up_to_dc(now);
        let answer = Ok(validation(&request2, "Secret1"));
        match server2.complete_pass_through(answer, now).unwrap() {
            SpnegoStep::Done { logon, token } => {
                assert_eq!(logon.user, "Alice");
                assert!(logon.mic_verified);
                // The acceptor's mechListMIC, made with the DC's key, verifies at the client.
                client2.finish(&token).unwrap();
                assert!(client2.server_verified());
            }
            other => panic!("expected Done, got {other:?}"),
        }
        // The context is finished.
        assert!(matches!(
            server2.complete_pass_through(Ok(validation(&request2, "Secret1")), now),
            Err(SpnegoRefusal::OutOfOrder(_))
        ));
        // The first server (failed by the stray token) refuses the answer.
        assert!(server
            .complete_pass_through(Ok(validation(&request, "Secret1")), now)
            .is_err());
    }

    #[test]
    fn a_wrong_key_or_a_dc_refusal_refuses() {
        let now = SystemTime::now();
        // A "DC" whose key is not the client's: the NTLM MIC fails before the mechListMIC.
        let (_, mut server, request) = up_to_dc(now);
        let wrong = Ok(validation(&request, "Other1"));
        assert!(matches!(
            server.complete_pass_through(wrong, now),
            Err(SpnegoRefusal::Ntlm(Refusal::Mic(_)))
        ));
        let (_, mut server, _) = up_to_dc(now);
        let refused = Err(PassThroughError::Refused(LogonRefusal::WrongPassword));
        assert!(matches!(
            server.complete_pass_through(refused, now),
            Err(SpnegoRefusal::Ntlm(Refusal::DcRefused(
                LogonRefusal::WrongPassword
            )))
        ));
        // Without a request first.
        let mut fresh = acceptor();
        assert!(matches!(
            fresh.complete_pass_through(
                Err(PassThroughError::Refused(LogonRefusal::NoSuchUser)),
                now
            ),
            Err(SpnegoRefusal::OutOfOrder(_))
        ));
    }

    #[test]
    fn a_tampered_mech_list_mic_is_refused_after_the_dc() {
        let now = SystemTime::now();
        let mut client = initiator("Secret1");
        let mut server = acceptor();
        let init = client.initial_token().unwrap();
        let SpnegoPassThroughStep::Continue(challenge) =
            server.step_pass_through(&init, now).unwrap()
        else {
            panic!("expected the CHALLENGE")
        };
        let authenticate = client.step(&challenge, now).unwrap();
        let NegotiationToken::Resp(mut resp) = NegotiationToken::decode(&authenticate).unwrap()
        else {
            panic!("expected a NegTokenResp")
        };
        resp.mech_list_mic.as_mut().unwrap()[15] ^= 1;
        let tampered = NegotiationToken::Resp(resp).encode().unwrap();
        let SpnegoPassThroughStep::AskDc(request) =
            server.step_pass_through(&tampered, now).unwrap()
        else {
            panic!("expected a DC request")
        };
        assert_eq!(
            server
                .complete_pass_through(Ok(validation(&request, "Secret1")), now)
                .unwrap_err(),
            SpnegoRefusal::BadMechListMic
        );
    }
}
