//! Forwarding one client request: absolute-form HTTP over a pooled or freshly authenticated
//! upstream connection (or direct for `--no-proxy` hosts); CONNECT goes to [`super::tunnel`].
//!
//! A fresh upstream connection is logged on with the request itself (MS-NLMP §3.1 over
//! HTTP): the NEGOTIATE round goes without the body (`Content-Length: 0`), the AUTHENTICATE
//! round carries it, streamed. An authenticated connection then carries later requests
//! without a new handshake until the upstream closes it.

use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::header::{HeaderMap, HeaderName, HeaderValue, CONNECTION, CONTENT_LENGTH, HOST};
use hyper::{Method, Request, Response, StatusCode, Uri};
use hyper_util::rt::TokioIo;
use ntlm::client::ClientConfig;
use ntlm::http::auth::{ClientAuth, ClientAuthError, ClientAuthOptions, HandshakeStep, Target};
use ntlm::http::handshake::{drain, drive, kept_alive, HandshakeError, Outcome, Round};
use tracing::{debug, info, warn};

use super::attempt::{self, Opened};
use super::body::{self, empty_request, text, Pooled, ResBody};
use super::config::Config;
use super::gate::Gate;
use super::upstream::{Conn, ReqBody, Upstream, Upstreams};

/// What every connection shares.
pub struct Shared {
    /// The configuration.
    pub config: Config,
    /// The upstreams and their pools.
    pub upstreams: Arc<Upstreams>,
    /// The logon gate of the configured credentials.
    pub gate: Gate,
    /// `Basic` credentials for an upstream that offers nothing else (`--allow-basic`).
    pub basic: Option<HeaderValue>,
}

/// The request line and headers, kept to build each round of a handshake.
#[derive(Clone)]
pub(super) struct Head {
    pub(super) method: Method,
    pub(super) uri: Uri,
    pub(super) headers: HeaderMap,
}

/// How long a pooled connection may take to accept the next request.
pub(super) const POOL_READY: Duration = Duration::from_secs(2);

/// Where a request went, for the log line.
pub(super) type Via = String;

const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authorization",
    "proxy-authenticate",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// Removes hop-by-hop headers (RFC 9110 §7.6.1), and those `Connection` names.
fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|n| HeaderName::from_bytes(n.trim().as_bytes()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    for name in HOP_BY_HOP {
        headers.remove(*name);
    }
}

impl Shared {
    /// A handshake with `up`: its SPN (`HTTP/host`) as the target name, no channel bindings
    /// (the upstream is reached over plain HTTP).
    fn auth(&self, up: &Upstream) -> ClientAuth {
        let mut ntlm: ClientConfig = self.config.ntlm.clone();
        ntlm.channel_bindings = None;
        if ntlm.target_name.is_none() {
            ntlm.target_name = Some(format!("HTTP/{}", up.addr.host));
        }
        ClientAuth::new(
            ntlm,
            ClientAuthOptions::default()
                .with_target(Target::Proxy)
                .with_schemes(self.config.schemes.clone()),
        )
    }

    pub(super) fn refused(&self, up: &Upstream, e: &ClientAuthError) -> String {
        format!(
            "the upstream proxy {} refused the logon of {} at level {}: {e} (wrong or expired password, locked or unknown account, or a policy of the proxy; NTLM does not say which)",
            up.addr.label,
            self.config.account,
            self.config.ntlm.policy.level.get(),
        )
    }
}

/// The answer when the gate is closed.
pub(super) fn gate_closed(closed: &super::gate::Closed) -> Response<ResBody> {
    text(
        StatusCode::PROXY_AUTHENTICATION_REQUIRED,
        &format!(
            "{}. The password is not tried again for {} s, so that it cannot lock the account; fix it and restart ntlm proxy",
            closed.reason,
            closed.retry_in.as_secs()
        ),
    )
}

