//! An HTTP/1.1 server over hyper 1.x (feature `hyper`) that requires NTLM or Negotiate.
//!
//! Each TCP (or TLS) connection is served by hyper's `server::conn::http1` with keep-alive
//! and gets one [`ServerAuth`]: the connection authenticates once, and every later request on
//! it is handed to the handler with the same [`Principal`]. Over TLS the connection's
//! `tls-server-end-point` channel bindings are given to the NTLM server context.
//!
//! # Staying available
//!
//! - **Descriptors.** At start, [`serve`] raises the process's soft `RLIMIT_NOFILE` towards
//!   its hard limit (as far as [`ServerOptions::max_connections`] needs) and keeps its
//!   connection cap below the resulting limit, with descriptors to spare for everything
//!   else. An `accept()` error (EMFILE, ENFILE, ECONNABORTED, ...) is reported as a
//!   [`ServerEvent::AcceptError`] and retried after a short backoff (10 ms, doubling up to
//!   1 s); it never ends the server.
//! - **Connection slots: the oldest idle connection is evicted at capacity.** A new
//!   connection is always accepted; when the cap is exceeded, the connection that has been
//!   idle the longest is closed: one that never completed a request head (an idle or
//!   slowloris connection) at once, one waiting between keep-alive requests through hyper's
//!   graceful shutdown (closed within [`EVICTION_GRACE`]). A connection whose request is
//!   being handled is never evicted. Why this rather than a shorter first-byte or header
//!   deadline: a deadline only frees a slot when it expires, so holding every slot stays
//!   cheap for a client that reconnects (a legitimate client still waits up to the
//!   deadline), and a short one cuts off slow legitimate clients even when the server is
//!   not full; eviction costs nothing until the server is full and then serves a new client
//!   at once. Why not per-address caps: an attacker and its victims behind one NAT or proxy
//!   share an address, and the test that matters (one address holding every slot) would
//!   not be helped. hyper's header read timeout ([`ServerOptions::header_read_timeout`],
//!   which does not restart with each byte) still bounds every head.
//!   What eviction does not cover: a client opening new connections faster than the cap
//!   per NTLM round trip can evict a legitimate connection between its two NTLM requests
//!   (the client then starts over).
//!
//! # Events
//!
//! Reported with `tracing`, with the span and field names of the `tower` layer: each
//! connection has a span `ntlm.connection` (fields `peer`, `id`) and each handshake a span
//! `ntlm.handshake` (field `n`) inside it; every decision is one event with the fields
//! `peer`, `scheme`, `user`, `domain`, `workstation`, `kind` (the response verified or
//! refused) and, for refusals, `rule` and `reason`: `logon accepted` (INFO), `logon refused`
//! (WARN, with the names the client *claimed*) and, in audit mode, `audit: logon accepted
//! that the audit level would refuse` (WARN). The server's own events (started, `accept()`
//! failed, a connection evicted or failing its TLS handshake) are events too. No secret is
//! ever a field. [`ServerOptions::events`] also receives each as a [`ServerEvent`].

use core::fmt;
use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use ::hyper::body::{Bytes, Incoming};
use ::hyper::header::{HeaderValue, CONNECTION, CONTENT_TYPE};
use ::hyper::http::request::Parts;
use ::hyper::service::service_fn;
use ::hyper::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tracing::Instrument;

use crate::server::ServerConfig;

use super::auth::{Principal, ServerAuth, ServerAuthOptions, ServerAuthRefusal, ServerDecision};
use super::claims::{dc_unavailable, log_accepted, log_refused};

/// Builds the response for an authenticated request, from its head and its body (read up to
/// [`ServerOptions::max_body`]).
pub type Handler = Arc<dyn Fn(&Principal, &Parts, Bytes) -> Response<Full<Bytes>> + Send + Sync>;

/// The most a refused or challenged request's body is read (and dropped) so the connection
/// can stay open for the next NTLM step; a larger body closes the connection.
pub const MAX_DRAINED_BODY: usize = 64 * 1024;

/// How long an evicted keep-alive connection may take to finish what it is writing.
pub const EVICTION_GRACE: Duration = Duration::from_secs(1);

/// Connections accepted beyond the cap while the evicted ones close.
const EVICTION_HEADROOM: usize = 16;

/// First and longest pause after a failed `accept()`.
const ACCEPT_BACKOFF: (Duration, Duration) = (Duration::from_millis(10), Duration::from_secs(1));

