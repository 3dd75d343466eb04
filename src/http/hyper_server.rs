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
use http_body_util::Full;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;

use crate::server::ServerConfig;

use super::auth::{Principal, ServerAuth, ServerAuthOptions, ServerAuthRefusal, ServerDecision};

/// Builds the response for an authenticated request.
pub type Handler = Arc<dyn Fn(&Principal, &Parts) -> Response<Full<Bytes>> + Send + Sync>;

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
            handler: Arc::new(|principal: &Principal, _: &Parts| {
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

fn respond(
    auth: &Mutex<ServerAuth>,
    options: &ServerOptions,
    peer: SocketAddr,
    req: Request<Incoming>,
) -> Response<Full<Bytes>> {
    let (parts, _body) = req.into_parts();
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
            let mut response = (options.handler)(&principal, &parts);
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
            response
                .headers_mut()
                .insert(CONNECTION, HeaderValue::from_static("keep-alive"));
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
    let service = service_fn(move |req| {
        let auth = auth.clone();
        let options = options.clone();
        async move { Ok::<_, Infallible>(respond(&auth, &options, peer, req)) }
    });
    let _ = ::hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        .serve_connection(TokioIo::new(io), service)
        .await;
}

/// Accepts connections on `listener` forever, one task per connection.
pub async fn serve(listener: TcpListener, options: ServerOptions) -> std::io::Result<()> {
    let options = Arc::new(options);
    loop {
        let (stream, peer) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        let options = options.clone();
        tokio::spawn(async move {
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