/// Handles one client request.
pub async fn handle(
    shared: Arc<Shared>,
    mut req: Request<Incoming>,
) -> Result<Response<ResBody>, std::convert::Infallible> {
    let start = std::time::Instant::now();
    let method = req.method().clone();
    // The query is left out of the log: tools put tokens there.
    let target = match (req.uri().scheme_str(), req.uri().authority()) {
        (Some(scheme), Some(authority)) => format!("{scheme}://{authority}{}", req.uri().path()),
        _ => req
            .uri()
            .authority()
            .map_or_else(|| req.uri().path().to_string(), |a| a.to_string()),
    };
    let (response, via) = if method == Method::CONNECT {
        let client = super::tunnel::ClientEnd {
            slot: req.extensions_mut().remove::<super::tunnel::ClientSlot>(),
            upgrade: hyper::upgrade::on(&mut req),
        };
        super::tunnel::connect(&shared, req.uri().clone(), client).await
    } else if req.uri().scheme().is_some() && req.uri().authority().is_some() {
        http(&shared, req).await
    } else {
        (
            text(
                StatusCode::BAD_REQUEST,
                "this is a proxy: send absolute-form requests (GET http://host/path) or CONNECT",
            ),
            "-".into(),
        )
    };
    info!(
        %method,
        target = %target,
        status = response.status().as_u16(),
        via = %via,
        ms = start.elapsed().as_millis() as u64,
        "request"
    );
    Ok(response)
}

pub(super) fn build(
    head: &Head,
    round: &Round,
    body: &mut Option<ReqBody>,
    with_body: bool,
) -> Result<Request<ReqBody>, String> {
    let mut headers = head.headers.clone();
    if let Some((name, value)) = round.header() {
        headers.insert(
            HeaderName::from_bytes(name.as_bytes()).map_err(|e| e.to_string())?,
            HeaderValue::from_str(value).map_err(|e| e.to_string())?,
        );
    }
    let (method, body) = match round {
        _ if !with_body => (head.method.clone(), empty_request()),
        Round::Authenticate { .. } => (
            head.method.clone(),
            body.take().ok_or("the request body was already sent")?,
        ),
        // A probe of a request with a body must not reach the origin with an empty body.
        Round::Probe => {
            headers.remove(CONTENT_LENGTH);
            (Method::HEAD, empty_request())
        }
        Round::Negotiate { .. } => {
            headers.insert(CONTENT_LENGTH, HeaderValue::from_static("0"));
            (head.method.clone(), empty_request())
        }
    };
    let mut request = Request::new(body);
    *request.method_mut() = method;
    *request.uri_mut() = head.uri.clone();
    *request.headers_mut() = headers;
    Ok(request)
}

/// The request as the client sent it (hop-by-hop headers dropped), with its body if any.
pub(super) fn plain(head: &Head, body: Option<ReqBody>) -> Request<ReqBody> {
    let mut request = Request::new(body.unwrap_or_else(empty_request));
    *request.method_mut() = head.method.clone();
    *request.uri_mut() = head.uri.clone();
    *request.headers_mut() = head.headers.clone();
    request
}

/// [`plain`], with `Proxy-Authorization: Basic` when `up` takes only Basic.
pub(super) fn plain_to(
    shared: &Shared,
    up: &Upstream,
    head: &Head,
    body: Option<ReqBody>,
) -> Request<ReqBody> {
    let mut request = plain(head, body);
    if let (true, Some(basic)) = (up.is_basic(), &shared.basic) {
        request
            .headers_mut()
            .insert(hyper::header::PROXY_AUTHORIZATION, basic.clone());
    }
    request
}

/// True when the upstream offered Basic and nothing this client may use, and Basic is allowed.
pub(super) fn falls_back_to_basic(shared: &Shared, e: &HandshakeError) -> bool {
    shared.basic.is_some()
        && matches!(e, HandshakeError::Auth(ClientAuthError::NoUsableScheme { offered })
            if offered.iter().any(|o| o.eq_ignore_ascii_case("basic")))
}

