//! The SPNEGO acceptor ([`SpnegoServer`]) around an NTLM [`ServerContext`].

use core::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use super::mic::{mech_list_mic, verify_mech_list_mic};
use super::token::{
    mech_type_list_der, oid_names, NegState, NegTokenResp, NegotiationToken, SpnegoError, NTLM_OID,
};
use crate::crypto::Side;
use crate::server::{Authenticated, Refusal, ServerConfig, ServerContext, ServerError};
use crate::wire::NegotiateFlags as F;

#[cfg(feature = "netlogon")]
mod pass_through;
#[cfg(feature = "netlogon")]
pub use pass_through::SpnegoPassThroughStep;

/// Why an acceptor refused.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SpnegoRefusal {
    /// The token is not SPNEGO.
    Malformed(SpnegoError),
    /// The initiator did not offer NTLM; what it offered.
    NtlmNotOffered {
        /// The offered mechanisms.
        offered: Vec<String>,
    },
    /// The NEGOTIATE was refused by the NTLM context.
    Negotiate(ServerError),
    /// The NTLM logon was refused.
    Ntlm(Refusal),
    /// The mechListMIC does not match.
    BadMechListMic,
    /// A mechListMIC is required (the AUTHENTICATE had a MIC, or NTLM was not the
    /// initiator's first choice) and none came.
    MissingMechListMic,
    /// A token arrived the acceptor did not expect.
    OutOfOrder(&'static str),
    /// The acceptor's own token could not be encoded.
    Encode(SpnegoError),
}

impl fmt::Display for SpnegoRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed(e) => write!(f, "{e}"),
            Self::NtlmNotOffered { offered } => {
                write!(
                    f,
                    "SPNEGO initiator did not offer NTLM (offered: {})",
                    offered.join(", ")
                )
            }
            Self::Negotiate(e) => write!(f, "{e}"),
            Self::Ntlm(r) => write!(f, "{r}"),
            Self::BadMechListMic => f.write_str("SPNEGO mechListMIC does not match"),
            Self::MissingMechListMic => f.write_str("SPNEGO mechListMIC required, none sent"),
            Self::OutOfOrder(what) => write!(f, "unexpected SPNEGO token: {what}"),
            Self::Encode(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for SpnegoRefusal {
    /// The error this one wraps, when it wraps one.
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Malformed(e) | Self::Encode(e) => Some(e),
            Self::Negotiate(e) => Some(e),
            Self::Ntlm(e) => Some(e),
            _ => None,
        }
    }
}

/// What the acceptor does next.
#[derive(Debug)]
pub enum SpnegoStep {
    /// Send this token and wait for the next one.
    Continue(Vec<u8>),
    /// Logged on; send the final token (accept-completed, with a mechListMIC when the
    /// initiator sent one).
    Done {
        /// The logon.
        logon: Box<Authenticated>,
        /// The final token.
        token: Vec<u8>,
    },
}

enum ServerState {
    Start,
    /// NTLM was not the first mechanism: waiting for the NTLM NEGOTIATE.
    WaitNegotiate,
    Challenged,
    /// Pass-through: the AUTHENTICATE went to the DC; `mech_list_mic` is the initiator's,
    /// checked once the DC's session key is known.
    #[cfg(feature = "netlogon")]
    AwaitingDc {
        mech_list_mic: Option<Vec<u8>>,
    },
    Done,
    Failed,
}

/// The acceptor: NTLM inside SPNEGO.
pub struct SpnegoServer {
    ntlm: ServerContext,
    mech_types: Vec<u8>,
    request_mic: bool,
    state: ServerState,
}

impl fmt::Debug for SpnegoServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SpnegoServer")
            .field("ntlm", &self.ntlm)
            .finish_non_exhaustive()
    }
}

impl SpnegoServer {
    /// A fresh acceptor over `config`.
    pub fn new(config: Arc<ServerConfig>) -> Self {
        Self::with_context(ServerContext::new(config))
    }

    /// Wraps a fresh NTLM server context (e.g. one with channel bindings set).
    pub fn with_context(ntlm: ServerContext) -> Self {
        Self {
            ntlm,
            mech_types: Vec::new(),
            request_mic: false,
            state: ServerState::Start,
        }
    }

    /// Processes one initiator token.
    pub fn step(&mut self, token: &[u8], now: SystemTime) -> Result<SpnegoStep, SpnegoRefusal> {
        let result = self.step_inner(token, now);
        if result.is_err() {
            self.state = ServerState::Failed;
        }
        result
    }

