//! An HTTP/1.1 client over hyper 1.x (feature `hyper`) that logs on with NTLM or
//! Negotiate, to the origin server and/or to an HTTP proxy.
//!
//! One [`AuthClient`] is one connection (hyper's `client::conn::http1` over one TCP or TLS
//! stream), so the whole handshake runs on one kept-alive connection, and later requests on
//! it are not authenticated again. When the first, unauthenticated 401/407 of a request
//! closes its connection (`Connection: close`, or the server just hangs up), the handshake
//! starts on a new connection; a close later in the handshake is
//! [`NotKeptAlive`](ClientAuthError::NotKeptAlive). Through a proxy, requests are sent in
//! absolute form (`GET http://host/path`) and a 407 is answered with `Proxy-Authorization`.
//! HTTPS through a proxy goes through a CONNECT tunnel ([`super::handshake::connect_tunnel`]):
//! the proxy's 407s are answered on the CONNECT with the proxy's target name and no channel
//! bindings, then TLS runs to the origin inside the tunnel, and the origin's own NTLM or
//! Negotiate handshake (with the origin certificate's channel bindings, the origin's target
//! name and the `msstd:` check) runs inside the TLS. [`super::pool::ClientPool`] keeps such
//! connections for reuse.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use ntlm::client::ClientConfig;
//! use ntlm::http::hyper_client::{AuthClient, ClientOptions};
//! use ntlm::policy::LmCompatibilityLevel;
//! let ntlm = ClientConfig::new(LmCompatibilityLevel::L3, "CORP", "alice", "Secret1");
//! let mut client = AuthClient::connect("http://127.0.0.1:8080/", ClientOptions::new(ntlm)).await?;
//! let response = client.get("/").await?;
//! println!("{} {}", response.status, String::from_utf8_lossy(&response.body));
//! # Ok(()) }
//! ```

use core::fmt;
use std::time::{Duration, SystemTime};

use ::hyper::body::Bytes;
use ::hyper::client::conn::http1::SendRequest;
use ::hyper::header::{HeaderMap, CONNECTION, HOST};
use ::hyper::{Request, Uri, Version};
use http_body_util::{BodyExt, Empty, Limited};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use crate::channel_bindings::ChannelBindings;
use crate::client::ClientConfig;

use super::handshake::TunnelError;

use super::auth::{
    ClientAuth, ClientAuthError, ClientAuthOptions, ClientStep, HandshakeStep, Scheme, Target,
};

/// The largest response body read (16 MiB).
pub const MAX_BODY: usize = 16 * 1024 * 1024;

/// Which channel bindings the client sends over HTTPS.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub enum BindingsMode {
    /// `tls-server-end-point` of the certificate the server presented (the default).
    #[default]
    FromCertificate,
    /// None (MsvAvChannelBindings is all zero).
    None,
    /// These (tests use this to show that a mismatch is refused).
    Fixed(ChannelBindings),
}

/// Client options.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ClientOptions {
    /// Who to log on as, and at which level.
    pub ntlm: ClientConfig,
    /// Schemes, most preferred first.
    pub schemes: Vec<Scheme>,
    /// An HTTP proxy (`http://host:port`), authenticated with the same credentials.
    pub proxy: Option<String>,
    /// HTTPS trust and principal name.
    #[cfg(feature = "tls")]
    pub tls: super::tls::ClientTlsOptions,
    /// Channel bindings over HTTPS.
    pub bindings: BindingsMode,
    /// Bound on connecting and on each request.
    pub timeout: Duration,
}

impl ClientOptions {
    /// Defaults: Negotiate then NTLM, no proxy, 30 s timeout.
    pub fn new(ntlm: ClientConfig) -> Self {
        Self {
            ntlm,
            schemes: vec![Scheme::Negotiate, Scheme::Ntlm],
            proxy: None,
            #[cfg(feature = "tls")]
            tls: super::tls::ClientTlsOptions::default(),
            bindings: BindingsMode::FromCertificate,
            timeout: Duration::from_secs(30),
        }
    }
}

