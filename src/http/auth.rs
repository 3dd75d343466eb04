//! Sans-IO HTTP authentication with `NTLM` and `Negotiate` (NTLM inside SPNEGO).
//!
//! Both schemes authenticate a *connection*: NEGOTIATE, CHALLENGE and AUTHENTICATE must
//! travel on one kept-alive connection, and the server then serves every later request on
//! it without asking again (this is how IIS and http.sys behave).
//!
//! [`ClientAuth`] is fed each response (status, challenge headers, whether the connection
//! stays open) and answers with the next `Authorization` value or how it ended.
//! [`ServerAuth`] is fed each request's `Authorization` values and answers with what to do.
//!
//! ```
//! use std::{sync::Arc, time::{Duration, SystemTime}};
//! use ntlm::client::ClientConfig;
//! use ntlm::guard::ReflectionGuard;
//! use ntlm::http::auth::*;
//! use ntlm::policy::{LmCompatibilityLevel as L, ServerPolicy};
//! use ntlm::server::ServerConfig;
//! use ntlm::store::MemoryStore;
//!
//! let guard = || Some(Arc::new(ReflectionGuard::new(Duration::from_secs(60))));
//! let mut users = MemoryStore::new();
//! users.add_password("CORP", "alice", "Secret1");
//! let mut server_config = ServerConfig::new(ServerPolicy::domain_controller(L::L5), users);
//! server_config.reflection_guard = guard();
//! let mut server = ServerAuth::new(Arc::new(server_config), ServerAuthOptions::default());
//! let mut client_config = ClientConfig::new(L::L3, "CORP", "alice", "Secret1");
//! client_config.reflection_guard = guard();
//! let mut client = ClientAuth::new(client_config, ClientAuthOptions::default());
//! let now = SystemTime::now();
//!
//! let mut authorization: Vec<String> = Vec::new();
//! loop {
//!     match server.on_request(&authorization, now) {
//!         ServerDecision::Serve { principal, .. } => { assert_eq!(principal.qualified(), "CORP\\alice"); break; }
//!         ServerDecision::Challenge { status, headers, .. } => {
//!             let values: Vec<String> = headers.into_iter().map(|(_, v)| v).collect();
//!             match client.on_response(status, &values, true, now).unwrap() {
//!                 ClientStep::Authorize { value, .. } => authorization = vec![value],
//!                 ClientStep::Done(_) => unreachable!(),
//!             }
//!         }
//!     }
//! }
//! ```

use core::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use crate::channel_bindings::ChannelBindings;
use crate::client::{ClientConfig, ClientContext, ClientError};
use crate::policy::Verify;
use crate::server::{Authenticated, Refusal, ServerConfig, ServerContext, ServerError};

use super::header::{
    encode_token, parse_challenges, parse_credentials, Challenge, HeaderError,
    DEFAULT_MAX_HEADER_LEN,
};
use super::spnego::{SpnegoClient, SpnegoClientError, SpnegoRefusal, SpnegoServer, SpnegoStep};

/// An HTTP authentication scheme this crate speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// `Negotiate` (RFC 4559): NTLM inside SPNEGO.
    Negotiate,
    /// `NTLM`: raw NTLM messages.
    Ntlm,
}

impl Scheme {
    /// The scheme's name in headers.
    pub fn name(self) -> &'static str {
        match self {
            Self::Negotiate => "Negotiate",
            Self::Ntlm => "NTLM",
        }
    }

    fn parse(name: &str) -> Option<Self> {
        if name.eq_ignore_ascii_case("negotiate") {
            Some(Self::Negotiate)
        } else if name.eq_ignore_ascii_case("ntlm") {
            Some(Self::Ntlm)
        } else {
            None
        }
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Who is authenticating the client: the origin server or a proxy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Target {
    /// 401, `WWW-Authenticate`, `Authorization`.
    #[default]
    Server,
    /// 407, `Proxy-Authenticate`, `Proxy-Authorization`.
    Proxy,
}

impl Target {
    /// The status that asks for authentication.
    pub fn status(self) -> u16 {
        match self {
            Self::Server => 401,
            Self::Proxy => 407,
        }
    }

    /// The header carrying challenges.
    pub fn challenge_header(self) -> &'static str {
        match self {
            Self::Server => "WWW-Authenticate",
            Self::Proxy => "Proxy-Authenticate",
        }
    }

    /// The header carrying credentials.
    pub fn authorization_header(self) -> &'static str {
        match self {
            Self::Server => "Authorization",
            Self::Proxy => "Proxy-Authorization",
        }
    }
}

/// Client options.
#[derive(Clone, Debug)]
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

/// Which of the client's messages the server refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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

impl std::error::Error for ClientAuthError {}

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

