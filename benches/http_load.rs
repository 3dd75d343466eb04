//! Load driver for `examples/http_server` on loopback (issue 14): NTLM handshakes per second
//! on new connections, and requests per second on one authenticated keep-alive connection,
//! against the same server with `--no-auth`. `benches/http_loopback.sh` runs both servers
//! and this driver, alternately, and prints the medians and ratios.
//!
//! ```text
//! NTLM_LOAD_PASSWORD=... cargo bench --features tls,netlogon --bench http_load -- \
//!     --addr 127.0.0.1:8080 --mode handshake|keepalive --auth ntlm|none \
//!     [--conns 8] [--secs 5] [--user 'CORP\alice'] [--level 3]
//! ```
//!
//! Each of `--conns` threads drives its own connections with blocking sockets, for `--secs`
//! seconds, and counts completed operations:
//!
//! * `handshake`: a new TCP connection, then with `--auth ntlm` NEGOTIATE → 401 with the
//!   CHALLENGE → AUTHENTICATE → 200 (two requests), with `--auth none` one GET → 200; the
//!   connection is then closed. One operation = one authenticated (or plain) response on a
//!   fresh connection.
//! * `keepalive`: one connection per thread, authenticated once (not counted), then GETs
//!   without an Authorization header on it (the server keeps the connection's logon).
//!
//! The client is this crate's `ClientContext` (level `--level`, default 3: NTLMv2 with MIC)
//! with a hand-written HTTP/1.1 exchange, so the driver's own cost is small next to the
//! server's. The password is read from `NTLM_LOAD_PASSWORD`, never from the command line.
//! The last line printed is `RESULT mode auth conns secs ops ops_per_sec`.
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use base64::Engine;
use ntlm::client::{ClientConfig, ClientContext};
use ntlm::policy::LmCompatibilityLevel;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

struct Options {
    addr: String,
    keepalive: bool,
    ntlm: bool,
    conns: usize,
    secs: u64,
    domain: String,
    user: String,
    password: String,
    level: LmCompatibilityLevel,
}

fn parse() -> Result<Options, String> {
    let mut o = Options {
        addr: "127.0.0.1:8080".into(),
        keepalive: false,
        ntlm: true,
        conns: 8,
        secs: 5,
        domain: "CORP".into(),
        user: "alice".into(),
        password: String::new(),
        level: LmCompatibilityLevel::L3,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            // `cargo bench` passes `--bench`.
            "--bench" => {}
            "--addr" => o.addr = value()?,
            "--mode" => {
                o.keepalive = match value()?.as_str() {
                    "handshake" => false,
                    "keepalive" => true,
                    m => return Err(format!("--mode {m}: handshake or keepalive")),
                }
            }
            "--auth" => {
                o.ntlm = match value()?.as_str() {
                    "ntlm" => true,
                    "none" => false,
                    m => return Err(format!("--auth {m}: ntlm or none")),
                }
            }
            "--conns" => o.conns = value()?.parse().map_err(|_| "--conns: a number")?,
            "--secs" => o.secs = value()?.parse().map_err(|_| "--secs: a number")?,
            "--level" => {
                o.level = value()?
                    .parse::<u8>()
                    .ok()
                    .and_then(LmCompatibilityLevel::new)
                    .ok_or("--level: 0..5")?
            }
            "--user" => {
                let v = value()?;
                let (d, u) = v.split_once('\\').ok_or("--user: DOMAIN\\user")?;
                (o.domain, o.user) = (d.into(), u.into());
            }
            _ => return Err(format!("unknown argument {a}")),
        }
    }
    if o.ntlm {
        o.password = std::env::var("NTLM_LOAD_PASSWORD")
            .map_err(|_| "set NTLM_LOAD_PASSWORD (the user's password)")?;
    }
    Ok(o)
}

/// One HTTP/1.1 response: status, the NTLM token of `WWW-Authenticate: NTLM ...` if any,
/// and whether the server will close the connection. The body is read and dropped.
struct Reply {
    status: u16,
    ntlm_token: Option<Vec<u8>>,
    close: bool,
}

fn read_reply(r: &mut BufReader<TcpStream>) -> std::io::Result<Reply> {
    let bad = |m: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, m.to_string());
    let mut line = String::new();
    if r.read_line(&mut line)? == 0 {
        return Err(bad("connection closed"));
    }
    let status = line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("status line"))?;
    let (mut len, mut ntlm_token, mut close) = (0usize, None, false);
    loop {
        line.clear();
        if r.read_line(&mut line)? == 0 {
            return Err(bad("headers cut"));
        }
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        let Some((name, value)) = l.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            len = value.parse().map_err(|_| bad("content-length"))?;
        } else if name.eq_ignore_ascii_case("connection") {
            close = value.eq_ignore_ascii_case("close");
        } else if name.eq_ignore_ascii_case("www-authenticate") {
            if let Some(t) = value.strip_prefix("NTLM ") {
                ntlm_token = Some(B64.decode(t.trim()).map_err(|_| bad("base64"))?);
            }
        }
    }
    let mut body = vec![0u8; len];
    r.read_exact(&mut body)?;
    Ok(Reply {
        status,
        ntlm_token,
        close,
    })
}