/// Why a request failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum HttpClientError {
    /// The URL is not usable.
    Url(String),
    /// Connecting or the TLS handshake failed.
    Io {
        /// What was being done (`"connecting"`, `"TLS handshake"`).
        context: &'static str,
        /// The error.
        source: std::io::Error,
    },
    /// The HTTP layer failed (connection closed, malformed response).
    Http {
        /// What was being done (`"HTTP handshake"`, `"sending the request"`, ...).
        context: &'static str,
        /// The error.
        source: ::hyper::Error,
    },
    /// The response body could not be read, or is longer than [`MAX_BODY`].
    Body(Box<dyn std::error::Error + Send + Sync>),
    /// The CONNECT tunnel through the proxy failed.
    Tunnel(TunnelError),
    /// The TLS client configuration could not be built.
    #[cfg(feature = "tls")]
    Tls(super::tls::TlsError),
    /// A step took longer than the timeout.
    Timeout,
    /// Authentication to the proxy failed.
    Proxy(ClientAuthError),
    /// Authentication to the server failed.
    Server(ClientAuthError),
}

impl HttpClientError {
    /// The connection failed (as opposed to a refusal, a bad URL or a timeout): a pooled
    /// connection the peer closed fails this way.
    pub(crate) fn is_transport(&self) -> bool {
        matches!(self, Self::Io { .. } | Self::Http { .. } | Self::Body(_))
    }
}

impl fmt::Display for HttpClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Url(e) => write!(f, "bad URL: {e}"),
            Self::Io { context, source } => write!(f, "{context}: {source}"),
            Self::Http { context, source } => write!(f, "{context}: {source}"),
            Self::Body(e) => write!(f, "reading the response body: {e}"),
            Self::Tunnel(e) => write!(f, "{e}"),
            #[cfg(feature = "tls")]
            Self::Tls(e) => write!(f, "{e}"),
            Self::Timeout => f.write_str("timed out"),
            Self::Proxy(e) => write!(f, "proxy authentication failed: {e}"),
            Self::Server(e) => write!(f, "server authentication failed: {e}"),
        }
    }
}

impl std::error::Error for HttpClientError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io { source, .. } => Some(source),
            Self::Http { source, .. } => Some(source),
            Self::Body(e) => Some(e.as_ref()),
            Self::Tunnel(e) => Some(e),
            #[cfg(feature = "tls")]
            Self::Tls(e) => Some(e),
            Self::Proxy(e) | Self::Server(e) => Some(e),
            Self::Url(_) | Self::Timeout => None,
        }
    }
}

/// An error of a step [`timed`] bounds, with what the step was.
trait StepError {
    fn during(self, context: &'static str) -> HttpClientError;
}

impl StepError for std::io::Error {
    fn during(self, context: &'static str) -> HttpClientError {
        HttpClientError::Io {
            context,
            source: self,
        }
    }
}

impl StepError for ::hyper::Error {
    fn during(self, context: &'static str) -> HttpClientError {
        HttpClientError::Http {
            context,
            source: self,
        }
    }
}

/// A response as the client read it (its body whole).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Reason phrase (canonical).
    pub reason: String,
    /// HTTP version, e.g. `HTTP/1.1`.
    pub version: String,
    /// Headers.
    pub headers: HeaderMap,
    /// Body.
    pub body: Vec<u8>,
    /// The scheme that authenticated this request's connection to the server, if any.
    pub scheme: Option<Scheme>,
    /// Negotiate: the server's final mechListMIC was verified.
    pub server_verified: bool,
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// Where connections go: the TCP peer (the proxy, when there is one) and the TLS name.
struct Endpoint {
    /// The server's host: SNI and certificate name over HTTPS.
    host: String,
    connect_host: String,
    connect_port: u16,
    https: bool,
    /// HTTPS through a proxy: the `host:port` to CONNECT to (the TCP peer is the proxy).
    tunnel: Option<String>,
}

/// One connection that authenticates on demand.
pub struct AuthClient {
    sender: SendRequest<Empty<Bytes>>,
    options: ClientOptions,
    ntlm: ClientConfig,
    /// The same credentials with the proxy's SPN (`HTTP/proxy-host`) as target name.
    proxy_ntlm: ClientConfig,
    authority: String,
    base: Uri,
    endpoint: Endpoint,
    via_proxy: bool,
    server_scheme: Option<Scheme>,
    /// The proxy authenticated the current connection.
    proxy_authenticated: bool,
    handshakes: u32,
    connections: u32,
}

impl fmt::Debug for AuthClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthClient")
            .field("authority", &self.authority)
            .field("via_proxy", &self.via_proxy)
            .field("handshakes", &self.handshakes)
            .field("connections", &self.connections)
            .finish_non_exhaustive()
    }
}