/// The `id` of the next connection's span (process-wide, as the `tower` layer's).
static NEXT_CONNECTION: AtomicU64 = AtomicU64::new(0);

/// The `ntlm.connection` span of a connection from `peer`.
fn connection_span(peer: SocketAddr) -> tracing::Span {
    let id = NEXT_CONNECTION.fetch_add(1, Ordering::Relaxed);
    tracing::info_span!("ntlm.connection", peer = %peer, id)
}

/// What happened on a connection, for logs.
#[derive(Debug)]
#[non_exhaustive]
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
        /// What was being done (`"TLS handshake"`).
        during: &'static str,
        /// What went wrong.
        error: std::io::Error,
    },
    /// The server started: its descriptor limit and the connection cap it keeps below it.
    Started {
        /// The soft `RLIMIT_NOFILE` after raising it (`None`: unlimited or unknown).
        descriptor_limit: Option<u64>,
        /// Connections served at once.
        max_connections: usize,
    },
    /// `accept()` failed (descriptors exhausted, a connection aborted before it was
    /// accepted...); the server retries after `retry_in`.
    AcceptError {
        /// The error.
        error: std::io::Error,
        /// The pause before the next `accept()`.
        retry_in: Duration,
    },
    /// The server was full: the connection idle the longest was closed for a new one.
    Evicted {
        /// The evicted connection's peer.
        peer: SocketAddr,
        /// How long it had been idle.
        idle: Duration,
        /// True when it had never completed a request head.
        never_sent_a_request: bool,
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
            Self::ConnectionError {
                peer,
                during,
                error,
            } => write!(f, "{peer}: connection error: {during}: {error}"),
            Self::Started {
                descriptor_limit,
                max_connections,
            } => match descriptor_limit {
                Some(limit) => write!(
                    f,
                    "serving at most {max_connections} connections (descriptor limit {limit})"
                ),
                None => write!(f, "serving at most {max_connections} connections"),
            },
            Self::AcceptError { error, retry_in } => write!(
                f,
                "accept failed: {error}; retrying in {} ms",
                retry_in.as_millis()
            ),
            Self::Evicted {
                peer,
                idle,
                never_sent_a_request,
            } => write!(
                f,
                "{peer}: closed to make room, idle for {} ms{}",
                idle.as_millis(),
                if *never_sent_a_request {
                    " without a request"
                } else {
                    ""
                }
            ),
        }
    }
}

/// Receives [`ServerEvent`]s.
pub type EventSink = Arc<dyn Fn(ServerEvent) + Send + Sync>;

/// Reports a server-level event with `tracing` (the decisions are reported where they are
/// made, with more fields), then hands it to the sink.
fn emit(options: &ServerOptions, event: ServerEvent) {
    match &event {
        ServerEvent::Started {
            descriptor_limit,
            max_connections,
        } => tracing::info!(
            descriptor_limit = ?descriptor_limit,
            max_connections,
            "serving"
        ),
        ServerEvent::AcceptError { error, retry_in } => tracing::warn!(
            error = %error,
            retry_in_ms = u64::try_from(retry_in.as_millis()).unwrap_or(u64::MAX),
            "accept failed; retrying"
        ),
        ServerEvent::Evicted {
            peer,
            idle,
            never_sent_a_request,
        } => tracing::info!(
            peer = %peer,
            idle_ms = u64::try_from(idle.as_millis()).unwrap_or(u64::MAX),
            never_sent_a_request,
            "connection closed to make room"
        ),
        ServerEvent::ConnectionError {
            peer,
            during,
            error,
        } => tracing::warn!(peer = %peer, during, error = %error, "connection error"),
        ServerEvent::Authenticated { .. } | ServerEvent::Refused { .. } => {}
    }
    (options.events)(event);
}

