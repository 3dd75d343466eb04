//! An HTTP/1.1 server over hyper 1.x (feature `hyper`) that requires NTLM or Negotiate.
//!
//! Each TCP (or TLS) connection is served by hyper's `server::conn::http1` with keep-alive
//! and gets one [`ServerAuth`]: the connection authenticates once, and every later request on
//! it is handed to the handler with the same [`Principal`]. Over TLS the connection's
//! `tls-server-end-point` channel bindings are given to the NTLM server context.

use core::fmt;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use ::hyper::body::{Bytes, Incoming};
use ::hyper::header::{HeaderValue, CONNECTION, CONTENT_TYPE};
use ::hyper::http::request::Parts;
use ::hyper::service::service_fn;
use ::hyper::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;

use crate::server::ServerConfig;

use super::auth::{Principal, ServerAuth, ServerAuthOptions, ServerAuthRefusal, ServerDecision};

/// Builds the response for an authenticated request, from its head and its body (read up to
/// [`ServerOptions::max_body`]).
pub type Handler = Arc<dyn Fn(&Principal, &Parts, Bytes) -> Response<Full<Bytes>> + Send + Sync>;

/// The most a refused or challenged request's body is read (and dropped) so the connection
/// can stay open for the next NTLM step; a larger body closes the connection.
pub const MAX_DRAINED_BODY: usize = 64 * 1024;

/// What happened on a connection, for logs.
#[derive(Debug)]
pub enum ServerEvent {
    /// A handshake completed.
    Authenticated {
        /// The peer.
        peer: SocketAddr,
        /// Who.
        principal: Arc<Principal>,
        /// Handshakes on this connection so far.
        handshakes: u64,
    },
    /// Credentials were refused (the client got 401/407).
    Refused {
        /// The peer.
        peer: SocketAddr,
        /// Why.
        reason: ServerAuthRefusal,
    },
    /// The connection failed (TLS handshake, HTTP error).
    ConnectionError {
        /// The peer.
        peer: SocketAddr,
        /// What went wrong.
        error: String,
    },
}

impl fmt::Display for ServerEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Authenticated {
                peer,
                principal,
                handshakes,
            } => write!(
                f,
                "{peer}: authenticated {} with {} ({:?}{}), handshake #{handshakes} on this connection",
                principal.qualified(),
                principal.scheme,
                principal.verified,
                if principal.mic_verified { ", MIC" } else { "" }
            ),
            Self::Refused { peer, reason } => write!(f, "{peer}: refused: {reason}"),
            Self::ConnectionError { peer, error } => write!(f, "{peer}: connection error: {error}"),
        }
    }
}

/// Receives [`ServerEvent`]s.
pub type EventSink = Arc<dyn Fn(ServerEvent) + Send + Sync>;

/// Server options.
#[derive(Clone)]
pub struct ServerOptions {
    /// The NTLM server configuration shared by all connections.
    pub ntlm: Arc<ServerConfig>,
    /// Schemes offered and limits.
    pub auth: ServerAuthOptions,
    /// HTTPS.
    #[cfg(feature = "tls")]
    pub tls: Option<super::tls::ServerTls>,
    /// Handler of authenticated requests.
    pub handler: Handler,
    /// The largest request body handed to the handler; a larger one gets 413.
    pub max_body: usize,
    /// How long a client may take to send a request head (also bounds idle keep-alive
    /// connections holding a pending NTLM context).
    pub header_read_timeout: Duration,
    /// Connections served at once; more wait in the listen queue.
    pub max_connections: usize,
    /// Where events go.
    pub events: EventSink,
    /// Bound on the TLS handshake.
    pub handshake_timeout: Duration,
}

impl fmt::Debug for ServerOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerOptions")
            .field("ntlm", &self.ntlm)
            .field("auth", &self.auth)
            .finish_non_exhaustive()
    }
}

impl ServerOptions {
    /// Options with a handler that answers `200` with `authenticated as DOMAIN\user`, and
    /// events written to stderr.
    pub fn new(ntlm: Arc<ServerConfig>) -> Self {
        Self {
            ntlm,
            auth: ServerAuthOptions::default(),
            #[cfg(feature = "tls")]
            tls: None,
            max_body: 16 * 1024 * 1024,
            header_read_timeout: Duration::from_secs(30),
            max_connections: 1024,
            handler: Arc::new(|principal: &Principal, _: &Parts, _: Bytes| {
                text(
                    StatusCode::OK,
                    format!("authenticated as {}\n", principal.qualified()),
                )
            }),
            events: Arc::new(|e| eprintln!("{e}")),
            handshake_timeout: Duration::from_secs(10),
        }
    }
}

