//! One NTLM or Negotiate handshake driven over one hyper HTTP/1.1 client connection
//! (feature `hyper`), for a proxy (407) or an origin server (401).
//!
//! [`drive`] is the thin adapter between [`ClientAuth`] (the sans-IO state machine) and a
//! hyper [`SendRequest`]: it sends the request a caller builds for each [`Round`], drains each
//! 401/407 so the connection can carry the next round, and stops at the first other answer.
//! The caller decides what each round carries, so a request with a body can send it only
//! with the AUTHENTICATE (the NEGOTIATE round goes without it, as cntlm does), and a CONNECT
//! can be authenticated the same way ([`connect_tunnel`]).
//!
//! A `seed` (the challenge values a peer sent in an earlier 401/407, see
//! [`Outcome::offered`]) lets the NEGOTIATE go in the first request, which saves a round
//! trip and keeps a proxy that closes the connection after its first 407 out of the way.

use core::fmt;
use std::time::{Duration, SystemTime};

use ::hyper::body::{Body, Bytes, Incoming};
use ::hyper::client::conn::http1::SendRequest;
use ::hyper::header::{HeaderMap, CONNECTION, HOST};
use ::hyper::{Method, Request, Response, Version};
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};

use super::auth::{ClientAuth, ClientAuthError, ClientStep, Completed};

/// The most of a 401/407 body read (and dropped) before the next round.
pub const MAX_CHALLENGE_BODY: usize = 256 * 1024;

/// What one request of a handshake carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Round {
    /// No credentials: learns which schemes the peer offers (no seed was given).
    Probe,
    /// The NEGOTIATE (its answer should be a 401/407 with the CHALLENGE).
    Negotiate {
        /// `Authorization` or `Proxy-Authorization`.
        name: &'static str,
        /// `NTLM <base64>` or `Negotiate <base64>`.
        value: String,
    },
    /// The AUTHENTICATE: the peer answers this request itself when the logon succeeds.
    Authenticate {
        /// `Authorization` or `Proxy-Authorization`.
        name: &'static str,
        /// `NTLM <base64>` or `Negotiate <base64>`.
        value: String,
    },
}

impl Round {
    /// The header this round adds, if any.
    pub fn header(&self) -> Option<(&'static str, &str)> {
        match self {
            Self::Probe => None,
            Self::Negotiate { name, value } | Self::Authenticate { name, value } => {
                Some((name, value.as_str()))
            }
        }
    }

    /// True for the round whose answer is the answer to the request (the AUTHENTICATE), and
    /// for a probe (a peer that asks for nothing answers it directly).
    pub fn may_be_final(&self) -> bool {
        !matches!(self, Self::Negotiate { .. })
    }
}

/// A handshake that ended with an answer other than 401/407.
#[derive(Debug)]
#[non_exhaustive]
pub struct Outcome {
    /// The answer, its body not read.
    pub response: Response<Incoming>,
    /// How the handshake ended (`scheme` is `None` when the peer asked for nothing).
    pub completed: Completed,
    /// The challenge values of the peer's first 401/407, when this handshake saw one: a seed
    /// for the next handshake with the same peer.
    pub offered: Option<Vec<Vec<u8>>>,
}

/// Why a handshake did not end with an answer.
#[derive(Debug)]
#[non_exhaustive]
pub enum HandshakeError {
    /// The caller's request builder failed.
    Build(String),
    /// hyper failed (connection reset, malformed response).
    Http(::hyper::Error),
    /// A step took longer than the timeout.
    Timeout {
        /// What was being waited for.
        during: &'static str,
    },
    /// The state machine ended the handshake (refused logon, no usable scheme, ...).
    Auth(ClientAuthError),
    /// The peer closed the connection after its answer to the request without credentials:
    /// start again on a new connection with `offered` as the seed.
    Reconnect {
        /// The challenge values of that answer.
        offered: Vec<Vec<u8>>,
    },
}

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Build(e) => write!(f, "building the request: {e}"),
            Self::Http(e) => write!(f, "HTTP: {e}"),
            Self::Timeout { during } => write!(f, "timed out {during}"),
            Self::Auth(e) => write!(f, "{e}"),
            Self::Reconnect { .. } => {
                f.write_str("the peer closed the connection after asking for authentication")
            }
        }
    }
}

