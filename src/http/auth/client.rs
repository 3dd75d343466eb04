//! The client side of HTTP authentication ([`ClientAuth`]): answers each 401/407 with the
//! next `Authorization` value, NTLM or Negotiate.

use core::fmt;
use std::time::SystemTime;

use crate::client::{ClientConfig, ClientContext, ClientError};

use super::{Scheme, Target};
use crate::http::header::{
    encode_token, parse_challenges, Challenge, HeaderError, DEFAULT_MAX_HEADER_LEN,
};
use crate::http::spnego::{SpnegoClient, SpnegoClientError};

/// Client options.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ClientAuthOptions {
    /// Server or proxy authentication.
    pub target: Target,
    /// The schemes to use, most preferred first; others are never used.
    pub schemes: Vec<Scheme>,
    /// Limit on the challenge headers of one response, in bytes.
    pub max_header_len: usize,
}

impl Default for ClientAuthOptions {
    fn default() -> Self {
        Self {
            target: Target::Server,
            schemes: vec![Scheme::Negotiate, Scheme::Ntlm],
            max_header_len: DEFAULT_MAX_HEADER_LEN,
        }
    }
}

impl ClientAuthOptions {
    /// Server or proxy authentication.
    pub fn with_target(mut self, target: Target) -> Self {
        self.target = target;
        self
    }

    /// The schemes, most preferred first.
    pub fn with_schemes(mut self, schemes: Vec<Scheme>) -> Self {
        self.schemes = schemes;
        self
    }

    /// The limit on the authentication headers of one message, in bytes.
    pub fn with_max_header_len(mut self, max_header_len: usize) -> Self {
        self.max_header_len = max_header_len;
        self
    }
}

/// Which of the client's messages the server refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum HandshakeStep {
    /// The NEGOTIATE (the server answered it without a CHALLENGE: a bare challenge of the
    /// scheme again, or none of it).
    Negotiate,
    /// The AUTHENTICATE (the server answered it with 401/407: the logon was refused).
    Authenticate,
}

impl fmt::Display for HandshakeStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Negotiate => "NEGOTIATE",
            Self::Authenticate => "AUTHENTICATE",
        })
    }
}

/// How a client handshake failed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientAuthError {
    /// The server answered `step` with 401/407 (after the AUTHENTICATE: wrong password,
    /// unknown user, or a policy of the server; NTLM does not say which).
    Refused {
        /// The scheme in use.
        scheme: Scheme,
        /// The message answered.
        step: HandshakeStep,
        /// The status.
        status: u16,
    },
    /// None of the challenges is a scheme this client may use.
    NoUsableScheme {
        /// What the server offered (scheme names as sent).
        offered: Vec<String>,
    },
    /// The connection was closed between two steps of the handshake.
    NotKeptAlive {
        /// The step whose response came on a connection that is not kept alive.
        after: HandshakeStep,
    },
    /// The server asked for authentication again after the handshake had ended (after the
    /// AUTHENTICATE was answered, or after a refusal): answering would start over with the
    /// same credentials. A bare challenge in answer to the NEGOTIATE is
    /// [`Refused`](Self::Refused) at [`HandshakeStep::Negotiate`] instead.
    Loop {
        /// Responses fed so far.
        rounds: u32,
    },
    /// A challenge header was oversized or malformed.
    Header(HeaderError),
    /// The NTLM client refused the CHALLENGE.
    Ntlm(ClientError),
    /// The SPNEGO layer failed (reject, wrong mechanism, bad final mechListMIC).
    Spnego(SpnegoClientError),
}

