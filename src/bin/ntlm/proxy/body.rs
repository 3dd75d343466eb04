//! Response bodies: the upstream's, streamed to the client, giving its connection back to
//! the pool once the last byte has passed; and the proxy's own short text answers.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::{Body, Bytes, Frame, Incoming, SizeHint};
use hyper::{Response, StatusCode};

use super::upstream::{Conn, Upstreams};

/// Errors of a response body.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
/// The body of every response the proxy sends.
pub type ResBody = UnsyncBoxBody<Bytes, BoxError>;

/// An upstream response body that returns its connection to the pool at its end (and
/// drops it when the client goes away first).
pub struct Pooled {
    inner: Incoming,
    conn: Option<Conn>,
    upstreams: Arc<Upstreams>,
}

impl Pooled {
    /// Wraps `inner`; `conn` goes back to the pool when it ends (None: not reusable).
    pub fn new(inner: Incoming, conn: Option<Conn>, upstreams: Arc<Upstreams>) -> Self {
        let mut this = Self {
            inner,
            conn,
            upstreams,
        };
        if this.inner.is_end_stream() {
            this.release();
        }
        this
    }

    fn release(&mut self) {
        if let Some(conn) = self.conn.take() {
            if let Some(u) = self.upstreams.get(conn.upstream) {
                u.put(conn);
            }
        }
    }
}

impl Body for Pooled {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let r = Pin::new(&mut self.inner).poll_frame(cx);
        match &r {
            Poll::Ready(None) => self.release(),
            Poll::Ready(Some(Err(_))) => self.conn = None,
            Poll::Ready(Some(Ok(_))) if self.inner.is_end_stream() => self.release(),
            _ => {}
        }
        r
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Boxes a streamed upstream body.
pub fn stream(body: Pooled) -> ResBody {
    body.map_err(BoxError::from).boxed_unsync()
}

/// Boxes a client body for sending upstream.
pub fn request(body: Incoming) -> super::upstream::ReqBody {
    body.boxed_unsync()
}

/// No request body.
pub fn empty_request() -> super::upstream::ReqBody {
    http_body_util::Empty::new()
        .map_err(|never| match never {})
        .boxed_unsync()
}

/// An empty response body.
pub fn empty() -> ResBody {
    http_body_util::Empty::new()
        .map_err(|never| match never {})
        .boxed_unsync()
}

/// The proxy's own answer: `status` and a one-paragraph explanation.
pub fn text(status: StatusCode, message: &str) -> Response<ResBody> {
    let body = format!("ntlm proxy: {message}\n");
    let mut response = Response::new(
        Full::new(Bytes::from(body))
            .map_err(|never| match never {})
            .boxed_unsync(),
    );
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}