fn host_port(uri: &Uri) -> Result<(String, u16, bool), HttpClientError> {
    let https = match uri.scheme_str() {
        Some("http") => false,
        Some("https") => true,
        other => {
            return Err(HttpClientError::Url(format!(
                "unsupported scheme {other:?}"
            )))
        }
    };
    let host = uri
        .host()
        .ok_or_else(|| HttpClientError::Url("no host".into()))?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
    Ok((host, port, https))
}

async fn timed<T, E: StepError>(
    d: Duration,
    context: &'static str,
    f: impl std::future::Future<Output = Result<T, E>>,
) -> Result<T, HttpClientError> {
    match tokio::time::timeout(d, f).await {
        Ok(r) => r.map_err(|e| e.during(context)),
        Err(_) => Err(HttpClientError::Timeout),
    }
}

async fn tcp(endpoint: &Endpoint, options: &ClientOptions) -> Result<TcpStream, HttpClientError> {
    let tcp = timed(
        options.timeout,
        "connecting",
        TcpStream::connect((endpoint.connect_host.as_str(), endpoint.connect_port)),
    )
    .await?;
    let _ = tcp.set_nodelay(true);
    Ok(tcp)
}

/// A CONNECT tunnel to `authority` through the proxy of `endpoint`, logged on with
/// `proxy_ntlm` (no channel bindings: the proxy is reached over plain HTTP). A first 407
/// that closes its connection sends the handshake to a second connection.
async fn tunnel(
    endpoint: &Endpoint,
    authority: &str,
    options: &ClientOptions,
    proxy_ntlm: &ClientConfig,
) -> Result<super::handshake::Tunnel, HttpClientError> {
    use super::handshake::{connect_tunnel, HandshakeError};
    let auth = || {
        let mut ntlm = proxy_ntlm.clone();
        ntlm.channel_bindings = None;
        ClientAuth::new(
            ntlm,
            ClientAuthOptions {
                target: Target::Proxy,
                schemes: options.schemes.clone(),
                ..ClientAuthOptions::default()
            },
        )
    };
    let map = |e: TunnelError| match e {
        TunnelError::Handshake(HandshakeError::Auth(a)) => HttpClientError::Proxy(a),
        TunnelError::Handshake(HandshakeError::Timeout { .. }) | TunnelError::Timeout => {
            HttpClientError::Timeout
        }
        other => HttpClientError::Tunnel(other),
    };
    let first = connect_tunnel(
        tcp(endpoint, options).await?,
        authority,
        &mut auth(),
        None,
        options.timeout,
    )
    .await;
    match first {
        Err(TunnelError::Handshake(HandshakeError::Reconnect { offered })) => connect_tunnel(
            tcp(endpoint, options).await?,
            authority,
            &mut auth(),
            Some(&offered),
            options.timeout,
        )
        .await
        .map_err(map),
        other => other.map_err(map),
    }
}