/// Server options.
#[derive(Clone)]
#[non_exhaustive]
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
    /// Connections served at once (lowered to fit the descriptor limit); at capacity a new
    /// connection evicts the one idle the longest (see the module documentation).
    pub max_connections: usize,
    /// Also receives every event (they are always reported with `tracing`); by default,
    /// nothing.
    pub events: EventSink,
    /// Bound on the TLS handshake.
    pub handshake_timeout: Duration,
    /// Pass-through: NTLM logons, under `NTLM` or inside `Negotiate`, are verified by these
    /// domain controllers instead of [`ServerConfig::store`]; a DC that cannot be reached is
    /// answered with 503.
    #[cfg(feature = "netlogon")]
    pub dc: Option<Arc<crate::netlogon::DcClient>>,
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
    /// events reported with `tracing` only.
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
            events: Arc::new(|_| {}),
            handshake_timeout: Duration::from_secs(10),
            #[cfg(feature = "netlogon")]
            dc: None,
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
    if ::hyper::body::Body::is_end_stream(&body) {
        // A request without a body (most GETs): nothing to collect.
        return Some(Bytes::new());
    }
    Limited::new(body, limit)
        .collect()
        .await
        .ok()
        .map(|collected| collected.to_bytes())
}

/// The `ntlm.handshake` span, opened by a request with credentials when none is open.
fn open_handshake(auth: &Mutex<ServerAuth>, handshake: &Mutex<Option<tracing::Span>>) {
    let mut current = handshake.lock().unwrap_or_else(PoisonError::into_inner);
    if current.is_none() {
        let n = auth.lock().map_or(0, |a| a.handshakes()).saturating_add(1);
        *current = Some(tracing::info_span!("ntlm.handshake", n));
    }
}

/// Reports a decision: one event, in the handshake's span (closed by an acceptance or a
/// refusal); an acceptance is also handed to [`ServerOptions::events`].
fn report(
    options: &ServerOptions,
    handshake: &Mutex<Option<tracing::Span>>,
    peer: SocketAddr,
    values: &[Vec<u8>],
    decision: &ServerDecision,
    handshakes: u64,
) {
    let mut current = handshake.lock().unwrap_or_else(PoisonError::into_inner);
    // Formatted only for an event: a request on an authenticated connection logs nothing.
    let peer_text = || peer.to_string();
    match decision {
        ServerDecision::Serve {
            principal,
            fresh: true,
            ..
        } => {
            let span = current.take().unwrap_or_else(tracing::Span::none);
            span.in_scope(|| log_accepted(&peer_text(), principal, handshakes));
            (options.events)(ServerEvent::Authenticated {
                peer,
                principal: principal.clone(),
                handshakes,
            });
        }
        ServerDecision::Serve { .. } => {}
        ServerDecision::Challenge {
            refusal: Some(refusal),
            ..
        } => {
            let span = current.take().unwrap_or_else(tracing::Span::none);
            span.in_scope(|| {
                log_refused(&peer_text(), refusal, values, options.auth.max_header_len)
            });
        }
        ServerDecision::Challenge { .. } if values.is_empty() => {
            tracing::debug!(peer = %peer_text(), "no credentials: challenge with the offered schemes");
        }
        ServerDecision::Challenge { .. } => {
            let span = current.clone().unwrap_or_else(tracing::Span::none);
            span.in_scope(
                || tracing::debug!(peer = %peer_text(), "handshake continues: challenge sent"),
            );
        }
    }
}

