//! What a plain request (`forward`) and a CONNECT (`tunnel`) do alike when they try an
//! upstream: go through the gate and open a new connection, reach a `--no-proxy` host
//! directly, and the answers the client gets when an attempt fails.

use std::time::Duration;

use hyper::{Response, StatusCode, Uri};
use ntlm::http::auth::ClientAuthError;
use tokio::net::TcpStream;
use tracing::warn;

use super::body::{text, ResBody};
use super::forward::{gate_closed, Shared, Via};
use super::gate::{Closed, Ticket};
use super::upstream::{Conn, Upstream};

/// A new connection to an upstream, or why there is none.
pub(super) enum Opened<'g> {
    /// Through the gate, connected: log on with this request.
    Ready(Ticket<'g>, Conn),
    /// The gate is closed after a refused logon: this is the client's answer.
    Closed((Response<ResBody>, Via)),
    /// The upstream cannot be reached (recorded in `failures`): try the next one.
    Unreachable,
}

/// Waits at the gate, then opens a new connection to upstream `index`; an unreachable upstream
/// is added to `failures`.
pub(super) async fn open<'g>(
    shared: &'g Shared,
    up: &Upstream,
    index: usize,
    failures: &mut Vec<String>,
) -> Opened<'g> {
    let label = &up.addr.label;
    let ticket = match shared.gate.enter().await {
        Ok(t) => t,
        Err(closed) => {
            return Opened::Closed((gate_closed(&closed), format!("{label} gate closed")))
        }
    };
    match up.open(index, shared.config.timeout).await {
        Ok(conn) => Opened::Ready(ticket, conn),
        Err(e) => {
            warn!(upstream = %label, error = %e, "upstream unreachable");
            failures.push(format!("{label} ({e})"));
            Opened::Unreachable
        }
    }
}

/// The upstream refused the AUTHENTICATE: the gate closes for the backoff (so the password is
/// not tried again) and the client is told why.
pub(super) fn refused(
    shared: &Shared,
    up: &Upstream,
    e: &ClientAuthError,
    ticket: Ticket<'_>,
) -> (Response<ResBody>, Via) {
    let reason = shared.refused(up, e);
    warn!(upstream = %up.addr.label, "{reason}");
    ticket.verdict(Err(reason.clone()));
    let closed = shared.gate.closed().unwrap_or(Closed {
        reason,
        retry_in: shared.config.backoff,
    });
    (gate_closed(&closed), format!("{} refused", up.addr.label))
}

/// The logon to the upstream failed other than by a refusal (a malformed challenge, no
/// scheme in common...).
pub(super) fn logon_failed(label: String, e: &ClientAuthError) -> (Response<ResBody>, Via) {
    (
        text(
            StatusCode::BAD_GATEWAY,
            &format!("logging on to the upstream proxy {label} failed: {e}"),
        ),
        label,
    )
}

/// The upstream (`what`: the request, or the CONNECT) did not answer in time.
pub(super) fn timed_out(label: String, what: &str, timeout: Duration) -> (Response<ResBody>, Via) {
    (
        text(
            StatusCode::GATEWAY_TIMEOUT,
            &format!(
                "the upstream proxy {label} did not answer{what} within {} s",
                timeout.as_secs()
            ),
        ),
        label,
    )
}

/// Every upstream was tried and none could be used.
pub(super) fn no_upstream(failures: &[String]) -> (Response<ResBody>, Via) {
    (
        text(
            StatusCode::BAD_GATEWAY,
            &format!("no upstream proxy could be used: {}", failures.join(", ")),
        ),
        "none".into(),
    )
}

/// A TCP connection straight to the host of `uri` (`--no-proxy`), `default_port` when it
/// names none; the error is the client's answer.
pub(super) async fn direct(
    uri: &Uri,
    default_port: u16,
    timeout: Duration,
) -> Result<(TcpStream, String, Via), (Response<ResBody>, Via)> {
    let host = uri
        .host()
        .unwrap_or("")
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let port = uri.port_u16().unwrap_or(default_port);
    let via = format!("direct {host}:{port}");
    match tokio::time::timeout(timeout, TcpStream::connect((host.as_str(), port))).await {
        Ok(Ok(tcp)) => {
            let _ = tcp.set_nodelay(true);
            Ok((tcp, format!("{host}:{port}"), via))
        }
        Ok(Err(e)) => Err((
            text(
                StatusCode::BAD_GATEWAY,
                &format!("{host}:{port} (direct, --no-proxy): {e}"),
            ),
            via,
        )),
        Err(_) => Err((
            text(
                StatusCode::GATEWAY_TIMEOUT,
                &format!("{host}:{port} (direct): connecting timed out"),
            ),
            via,
        )),
    }
}