/// Opens a connection to `endpoint` (TCP, a CONNECT tunnel through the proxy for HTTPS, TLS
/// over HTTPS, then hyper's HTTP/1.1 handshake) and sets the channel bindings of `ntlm` for
/// it as `options.bindings` asks. Returns whether a proxy logon was completed on the way.
async fn open(
    endpoint: &Endpoint,
    options: &ClientOptions,
    ntlm: &mut ClientConfig,
    proxy_ntlm: &ClientConfig,
) -> Result<(SendRequest<Empty<Bytes>>, bool), HttpClientError> {
    let mut proxy_logon = false;
    let tcp: Box<dyn Io> = match &endpoint.tunnel {
        Some(authority) => {
            let t = tunnel(endpoint, authority, options, proxy_ntlm).await?;
            proxy_logon = t.completed.scheme.is_some();
            Box::new(t.io)
        }
        None => Box::new(tcp(endpoint, options).await?),
    };
    let io: Box<dyn Io> = if endpoint.https {
        #[cfg(feature = "tls")]
        {
            let config = super::tls::client_config(&options.tls).map_err(HttpClientError::Tls)?;
            let name = rustls_pki_types::ServerName::try_from(endpoint.host.clone())
                .map_err(|e| HttpClientError::Url(e.to_string()))?;
            let connector = tokio_rustls::TlsConnector::from(config);
            let tls = timed(
                options.timeout,
                "TLS handshake",
                connector.connect(name, tcp),
            )
            .await?;
            let cert = tls
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|c| c.first())
                .map(|c| c.as_ref().to_vec());
            match &options.bindings {
                BindingsMode::FromCertificate => {
                    if let Some(cert) = cert {
                        let cb = ChannelBindings::tls_server_end_point(&cert).map_err(|e| {
                            HttpClientError::Tls(super::tls::TlsError::Certificate(e))
                        })?;
                        ntlm.channel_bindings = Some(cb);
                    }
                }
                BindingsMode::None => ntlm.channel_bindings = None,
                BindingsMode::Fixed(cb) => ntlm.channel_bindings = Some(cb.clone()),
            }
            Box::new(tls)
        }
        #[cfg(not(feature = "tls"))]
        {
            let _ = (&endpoint.host, ntlm, tcp);
            return Err(HttpClientError::Url("https needs the `tls` feature".into()));
        }
    } else {
        Box::new(tcp)
    };
    let (sender, conn) = timed(
        options.timeout,
        "HTTP handshake",
        ::hyper::client::conn::http1::handshake(TokioIo::new(io)),
    )
    .await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok((sender, proxy_logon))
}

impl AuthClient {
    /// Opens the connection for `url` (to the proxy when one is configured).
    pub async fn connect(url: &str, options: ClientOptions) -> Result<Self, HttpClientError> {
        let base: Uri = url
            .parse()
            .map_err(|e| HttpClientError::Url(format!("{e}")))?;
        let (host, port, https) = host_port(&base)?;
        let authority = base
            .authority()
            .map(|a| a.as_str().to_string())
            .unwrap_or_else(|| host.clone());
        let mut ntlm = options.ntlm.clone();
        let (connect_host, connect_port, proxied) = match &options.proxy {
            Some(p) => {
                let proxy: Uri = p
                    .parse()
                    .map_err(|e| HttpClientError::Url(format!("proxy: {e}")))?;
                let (h, port, proxy_https) = host_port(&proxy)?;
                if proxy_https {
                    return Err(HttpClientError::Url(
                        "the proxy must be reached over http://".into(),
                    ));
                }
                (h, port, true)
            }
            None => (host.clone(), port, false),
        };
        // Plain HTTP goes through the proxy in absolute form; HTTPS through a tunnel.
        let via_proxy = proxied && !https;
        let tunnel = (proxied && https).then(|| {
            if host.contains(':') {
                format!("[{host}]:{port}")
            } else {
                format!("{host}:{port}")
            }
        });
        let mut proxy_ntlm = ntlm.clone();
        proxy_ntlm.channel_bindings = None;
        if proxied && proxy_ntlm.target_name.is_none() {
            proxy_ntlm.target_name = Some(format!("HTTP/{connect_host}"));
        }
        if ntlm.target_name.is_none() {
            ntlm.target_name = Some(format!("HTTP/{host}"));
        }
        let endpoint = Endpoint {
            host,
            connect_host,
            connect_port,
            https,
            tunnel,
        };
        let (sender, proxy_logon) = open(&endpoint, &options, &mut ntlm, &proxy_ntlm).await?;
        Ok(Self {
            sender,
            options,
            ntlm,
            proxy_ntlm,
            authority,
            base,
            endpoint,
            via_proxy,
            server_scheme: None,
            proxy_authenticated: false,
            handshakes: u32::from(proxy_logon),
            connections: 1,
        })
    }

    /// Handshakes completed (server and proxy), on this and earlier connections.
    pub fn handshakes(&self) -> u32 {
        self.handshakes
    }

    /// Connections opened: 1, plus one each time a first 401/407 closed its connection.
    pub fn connections(&self) -> u32 {
        self.connections
    }