async fn respond(
    auth: &Mutex<ServerAuth>,
    handshake: &Mutex<Option<tracing::Span>>,
    options: &ServerOptions,
    peer: SocketAddr,
    req: Request<Incoming>,
) -> Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    // The standard header's constant: looked up without parsing its name on every request.
    let name = match options.auth.target {
        super::auth::Target::Server => ::hyper::header::AUTHORIZATION,
        super::auth::Target::Proxy => ::hyper::header::PROXY_AUTHORIZATION,
    };
    let values: Vec<Vec<u8>> = parts
        .headers
        .get_all(name)
        .iter()
        .map(|v| v.as_bytes().to_vec())
        .collect();
    if !values.is_empty() {
        open_handshake(auth, handshake);
    }
    let decision = match decide(auth, options, &values).await {
        Some((d, handshakes)) => {
            report(options, handshake, peer, &values, &d, handshakes);
            d
        }
        None => return text(StatusCode::INTERNAL_SERVER_ERROR, "internal error\n".into()),
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
            let unavailable = dc_unavailable(refusal.as_ref());
            if let Some(reason) = refusal {
                (options.events)(ServerEvent::Refused { peer, reason });
            }
            let code = StatusCode::from_u16(status).unwrap_or(StatusCode::UNAUTHORIZED);
            let (code, headers) = if unavailable {
                // Not the client's credentials: no challenge, and no "wrong password".
                (StatusCode::SERVICE_UNAVAILABLE, Vec::new())
            } else {
                (code, headers)
            };
            let message = if unavailable {
                "authentication service unavailable\n"
            } else {
                "authentication required\n"
            };
            let mut response = text(code, message.into());
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

/// The decision on one request and the connection's completed handshakes; with
/// [`ServerOptions::dc`], the AUTHENTICATE is verified by the DC (the connection's state
/// is not locked while the DC answers). `None` when the state's lock is poisoned.
async fn decide(
    auth: &Mutex<ServerAuth>,
    options: &ServerOptions,
    values: &[Vec<u8>],
) -> Option<(ServerDecision, u64)> {
    #[cfg(feature = "netlogon")]
    if let Some(dc) = &options.dc {
        use super::auth::PassThroughDecision;
        let request = {
            let mut a = auth.lock().ok()?;
            match a.on_request_pass_through(values, SystemTime::now()) {
                PassThroughDecision::AskDc(request) => request,
                PassThroughDecision::Decided(d) => return Some((d, a.handshakes())),
                #[allow(unreachable_patterns)]
                _ => return None,
            }
        };
        let answer = dc.logon(&request).await;
        let mut a = auth.lock().ok()?;
        let d = a.on_dc_answer(answer, SystemTime::now());
        return Some((d, a.handshakes()));
    }
    #[cfg(not(feature = "netlogon"))]
    let _ = options;
    let mut a = auth.lock().ok()?;
    let d = a.on_request(values, SystemTime::now());
    Some((d, a.handshakes()))
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
    serve_tracked(io, auth, options, peer, None)
        .instrument(connection_span(peer))
        .await;
}

/// [`serve_connection`], evictable when `slot` is given.
async fn serve_tracked<IO>(
    io: IO,
    auth: ServerAuth,
    options: Arc<ServerOptions>,
    peer: SocketAddr,
    slot: Option<Slot>,
) where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let auth = Arc::new(Mutex::new(auth));
    let handshake = Arc::new(Mutex::new(None));
    let header_read_timeout = options.header_read_timeout;
    let service_slot = slot.as_ref().map(|s| s.state.clone());
    let service = service_fn(move |req| {
        let auth = auth.clone();
        let handshake = handshake.clone();
        let options = options.clone();
        let slot = service_slot.clone();
        async move {
            if let Some(state) = &slot {
                state.set(Phase::Busy);
            }
            let response = respond(&auth, &handshake, &options, peer, req).await;
            if let Some(state) = &slot {
                state.set(Phase::Idle);
            }
            Ok::<_, Infallible>(response)
        }
    });
    let connection = ::hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        .timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout)
        .serve_connection(TokioIo::new(io), service);
    let Some(slot) = slot else {
        let _ = connection.await;
        return;
    };
    tokio::pin!(connection);
    tokio::select! {
        _ = connection.as_mut() => return,
        _ = slot.state.evict.notified() => {}
    }
    if slot.evicted_phase() == Some(Phase::Idle) {
        // Between keep-alive requests: hyper closes an idle connection at once and lets a
        // response still being written finish, within the grace.
        connection.as_mut().graceful_shutdown();
        let _ = tokio::time::timeout(EVICTION_GRACE, connection).await;
    }
}

/// Where a connection is, for eviction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Accepted, no complete request head yet (idle, slowloris, TLS handshake).
    Fresh,
    /// A request is being handled: never evicted.
    Busy,
    /// Waiting for the next keep-alive request.
    Idle,
}

/// Where one connection is, and whether it was told to go: its own lock, so that marking
/// it busy or idle on each request takes neither the table's lock nor a lookup.
#[derive(Debug)]
struct SlotState {
    phase: Phase,
    since: Instant,
    evicted: Option<Phase>,
}

/// One served connection's entry in [`Slots`]; removed when the connection ends.
#[derive(Debug)]
struct Slot {
    id: u64,
    slots: Arc<Slots>,
    state: Arc<SlotCell>,
}

/// A connection's [`SlotState`], shared by its [`Slot`] and the table.
#[derive(Debug)]
struct SlotCell {
    peer: SocketAddr,
    state: Mutex<SlotState>,
    /// Tells the connection to close (a permit is kept if it is not waiting yet).
    evict: Notify,
}

impl SlotCell {
    fn lock(&self) -> std::sync::MutexGuard<'_, SlotState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn set(&self, phase: Phase) {
        // Only when a connection became idle decides eviction (a busy one is never evicted):
        // no clock read when a request starts.
        let since = (phase != Phase::Busy).then(Instant::now);
        let mut state = self.lock();
        state.phase = phase;
        if let Some(since) = since {
            state.since = since;
        }
    }
}