impl fmt::Display for ClientAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Refused {
                scheme,
                step: HandshakeStep::Authenticate,
                status,
            } => write!(
                f,
                "{scheme} logon refused: the server answered the AUTHENTICATE with {status}"
            ),
            Self::Refused {
                scheme,
                step,
                status,
            } => write!(
                f,
                "{scheme} refused: the server answered the {step} with {status} and no CHALLENGE"
            ),
            Self::NoUsableScheme { offered } if offered.is_empty() => {
                f.write_str("the server offered no authentication scheme")
            }
            Self::NoUsableScheme { offered } => write!(
                f,
                "the server offered no usable scheme (offered: {})",
                offered.join(", ")
            ),
            Self::NotKeptAlive { after } => write!(
                f,
                "the connection was not kept alive after the {after}: NTLM needs one connection for the whole handshake"
            ),
            Self::Loop { rounds } => write!(
                f,
                "authentication loop: the server asked again after the handshake ended (after {rounds} responses)"
            ),
            Self::Header(e) => write!(f, "{e}"),
            Self::Ntlm(e) => write!(f, "{e}"),
            Self::Spnego(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for ClientAuthError {
    /// The error this one wraps, when it wraps one.
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Header(e) => Some(e),
            Self::Ntlm(e) => Some(e),
            Self::Spnego(e) => Some(e),
            _ => None,
        }
    }
}

/// What a client does next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientStep {
    /// Send the request again on the same connection with this header.
    Authorize {
        /// `Authorization` or `Proxy-Authorization`.
        name: &'static str,
        /// The header value.
        value: String,
    },
    /// The handshake is over and the response is the answer.
    Done(Completed),
}

/// A handshake that ended with a response other than 401/407.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Completed {
    /// The scheme used; `None` when no authentication was asked for.
    pub scheme: Option<Scheme>,
    /// The final status.
    pub status: u16,
    /// Negotiate only: the server's final mechListMIC was verified.
    pub server_verified: bool,
}

enum Mech {
    Ntlm(ClientContext),
    Spnego(SpnegoClient),
}

enum ClientState {
    Start,
    SentNegotiate(Scheme, Mech),
    SentAuthenticate(Scheme, Mech),
    Finished,
}

/// The client side of one HTTP NTLM/Negotiate handshake.
pub struct ClientAuth {
    config: ClientConfig,
    options: ClientAuthOptions,
    state: ClientState,
    rounds: u32,
}

impl fmt::Debug for ClientAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientAuth")
            .field("options", &self.options)
            .field("rounds", &self.rounds)
            .finish_non_exhaustive()
    }
}

impl ClientAuth {
    /// A handshake that will log on with `config`.
    pub fn new(config: ClientConfig, options: ClientAuthOptions) -> Self {
        Self {
            config,
            options,
            state: ClientState::Start,
            rounds: 0,
        }
    }

    /// The options.
    pub fn options(&self) -> &ClientAuthOptions {
        &self.options
    }

    /// Feeds one response: its status, its `WWW-Authenticate` (or `Proxy-Authenticate`)
    /// values, and whether the connection it came on stays open for the next request.
    pub fn on_response(
        &mut self,
        status: u16,
        challenges: &[impl AsRef<[u8]>],
        kept_alive: bool,
        now: SystemTime,
    ) -> Result<ClientStep, ClientAuthError> {
        self.rounds = self.rounds.saturating_add(1);
        let result = self.step(status, challenges, kept_alive, now);
        if !matches!(result, Ok(ClientStep::Authorize { .. })) {
            self.state = ClientState::Finished;
        }
        result
    }