    /// True when the connection has been closed (by the peer, or after an error).
    pub fn is_closed(&self) -> bool {
        self.sender.is_closed()
    }

    /// Replaces the connection with a new one to the same place; no logon carries over.
    async fn reopen(&mut self) -> Result<(), HttpClientError> {
        let (sender, proxy_logon) = open(
            &self.endpoint,
            &self.options,
            &mut self.ntlm,
            &self.proxy_ntlm,
        )
        .await?;
        self.sender = sender;
        self.handshakes = self.handshakes.saturating_add(u32::from(proxy_logon));
        self.connections = self.connections.saturating_add(1);
        self.server_scheme = None;
        self.proxy_authenticated = false;
        Ok(())
    }

    /// True when hyper has let the connection go (`ready` fails once it is closed).
    async fn connection_lost(&mut self) -> bool {
        self.sender.is_closed()
            || timed(
                self.options.timeout,
                "waiting for the connection",
                self.sender.ready(),
            )
            .await
            .is_err()
    }

    async fn send(
        &mut self,
        target: &str,
        headers: &[(&'static str, String)],
    ) -> Result<(HttpResponse, bool), HttpClientError> {
        let mut req = Request::get(target).header(HOST, self.authority.as_str());
        for (name, value) in headers {
            req = req.header(*name, value.as_str());
        }
        let req = req
            .body(Empty::<Bytes>::new())
            .map_err(|e| HttpClientError::Url(e.to_string()))?;
        timed(
            self.options.timeout,
            "waiting for the connection",
            self.sender.ready(),
        )
        .await?;
        let res = timed(
            self.options.timeout,
            "sending the request",
            self.sender.send_request(req),
        )
        .await?;
        let (parts, body) = res.into_parts();
        let body = match tokio::time::timeout(
            self.options.timeout,
            Limited::new(body, MAX_BODY).collect(),
        )
        .await
        {
            Ok(Ok(b)) => b.to_bytes().to_vec(),
            Ok(Err(e)) => return Err(HttpClientError::Body(e)),
            Err(_) => return Err(HttpClientError::Timeout),
        };
        let close = parts.headers.get_all(CONNECTION).iter().any(|v| {
            v.to_str()
                .is_ok_and(|s| s.to_ascii_lowercase().contains("close"))
        });
        let keep_alive_10 = parts.headers.get_all(CONNECTION).iter().any(|v| {
            v.to_str()
                .is_ok_and(|s| s.to_ascii_lowercase().contains("keep-alive"))
        });
        // A server (or load balancer) may also just close the socket after the 401.
        let kept_alive = !close
            && (parts.version != Version::HTTP_10 || keep_alive_10)
            && !self.sender.is_closed();
        let response = HttpResponse {
            status: parts.status.as_u16(),
            reason: parts.status.canonical_reason().unwrap_or("").to_string(),
            version: format!("{:?}", parts.version),
            headers: parts.headers,
            body,
            scheme: self.server_scheme,
            server_verified: false,
        };
        Ok((response, kept_alive))
    }

    fn values(headers: &HeaderMap, name: &str) -> Vec<Vec<u8>> {
        headers
            .get_all(name)
            .iter()
            .map(|v| v.as_bytes().to_vec())
            .collect()
    }

    /// GETs `path` (origin-form, e.g. `/` or `/a?b`), authenticating to the proxy and the
    /// server as asked. A refused logon is reported, never retried.
    pub async fn get(&mut self, path: &str) -> Result<HttpResponse, HttpClientError> {
        let target = if self.via_proxy {
            format!(
                "{}://{}{}",
                self.base.scheme_str().unwrap_or("http"),
                self.authority,
                path
            )
        } else {
            path.to_string()
        };
        let schemes = self.options.schemes.clone();
        let auth_options = |target| ClientAuthOptions {
            target,
            schemes: schemes.clone(),
            ..ClientAuthOptions::default()
        };
        let mut proxy_auth: Option<ClientAuth> = None;
        let mut server_auth: Option<ClientAuth> = None;
        let mut proxy_header: Option<(&'static str, String)> = None;
        let mut server_header: Option<(&'static str, String)> = None;
        // A first 401/407 (the answer to the request without credentials) that closes its
        // connection sends the handshake to a new one, at most once per request. `first`
        // keeps that reply while its NEGOTIATE is on the way, in case the server hung up
        // without saying so; `replay` feeds it again as not kept alive.
        let mut may_reopen = true;
        let mut first: Option<HttpResponse> = None;
        let mut replay: Option<HttpResponse> = None;
        loop {
            let headers: Vec<_> = proxy_header
                .iter()
                .chain(server_header.iter())
                .cloned()
                .collect();
            let (mut response, kept_alive, first_reply) = match replay.take() {
                Some(r) => (r, false, true),
                None => {
                    let retry = first.take();
                    match self.send(&target, &headers).await {
                        Ok((r, kept_alive)) => (r, kept_alive, headers.is_empty()),
                        Err(e)
                            if e.is_transport()
                                && !headers.is_empty()
                                && self.connection_lost().await =>
                        {
                            if let Some(r) = retry {
                                proxy_auth = None;
                                server_auth = None;
                                replay = Some(r);
                                continue;
                            }
                            // The connection died while an AUTHENTICATE was to follow a
                            // CHALLENGE.
                            let error = ClientAuthError::NotKeptAlive {
                                after: HandshakeStep::Negotiate,
                            };
                            return Err(if proxy_auth.is_some() && server_auth.is_none() {
                                HttpClientError::Proxy(error)
                            } else {
                                HttpClientError::Server(error)
                            });
                        }
                        Err(e) => return Err(e),
                    }
                }
            };
            // A proxy's logon of this connection would be lost with it.
            let can_reopen =
                first_reply && may_reopen && (response.status == 407 || !self.proxy_authenticated);
            let now = SystemTime::now();
            proxy_header = None;
            server_header = None;
            if self.via_proxy && (response.status == 407 || proxy_auth.is_some()) {
                let proxy_ntlm = &self.proxy_ntlm;
                let auth = proxy_auth.get_or_insert_with(|| {
                    ClientAuth::new(proxy_ntlm.clone(), auth_options(Target::Proxy))
                });
                let values = Self::values(&response.headers, "proxy-authenticate");
                match auth
                    .on_response(response.status, &values, kept_alive, now)
                    .map_err(HttpClientError::Proxy)?
                {
                    ClientStep::Authorize { name, value } => {
                        proxy_header = Some((name, value));
                        if can_reopen && !kept_alive {
                            may_reopen = false;
                            self.reopen().await?;
                        } else if can_reopen {
                            first = Some(response);
                        }
                        continue;
                    }
                    ClientStep::Done(done) => {
                        if done.scheme.is_some() {
                            self.handshakes += 1;
                            self.proxy_authenticated = true;
                        }
                        proxy_auth = None;
                        // The proxy is satisfied; fall through to the server's answer.
                    }
                }
            }
            if response.status != 401 && server_auth.is_none() {
                return Ok(response);
            }
            let auth = server_auth.get_or_insert_with(|| {
                ClientAuth::new(self.ntlm.clone(), auth_options(Target::Server))
            });
            let values = Self::values(&response.headers, "www-authenticate");
            let mut step = auth
                .on_response(response.status, &values, kept_alive, now)
                .map_err(HttpClientError::Server)?;
            if can_reopen && !kept_alive && matches!(step, ClientStep::Authorize { .. }) {
                may_reopen = false;
                self.reopen().await?;
                // Start again with the new connection's channel bindings (HTTPS).
                let auth = server_auth.insert(ClientAuth::new(
                    self.ntlm.clone(),
                    auth_options(Target::Server),
                ));
                step = auth
                    .on_response(response.status, &values, true, now)
                    .map_err(HttpClientError::Server)?;
            }
            match step {
                ClientStep::Authorize { name, value } => {
                    server_header = Some((name, value));
                    if can_reopen && kept_alive {
                        first = Some(response);
                    }
                }
                ClientStep::Done(done) => {
                    if let Some(s) = done.scheme {
                        self.server_scheme = Some(s);
                        self.handshakes += 1;
                    }
                    response.scheme = self.server_scheme;
                    response.server_verified = done.server_verified;
                    return Ok(response);
                }
            }
        }
    }
}
