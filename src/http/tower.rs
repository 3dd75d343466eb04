//! NTLM and Negotiate in front of any `tower::Service<http::Request<B>>` (feature `tower`):
//! axum, hyper-util, tonic's HTTP/1.
//!
//! [`NtlmLayer`] wraps a service. A request on an authenticated connection reaches it with the
//! connection's [`Principal`] (an `Arc<Principal>`) in its extensions; any other request is
//! answered `401` with the NTLM/Negotiate challenge by the layer, which drives one
//! [`ServerAuth`] per connection. With feature `axum`, `NtlmUser` extracts the principal.
//!
//! # Why the connection's state travels in a request extension
//!
//! NTLM authenticates the *TCP connection*, not a request (the three messages share one
//! kept-alive connection, and later requests on it are served without asking again), so the
//! handshake state must live exactly as long as the connection. A `tower::Layer`, however,
//! is applied once when an application is built (axum's `Router::layer`), and the service it
//! makes is cloned for every request of every connection: state kept in the layer or its
//! service would be shared by all clients, and one client's logon would authenticate
//! another's requests. So the state lives in a [`Connection`], created once per accepted
//! connection by the accept loop, and the layer reaches it through the request's
//! extensions:
//!
//! - `axum::serve` (feature `axum`): serve
//!   `app.into_make_service_with_connect_info::<Connection>()`; axum calls
//!   `Connected::connect_info` once per accepted TCP connection and clones the value into
//!   every request of that connection (`ConnectInfo<Connection>`).
//! - hyper-util or an own accept loop (TLS, Unix sockets): wrap the application per
//!   connection with [`Connection::wrap`] (or [`Connection::with_channel_bindings`] over
//!   TLS, so the NTLM context checks `tls-server-end-point` bindings).
//!
//! A request that carries no [`Connection`] is answered `500` and logged: the layer fails
//! closed rather than share one state between connections.
//!
//! # Events
//!
//! With `tracing`, each [`Connection`] has a span `ntlm.connection` (fields `peer`, `id`) and
//! each handshake a span `ntlm.handshake` inside it; every decision is one event with the
//! fields `peer`, `scheme`, `user`, `domain`, `workstation`, `kind` (the response verified or
//! refused) and, for refusals, `rule` and `reason`: `logon accepted` (INFO), `logon refused`
//! (WARN, with the names the client *claimed*), and in audit mode
//! ([`ServerPolicy::audit_level`](crate::policy::ServerPolicy::audit_level)) `audit: logon
//! accepted that the audit level would refuse` (WARN, with `audit_level`). No secret is ever
//! a field. The decisions are counted in the layer's [`Metrics`].
//!
//! ```no_run
//! # #[cfg(feature = "axum")]
//! # async fn run() -> std::io::Result<()> {
//! use std::sync::Arc;
//! use axum::{routing::get, Router};
//! use ntlm::http::tower::{Connection, NtlmLayer, NtlmUser};
//! use ntlm::policy::{LmCompatibilityLevel, ServerPolicy};
//! use ntlm::server::ServerConfig;
//! use ntlm::store::MemoryStore;
//!
//! let mut users = MemoryStore::new();
//! users.add_password("CORP", "alice", "Secret1");
//! let config = ServerConfig::new(ServerPolicy::domain_controller(LmCompatibilityLevel::L5), users);
//! let app = Router::new()
//!     .route("/", get(|NtlmUser(who): NtlmUser| async move { format!("hello {}\n", who.qualified()) }))
//!     .layer(NtlmLayer::new(Arc::new(config)));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! axum::serve(listener, app.into_make_service_with_connect_info::<Connection>()).await
//! # }
//! ```

use core::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::SystemTime;

use ::hyper::body::Body;
use ::hyper::header::{HeaderValue, CONNECTION};
use ::hyper::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Limited};
use tower_layer::Layer;
use tower_service::Service;
use tracing::Instrument;

use crate::channel_bindings::ChannelBindings;
use crate::metrics::Metrics;
use crate::server::ServerConfig;