/// Sends `head` with Basic credentials on `conn` (the gate's `ticket` records the verdict):
/// the upstream's answer, or the proxy's own when the credentials are refused or it fails.
pub(super) async fn send_basic(
    shared: &Shared,
    up: &Upstream,
    mut conn: Conn,
    head: &Head,
    body: Option<ReqBody>,
    ticket: super::gate::Ticket<'_>,
) -> Result<(Response<Incoming>, Conn), (Response<ResBody>, Via)> {
    let label = up.addr.label.clone();
    let request = plain_to(shared, up, head, body);
    match tokio::time::timeout(shared.config.timeout, conn.sender.send_request(request)).await {
        Ok(Ok(res)) if res.status() == StatusCode::PROXY_AUTHENTICATION_REQUIRED => {
            let reason = format!(
                "the upstream proxy {label} refused the Basic logon of {}",
                shared.config.account
            );
            warn!(upstream = %label, "{reason}");
            ticket.verdict(Err(reason.clone()));
            let closed = shared.gate.closed().unwrap_or(super::gate::Closed {
                reason,
                retry_in: shared.config.backoff,
            });
            Err((gate_closed(&closed), format!("{label} refused")))
        }
        Ok(Ok(res)) => {
            ticket.verdict(Ok(()));
            Ok((res, conn))
        }
        Ok(Err(e)) => Err((
            text(
                StatusCode::BAD_GATEWAY,
                &format!("the upstream proxy {label}: {e}"),
            ),
            label,
        )),
        Err(_) => Err((
            text(
                StatusCode::GATEWAY_TIMEOUT,
                &format!("the upstream proxy {label} did not answer"),
            ),
            label,
        )),
    }
}

/// Runs the handshake on a fresh connection to upstream `index`; a first 407 that closes
/// its connection is answered on a second one, with the schemes it offered.
pub(super) async fn logon(
    shared: &Shared,
    index: usize,
    conn: &mut Conn,
    head: &Head,
    body: &mut Option<ReqBody>,
    with_body: bool,
) -> Result<Outcome, HandshakeError> {
    let Some(up) = shared.upstreams.get(index) else {
        return Err(HandshakeError::Build("no such upstream".into()));
    };
    let timeout = shared.config.timeout;
    let seed = up.seed();
    let result = drive(
        &mut conn.sender,
        &mut shared.auth(up),
        seed.as_deref(),
        timeout,
        |round| build(head, round, body, with_body),
    )
    .await;
    let result = match result {
        Err(HandshakeError::Reconnect { offered }) => {
            up.set_seed(offered.clone());
            *conn = up
                .open(index, timeout)
                .await
                .map_err(|e| HandshakeError::Build(format!("reconnecting: {e}")))?;
            drive(
                &mut conn.sender,
                &mut shared.auth(up),
                Some(&offered),
                timeout,
                |round| build(head, round, body, with_body),
            )
            .await
        }
        other => other,
    };
    if let Ok(Outcome {
        offered: Some(o), ..
    }) = &result
    {
        up.set_seed(o.clone());
    }
    result
}

/// An upstream response to the client: hop-by-hop headers dropped, the body streamed, the
/// connection back to the pool at its end when the upstream keeps it alive.
pub(super) fn relay(
    shared: &Shared,
    response: Response<Incoming>,
    mut conn: Conn,
) -> Response<ResBody> {
    let (mut parts, incoming) = response.into_parts();
    let reusable = kept_alive(parts.version, &parts.headers);
    strip_hop_by_hop(&mut parts.headers);
    conn.uses = conn.uses.saturating_add(1);
    conn.authenticated = true;
    let conn = reusable.then_some(conn);
    Response::from_parts(
        parts,
        body::stream(Pooled::new(incoming, conn, shared.upstreams.clone())),
    )
}

