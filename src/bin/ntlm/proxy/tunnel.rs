//! CONNECT: a tunnel through a pooled authenticated upstream connection, or one logged on
//! with the CONNECT itself (MS-NLMP §3.1 over HTTP's 407), or direct for `--no-proxy`
//! hosts; then bytes are spliced both ways until a side closes or the tunnel is idle.

use std::time::Duration;

use hyper::body::Incoming;
use hyper::header::{HeaderMap, HeaderValue, HOST};
use hyper::{Method, Response, StatusCode, Uri};
use hyper_util::rt::TokioIo;
use ntlm::http::auth::{ClientAuthError, HandshakeStep};
use ntlm::http::handshake::{drain, HandshakeError};
use tracing::{debug, info, warn, Instrument};

use super::attempt::{self, Opened};
use super::body::{self, text, ResBody};
use super::forward::{
    falls_back_to_basic, logon, plain_to, relay, send_basic, Head, Shared, Via, POOL_READY,
};
use super::idle::Activity;
use super::upstream::Conn;

/// A client connection's slot under `--max-clients`: a tunnel keeps it while it lasts.
pub(super) type ClientSlot = std::sync::Arc<tokio::sync::OwnedSemaphorePermit>;

/// The client's side of a CONNECT: its connection once hyper lets it go, and its slot.
pub(super) struct ClientEnd {
    /// The upgraded client connection, after the 200.
    pub(super) upgrade: hyper::upgrade::OnUpgrade,
    /// The client connection's slot.
    pub(super) slot: Option<ClientSlot>,
}

/// Buffer per direction of a tunnel.
const BUF: usize = 64 * 1024;

/// Splices the client's upgraded connection and `upstream` until either side closes or no
/// byte moves for the idle timeout.
fn splice<U>(
    on_client: ClientEnd,
    mut upstream: U,
    activity: Activity,
    idle: Duration,
    keep: Option<Conn>,
    what: String,
) where
    U: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let span = tracing::Span::current();
    tokio::spawn(
        async move {
            let _slot = keep;
            let _client_slot = on_client.slot;
            let client = match tokio::time::timeout(idle, on_client.upgrade).await {
                Ok(Ok(c)) => c,
                _ => {
                    debug!("the client did not take the tunnel");
                    return;
                }
            };
            let mut client = TokioIo::new(client);
            tokio::select! {
                r = tokio::io::copy_bidirectional_with_sizes(&mut client, &mut upstream, BUF, BUF) => match r {
                    Ok((up, down)) => debug!(tunnel = %what, up, down, "tunnel closed"),
                    Err(e) => debug!(tunnel = %what, error = %e, "tunnel ended"),
                },
                _ = activity.idle(idle) => info!(tunnel = %what, "tunnel idle for {} s: closed", idle.as_secs()),
            }
        }
        .instrument(span),
    );
}

fn connect_head(authority: &str) -> Result<Head, String> {
    let uri: Uri = authority.parse().map_err(|e| format!("{e}"))?;
    let mut headers = HeaderMap::new();
    headers.insert(
        HOST,
        HeaderValue::from_str(authority).map_err(|e| e.to_string())?,
    );
    Ok(Head {
        method: Method::CONNECT,
        uri,
        headers,
    })
}

fn established() -> Response<ResBody> {
    Response::new(body::empty())
}

