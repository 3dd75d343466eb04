//! The SPNEGO initiator ([`SpnegoClient`]) around an NTLM [`ClientContext`].

use core::fmt;
use std::time::SystemTime;

use super::mechanism::Mechanism;
use super::mic::{mech_list_mic, verify_mech_list_mic};
use super::token::{
    mech_type_list_der, NegState, NegTokenInit, NegTokenResp, NegotiationToken, SpnegoError,
    NTLM_OID,
};
use crate::client::{ClientContext, ClientError};
use crate::crypto::Side;
use crate::wire::NegotiateFlags as F;

/// Why an initiator could not go on.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SpnegoClientError {
    /// The acceptor's token is not SPNEGO.
    Malformed(SpnegoError),
    /// The acceptor answered `reject`.
    Rejected,
    /// The acceptor chose a mechanism other than NTLM.
    OtherMechanism(String),
    /// The acceptor's reply carried no NTLM CHALLENGE.
    NoChallenge,
    /// The NTLM context failed on the CHALLENGE.
    Ntlm(ClientError),
    /// The acceptor's final mechListMIC does not match: the mechanism list was tampered with
    /// or the server does not hold the session key.
    BadMechListMic,
    /// The acceptor sent a token the initiator did not expect at this point.
    OutOfOrder(&'static str),
    /// The initiator's own token could not be encoded.
    Encode(SpnegoError),
}

impl fmt::Display for SpnegoClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed(e) => write!(f, "{e}"),
            Self::Rejected => f.write_str("the server rejected the SPNEGO negotiation"),
            Self::OtherMechanism(m) => write!(f, "the server chose mechanism {m}, not NTLM"),
            Self::NoChallenge => f.write_str("the server's SPNEGO reply carries no NTLM CHALLENGE"),
            Self::Ntlm(e) => write!(f, "{e}"),
            Self::BadMechListMic => f.write_str("the server's SPNEGO mechListMIC does not match"),
            Self::OutOfOrder(what) => write!(f, "unexpected SPNEGO token: {what}"),
            Self::Encode(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for SpnegoClientError {
    /// The error this one wraps, when it wraps one.
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Malformed(e) | Self::Encode(e) => Some(e),
            Self::Ntlm(e) => Some(e),
            _ => None,
        }
    }
}

enum ClientState {
    Start,
    SentInit,
    SentAuthenticate { sent_mic: bool },
    Done,
}

/// The initiator: NTLM inside SPNEGO.
pub struct SpnegoClient {
    ntlm: ClientContext,
    mech_types: Vec<Mechanism>,
    state: ClientState,
    mutual: bool,
}

impl fmt::Debug for SpnegoClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SpnegoClient")
            .field("ntlm", &self.ntlm)
            .finish_non_exhaustive()
    }
}

impl SpnegoClient {
    /// Wraps a fresh NTLM client context.
    pub fn new(ntlm: ClientContext) -> Self {
        Self {
            ntlm,
            mech_types: vec![NTLM_OID],
            state: ClientState::Start,
            mutual: false,
        }
    }

    /// The first token: InitialContextToken { NegTokenInit { \[NTLM\], NEGOTIATE } }.
    pub fn initial_token(&mut self) -> Result<Vec<u8>, SpnegoClientError> {
        if !matches!(self.state, ClientState::Start) {
            return Err(SpnegoClientError::OutOfOrder("initial token asked twice"));
        }
        let negotiate = self.ntlm.negotiate().map_err(SpnegoClientError::Ntlm)?;
        self.state = ClientState::SentInit;
        let mut init = NegTokenInit::ntlm(negotiate);
        init.mech_types.clone_from(&self.mech_types);
        NegotiationToken::Init(init)
            .encode()
            .map_err(SpnegoClientError::Encode)
    }