/// A `text/plain` response.
pub fn text(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    r.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

/// Reads a body up to `limit` bytes; `None` when it is larger or broken.
async fn read_body(body: Incoming, limit: usize) -> Option<Bytes> {
    Limited::new(body, limit)
        .collect()
        .await
        .ok()
        .map(|collected| collected.to_bytes())
}

async fn respond(
    auth: &Mutex<ServerAuth>,
    options: &ServerOptions,
    peer: SocketAddr,
    req: Request<Incoming>,
) -> Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let name = options.auth.target.authorization_header();
    let values: Vec<Vec<u8>> = parts
        .headers
        .get_all(name)
        .iter()
        .map(|v| v.as_bytes().to_vec())
        .collect();
    let decision = match auth.lock() {
        Ok(mut a) => {
            let d = a.on_request(&values, SystemTime::now());
            if let ServerDecision::Serve {
                principal,
                fresh: true,
                ..
            } = &d
            {
                (options.events)(ServerEvent::Authenticated {
                    peer,
                    principal: principal.clone(),
                    handshakes: a.handshakes(),
                });
            }
            d
        }
        Err(_) => return text(StatusCode::INTERNAL_SERVER_ERROR, "internal error\n".into()),
    };
    match decision {
        ServerDecision::Serve {
            principal, header, ..
        } => {
            let Some(body) = read_body(body, options.max_body).await else {
                let mut response = text(StatusCode::PAYLOAD_TOO_LARGE, "body too large\n".into());
                response
                    .headers_mut()
                    .insert(CONNECTION, HeaderValue::from_static("close"));
                return response;
            };
            let mut response = (options.handler)(&principal, &parts, body);
            if let Some((name, value)) = header {
                if let Ok(v) = HeaderValue::from_str(&value) {
                    response.headers_mut().append(name, v);
                }
            }
            response
        }
        ServerDecision::Challenge {
            status,
            headers,
            refusal,
        } => {
            if let Some(reason) = refusal {
                (options.events)(ServerEvent::Refused { peer, reason });
            }
            let code = StatusCode::from_u16(status).unwrap_or(StatusCode::UNAUTHORIZED);
            let mut response = text(code, "authentication required\n".into());
            for (name, value) in headers {
                if let Ok(v) = HeaderValue::from_str(&value) {
                    response.headers_mut().append(name, v);
                }
            }
            // The body of a challenged request (a POST sent with each NTLM step) is read and
            // dropped, so hyper can keep the connection for the next step; a body too large to
            // drain closes it instead.
            if read_body(body, MAX_DRAINED_BODY).await.is_none() {
                response
                    .headers_mut()
                    .insert(CONNECTION, HeaderValue::from_static("close"));
            }
            response
        }
    }
}

/// Serves one connection (already accepted, TLS already done) until it closes.
pub async fn serve_connection<IO>(
    io: IO,
    auth: ServerAuth,
    options: Arc<ServerOptions>,
    peer: SocketAddr,
) where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let auth = Arc::new(Mutex::new(auth));
    let header_read_timeout = options.header_read_timeout;
    let service = service_fn(move |req| {
        let auth = auth.clone();
        let options = options.clone();
        async move { Ok::<_, Infallible>(respond(&auth, &options, peer, req).await) }
    });
    let _ = ::hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        .timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout)
        .serve_connection(TokioIo::new(io), service)
        .await;
}

/// Accepts connections on `listener` forever, one task per connection.
pub async fn serve(listener: TcpListener, options: ServerOptions) -> std::io::Result<()> {
    let options = Arc::new(options);
    let slots = Arc::new(tokio::sync::Semaphore::new(options.max_connections.max(1)));
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return Ok(());
        };
        let (stream, peer) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        let options = options.clone();
        tokio::spawn(async move {
            let _slot = slot;
            #[allow(unused_mut)]
            let mut auth = ServerAuth::new(options.ntlm.clone(), options.auth.clone());
            #[cfg(feature = "tls")]
            if let Some(tls) = &options.tls {
                auth.set_channel_bindings(tls.bindings.clone());
                let acceptor = tokio_rustls::TlsAcceptor::from(tls.config.clone());
                match tokio::time::timeout(options.handshake_timeout, acceptor.accept(stream)).await
                {
                    Ok(Ok(tls_stream)) => {
                        serve_connection(tls_stream, auth, options.clone(), peer).await
                    }
                    Ok(Err(e)) => (options.events)(ServerEvent::ConnectionError {
                        peer,
                        error: format!("TLS handshake: {e}"),
                    }),
                    Err(_) => (options.events)(ServerEvent::ConnectionError {
                        peer,
                        error: "TLS handshake timed out".into(),
                    }),
                }
                return;
            }
            serve_connection(stream, auth, options.clone(), peer).await;
        });
    }
}