pub(super) async fn connect(
    shared: &Shared,
    uri: Uri,
    on_client: ClientEnd,
) -> (Response<ResBody>, Via) {
    let Some(authority) = uri.authority().map(|a| a.as_str().to_string()) else {
        return (
            text(StatusCode::BAD_REQUEST, "CONNECT needs host:port"),
            "-".into(),
        );
    };
    let timeout = shared.config.timeout;
    let idle = shared.config.idle_timeout;
    if shared.config.no_proxy.matches(uri.host().unwrap_or("")) {
        return match attempt::direct(&uri, 443, timeout).await {
            Ok((tcp, _, via)) => {
                let activity = Activity::new();
                let io = super::idle::IdleIo::new(tcp, activity.clone());
                splice(on_client, io, activity, idle, None, authority);
                (established(), via)
            }
            Err(answer) => answer,
        };
    }
    let head = match connect_head(&authority) {
        Ok(h) => h,
        Err(e) => {
            return (
                text(
                    StatusCode::BAD_REQUEST,
                    &format!("CONNECT {authority}: {e}"),
                ),
                "-".into(),
            )
        }
    };
    let mut failures: Vec<String> = Vec::new();
    for index in shared.upstreams.order() {
        let Some(up) = shared.upstreams.get(index) else {
            continue;
        };
        let label = up.addr.label.clone();
        let mut none = None;
        // A pooled authenticated connection becomes the tunnel: no new handshake.
        while let Some(mut conn) = up.take(shared.config.idle_timeout, POOL_READY).await {
            let request = plain_to(shared, up, &head, None);
            match tokio::time::timeout(timeout, conn.sender.try_send_request(request)).await {
                Ok(Ok(res)) if res.status().is_success() => {
                    return tunnel(
                        res,
                        conn,
                        on_client,
                        idle,
                        authority,
                        format!("{label} pooled"),
                    )
                    .await;
                }
                Ok(Ok(res)) if res.status() == StatusCode::PROXY_AUTHENTICATION_REQUIRED => {
                    drain(res.into_body(), 256 * 1024, timeout).await;
                }
                Ok(Ok(res)) => return (relay(shared, res, conn), format!("{label} pooled")),
                Ok(Err(e)) => {
                    debug!(upstream = %label, error = %e.error(), "a pooled connection failed")
                }
                Err(_) => return attempt::timed_out(label, " the CONNECT", timeout),
            }
        }
        let (ticket, mut conn) = match attempt::open(shared, up, index, &mut failures).await {
            Opened::Ready(ticket, conn) => (ticket, conn),
            Opened::Closed(answer) => return answer,
            Opened::Unreachable => continue,
        };
        if up.is_basic() && shared.basic.is_some() {
            return connect_basic(shared, up, conn, &head, ticket, on_client, authority).await;
        }
        match logon(shared, index, &mut conn, &head, &mut none, false).await {
            Ok(outcome) => {
                if outcome.completed.scheme.is_some() {
                    ticket.verdict(Ok(()));
                }
                let via = format!(
                    "{label} new {}",
                    outcome.completed.scheme.map(|s| s.name()).unwrap_or("none")
                );
                if outcome.response.status().is_success() {
                    return tunnel(outcome.response, conn, on_client, idle, authority, via).await;
                }
                return (relay(shared, outcome.response, conn), via);
            }
            Err(HandshakeError::Auth(
                e @ ClientAuthError::Refused {
                    step: HandshakeStep::Authenticate,
                    ..
                },
            )) => return attempt::refused(shared, up, &e, ticket),
            Err(e) if falls_back_to_basic(shared, &e) => {
                up.set_basic();
                return connect_basic(shared, up, conn, &head, ticket, on_client, authority).await;
            }
            Err(HandshakeError::Auth(e)) => return attempt::logon_failed(label, &e),
            Err(e) => {
                warn!(upstream = %label, error = %e, "upstream failed");
                failures.push(format!("{label} ({e})"));
            }
        }
    }
    attempt::no_upstream(&failures)
}

async fn tunnel(
    response: Response<Incoming>,
    conn: Conn,
    on_client: ClientEnd,
    idle: Duration,
    authority: String,
    via: Via,
) -> (Response<ResBody>, Via) {
    let activity = conn.activity.clone();
    match tokio::time::timeout(idle, hyper::upgrade::on(response)).await {
        Ok(Ok(upgraded)) => {
            splice(
                on_client,
                TokioIo::new(upgraded),
                activity,
                idle,
                Some(conn),
                authority,
            );
            (established(), via)
        }
        Ok(Err(e)) => (
            text(
                StatusCode::BAD_GATEWAY,
                &format!("the upstream's tunnel failed: {e}"),
            ),
            via,
        ),
        Err(_) => (
            text(
                StatusCode::GATEWAY_TIMEOUT,
                "the upstream's tunnel did not open",
            ),
            via,
        ),
    }
}

/// The CONNECT with Basic credentials on `conn`: a tunnel, the upstream's refusal passed on,
/// or the proxy's own answer.
async fn connect_basic(
    shared: &Shared,
    up: &super::upstream::Upstream,
    conn: Conn,
    head: &Head,
    ticket: super::gate::Ticket<'_>,
    on_client: ClientEnd,
    authority: String,
) -> (Response<ResBody>, Via) {
    let via = format!("{} new Basic", up.addr.label);
    match send_basic(shared, up, conn, head, None, ticket).await {
        Ok((res, conn)) if res.status().is_success() => {
            tunnel(
                res,
                conn,
                on_client,
                shared.config.idle_timeout,
                authority,
                via,
            )
            .await
        }
        Ok((res, conn)) => (relay(shared, res, conn), via),
        Err(answer) => answer,
    }
}