    fn step(
        &mut self,
        status: u16,
        challenges: &[impl AsRef<[u8]>],
        kept_alive: bool,
        now: SystemTime,
    ) -> Result<ClientStep, ClientAuthError> {
        let target = self.options.target;
        let asked = status == target.status();
        let parsed = if asked {
            parse_challenges(challenges, self.options.max_header_len)
                .map_err(ClientAuthError::Header)?
        } else {
            // Only a final Negotiate token matters; a bad header on a 200 is ignored.
            parse_challenges(challenges, self.options.max_header_len).unwrap_or_default()
        };
        match std::mem::replace(&mut self.state, ClientState::Finished) {
            ClientState::Start if !asked => Ok(ClientStep::Done(Completed {
                scheme: None,
                status,
                server_verified: false,
            })),
            ClientState::Start => {
                let (scheme, _) = self.choose(&parsed)?;
                let config = self.config.clone();
                let mut ntlm = ClientContext::new(config);
                let (mech, token) = match scheme {
                    Scheme::Ntlm => {
                        let t = ntlm.negotiate().map_err(ClientAuthError::Ntlm)?;
                        (Mech::Ntlm(ntlm), t)
                    }
                    Scheme::Negotiate => {
                        let mut spnego = SpnegoClient::new(ntlm);
                        let t = spnego.initial_token().map_err(ClientAuthError::Spnego)?;
                        (Mech::Spnego(spnego), t)
                    }
                };
                self.state = ClientState::SentNegotiate(scheme, mech);
                Ok(self.authorize(scheme, &token))
            }
            ClientState::SentNegotiate(scheme, mech) => {
                if !asked {
                    // The server let the NEGOTIATE through: nothing more to do.
                    return Ok(ClientStep::Done(Completed {
                        scheme: Some(scheme),
                        status,
                        server_verified: false,
                    }));
                }
                let ours = parsed
                    .iter()
                    .find(|c| Scheme::parse(&c.scheme) == Some(scheme));
                // Our scheme offered again without a token (or not at all): the server
                // refused the NEGOTIATE, as IIS does for a scheme or level it disallows.
                let token = match ours.and_then(Challenge::token) {
                    Some(t) => t.map_err(ClientAuthError::Header)?,
                    None => {
                        return Err(ClientAuthError::Refused {
                            scheme,
                            step: HandshakeStep::Negotiate,
                            status,
                        })
                    }
                };
                if !kept_alive {
                    return Err(ClientAuthError::NotKeptAlive {
                        after: HandshakeStep::Negotiate,
                    });
                }
                let (mech, reply) = match mech {
                    Mech::Ntlm(mut ctx) => {
                        let r = ctx
                            .authenticate(&token, now)
                            .map_err(ClientAuthError::Ntlm)?;
                        (Mech::Ntlm(ctx), r)
                    }
                    Mech::Spnego(mut ctx) => {
                        let r = ctx.step(&token, now).map_err(|e| match e {
                            SpnegoClientError::Ntlm(n) => ClientAuthError::Ntlm(n),
                            other => ClientAuthError::Spnego(other),
                        })?;
                        (Mech::Spnego(ctx), r)
                    }
                };
                self.state = ClientState::SentAuthenticate(scheme, mech);
                Ok(self.authorize(scheme, &reply))
            }
            ClientState::SentAuthenticate(scheme, mech) => {
                if asked {
                    return Err(ClientAuthError::Refused {
                        scheme,
                        step: HandshakeStep::Authenticate,
                        status,
                    });
                }
                let mut server_verified = false;
                if let Mech::Spnego(mut ctx) = mech {
                    let last = parsed
                        .iter()
                        .find(|c| c.is("negotiate"))
                        .and_then(Challenge::token);
                    if let Some(token) = last {
                        let token = token.map_err(ClientAuthError::Header)?;
                        ctx.finish(&token).map_err(ClientAuthError::Spnego)?;
                        server_verified = ctx.server_verified();
                    }
                }
                Ok(ClientStep::Done(Completed {
                    scheme: Some(scheme),
                    status,
                    server_verified,
                }))
            }
            ClientState::Finished if !asked => Ok(ClientStep::Done(Completed {
                scheme: None,
                status,
                server_verified: false,
            })),
            ClientState::Finished => Err(ClientAuthError::Loop {
                rounds: self.rounds,
            }),
        }
    }

    fn choose<'c>(
        &self,
        offered: &'c [Challenge],
    ) -> Result<(Scheme, &'c Challenge), ClientAuthError> {
        for wanted in &self.options.schemes {
            if let Some(c) = offered
                .iter()
                .find(|c| Scheme::parse(&c.scheme) == Some(*wanted))
            {
                return Ok((*wanted, c));
            }
        }
        Err(ClientAuthError::NoUsableScheme {
            offered: offered.iter().map(|c| c.scheme.clone()).collect(),
        })
    }

    fn authorize(&self, scheme: Scheme, token: &[u8]) -> ClientStep {
        ClientStep::Authorize {
            name: self.options.target.authorization_header(),
            value: format!("{} {}", scheme.name(), encode_token(token)),
        }
    }
}