async fn http(shared: &Shared, req: Request<Incoming>) -> (Response<ResBody>, Via) {
    let (parts, incoming) = req.into_parts();
    let mut headers = parts.headers;
    strip_hop_by_hop(&mut headers);
    if !headers.contains_key(HOST) {
        if let Some(a) = parts.uri.authority() {
            if let Ok(v) = HeaderValue::from_str(a.as_str()) {
                headers.insert(HOST, v);
            }
        }
    }
    let has_body = !hyper::body::Body::is_end_stream(&incoming);
    let head = Head {
        method: parts.method,
        uri: parts.uri,
        headers,
    };
    let host = head.uri.host().unwrap_or("");
    if shared.config.no_proxy.matches(host) {
        return direct_http(shared, head, incoming).await;
    }
    let mut body: Option<ReqBody> = has_body.then(|| body::request(incoming));
    let timeout = shared.config.timeout;
    let mut failures: Vec<String> = Vec::new();
    for index in shared.upstreams.order() {
        let Some(up) = shared.upstreams.get(index) else {
            continue;
        };
        let label = up.addr.label.clone();
        // A pooled, already authenticated connection first.
        while let Some(mut conn) = up.take(shared.config.idle_timeout, POOL_READY).await {
            let request = plain_to(shared, up, &head, body.take());
            match tokio::time::timeout(timeout, conn.sender.try_send_request(request)).await {
                Ok(Ok(res)) if res.status() == StatusCode::PROXY_AUTHENTICATION_REQUIRED => {
                    // The upstream dropped this connection's logon.
                    debug!(upstream = %label, "a pooled connection was asked to log on again");
                    if has_body {
                        return (
                            text(StatusCode::BAD_GATEWAY, &format!("the upstream proxy {label} asked for a new logon on an authenticated connection after the request body was sent; try again")),
                            label,
                        );
                    }
                    drain(res.into_body(), 256 * 1024, timeout).await;
                }
                Ok(Ok(res)) => return (relay(shared, res, conn), format!("{label} pooled")),
                Ok(Err(mut e)) => {
                    debug!(upstream = %label, error = %e.error(), "a pooled connection failed");
                    match e.take_message() {
                        Some(r) if has_body => body = Some(r.into_body()),
                        None if has_body => {
                            return (
                                text(StatusCode::BAD_GATEWAY, &format!("the upstream proxy {label} closed the connection during the request: {}", e.error())),
                                label,
                            )
                        }
                        _ => {}
                    }
                }
                Err(_) => return attempt::timed_out(label, "", timeout),
            }
        }
        // A new connection, logged on with this request.
        let (ticket, mut conn) = match attempt::open(shared, up, index, &mut failures).await {
            Opened::Ready(ticket, conn) => (ticket, conn),
            Opened::Closed(answer) => return answer,
            Opened::Unreachable => continue,
        };
        if up.is_basic() && shared.basic.is_some() {
            return match send_basic(shared, up, conn, &head, body.take(), ticket).await {
                Ok((res, conn)) => (relay(shared, res, conn), format!("{label} new Basic")),
                Err(answer) => answer,
            };
        }
        match logon(shared, index, &mut conn, &head, &mut body, has_body).await {
            Ok(outcome) => {
                if outcome.completed.scheme.is_some() {
                    ticket.verdict(Ok(()));
                } else {
                    drop(ticket);
                }
                if has_body && body.is_some() {
                    // The upstream asked for nothing and answered the HEAD probe: send the
                    // request itself on the same connection.
                    drain(outcome.response.into_body(), 256 * 1024, timeout).await;
                    let request = plain(&head, body.take());
                    return match tokio::time::timeout(timeout, conn.sender.send_request(request))
                        .await
                    {
                        Ok(Ok(res)) => (relay(shared, res, conn), format!("{label} new")),
                        Ok(Err(e)) => (
                            text(
                                StatusCode::BAD_GATEWAY,
                                &format!("the upstream proxy {label}: {e}"),
                            ),
                            label,
                        ),
                        Err(_) => (
                            text(
                                StatusCode::GATEWAY_TIMEOUT,
                                &format!("the upstream proxy {label} did not answer"),
                            ),
                            label,
                        ),
                    };
                }
                let scheme = outcome.completed.scheme.map(|s| s.name()).unwrap_or("none");
                return (
                    relay(shared, outcome.response, conn),
                    format!("{label} new {scheme}"),
                );
            }
            Err(HandshakeError::Auth(
                e @ ClientAuthError::Refused {
                    step: HandshakeStep::Authenticate,
                    ..
                },
            )) => return attempt::refused(shared, up, &e, ticket),
            Err(e) if falls_back_to_basic(shared, &e) => {
                up.set_basic();
                return match send_basic(shared, up, conn, &head, body.take(), ticket).await {
                    Ok((res, conn)) => (relay(shared, res, conn), format!("{label} new Basic")),
                    Err(answer) => answer,
                };
            }
            Err(HandshakeError::Auth(e)) => return attempt::logon_failed(label, &e),
            Err(e) => {
                warn!(upstream = %label, error = %e, "upstream failed");
                failures.push(format!("{label} ({e})"));
                if has_body && body.is_none() {
                    break;
                }
            }
        }
    }
    attempt::no_upstream(&failures)
}