/// Server options.
#[derive(Clone, Debug)]
pub struct ServerAuthOptions {
    /// Server or proxy authentication.
    pub target: Target,
    /// The schemes offered in the initial 401, in this order.
    pub schemes: Vec<Scheme>,
    /// Limit on one `Authorization` value.
    pub max_header_len: usize,
}

impl Default for ServerAuthOptions {
    fn default() -> Self {
        Self {
            target: Target::Server,
            schemes: vec![Scheme::Negotiate, Scheme::Ntlm],
            max_header_len: DEFAULT_MAX_HEADER_LEN,
        }
    }
}

/// Who a connection is authenticated as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    /// The scheme used.
    pub scheme: Scheme,
    /// The stored account's domain, or the server's NetBIOS domain for an account stored
    /// without one (never the client's unverified claim; see `server::Authenticated`).
    pub domain: String,
    /// The account name as stored.
    pub user: String,
    /// The workstation the client named.
    pub workstation: String,
    /// Which response was verified.
    pub verified: Verify,
    /// True when the NTLM MIC was present and verified.
    pub mic_verified: bool,
}

impl Principal {
    fn from_logon(scheme: Scheme, logon: &Authenticated) -> Self {
        Self {
            scheme,
            domain: logon.domain.clone(),
            user: logon.user.clone(),
            workstation: logon.workstation.clone(),
            verified: logon.verified,
            mic_verified: logon.mic_verified,
        }
    }

    /// `DOMAIN\user` (or `user` without a domain).
    pub fn qualified(&self) -> String {
        if self.domain.is_empty() {
            self.user.clone()
        } else {
            format!("{}\\{}", self.domain, self.user)
        }
    }
}

/// Why a server refused a request's credentials (for the log; the client only sees 401).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServerAuthRefusal {
    /// The `Authorization` value was oversized or malformed.
    Header(HeaderError),
    /// A scheme this server does not offer.
    UnsupportedScheme(String),
    /// The token is not the NTLM message expected at this point.
    UnexpectedMessage(&'static str),
    /// The NTLM NEGOTIATE was refused.
    Negotiate(ServerError),
    /// The NTLM logon was refused.
    Ntlm(Refusal),
    /// The SPNEGO layer refused.
    Spnego(SpnegoRefusal),
}

impl fmt::Display for ServerAuthRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Header(e) => write!(f, "{e}"),
            Self::UnsupportedScheme(s) => write!(f, "unsupported scheme {s:?}"),
            Self::UnexpectedMessage(what) => write!(f, "unexpected message: {what}"),
            Self::Negotiate(e) => write!(f, "{e}"),
            Self::Ntlm(r) => write!(f, "{r}"),
            Self::Spnego(SpnegoRefusal::Ntlm(r)) => write!(f, "{r}"),
            Self::Spnego(r) => write!(f, "{r}"),
        }
    }
}

impl std::error::Error for ServerAuthRefusal {}

/// What a server does with a request.
#[derive(Debug)]
pub enum ServerDecision {
    /// Serve it as `principal`.
    Serve {
        /// Who the connection is authenticated as.
        principal: Arc<Principal>,
        /// A header to add to the response (Negotiate's final token), if any.
        header: Option<(&'static str, String)>,
        /// True when this request completed the handshake.
        fresh: bool,
    },
    /// Answer with `status` (401/407) and these headers.
    Challenge {
        /// 401 or 407.
        status: u16,
        /// `WWW-Authenticate` / `Proxy-Authenticate` values.
        headers: Vec<(&'static str, String)>,
        /// Why credentials were refused, when some were sent.
        refusal: Option<ServerAuthRefusal>,
    },
}

enum ServerState {
    Idle,
    Ntlm(Scheme, ServerContext),
    /// Pass-through: the AUTHENTICATE went to the DC; its answer is awaited.
    #[cfg(feature = "netlogon")]
    AwaitingDc(Scheme, ServerContext),
    Spnego(SpnegoServer),
    Authenticated(Arc<Principal>),
}

/// The server side of one connection.
pub struct ServerAuth {
    config: Arc<ServerConfig>,
    options: ServerAuthOptions,
    bindings: Option<ChannelBindings>,
    state: ServerState,
    handshakes: u64,
}

impl fmt::Debug for ServerAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerAuth")
            .field("options", &self.options)
            .field("handshakes", &self.handshakes)
            .field("principal", &self.principal())
            .finish_non_exhaustive()
    }
}

impl ServerAuth {
    /// A connection's authentication state over `config`.
    pub fn new(config: Arc<ServerConfig>, options: ServerAuthOptions) -> Self {
        Self {
            config,
            options,
            bindings: None,
            state: ServerState::Idle,
            handshakes: 0,
        }
    }