fn get(s: &mut TcpStream, authorization: Option<&[u8]>) -> std::io::Result<()> {
    let mut req = String::from("GET / HTTP/1.1\r\nHost: loopback\r\n");
    if let Some(token) = authorization {
        req.push_str("Authorization: NTLM ");
        req.push_str(&B64.encode(token));
        req.push_str("\r\n");
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes())
}

/// A connection, authenticated with NTLM when `o.ntlm` (NEGOTIATE, CHALLENGE, AUTHENTICATE),
/// or after one plain GET; `Ok` once the server answered 200.
fn open(o: &Options) -> std::io::Result<(TcpStream, BufReader<TcpStream>)> {
    let bad = |m: String| std::io::Error::new(std::io::ErrorKind::InvalidData, m);
    let mut s = TcpStream::connect(&o.addr)?;
    s.set_nodelay(true)?;
    let mut r = BufReader::new(s.try_clone()?);
    if !o.ntlm {
        get(&mut s, None)?;
        let reply = read_reply(&mut r)?;
        return match reply.status {
            200 => Ok((s, r)),
            n => Err(bad(format!("GET: {n}"))),
        };
    }
    let config = ClientConfig::new(o.level, &o.domain, &o.user, o.password.as_str())
        .target_name("HTTP/loopback");
    let mut client = ClientContext::new(config);
    let negotiate = client.negotiate().map_err(|e| bad(e.to_string()))?;
    get(&mut s, Some(&negotiate))?;
    let reply = read_reply(&mut r)?;
    let challenge = match (reply.status, reply.ntlm_token) {
        (401, Some(c)) if !reply.close => c,
        (n, _) => return Err(bad(format!("NEGOTIATE: {n}"))),
    };
    let authenticate = client
        .authenticate(&challenge, SystemTime::now())
        .map_err(|e| bad(e.to_string()))?;
    get(&mut s, Some(&authenticate))?;
    match read_reply(&mut r)?.status {
        200 => Ok((s, r)),
        n => Err(bad(format!("AUTHENTICATE: {n}"))),
    }
}

fn main() {
    let o = match parse() {
        Ok(o) => Arc::new(o),
        Err(e) => {
            eprintln!("http_load: {e}");
            std::process::exit(2);
        }
    };
    let done = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let deadline = start + Duration::from_secs(o.secs);
    let threads: Vec<_> = (0..o.conns.max(1))
        .map(|_| {
            let (o, done, failed, stop) = (o.clone(), done.clone(), failed.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut conn = None;
                // Bounded by the deadline; a failure is counted and the thread goes on.
                while Instant::now() < deadline && !stop.load(Ordering::Relaxed) {
                    if !o.keepalive {
                        match open(&o) {
                            Ok(_) => done.fetch_add(1, Ordering::Relaxed),
                            Err(_) => failed.fetch_add(1, Ordering::Relaxed),
                        };
                        continue;
                    }
                    let (s, r) = match conn.as_mut() {
                        Some(c) => c,
                        None => match open(&o) {
                            Ok(c) => conn.insert(c),
                            Err(_) => {
                                failed.fetch_add(1, Ordering::Relaxed);
                                continue;
                            }
                        },
                    };
                    let ok = get(s, None)
                        .and_then(|()| read_reply(r))
                        .is_ok_and(|reply| reply.status == 200 && !reply.close);
                    if ok {
                        done.fetch_add(1, Ordering::Relaxed);
                    } else {
                        failed.fetch_add(1, Ordering::Relaxed);
                        conn = None;
                    }
                }
            })
        })
        .collect();
    for t in threads {
        let _ = t.join();
    }
    stop.store(true, Ordering::Relaxed);
    let secs = start.elapsed().as_secs_f64();
    let (ops, fails) = (done.load(Ordering::Relaxed), failed.load(Ordering::Relaxed));
    if fails > 0 {
        eprintln!("http_load: {fails} failed operations");
    }
    let mode = if o.keepalive {
        "keepalive"
    } else {
        "handshake"
    };
    let auth = if o.ntlm { "ntlm" } else { "none" };
    println!(
        "RESULT {mode} {auth} {} {secs:.2} {ops} {:.0}",
        o.conns,
        ops as f64 / secs
    );
    if ops == 0 || fails > ops / 100 {
        std::process::exit(1);
    }
}