async fn direct_http(shared: &Shared, head: Head, incoming: Incoming) -> (Response<ResBody>, Via) {
    let timeout = shared.config.timeout;
    if head.uri.scheme_str() != Some("http") {
        let authority = head.uri.authority().map_or("", |a| a.as_str());
        return (
            text(
                StatusCode::BAD_REQUEST,
                "direct requests must be http://; use CONNECT for https",
            ),
            format!("direct {authority}"),
        );
    }
    let (tcp, target, via) = match attempt::direct(&head.uri, 80, timeout).await {
        Ok(t) => t,
        Err(answer) => return answer,
    };
    let (mut sender, conn) = match hyper::client::conn::http1::handshake(TokioIo::new(tcp)).await {
        Ok(p) => p,
        Err(e) => {
            return (
                text(StatusCode::BAD_GATEWAY, &format!("{target}: {e}")),
                via,
            )
        }
    };
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let path = head.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let mut request = Request::new(body::request(incoming));
    *request.method_mut() = head.method;
    *request.uri_mut() = path.parse().unwrap_or_else(|_| Uri::from_static("/"));
    *request.headers_mut() = head.headers;
    match tokio::time::timeout(timeout, sender.send_request(request)).await {
        Ok(Ok(res)) => {
            let (mut parts, incoming) = res.into_parts();
            strip_hop_by_hop(&mut parts.headers);
            use http_body_util::BodyExt;
            (
                Response::from_parts(parts, incoming.map_err(body::BoxError::from).boxed_unsync()),
                via,
            )
        }
        Ok(Err(e)) => (
            text(StatusCode::BAD_GATEWAY, &format!("{target}: {e}")),
            via,
        ),
        Err(_) => (
            text(
                StatusCode::GATEWAY_TIMEOUT,
                &format!("{target} did not answer"),
            ),
            via,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hop_by_hop_headers_are_dropped() {
        let mut h = HeaderMap::new();
        h.insert(
            CONNECTION,
            HeaderValue::from_static("keep-alive, X-Secret-Hop"),
        );
        h.insert("x-secret-hop", HeaderValue::from_static("1"));
        h.insert("proxy-authorization", HeaderValue::from_static("NTLM abc"));
        h.insert("proxy-connection", HeaderValue::from_static("keep-alive"));
        h.insert("transfer-encoding", HeaderValue::from_static("chunked"));
        h.insert(HOST, HeaderValue::from_static("example.com"));
        h.insert(CONTENT_LENGTH, HeaderValue::from_static("5"));
        strip_hop_by_hop(&mut h);
        let left: Vec<&str> = h.keys().map(|k| k.as_str()).collect();
        assert_eq!(left, ["host", "content-length"]);
    }

    #[test]
    fn rounds_carry_the_body_only_with_the_authenticate() {
        let head = Head {
            method: Method::POST,
            uri: Uri::from_static("http://example.com/upload"),
            headers: {
                let mut h = HeaderMap::new();
                h.insert(CONTENT_LENGTH, HeaderValue::from_static("5"));
                h
            },
        };
        let mut body = Some(empty_request());
        let probe = build(&head, &Round::Probe, &mut body, true).unwrap();
        assert_eq!(probe.method(), Method::HEAD);
        assert!(probe.headers().get(CONTENT_LENGTH).is_none());
        let negotiate = Round::Negotiate {
            name: "Proxy-Authorization",
            value: "NTLM TlRMTVNTUAABAAAA".into(),
        };
        let r = build(&head, &negotiate, &mut body, true).unwrap();
        assert_eq!(r.method(), Method::POST);
        assert_eq!(r.headers()[CONTENT_LENGTH], "0");
        assert_eq!(r.headers()["proxy-authorization"], "NTLM TlRMTVNTUAABAAAA");
        assert!(body.is_some());
        let authenticate = Round::Authenticate {
            name: "Proxy-Authorization",
            value: "NTLM TlRMTVNTUAADAAAA".into(),
        };
        let r = build(&head, &authenticate, &mut body, true).unwrap();
        assert_eq!(r.headers()[CONTENT_LENGTH], "5");
        assert!(body.is_none(), "the body went with the AUTHENTICATE");
        assert!(build(&head, &authenticate, &mut body, true).is_err());
    }
}