    /// Answers the acceptor's reply to the initial token: the AUTHENTICATE in a NegTokenResp,
    /// with a mechListMIC when signing was negotiated or the acceptor asked for one.
    pub fn step(&mut self, token: &[u8], now: SystemTime) -> Result<Vec<u8>, SpnegoClientError> {
        if !matches!(self.state, ClientState::SentInit) {
            return Err(SpnegoClientError::OutOfOrder(
                "a CHALLENGE after the AUTHENTICATE",
            ));
        }
        let resp = match NegotiationToken::decode(token).map_err(SpnegoClientError::Malformed)? {
            NegotiationToken::Resp(r) => r,
            NegotiationToken::Init(_) => {
                return Err(SpnegoClientError::OutOfOrder(
                    "NegTokenInit where a NegTokenResp was expected",
                ))
            }
        };
        if resp.neg_state == Some(NegState::Reject) {
            return Err(SpnegoClientError::Rejected);
        }
        if let Some(mech) = resp.supported_mech {
            if mech != NTLM_OID {
                return Err(SpnegoClientError::OtherMechanism(mech.to_string()));
            }
        }
        let challenge = resp.response_token.ok_or(SpnegoClientError::NoChallenge)?;
        let authenticate = self
            .ntlm
            .authenticate(&challenge, now)
            .map_err(SpnegoClientError::Ntlm)?;
        let established = self
            .ntlm
            .established()
            .ok_or(SpnegoClientError::OutOfOrder("NTLM context not complete"))?;
        let send_mic = established.flags().contains(F::NEGOTIATE_SIGN)
            || resp.neg_state == Some(NegState::RequestMic);
        let mic = if send_mic {
            let mech_types =
                mech_type_list_der(&self.mech_types).map_err(SpnegoClientError::Encode)?;
            Some(mech_list_mic(established, Side::Client, &mech_types).to_vec())
        } else {
            None
        };
        let token = NegotiationToken::Resp(NegTokenResp {
            neg_state: None,
            supported_mech: None,
            response_token: Some(authenticate),
            mech_list_mic: mic,
        })
        .encode()
        .map_err(SpnegoClientError::Encode)?;
        self.state = ClientState::SentAuthenticate { sent_mic: send_mic };
        Ok(token)
    }

    /// Checks the acceptor's final token (sent with the 200, when the server sends one).
    pub fn finish(&mut self, token: &[u8]) -> Result<(), SpnegoClientError> {
        if !matches!(self.state, ClientState::SentAuthenticate { .. }) {
            return Err(SpnegoClientError::OutOfOrder(
                "a final token before the AUTHENTICATE",
            ));
        }
        let resp = match NegotiationToken::decode(token).map_err(SpnegoClientError::Malformed)? {
            NegotiationToken::Resp(r) => r,
            NegotiationToken::Init(_) => {
                return Err(SpnegoClientError::OutOfOrder(
                    "NegTokenInit as the final token",
                ))
            }
        };
        if resp.neg_state == Some(NegState::Reject) {
            return Err(SpnegoClientError::Rejected);
        }
        if let Some(mic) = resp.mech_list_mic {
            let established = self
                .ntlm
                .established()
                .ok_or(SpnegoClientError::OutOfOrder("NTLM context not complete"))?;
            let mech_types =
                mech_type_list_der(&self.mech_types).map_err(SpnegoClientError::Encode)?;
            if !verify_mech_list_mic(established, Side::Server, &mech_types, &mic) {
                return Err(SpnegoClientError::BadMechListMic);
            }
            self.mutual = true;
        }
        self.state = ClientState::Done;
        Ok(())
    }

    /// True once the acceptor's mechListMIC was verified (the server proved it holds the
    /// session key).
    pub fn server_verified(&self) -> bool {
        self.mutual
    }

    /// True when the AUTHENTICATE went out with a mechListMIC.
    pub fn sent_mech_list_mic(&self) -> bool {
        matches!(self.state, ClientState::SentAuthenticate { sent_mic: true })
    }

    /// The NTLM context inside.
    pub fn ntlm(&self) -> &ClientContext {
        &self.ntlm
    }
}