impl std::error::Error for HandshakeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Http(e) => Some(e),
            Self::Auth(e) => Some(e),
            _ => None,
        }
    }
}

/// True when the connection a response came on stays open for the next request
/// (`Connection: close`, `Proxy-Connection: close` or HTTP/1.0 without keep-alive say no).
pub fn kept_alive(version: Version, headers: &HeaderMap) -> bool {
    let says = |word: &str| {
        headers
            .get_all(CONNECTION)
            .iter()
            .chain(headers.get_all("proxy-connection").iter())
            .any(|v| {
                v.to_str()
                    .is_ok_and(|s| s.split(',').any(|t| t.trim().eq_ignore_ascii_case(word)))
            })
    };
    !says("close") && (version != Version::HTTP_10 || says("keep-alive"))
}

/// Reads and drops a body, at most `limit` bytes and within `timeout`; false when it was
/// longer, failed or took too long (the connection is then not reusable).
pub async fn drain(body: Incoming, limit: usize, timeout: Duration) -> bool {
    let read = async {
        let mut body = body;
        let mut seen = 0usize;
        while let Some(frame) = body.frame().await {
            match frame {
                Ok(f) => {
                    if let Some(d) = f.data_ref() {
                        seen = seen.saturating_add(d.len());
                        if seen > limit {
                            return false;
                        }
                    }
                }
                Err(_) => return false,
            }
        }
        true
    };
    tokio::time::timeout(timeout, read).await.unwrap_or(false)
}

fn values(headers: &HeaderMap, name: &str) -> Vec<Vec<u8>> {
    headers
        .get_all(name)
        .iter()
        .map(|v| v.as_bytes().to_vec())
        .collect()
}

/// Runs one handshake on `sender` with `auth` (a fresh [`ClientAuth`]), building each round's
/// request with `build`, every wait bounded by `timeout`. Returns the first answer that is
/// not a 401/407 (for [`Target::Proxy`](super::auth::Target::Proxy): 407) with how the
/// handshake ended. A refused logon is [`HandshakeError::Auth`] and is never retried here.
pub async fn drive<B, F>(
    sender: &mut SendRequest<B>,
    auth: &mut ClientAuth,
    seed: Option<&[Vec<u8>]>,
    timeout: Duration,
    mut build: F,
) -> Result<Outcome, HandshakeError>
where
    B: Body + 'static,
    F: FnMut(&Round) -> Result<Request<B>, String>,
{
    let target = auth.options().target;
    let mut round = match seed {
        Some(values) => match auth
            .on_response(target.status(), values, true, SystemTime::now())
            .map_err(HandshakeError::Auth)?
        {
            ClientStep::Authorize { name, value } => Round::Negotiate { name, value },
            ClientStep::Done(_) => {
                return Err(HandshakeError::Build(
                    "the seed does not ask for authentication".into(),
                ))
            }
        },
        None => Round::Probe,
    };
    let mut offered: Option<Vec<Vec<u8>>> = None;
    loop {
        let request = build(&round).map_err(HandshakeError::Build)?;
        match tokio::time::timeout(timeout, sender.ready()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(HandshakeError::Http(e)),
            Err(_) => {
                return Err(HandshakeError::Timeout {
                    during: "for the connection",
                })
            }
        }
        let response = match tokio::time::timeout(timeout, sender.send_request(request)).await {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => return Err(HandshakeError::Http(e)),
            Err(_) => {
                return Err(HandshakeError::Timeout {
                    during: "for the answer",
                })
            }
        };
        let status = response.status().as_u16();
        let alive = kept_alive(response.version(), response.headers());
        let challenges = values(response.headers(), target.challenge_header());
        if status != target.status() {
            let step = auth
                .on_response(status, &challenges, alive, SystemTime::now())
                .map_err(HandshakeError::Auth)?;
            return match step {
                ClientStep::Done(completed) => Ok(Outcome {
                    response,
                    completed,
                    offered,
                }),
                ClientStep::Authorize { .. } => Err(HandshakeError::Build(
                    "asked to authorize after a final answer".into(),
                )),
            };
        }
        let first = matches!(round, Round::Probe);
        if first {
            offered = Some(challenges.clone());
        }
        // The 401/407's body must be read before the connection carries the next round.
        let drained = drain(response.into_body(), MAX_CHALLENGE_BODY, timeout).await;
        let alive = alive && drained && !sender.is_closed();
        match auth
            .on_response(status, &challenges, alive, SystemTime::now())
            .map_err(HandshakeError::Auth)?
        {
            ClientStep::Authorize { name, value } => {
                if first && !alive {
                    return Err(HandshakeError::Reconnect {
                        offered: challenges,
                    });
                }
                round = match round {
                    Round::Probe => Round::Negotiate { name, value },
                    Round::Negotiate { .. } => Round::Authenticate { name, value },
                    Round::Authenticate { .. } => {
                        return Err(HandshakeError::Build(
                            "asked to authorize after the AUTHENTICATE".into(),
                        ))
                    }
                };
            }
            ClientStep::Done(_) => {
                return Err(HandshakeError::Build(
                    "a 401/407 ended the handshake without an error".into(),
                ))
            }
        }
    }
}