use super::auth::{Principal, ServerAuth, ServerAuthOptions, ServerAuthRefusal, ServerDecision};
use super::claims::{dc_unavailable, log_accepted, log_refused, policy_refusal};
use super::hyper_server::MAX_DRAINED_BODY;

static NEXT_CONNECTION: AtomicU64 = AtomicU64::new(1);

/// One client connection's authentication: its peer, its channel bindings, its
/// [`ServerAuth`] (created by the first [`NtlmLayer`] that sees the connection, with that
/// layer's configuration) and its `tracing` span. Cheap to clone; every clone is the same
/// connection.
///
/// NTLM binds the logon to the connection, so serve it over HTTP/1.1 (as IIS does; axum's
/// `http2` feature is not enabled here): over HTTP/2 one logon would cover every stream.
#[derive(Clone)]
pub struct Connection {
    inner: Arc<ConnectionInner>,
}

struct ConnectionInner {
    peer: Option<SocketAddr>,
    peer_text: String,
    id: u64,
    bindings: Option<ChannelBindings>,
    span: tracing::Span,
    state: Mutex<ConnectionState>,
}

#[derive(Default)]
struct ConnectionState {
    auth: Option<ServerAuth>,
    /// The span of the handshake in progress.
    handshake: Option<tracing::Span>,
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("peer", &self.inner.peer)
            .field("id", &self.inner.id)
            .field("principal", &self.principal())
            .finish_non_exhaustive()
    }
}

impl Connection {
    /// A new connection from `peer`.
    pub fn new(peer: SocketAddr) -> Self {
        Self::build(Some(peer), None)
    }

    /// A new connection whose peer address is unknown (a Unix socket, a test).
    pub fn without_peer() -> Self {
        Self::build(None, None)
    }

    /// A new TLS connection from `peer` with its `tls-server-end-point` bindings (feature
    /// `tls`: `ServerTls::bindings` holds them for the server's certificate).
    pub fn with_channel_bindings(peer: SocketAddr, bindings: ChannelBindings) -> Self {
        Self::build(Some(peer), Some(bindings))
    }

    fn build(peer: Option<SocketAddr>, bindings: Option<ChannelBindings>) -> Self {
        let id = NEXT_CONNECTION.fetch_add(1, Ordering::Relaxed);
        let peer_text = peer.map_or_else(|| "-".to_string(), |p| p.to_string());
        let span = tracing::info_span!("ntlm.connection", peer = %peer_text, id);
        Self {
            inner: Arc::new(ConnectionInner {
                peer,
                peer_text,
                id,
                bindings,
                span,
                state: Mutex::new(ConnectionState::default()),
            }),
        }
    }

    /// The peer's address, when known.
    pub fn peer(&self) -> Option<SocketAddr> {
        self.inner.peer
    }

    /// A number unique to this connection in this process (also a field of its span).
    pub fn id(&self) -> u64 {
        self.inner.id
    }

    /// The connection's `ntlm.connection` span.
    pub fn span(&self) -> &tracing::Span {
        &self.inner.span
    }

    /// Who the connection is authenticated as.
    pub fn principal(&self) -> Option<Arc<Principal>> {
        let state = self.inner.state.lock().ok()?;
        state.auth.as_ref()?.principal().cloned()
    }

    /// `service` with this connection inserted into every request's extensions: call once
    /// per accepted connection, around the application (with [`NtlmLayer`] inside).
    pub fn wrap<S>(&self, service: S) -> WithConnection<S> {
        WithConnection {
            inner: service,
            connection: self.clone(),
        }
    }

    /// The connection of a request: a [`Connection`] extension, or axum's
    /// `ConnectInfo<Connection>` (feature `axum`).
    pub fn of<B>(request: &Request<B>) -> Option<Self> {
        let extensions = request.extensions();
        if let Some(c) = extensions.get::<Self>() {
            return Some(c.clone());
        }
        #[cfg(feature = "axum")]
        if let Some(axum::extract::ConnectInfo(c)) =
            extensions.get::<axum::extract::ConnectInfo<Self>>()
        {
            return Some(c.clone());
        }
        None
    }
}