impl Slot {
    fn evicted_phase(&self) -> Option<Phase> {
        self.state.lock().evicted
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.slots.table().remove(&self.id);
        self.slots.freed.notify_one();
    }
}

/// The connections being served.
#[derive(Debug, Default)]
struct Slots {
    table: Mutex<HashMap<u64, Arc<SlotCell>>>,
    next: std::sync::atomic::AtomicU64,
    freed: Notify,
}

impl Slots {
    fn table(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<SlotCell>>> {
        self.table
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn len(&self) -> usize {
        self.table().len()
    }

    fn open(self: &Arc<Self>, peer: SocketAddr) -> Slot {
        let id = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let state = Arc::new(SlotCell {
            peer,
            state: Mutex::new(SlotState {
                phase: Phase::Fresh,
                since: Instant::now(),
                evicted: None,
            }),
            evict: Notify::new(),
        });
        self.table().insert(id, state.clone());
        Slot {
            id,
            slots: self.clone(),
            state,
        }
    }

    /// Closes the connection idle the longest (not `except`, not busy, not already
    /// evicted). O(connections), only when the server is full. Locks the table, then each
    /// connection's state in turn (a request marking its connection takes only the latter).
    fn evict_oldest(&self, except: u64) -> Option<ServerEvent> {
        let table = self.table();
        let (cell, mut state) = table
            .iter()
            .filter(|(id, _)| **id != except)
            .map(|(_, cell)| (cell, cell.lock()))
            .filter(|(_, s)| s.evicted.is_none() && s.phase != Phase::Busy)
            .min_by_key(|(_, s)| s.since)?;
        state.evicted = Some(state.phase);
        // A permit is stored if the connection is not waiting on it yet.
        cell.evict.notify_one();
        Some(ServerEvent::Evicted {
            peer: cell.peer,
            idle: state.since.elapsed(),
            never_sent_a_request: state.phase == Phase::Fresh,
        })
    }
}

/// Raises the soft `RLIMIT_NOFILE` towards the hard limit, as far as `wanted` descriptors;
/// the soft limit after it (`None`: unlimited, or not a Unix system).
pub fn raise_descriptor_limit(wanted: u64) -> Option<u64> {
    #[cfg(unix)]
    {
        use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
        let limit = getrlimit(Resource::Nofile);
        let soft = limit.current?;
        if soft < wanted {
            let target = limit.maximum.map_or(wanted, |hard| hard.min(wanted));
            let raised = Rlimit {
                current: Some(target),
                maximum: limit.maximum,
            };
            // Refused (a hard limit above what the kernel allows): keep the current one.
            let _ = setrlimit(Resource::Nofile, raised);
        }
        getrlimit(Resource::Nofile).current
    }
    #[cfg(not(unix))]
    {
        let _ = wanted;
        None
    }
}

/// Descriptors kept for everything but connections under a limit of `limit`: stdio, the
/// listener, the runtime's poller and wakers, files the handler or store opens.
fn reserved_descriptors(limit: u64) -> u64 {
    (limit / 2).min(64)
}

/// The connection cap: `wanted`, lowered so that the cap, the eviction headroom and the
/// reserved descriptors fit under `limit`.
fn connection_cap(wanted: usize, limit: Option<u64>) -> usize {
    let wanted = wanted.max(1);
    let Some(limit) = limit else {
        return wanted;
    };
    let room = limit
        .saturating_sub(reserved_descriptors(limit))
        .saturating_sub(EVICTION_HEADROOM as u64);
    usize::try_from(room).unwrap_or(usize::MAX).clamp(1, wanted)
}

/// Accepts connections on `listener` forever, one task per connection. Never returns an
/// error: `accept()` failures are reported ([`ServerEvent::AcceptError`]) and retried.
pub async fn serve(listener: TcpListener, options: ServerOptions) -> std::io::Result<()> {
    let options = Arc::new(options);
    let wanted = options.max_connections.max(1);
    let needed = (wanted + EVICTION_HEADROOM) as u64;
    let descriptor_limit = raise_descriptor_limit(needed + needed.min(64));
    let cap = connection_cap(wanted, descriptor_limit);
    emit(
        &options,
        ServerEvent::Started {
            descriptor_limit,
            max_connections: cap,
        },
    );
    let slots = Arc::new(Slots::default());
    let mut backoff = ACCEPT_BACKOFF.0;
    loop {
        // Beyond the headroom, wait for evicted (or finished) connections to close.
        while slots.len() >= cap + EVICTION_HEADROOM {
            let _ = tokio::time::timeout(Duration::from_millis(100), slots.freed.notified()).await;
        }
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => {
                backoff = ACCEPT_BACKOFF.0;
                accepted
            }
            Err(error) => {
                emit(
                    &options,
                    ServerEvent::AcceptError {
                        error,
                        retry_in: backoff,
                    },
                );
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(ACCEPT_BACKOFF.1);
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let slot = slots.open(peer);
        if slots.len() > cap {
            if let Some(event) = slots.evict_oldest(slot.id) {
                emit(&options, event);
            }
        }
        let options = options.clone();
        let span = connection_span(peer);
        tokio::spawn(
            async move {
                #[allow(unused_mut)]
                let mut auth = ServerAuth::new(options.ntlm.clone(), options.auth.clone());
                #[cfg(feature = "tls")]
                if let Some(tls) = &options.tls {
                    auth.set_channel_bindings(tls.bindings.clone());
                    let acceptor = tokio_rustls::TlsAcceptor::from(tls.config.clone());
                    let handshake =
                        tokio::time::timeout(options.handshake_timeout, acceptor.accept(stream));
                    let outcome = tokio::select! {
                        outcome = handshake => outcome,
                        _ = slot.state.evict.notified() => return,
                    };
                    match outcome {
                        Ok(Ok(tls_stream)) => {
                            serve_tracked(tls_stream, auth, options.clone(), peer, Some(slot)).await
                        }
                        Ok(Err(error)) => emit(
                            &options,
                            ServerEvent::ConnectionError {
                                peer,
                                during: "TLS handshake",
                                error,
                            },
                        ),
                        Err(_) => emit(
                            &options,
                            ServerEvent::ConnectionError {
                                peer,
                                during: "TLS handshake",
                                error: std::io::ErrorKind::TimedOut.into(),
                            },
                        ),
                    }
                    return;
                }
                serve_tracked(stream, auth, options.clone(), peer, Some(slot)).await;
            }
            .instrument(span),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_connection_cap_stays_below_the_descriptor_limit() {
        // Plenty of descriptors: the configured cap.
        assert_eq!(connection_cap(1024, Some(20_000)), 1024);
        assert_eq!(connection_cap(1024, None), 1024);
        // A common default of 1024: room for the reserve and the eviction headroom.
        let cap = connection_cap(1024, Some(1024));
        assert_eq!(cap, 1024 - 64 - EVICTION_HEADROOM);
        // A tiny limit still serves one connection at a time, and never more than fits.
        assert_eq!(connection_cap(1024, Some(64)), 64 - 32 - EVICTION_HEADROOM);
        assert_eq!(connection_cap(1024, Some(8)), 1);
        assert_eq!(connection_cap(0, Some(20_000)), 1);
    }

    #[test]
    fn eviction_picks_the_connection_idle_the_longest_and_never_a_busy_one() {
        let slots = Arc::new(Slots::default());
        let peer: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let oldest_busy = slots.open(peer);
        std::thread::sleep(Duration::from_millis(2));
        let idle = slots.open(peer);
        std::thread::sleep(Duration::from_millis(2));
        let fresh = slots.open(peer);
        oldest_busy.state.set(Phase::Busy);
        idle.state.set(Phase::Idle);
        // `idle` was set after `fresh` opened: `fresh` is now the one idle the longest.
        assert!(matches!(
            slots.evict_oldest(u64::MAX),
            Some(ServerEvent::Evicted {
                never_sent_a_request: true,
                ..
            })
        ));
        assert_eq!(fresh.evicted_phase(), Some(Phase::Fresh));
        assert!(matches!(
            slots.evict_oldest(u64::MAX),
            Some(ServerEvent::Evicted {
                never_sent_a_request: false,
                ..
            })
        ));
        assert_eq!(idle.evicted_phase(), Some(Phase::Idle));
        // Only the busy one is left: nothing to evict.
        assert!(slots.evict_oldest(u64::MAX).is_none());
        assert_eq!(slots.len(), 3);
        drop((oldest_busy, idle, fresh));
        assert_eq!(slots.len(), 0);
    }
}
