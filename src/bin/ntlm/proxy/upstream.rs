//! Upstream proxies: connections to them, the pool of authenticated keep-alive connections,
//! the schemes each one offered (the seed of later handshakes), and failover.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http_body_util::combinators::UnsyncBoxBody;
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::config::UpstreamAddr;
use super::idle::{Activity, IdleIo};

/// The body of a request sent upstream: the client's, streamed, or none.
pub type ReqBody = UnsyncBoxBody<Bytes, hyper::Error>;

/// How long an upstream that could not be reached is skipped while others remain.
const DOWN_FOR: Duration = Duration::from_secs(30);

/// One connection to an upstream.
pub struct Conn {
    /// hyper's handle.
    pub sender: SendRequest<ReqBody>,
    /// The upstream logged this connection on (NTLM/Negotiate authenticate connections).
    pub authenticated: bool,
    /// Which upstream.
    pub upstream: usize,
    /// Requests sent on it so far.
    pub uses: u32,
    /// Activity of the TCP stream (a tunnel's idle timeout watches it).
    pub activity: Activity,
    _slot: OwnedSemaphorePermit,
}

struct Idle {
    conn: Conn,
    since: Instant,
}

/// One upstream proxy and its pool.
pub struct Upstream {
    /// Where it is.
    pub addr: UpstreamAddr,
    idle: Mutex<Vec<Idle>>,
    slots: Arc<Semaphore>,
    seed: Mutex<Option<Vec<Vec<u8>>>>,
    down_until: Mutex<Option<Instant>>,
    basic: std::sync::atomic::AtomicBool,
}

/// Why a connection could not be made.
#[derive(Debug)]
pub enum ConnectError {
    /// Every slot to this upstream is busy for longer than the timeout.
    Busy,
    /// TCP or HTTP failed.
    Io(String),
    /// Connecting took longer than the timeout.
    Timeout,
}

impl std::fmt::Display for ConnectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Busy => f.write_str("all connections to it are busy"),
            Self::Io(e) => f.write_str(e),
            Self::Timeout => f.write_str("connecting timed out"),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Upstream {
    /// An upstream allowing `max` connections at once.
    pub fn new(addr: UpstreamAddr, max: usize) -> Self {
        Self {
            addr,
            idle: Mutex::new(Vec::new()),
            slots: Arc::new(Semaphore::new(max)),
            seed: Mutex::new(None),
            down_until: Mutex::new(None),
            basic: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// The challenges this upstream sent in its last first 407.
    pub fn seed(&self) -> Option<Vec<Vec<u8>>> {
        lock(&self.seed).clone()
    }

    /// Remembers the challenges of a first 407.
    pub fn set_seed(&self, offered: Vec<Vec<u8>>) {
        *lock(&self.seed) = Some(offered);
    }

    /// True once the upstream offered Basic and nothing else (used with `--allow-basic`).
    pub fn is_basic(&self) -> bool {
        self.basic.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Records that the upstream takes only Basic.
    pub fn set_basic(&self) {
        self.basic.store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// True while a failed connect is recent.
    pub fn is_down(&self, now: Instant) -> bool {
        lock(&self.down_until).is_some_and(|t| now < t)
    }

    fn mark(&self, down: bool) {
        *lock(&self.down_until) = down.then(|| Instant::now() + DOWN_FOR);
    }

    /// An idle authenticated connection ready for a request, the most recently used first;
    /// closed or stale ones are dropped. A connection whose last response has just ended may
    /// need a moment before hyper takes the next request: that wait is bounded by `ready`.
    pub async fn take(&self, idle_timeout: Duration, ready: Duration) -> Option<Conn> {
        loop {
            let mut conn = {
                let mut idle = lock(&self.idle);
                loop {
                    let entry = idle.pop()?;
                    if !entry.conn.sender.is_closed() && entry.since.elapsed() < idle_timeout {
                        break entry.conn;
                    }
                }
            };
            if let Ok(Ok(())) = tokio::time::timeout(ready, conn.sender.ready()).await {
                return Some(conn);
            }
        }
    }

    /// Returns a connection to the pool.
    pub fn put(&self, conn: Conn) {
        if conn.sender.is_closed() || !conn.authenticated {
            return;
        }
        lock(&self.idle).push(Idle {
            conn,
            since: Instant::now(),
        });
    }

    /// Opens a new connection (TCP, then hyper's HTTP/1.1 with upgrades for CONNECT).
    pub async fn open(&self, index: usize, timeout: Duration) -> Result<Conn, ConnectError> {
        let slot = match tokio::time::timeout(timeout, self.slots.clone().acquire_owned()).await {
            Ok(Ok(s)) => s,
            _ => return Err(ConnectError::Busy),
        };
        let tcp = match tokio::time::timeout(
            timeout,
            TcpStream::connect((self.addr.host.as_str(), self.addr.port)),
        )
        .await
        {
            Ok(Ok(t)) => t,
            Ok(Err(e)) => {
                self.mark(true);
                return Err(ConnectError::Io(e.to_string()));
            }
            Err(_) => {
                self.mark(true);
                return Err(ConnectError::Timeout);
            }
        };
        self.mark(false);
        let _ = tcp.set_nodelay(true);
        let activity = Activity::new();
        let io = IdleIo::new(tcp, activity.clone());
        let (sender, conn) = match tokio::time::timeout(
            timeout,
            hyper::client::conn::http1::handshake(TokioIo::new(io)),
        )
        .await
        {
            Ok(Ok(p)) => p,
            Ok(Err(e)) => return Err(ConnectError::Io(e.to_string())),
            Err(_) => return Err(ConnectError::Timeout),
        };
        tokio::spawn(async move {
            let _ = conn.with_upgrades().await;
        });
        Ok(Conn {
            sender,
            authenticated: false,
            upstream: index,
            uses: 0,
            activity,
            _slot: slot,
        })
    }
}

/// All upstreams, in failover order.
pub struct Upstreams(pub Vec<Upstream>);

impl Upstreams {
    /// Indexes to try, in order: those not recently down first, then the rest (so a request
    /// still tries every upstream before it fails).
    pub fn order(&self) -> Vec<usize> {
        let now = Instant::now();
        let (up, down): (Vec<usize>, Vec<usize>) =
            (0..self.0.len()).partition(|i| self.0.get(*i).is_some_and(|u| !u.is_down(now)));
        up.into_iter().chain(down).collect()
    }

    /// The upstream at `index`.
    pub fn get(&self, index: usize) -> Option<&Upstream> {
        self.0.get(index)
    }
}