#[cfg(feature = "axum")]
impl
    axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, tokio::net::TcpListener>>
    for Connection
{
    fn connect_info(stream: axum::serve::IncomingStream<'_, tokio::net::TcpListener>) -> Self {
        Self::new(*stream.remote_addr())
    }
}

/// A service with one [`Connection`] inserted into each request (see [`Connection::wrap`]).
#[derive(Clone, Debug)]
pub struct WithConnection<S> {
    inner: S,
    connection: Connection,
}

impl<S, B> Service<Request<B>> for WithConnection<S>
where
    S: Service<Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        request.extensions_mut().insert(self.connection.clone());
        self.inner.call(request)
    }
}

struct Shared {
    config: Arc<ServerConfig>,
    options: ServerAuthOptions,
    metrics: Arc<Metrics>,
    /// Pass-through: the DC that verifies every AUTHENTICATE.
    #[cfg(feature = "netlogon")]
    dc: Option<Arc<crate::netlogon::DcClient>>,
}

/// The layer: NTLM/Negotiate over `config`, shared by all connections (their state is in
/// their [`Connection`]).
#[derive(Clone)]
pub struct NtlmLayer {
    shared: Arc<Shared>,
}

impl fmt::Debug for NtlmLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NtlmLayer")
            .field("config", &self.shared.config)
            .field("options", &self.shared.options)
            .finish_non_exhaustive()
    }
}

impl NtlmLayer {
    /// A layer offering `Negotiate` and `NTLM` (origin-server authentication, 401).
    pub fn new(config: Arc<ServerConfig>) -> Self {
        Self::with_options(
            config,
            ServerAuthOptions::default(),
            Arc::new(Metrics::new()),
        )
    }

    /// A layer with other schemes, limits or proxy authentication (407), counting into
    /// `metrics`.
    pub fn with_options(
        config: Arc<ServerConfig>,
        options: ServerAuthOptions,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            shared: Arc::new(Shared {
                config,
                options,
                metrics,
                #[cfg(feature = "netlogon")]
                dc: None,
            }),
        }
    }

    /// Pass-through (feature `netlogon`): every AUTHENTICATE is verified by `dc` instead of
    /// the configuration's store ([`ServerAuth::on_request_pass_through`], then
    /// [`ServerAuth::on_dc_answer`]; the connection's state is not locked while the DC
    /// answers). A DC that cannot be asked is answered `503` without a challenge, never as
    /// a wrong password. The CHALLENGE must name the DC client's machine account
    /// (`nb_domain`, `nb_computer`), as a DC checks.
    #[cfg(feature = "netlogon")]
    pub fn with_dc(self, dc: Arc<crate::netlogon::DcClient>) -> Self {
        let s = &self.shared;
        Self {
            shared: Arc::new(Shared {
                config: s.config.clone(),
                options: s.options.clone(),
                metrics: s.metrics.clone(),
                dc: Some(dc),
            }),
        }
    }

    /// The counters of this layer's decisions.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.shared.metrics
    }
}

impl<S> Layer<S> for NtlmLayer {
    type Service = NtlmService<S>;

    fn layer(&self, inner: S) -> NtlmService<S> {
        NtlmService {
            inner,
            shared: self.shared.clone(),
        }
    }
}

/// The service [`NtlmLayer`] makes.
#[derive(Clone)]
pub struct NtlmService<S> {
    inner: S,
    shared: Arc<Shared>,
}

impl<S> fmt::Debug for NtlmService<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NtlmService").finish_non_exhaustive()
    }
}

