//! The listening side: accepts clients allowed by `--allow` (loopback by default), at most
//! `--max-clients` at once, and serves each over HTTP/1.1 with keep-alive and CONNECT.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tracing::{debug, info, warn, Instrument};

use super::forward::{handle, Shared};
use super::idle::{Activity, IdleIo};

/// Refuses a connection with a short HTTP answer, bounded in time.
fn refuse(mut stream: TcpStream, status: &'static str, why: &'static str) {
    tokio::spawn(async move {
        let answer = format!(
            "HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{why}",
            why.len()
        );
        let _ = tokio::time::timeout(std::time::Duration::from_secs(2), async {
            let _ = stream.write_all(answer.as_bytes()).await;
            let _ = stream.shutdown().await;
        })
        .await;
    });
}

/// Serves `listener` until the process ends.
pub async fn run(listener: TcpListener, shared: Arc<Shared>) -> std::io::Result<()> {
    let clients = Arc::new(Semaphore::new(shared.config.max_clients));
    let ids = AtomicU64::new(0);
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(a) => a,
            Err(e) => {
                // Out of descriptors and the like: wait a little rather than spin.
                warn!(error = %e, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        if !shared.config.allow.permits(peer.ip()) {
            warn!(client = %peer, "client refused: not in --allow (loopback only by default)");
            refuse(
                stream,
                "403 Forbidden",
                "ntlm proxy: this client address is not allowed (see --allow)\n",
            );
            continue;
        }
        let Ok(slot) = clients.clone().try_acquire_owned() else {
            warn!(client = %peer, "client refused: --max-clients reached");
            refuse(
                stream,
                "503 Service Unavailable",
                "ntlm proxy: too many client connections\n",
            );
            continue;
        };
        let _ = stream.set_nodelay(true);
        let id = ids.fetch_add(1, Ordering::Relaxed);
        let span = tracing::info_span!("client", id, peer = %peer);
        let shared = shared.clone();
        tokio::spawn(
            async move {
                // Shared with the tunnels this connection opens: they count as its client.
                let slot = Arc::new(slot);
                let activity = Activity::new();
                let io = TokioIo::new(IdleIo::new(stream, activity.clone()));
                let service = {
                    let shared = shared.clone();
                    let span = tracing::Span::current();
                    service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
                        req.extensions_mut().insert(slot.clone());
                        handle(shared.clone(), req).instrument(span.clone())
                    })
                };
                let mut builder = hyper::server::conn::http1::Builder::new();
                builder
                    .keep_alive(true)
                    .timer(TokioTimer::new())
                    .header_read_timeout(shared.config.timeout);
                let conn = builder.serve_connection(io, service).with_upgrades();
                tokio::select! {
                    r = conn => if let Err(e) = r { debug!(error = %e, "client connection ended") },
                    _ = activity.idle(shared.config.idle_timeout) => info!("client connection idle: closed"),
                }
            }
            .instrument(span),
        );
    }
}
