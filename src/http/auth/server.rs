//! The server side of HTTP authentication ([`ServerAuth`]): decides on each request from its
//! `Authorization` values, locally or through a domain controller (pass-through).

use core::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use crate::channel_bindings::ChannelBindings;
use crate::policy::Verify;
use crate::server::{Authenticated, Refusal, ServerConfig, ServerContext, ServerError};

use super::{Scheme, Target};
use crate::http::header::{encode_token, parse_credentials, HeaderError, DEFAULT_MAX_HEADER_LEN};
#[cfg(feature = "netlogon")]
use crate::http::spnego::SpnegoPassThroughStep;
use crate::http::spnego::{SpnegoRefusal, SpnegoServer, SpnegoStep};

/// Server options.
#[derive(Clone, Debug)]
#[non_exhaustive]
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

impl ServerAuthOptions {
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

/// Who a connection is authenticated as.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
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
    /// The audit finding ([`Authenticated::audit`]): the refusal a server at the policy's
    /// audit level would have given, judged on every response the client sent; `None` when
    /// that level accepts the logon too, or without an audit level.
    pub audit: Option<crate::policy::PolicyRefusal>,
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
            audit: logon.audit,
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
#[non_exhaustive]
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

impl std::error::Error for ServerAuthRefusal {
    /// The error this one wraps, when it wraps one.
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Header(e) => Some(e),
            Self::Negotiate(e) => Some(e),
            Self::Ntlm(e) => Some(e),
            Self::Spnego(e) => Some(e),
            _ => None,
        }
    }
}

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
    /// Pass-through under Negotiate: the SPNEGO acceptor waits for the DC's answer.
    #[cfg(feature = "netlogon")]
    AwaitingDcSpnego(SpnegoServer),
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
        let raw_ntlm = token.starts_with(crate::http::spnego::NTLMSSP_SIGNATURE);
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

/// Pass-through (MS-APDS §3.1.5.2), sans-IO: the NTLM AUTHENTICATE is verified by the DC,
/// whether it comes raw (`NTLM`, or a raw NTLMSSP token under `Negotiate`:
/// [`ServerContext::begin_pass_through`]) or inside SPNEGO (`Negotiate`:
/// [`SpnegoServer::step_pass_through`], the mechListMIC then checked and made with the
/// session key derived from the DC's).
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
        let Some((scheme, token)) = self.pass_through_token(authorization) else {
            return PassThroughDecision::Decided(self.on_request(authorization, now));
        };
        match std::mem::replace(&mut self.state, ServerState::Idle) {
            ServerState::Ntlm(_, mut ctx) => match ctx.begin_pass_through(&token, now) {
                Ok(PassThroughStep::AskDc(request)) => {
                    self.state = ServerState::AwaitingDc(scheme, ctx);
                    PassThroughDecision::AskDc(request)
                }
                Ok(PassThroughStep::Accepted(logon)) => {
                    PassThroughDecision::Decided(self.serve(scheme, &logon, None))
                }
                Err(r) => {
                    PassThroughDecision::Decided(self.initial(Some(ServerAuthRefusal::Ntlm(r))))
                }
            },
            ServerState::Spnego(mut spnego) => match spnego.step_pass_through(&token, now) {
                Ok(SpnegoPassThroughStep::Continue(reply)) => {
                    self.state = ServerState::Spnego(spnego);
                    PassThroughDecision::Decided(self.reply(Scheme::Negotiate, &reply))
                }
                Ok(SpnegoPassThroughStep::AskDc(request)) => {
                    self.state = ServerState::AwaitingDcSpnego(spnego);
                    PassThroughDecision::AskDc(request)
                }
                Ok(SpnegoPassThroughStep::Done { logon, token }) => {
                    PassThroughDecision::Decided(self.serve(Scheme::Negotiate, &logon, Some(token)))
                }
                Err(r) => {
                    PassThroughDecision::Decided(self.initial(Some(ServerAuthRefusal::Spnego(r))))
                }
            },
            _ => PassThroughDecision::Decided(self.initial(None)),
        }
    }

    /// The token of a request that continues this connection's handshake towards the DC:
    /// a raw AUTHENTICATE answering a raw NTLM CHALLENGE, or a `NegTokenResp` on a SPNEGO
    /// handshake. Anything else is decided by [`Self::on_request`].
    fn pass_through_token(&self, authorization: &[impl AsRef<[u8]>]) -> Option<(Scheme, Vec<u8>)> {
        let value = authorization.first()?;
        let c = parse_credentials(value.as_ref(), self.options.max_header_len).ok()?;
        let scheme = Scheme::parse(&c.scheme).filter(|s| self.options.schemes.contains(s))?;
        let raw = c.token.starts_with(crate::http::spnego::NTLMSSP_SIGNATURE);
        let continues = match &self.state {
            ServerState::Ntlm(s, _) => *s == scheme && raw && c.token.get(8) == Some(&3),
            ServerState::Spnego(_) => {
                scheme == Scheme::Negotiate && !raw && c.token.first() == Some(&0xa1)
            }
            _ => false,
        };
        continues.then_some((scheme, c.token))
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
            ServerState::AwaitingDcSpnego(mut spnego) => {
                match spnego.complete_pass_through(answer, now) {
                    Ok(SpnegoStep::Done { logon, token }) => {
                        self.serve(Scheme::Negotiate, &logon, Some(token))
                    }
                    Ok(SpnegoStep::Continue(_)) => self.initial(Some(
                        ServerAuthRefusal::UnexpectedMessage("a SPNEGO token after the DC answer"),
                    )),
                    // The NTLM rule (the DC's refusal or unavailability above all) is
                    // reported as for raw NTLM, whichever scheme carried it.
                    Err(SpnegoRefusal::Ntlm(r)) => self.initial(Some(ServerAuthRefusal::Ntlm(r))),
                    Err(r) => self.initial(Some(ServerAuthRefusal::Spnego(r))),
                }
            }
            _ => self.initial(Some(ServerAuthRefusal::UnexpectedMessage(
                "a DC answer without a pass-through request",
            ))),
        }
    }
}