    fn step_inner(&mut self, token: &[u8], now: SystemTime) -> Result<SpnegoStep, SpnegoRefusal> {
        let parsed = NegotiationToken::decode(token).map_err(SpnegoRefusal::Malformed)?;
        match (&self.state, parsed) {
            (ServerState::Start, NegotiationToken::Init(init)) => {
                if !init.mech_types.contains(&NTLM_OID) {
                    return Err(SpnegoRefusal::NtlmNotOffered {
                        offered: oid_names(&init.mech_types),
                    });
                }
                self.mech_types =
                    mech_type_list_der(&init.mech_types).map_err(SpnegoRefusal::Encode)?;
                let first_is_ntlm = init.mech_types.first() == Some(&NTLM_OID);
                self.request_mic = !first_is_ntlm;
                match init.mech_token.filter(|_| first_is_ntlm) {
                    Some(negotiate) => self.challenge(&negotiate, now, true),
                    None => {
                        self.state = ServerState::WaitNegotiate;
                        Ok(SpnegoStep::Continue(
                            NegotiationToken::Resp(NegTokenResp {
                                neg_state: Some(NegState::RequestMic),
                                supported_mech: Some(NTLM_OID),
                                ..NegTokenResp::default()
                            })
                            .encode()
                            .map_err(SpnegoRefusal::Encode)?,
                        ))
                    }
                }
            }
            (ServerState::WaitNegotiate, NegotiationToken::Resp(resp)) => {
                let negotiate = resp.response_token.ok_or(SpnegoRefusal::OutOfOrder(
                    "NegTokenResp without the NEGOTIATE",
                ))?;
                self.challenge(&negotiate, now, false)
            }
            (ServerState::Challenged, NegotiationToken::Resp(resp)) => {
                let authenticate = resp.response_token.ok_or(SpnegoRefusal::OutOfOrder(
                    "NegTokenResp without the AUTHENTICATE",
                ))?;
                let logon = self
                    .ntlm
                    .accept(&authenticate, now)
                    .map_err(SpnegoRefusal::Ntlm)?;
                self.finish(logon, resp.mech_list_mic)
            }
            (ServerState::Start, NegotiationToken::Resp(_)) => Err(SpnegoRefusal::OutOfOrder(
                "NegTokenResp before any NegTokenInit",
            )),
            (_, NegotiationToken::Init(_)) => Err(SpnegoRefusal::OutOfOrder(
                "a second NegTokenInit on one context",
            )),
            #[cfg(feature = "netlogon")]
            (ServerState::AwaitingDc { .. }, _) => {
                Err(SpnegoRefusal::OutOfOrder("a token while the DC is asked"))
            }
            (ServerState::Done, _) | (ServerState::Failed, _) => Err(SpnegoRefusal::OutOfOrder(
                "a token after the context finished",
            )),
        }
    }

    /// The NTLM logon is decided (locally or by the DC): checks the initiator's mechListMIC
    /// with the established session key, requires one when it must be there (see the
    /// [module docs](super)), and encodes the final `accept-completed` token, with the
    /// acceptor's own mechListMIC when the initiator sent one.
    fn finish(
        &mut self,
        logon: Authenticated,
        mech_list_mic_sent: Option<Vec<u8>>,
    ) -> Result<SpnegoStep, SpnegoRefusal> {
        let est = &logon.established;
        let signing = est.flags().contains(F::NEGOTIATE_SIGN);
        let reply_mic = match mech_list_mic_sent {
            Some(mic) => {
                if !verify_mech_list_mic(est, Side::Client, &self.mech_types, &mic) {
                    return Err(SpnegoRefusal::BadMechListMic);
                }
                Some(mech_list_mic(est, Side::Server, &self.mech_types).to_vec())
            }
            None if self.request_mic || (logon.mic_verified && signing) => {
                return Err(SpnegoRefusal::MissingMechListMic)
            }
            None => None,
        };
        self.state = ServerState::Done;
        let token = NegotiationToken::Resp(NegTokenResp {
            neg_state: Some(NegState::AcceptCompleted),
            supported_mech: None,
            response_token: None,
            mech_list_mic: reply_mic,
        })
        .encode()
        .map_err(SpnegoRefusal::Encode)?;
        Ok(SpnegoStep::Done {
            logon: Box::new(logon),
            token,
        })
    }

    fn challenge(
        &mut self,
        negotiate: &[u8],
        now: SystemTime,
        first_reply: bool,
    ) -> Result<SpnegoStep, SpnegoRefusal> {
        let challenge = self
            .ntlm
            .challenge(negotiate, now)
            .map_err(SpnegoRefusal::Negotiate)?;
        self.state = ServerState::Challenged;
        Ok(SpnegoStep::Continue(
            NegotiationToken::Resp(NegTokenResp {
                neg_state: Some(NegState::AcceptIncomplete),
                supported_mech: first_reply.then_some(NTLM_OID),
                response_token: Some(challenge),
                mech_list_mic: None,
            })
            .encode()
            .map_err(SpnegoRefusal::Encode)?,
        ))
    }
}

#[cfg(test)]
mod tests {
    use std::error::Error;

    use super::*;
    use crate::http::auth::ServerAuthRefusal;
    use crate::policy::{LmCompatibilityLevel, ServerPolicy};
    use crate::store::MemoryStore;

    #[test]
    fn source_chain_reaches_the_decode_error() {
        let policy = ServerPolicy::domain_controller(LmCompatibilityLevel::L5);
        let config = Arc::new(ServerConfig::new(policy, MemoryStore::new()));
        let negotiate = ServerContext::new(config)
            .challenge(b"NTLMSSP\0\x01\0", SystemTime::now())
            .unwrap_err();
        assert!(matches!(negotiate, ServerError::Malformed(_)));
        let outer = ServerAuthRefusal::Spnego(SpnegoRefusal::Negotiate(negotiate.clone()));
        let spnego = outer.source().expect("the SPNEGO refusal");
        assert_eq!(spnego.to_string(), negotiate.to_string());
        let server = spnego.source().expect("the ServerError");
        let decode = server.source().expect("the DecodeError");
        assert!(decode.source().is_none());
        assert!(negotiate.to_string().ends_with(&decode.to_string()));
        assert!(SpnegoRefusal::BadMechListMic.source().is_none());
    }
}