/// An established tunnel: the upgraded stream of a CONNECT and how the proxy logon ended.
pub struct Tunnel {
    /// The bytes to and from the origin.
    pub io: TokioIo<::hyper::upgrade::Upgraded>,
    /// The proxy's handshake (`scheme` is `None` when the proxy asked for nothing).
    pub completed: Completed,
    /// The proxy's first 407 challenges, when there was one (a seed for the next tunnel).
    pub offered: Option<Vec<Vec<u8>>>,
}

impl fmt::Debug for Tunnel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tunnel")
            .field("completed", &self.completed)
            .finish_non_exhaustive()
    }
}

/// Why a tunnel was not established.
#[derive(Debug)]
#[non_exhaustive]
pub enum TunnelError {
    /// The handshake with the proxy failed.
    Handshake(HandshakeError),
    /// The proxy answered the CONNECT with this status (not 2xx, not 407).
    Status(u16),
    /// The HTTP layer failed while setting up the connection or the upgrade.
    Http(::hyper::Error),
    /// A step took longer than the timeout.
    Timeout,
}

impl fmt::Display for TunnelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Handshake(e) => write!(f, "proxy: {e}"),
            Self::Status(s) => write!(f, "the proxy answered the CONNECT with {s}"),
            Self::Http(e) => write!(f, "HTTP: {e}"),
            Self::Timeout => f.write_str("timed out setting up the tunnel"),
        }
    }
}

impl std::error::Error for TunnelError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Handshake(e) => Some(e),
            Self::Http(e) => Some(e),
            _ => None,
        }
    }
}

/// Opens a CONNECT tunnel to `authority` (`host:port`) through the proxy at the other end of
/// `io` (a fresh connection), answering the proxy's 407s with `auth` (whose options must
/// target [`Target::Proxy`](super::auth::Target::Proxy), and whose target name and channel
/// bindings are the proxy's, never the origin's).
pub async fn connect_tunnel<T>(
    io: T,
    authority: &str,
    auth: &mut ClientAuth,
    seed: Option<&[Vec<u8>]>,
    timeout: Duration,
) -> Result<Tunnel, TunnelError>
where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) = match tokio::time::timeout(
        timeout,
        ::hyper::client::conn::http1::handshake::<_, Empty<Bytes>>(TokioIo::new(io)),
    )
    .await
    {
        Ok(Ok(p)) => p,
        Ok(Err(e)) => return Err(TunnelError::Http(e)),
        Err(_) => return Err(TunnelError::Timeout),
    };
    tokio::spawn(async move {
        let _ = conn.with_upgrades().await;
    });
    let outcome = drive(&mut sender, auth, seed, timeout, |round| {
        let mut request = Request::builder()
            .method(Method::CONNECT)
            .uri(authority)
            .header(HOST, authority);
        if let Some((name, value)) = round.header() {
            request = request.header(name, value);
        }
        request.body(Empty::new()).map_err(|e| e.to_string())
    })
    .await
    .map_err(TunnelError::Handshake)?;
    let status = outcome.response.status();
    if !status.is_success() {
        return Err(TunnelError::Status(status.as_u16()));
    }
    let upgraded = match tokio::time::timeout(timeout, ::hyper::upgrade::on(outcome.response)).await
    {
        Ok(Ok(u)) => u,
        Ok(Err(e)) => return Err(TunnelError::Http(e)),
        Err(_) => return Err(TunnelError::Timeout),
    };
    Ok(Tunnel {
        io: TokioIo::new(upgraded),
        completed: outcome.completed,
        offered: outcome.offered,
    })
}