#[cfg(all(test, feature = "netlogon"))]
mod tests {
    use super::*;
    use crate::client::{ClientConfig, ClientContext};
    use crate::http::header::decode_token;
    use crate::http::spnego::SpnegoClient;
    use crate::netlogon::{PassThroughError, Unavailable};
    use crate::policy::{LmCompatibilityLevel, ServerPolicy};
    use crate::store::MemoryStore;

    fn server() -> ServerAuth {
        let policy = ServerPolicy::domain_controller(LmCompatibilityLevel::L5);
        let mut config = ServerConfig::new(policy, MemoryStore::new());
        config.reflection_guard = None;
        ServerAuth::new(Arc::new(config), ServerAuthOptions::default())
    }

    fn client() -> SpnegoClient {
        let mut config = ClientConfig::new(LmCompatibilityLevel::L3, "CORP", "alice", "Secret1");
        config.reflection_guard = None;
        SpnegoClient::new(ClientContext::new(config))
    }

    fn negotiate(token: &[u8]) -> Vec<String> {
        vec![format!("Negotiate {}", encode_token(token))]
    }

    /// The token of a `Negotiate <token>` header value.
    fn token_of(value: &str) -> Vec<u8> {
        decode_token(value.strip_prefix("Negotiate ").expect("a Negotiate value")).unwrap()
    }

    /// Up to the DC request: the client and the connection awaiting the DC.
    fn up_to_dc(
        now: SystemTime,
    ) -> (
        SpnegoClient,
        ServerAuth,
        crate::netlogon::NetworkLogonRequest,
    ) {
        let (mut client, mut server) = (client(), server());
        let init = negotiate(&client.initial_token().unwrap());
        let challenge = match server.on_request_pass_through(&init, now) {
            PassThroughDecision::Decided(ServerDecision::Challenge { headers, .. }) => {
                token_of(&headers[0].1)
            }
            other => panic!("expected the CHALLENGE, got {other:?}"),
        };
        let authenticate = negotiate(&client.step(&challenge, now).unwrap());
        match server.on_request_pass_through(&authenticate, now) {
            PassThroughDecision::AskDc(request) => (client, server, request),
            other => panic!("expected a DC request, got {other:?}"),
        }
    }

    #[test]
    fn negotiate_is_passed_through() {
        let now = SystemTime::now();
        let (mut client, mut server, request) = up_to_dc(now);
        let answer = Ok(crate::server::validation_for(&request, "Secret1"));
        match server.on_dc_answer(answer, now) {
            ServerDecision::Serve {
                principal,
                header: Some((_, last)),
                fresh: true,
            } => {
                assert_eq!(principal.qualified(), "CORP\\Alice");
                assert_eq!(principal.scheme, Scheme::Negotiate);
                client.finish(&token_of(&last)).unwrap();
                assert!(client.server_verified());
            }
            other => panic!("expected Serve with a final token, got {other:?}"),
        }
        assert_eq!(server.handshakes(), 1);
    }

    #[test]
    fn negotiate_dc_unavailable_is_reported_as_the_ntlm_rule() {
        let now = SystemTime::now();
        let (_, mut server, _) = up_to_dc(now);
        let answer = Err(PassThroughError::Unavailable {
            dc: "dc1:445".into(),
            reason: Unavailable::NoDc,
        });
        match server.on_dc_answer(answer, now) {
            ServerDecision::Challenge {
                refusal: Some(ServerAuthRefusal::Ntlm(Refusal::DcUnavailable { dc, .. })),
                ..
            } => assert_eq!(dc, "dc1:445"),
            other => panic!("expected DcUnavailable, got {other:?}"),
        }
        assert!(server.principal().is_none());
    }
}