    /// The channel bindings of this connection (HTTPS: `tls-server-end-point`).
    pub fn set_channel_bindings(&mut self, bindings: ChannelBindings) {
        self.bindings = Some(bindings);
    }

    /// Who the connection is authenticated as.
    pub fn principal(&self) -> Option<&Arc<Principal>> {
        match &self.state {
            ServerState::Authenticated(p) => Some(p),
            _ => None,
        }
    }

    /// Completed handshakes on this connection.
    pub fn handshakes(&self) -> u64 {
        self.handshakes
    }

    /// The headers of the initial 401/407: one bare challenge per offered scheme.
    pub fn initial_challenges(&self) -> Vec<(&'static str, String)> {
        let name = self.options.target.challenge_header();
        self.options
            .schemes
            .iter()
            .map(|s| (name, s.name().to_string()))
            .collect()
    }

    fn context(&self) -> ServerContext {
        let mut ctx = ServerContext::new(self.config.clone());
        if let Some(b) = &self.bindings {
            ctx.set_channel_bindings(b);
        }
        ctx
    }

    fn initial(&mut self, refusal: Option<ServerAuthRefusal>) -> ServerDecision {
        self.state = ServerState::Idle;
        ServerDecision::Challenge {
            status: self.options.target.status(),
            headers: self.initial_challenges(),
            refusal,
        }
    }

    fn reply(&self, scheme: Scheme, token: &[u8]) -> ServerDecision {
        ServerDecision::Challenge {
            status: self.options.target.status(),
            headers: vec![(
                self.options.target.challenge_header(),
                format!("{} {}", scheme.name(), encode_token(token)),
            )],
            refusal: None,
        }
    }

    fn serve(
        &mut self,
        scheme: Scheme,
        logon: &Authenticated,
        last: Option<Vec<u8>>,
    ) -> ServerDecision {
        let principal = Arc::new(Principal::from_logon(scheme, logon));
        self.state = ServerState::Authenticated(principal.clone());
        self.handshakes += 1;
        ServerDecision::Serve {
            principal,
            header: last.map(|t| {
                (
                    self.options.target.challenge_header(),
                    format!("{} {}", scheme.name(), encode_token(&t)),
                )
            }),
            fresh: true,
        }
    }

    /// Decides on one request from its `Authorization` (or `Proxy-Authorization`) values.
    pub fn on_request(
        &mut self,
        authorization: &[impl AsRef<[u8]>],
        now: SystemTime,
    ) -> ServerDecision {
        let Some(value) = authorization.first() else {
            return match &self.state {
                ServerState::Authenticated(p) => ServerDecision::Serve {
                    principal: p.clone(),
                    header: None,
                    fresh: false,
                },
                _ => self.initial(None),
            };
        };
        let credentials = match parse_credentials(value.as_ref(), self.options.max_header_len) {
            Ok(c) => c,
            Err(e) => return self.initial(Some(ServerAuthRefusal::Header(e))),
        };
        let scheme = match Scheme::parse(&credentials.scheme) {
            Some(s) if self.options.schemes.contains(&s) => s,
            _ => {
                return self.initial(Some(ServerAuthRefusal::UnsupportedScheme(
                    credentials.scheme,
                )))
            }
        };
        let token = credentials.token;
        if token.is_empty() {
            return self.initial(Some(ServerAuthRefusal::Header(HeaderError::Malformed {
                reason: format!("{scheme} credentials without a token"),
            })));
        }
        let raw_ntlm = token.starts_with(super::spnego::NTLMSSP_SIGNATURE);
        if scheme == Scheme::Ntlm || raw_ntlm {
            if !raw_ntlm {
                return self.initial(Some(ServerAuthRefusal::UnexpectedMessage(
                    "NTLM credentials that are not an NTLMSSP message",
                )));
            }
            return match token.get(8) {
                Some(1) => {
                    let mut ctx = self.context();
                    match ctx.challenge(&token, now) {
                        Ok(challenge) => {
                            self.state = ServerState::Ntlm(scheme, ctx);
                            self.reply(scheme, &challenge)
                        }
                        Err(e) => self.initial(Some(ServerAuthRefusal::Negotiate(e))),
                    }
                }
                Some(3) => match std::mem::replace(&mut self.state, ServerState::Idle) {
                    ServerState::Ntlm(s, mut ctx) if s == scheme => match ctx.accept(&token, now) {
                        Ok(logon) => self.serve(scheme, &logon, None),
                        Err(r) => self.initial(Some(ServerAuthRefusal::Ntlm(r))),
                    },
                    _ => self.initial(Some(ServerAuthRefusal::UnexpectedMessage(
                        "AUTHENTICATE without a CHALLENGE on this connection",
                    ))),
                },
                _ => self.initial(Some(ServerAuthRefusal::UnexpectedMessage(
                    "an NTLM message other than NEGOTIATE or AUTHENTICATE",
                ))),
            };
        }
        // SPNEGO: a NegTokenInit starts a handshake, a NegTokenResp continues one.
        let mut spnego = match std::mem::replace(&mut self.state, ServerState::Idle) {
            ServerState::Spnego(s) if token.first() == Some(&0xa1) => s,
            _ => SpnegoServer::with_context(self.context()),
        };
        match spnego.step(&token, now) {
            Ok(SpnegoStep::Continue(reply)) => {
                self.state = ServerState::Spnego(spnego);
                self.reply(Scheme::Negotiate, &reply)
            }
            Ok(SpnegoStep::Done { logon, token }) => {
                self.serve(Scheme::Negotiate, &logon, Some(token))
            }
            Err(r) => self.initial(Some(ServerAuthRefusal::Spnego(r))),
        }
    }
}