/// What the layer does with one request (`Challenge` with status 503 and no headers when
/// the DC could not be asked).
enum Outcome {
    Serve {
        principal: Arc<Principal>,
        header: Option<(&'static str, String)>,
    },
    Challenge {
        status: u16,
        headers: Vec<(&'static str, String)>,
    },
    /// No connection state, or a poisoned lock.
    Internal,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for NtlmService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    ReqBody: Body + Send + 'static,
    ReqBody::Data: Send,
    ReqBody::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    ResBody: Default + Send + 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response<ResBody>, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        // The clone that was made ready is the one called (tower's usual swap).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let shared = self.shared.clone();
        let Some(connection) = Connection::of(&request) else {
            tracing::error!(
                "NTLM layer: request without a Connection (serve with \
                 into_make_service_with_connect_info::<Connection>() or Connection::wrap); answered 500"
            );
            return Box::pin(async { Ok(status_only(StatusCode::INTERNAL_SERVER_ERROR)) });
        };
        let span = connection.span().clone();
        Box::pin(
            async move {
                let name = shared.options.target.authorization_header();
                let values: Vec<Vec<u8>> = request
                    .headers()
                    .get_all(name)
                    .iter()
                    .map(|v| v.as_bytes().to_vec())
                    .collect();
                match decide_maybe_dc(&shared, &connection, &values).await {
                    Outcome::Serve { principal, header } => {
                        request.extensions_mut().insert(principal);
                        // Proxy credentials are for this hop (RFC 9110 §11.7.2): a proxy
                        // built on the layer does not forward them.
                        if shared.options.target == super::auth::Target::Proxy {
                            request.headers_mut().remove(name);
                        }
                        let mut response = inner.call(request).await?;
                        if let Some((name, value)) = header {
                            if let Ok(v) = HeaderValue::from_str(&value) {
                                response.headers_mut().append(name, v);
                            }
                        }
                        Ok(response)
                    }
                    Outcome::Challenge { status, headers } => {
                        let code = StatusCode::from_u16(status).unwrap_or(StatusCode::UNAUTHORIZED);
                        let mut response = status_only(code);
                        for (name, value) in headers {
                            if let Ok(v) = HeaderValue::from_str(&value) {
                                response.headers_mut().append(name, v);
                            }
                        }
                        // A challenged request's body is read and dropped so the connection
                        // can stay open for the next step; one too large to drain closes it.
                        let body = request.into_body();
                        if Limited::new(body, MAX_DRAINED_BODY)
                            .collect()
                            .await
                            .is_err()
                        {
                            response
                                .headers_mut()
                                .insert(CONNECTION, HeaderValue::from_static("close"));
                        }
                        Ok(response)
                    }
                    Outcome::Internal => Ok(status_only(StatusCode::INTERNAL_SERVER_ERROR)),
                }
            }
            .instrument(span),
        )
    }
}

fn status_only<B: Default>(status: StatusCode) -> Response<B> {
    let mut response = Response::new(B::default());
    *response.status_mut() = status;
    response
}

/// The decision on one request: from the store, or with [`NtlmLayer::with_dc`] from the DC
/// (asked between two short holds of the connection's lock).
async fn decide_maybe_dc(shared: &Shared, connection: &Connection, values: &[Vec<u8>]) -> Outcome {
    #[cfg(feature = "netlogon")]
    if let Some(dc) = &shared.dc {
        use super::auth::PassThroughDecision;
        let mut request = None;
        let outcome = decide(shared, connection, values, |auth| {
            match auth.on_request_pass_through(values, SystemTime::now()) {
                PassThroughDecision::AskDc(r) => {
                    request = Some(r);
                    None
                }
                PassThroughDecision::Decided(d) => Some(d),
                #[allow(unreachable_patterns)]
                _ => None,
            }
        });
        let Some(request) = request else {
            return outcome.unwrap_or(Outcome::Internal);
        };
        let answer = dc.logon(&request).await;
        return decide(shared, connection, values, |auth| {
            Some(auth.on_dc_answer(answer, SystemTime::now()))
        })
        .unwrap_or(Outcome::Internal);
    }
    decide(shared, connection, values, |auth| {
        Some(auth.on_request(values, SystemTime::now()))
    })
    .unwrap_or(Outcome::Internal)
}

/// Runs `step` on the connection's [`ServerAuth`] and reports its decision (events,
/// metrics); `None` when `step` has none yet (a DC request is pending). No await while the
/// connection's lock is held.
fn decide(
    shared: &Shared,
    connection: &Connection,
    values: &[Vec<u8>],
    step: impl FnOnce(&mut ServerAuth) -> Option<ServerDecision>,
) -> Option<Outcome> {
    let conn = &connection.inner;
    let Ok(mut state) = conn.state.lock() else {
        tracing::error!("NTLM layer: connection state lock poisoned; answered 500");
        return Some(Outcome::Internal);
    };
    let state = &mut *state;
    let auth = state.auth.get_or_insert_with(|| {
        let mut auth = ServerAuth::new(shared.config.clone(), shared.options.clone());
        if let Some(b) = &conn.bindings {
            auth.set_channel_bindings(b.clone());
        }
        auth
    });
    if !values.is_empty() && state.handshake.is_none() {
        state.handshake = Some(tracing::info_span!(
            parent: &conn.span,
            "ntlm.handshake",
            n = auth.handshakes().saturating_add(1)
        ));
    }
    let decision = step(auth)?;
    let handshakes = auth.handshakes();
    let peer = conn.peer_text.as_str();
    match decision {
        ServerDecision::Serve {
            principal,
            header,
            fresh,
        } => {
            if fresh {
                let span = state.handshake.take().unwrap_or_else(tracing::Span::none);
                span.in_scope(|| accepted(shared, peer, &principal, handshakes));
            }
            Some(Outcome::Serve { principal, header })
        }
        ServerDecision::Challenge {
            status,
            headers,
            refusal,
        } => {
            if dc_unavailable(refusal.as_ref()) {
                // Not the client's credentials: no challenge, and no "wrong password".
                let span = state.handshake.take().unwrap_or_else(tracing::Span::none);
                if let Some(refusal) = &refusal {
                    span.in_scope(|| refused(shared, peer, refusal, values));
                }
                return Some(Outcome::Challenge {
                    status: 503,
                    headers: Vec::new(),
                });
            }
            match refusal {
                Some(refusal) => {
                    let span = state.handshake.take().unwrap_or_else(tracing::Span::none);
                    span.in_scope(|| refused(shared, peer, &refusal, values));
                }
                None if values.is_empty() => {
                    tracing::debug!(peer = %peer, "no credentials: challenge with the offered schemes");
                }
                None => {
                    let span = state.handshake.clone().unwrap_or_else(tracing::Span::none);
                    span.in_scope(
                        || tracing::debug!(peer = %peer, "handshake continues: challenge sent"),
                    );
                }
            }
            Some(Outcome::Challenge { status, headers })
        }
    }
}

fn accepted(shared: &Shared, peer: &str, principal: &Principal, handshakes: u64) {
    let audit = log_accepted(peer, principal, handshakes);
    shared
        .metrics
        .record_accepted(principal.verified, audit.as_ref());
}

fn refused(shared: &Shared, peer: &str, refusal: &ServerAuthRefusal, values: &[Vec<u8>]) {
    let rule = log_refused(peer, refusal, values, shared.options.max_header_len);
    shared.metrics.record_refused(rule, policy_refusal(refusal));
}

/// The authenticated principal, for axum handlers (feature `axum`): rejects with `500` on a
/// route that is not behind [`NtlmLayer`] (the layer never lets an unauthenticated request
/// through). `Option<NtlmUser>` never rejects.
#[cfg(feature = "axum")]
#[derive(Clone, Debug)]
pub struct NtlmUser(pub Arc<Principal>);

#[cfg(feature = "axum")]
impl<S: Send + Sync> axum::extract::FromRequestParts<S> for NtlmUser {
    type Rejection = StatusCode;

    async fn from_request_parts(
        parts: &mut ::hyper::http::request::Parts,
        _state: &S,
    ) -> Result<Self, StatusCode> {
        match parts.extensions.get::<Arc<Principal>>() {
            Some(p) => Ok(Self(p.clone())),
            None => {
                tracing::error!("NtlmUser extracted on a route without NtlmLayer; answered 500");
                Err(StatusCode::INTERNAL_SERVER_ERROR)
            }
        }
    }
}

#[cfg(feature = "axum")]
impl<S: Send + Sync> axum::extract::OptionalFromRequestParts<S> for NtlmUser {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut ::hyper::http::request::Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(parts.extensions.get::<Arc<Principal>>().cloned().map(Self))
    }
}