/// What [`ServerAuth::on_request_pass_through`] decided.
#[cfg(feature = "netlogon")]
#[derive(Debug)]
#[non_exhaustive]
pub enum PassThroughDecision {
    /// Decided here, as [`ServerAuth::on_request`] would.
    Decided(ServerDecision),
    /// Ask the DC ([`crate::netlogon::DcClient::logon`]), then give its answer to
    /// [`ServerAuth::on_dc_answer`] before the next request on this connection.
    AskDc(crate::netlogon::NetworkLogonRequest),
}

/// Pass-through (MS-APDS §3.1.5.2), sans-IO: the NTLM AUTHENTICATE of a raw NTLM handshake
/// is verified by the DC ([`ServerContext::begin_pass_through`]). SPNEGO (Negotiate
/// wrapping NTLM) is not passed through: offer only [`Scheme::Ntlm`] on a pass-through
/// server (a raw NTLMSSP token under `Negotiate` is passed through too).
#[cfg(feature = "netlogon")]
impl ServerAuth {
    /// [`Self::on_request`], except that an AUTHENTICATE answering this connection's
    /// CHALLENGE yields the network logon for the DC instead of a local verification.
    pub fn on_request_pass_through(
        &mut self,
        authorization: &[impl AsRef<[u8]>],
        now: SystemTime,
    ) -> PassThroughDecision {
        use crate::server::PassThroughStep;
        let authenticate = authorization.first().and_then(|value| {
            let c = parse_credentials(value.as_ref(), self.options.max_header_len).ok()?;
            let scheme = Scheme::parse(&c.scheme).filter(|s| self.options.schemes.contains(s))?;
            let raw_authenticate =
                c.token.starts_with(super::spnego::NTLMSSP_SIGNATURE) && c.token.get(8) == Some(&3);
            match &self.state {
                ServerState::Ntlm(s, _) if *s == scheme && raw_authenticate => {
                    Some((scheme, c.token))
                }
                _ => None,
            }
        });
        let Some((scheme, token)) = authenticate else {
            return PassThroughDecision::Decided(self.on_request(authorization, now));
        };
        let ServerState::Ntlm(_, mut ctx) = std::mem::replace(&mut self.state, ServerState::Idle)
        else {
            return PassThroughDecision::Decided(self.initial(None));
        };
        match ctx.begin_pass_through(&token, now) {
            Ok(PassThroughStep::AskDc(request)) => {
                self.state = ServerState::AwaitingDc(scheme, ctx);
                PassThroughDecision::AskDc(request)
            }
            Ok(PassThroughStep::Accepted(logon)) => {
                PassThroughDecision::Decided(self.serve(scheme, &logon, None))
            }
            Err(r) => PassThroughDecision::Decided(self.initial(Some(ServerAuthRefusal::Ntlm(r)))),
        }
    }

    /// The DC's answer to the request [`Self::on_request_pass_through`] yielded: served as
    /// the DC's account, or refused ([`Refusal::DcRefused`], [`Refusal::DcUnavailable`]:
    /// an HTTP server answers the latter with 503, not 401).
    pub fn on_dc_answer(
        &mut self,
        answer: Result<crate::netlogon::Validation, crate::netlogon::PassThroughError>,
        now: SystemTime,
    ) -> ServerDecision {
        match std::mem::replace(&mut self.state, ServerState::Idle) {
            ServerState::AwaitingDc(scheme, mut ctx) => {
                match ctx.complete_pass_through(answer, now) {
                    Ok(logon) => self.serve(scheme, &logon, None),
                    Err(r) => self.initial(Some(ServerAuthRefusal::Ntlm(r))),
                }
            }
            _ => self.initial(Some(ServerAuthRefusal::UnexpectedMessage(
                "a DC answer without a pass-through request",
            ))),
        }
    }
}
