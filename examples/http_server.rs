//! An HTTP server that serves `GET /` behind NTLM and Negotiate.
//!
//! ```text
//! cargo run --release --all-features --example http_server -- \
//!     --listen 127.0.0.1:8080 --users users.txt --level 5 [--no-ess] \
//!     [--tls-cert cert.pem --tls-key key.pem]
//! ```
//!
//! Pass-through to Active Directory instead of a user file (`netlogon` feature): `--dc HOST[:PORT]`
//! (repeat for failover), `--machine-account 'CORP\WEB1$'` and `--machine-password-env VAR` or
//! `--machine-password-file FILE`; the DC verifies each logon, `NTLM` or the NTLM inside
//! `Negotiate` (both schemes are offered, as with `--users`), and a DC that cannot be reached
//! is answered with 503.
//!
//! `--users` is an `NTLM_USER_FILE` (`DOMAIN:USER:PASSWORD` lines, or smbpasswd lines).
//! The CHALLENGE carries MsvAvDnsDomainName and MsvAvDnsComputerName
//! ([`ServerConfig::default_dns_names`]: this host's name); `--dns-domain NAME` and
//! `--dns-computer NAME` set them.
//! Authenticated requests get 200 and `authenticated as DOMAIN\user`; others get 401 with
//! `WWW-Authenticate: Negotiate` and `WWW-Authenticate: NTLM`. Each handshake and each
//! refusal (with its reason) is logged to stderr; `--quiet` logs nothing.
//! `--audit-level N` reports logons a server at level N would refuse
//! ([`ServerPolicy::audit_level`]).
//!
//! `--no-auth` serves the same `200` response to every request with the same hyper
//! connection settings (HTTP/1.1 keep-alive, header read timeout) and no authentication:
//! the baseline of `benches/http_loopback.sh`, which measures what NTLM costs per
//! connection. `--users`/`--dc` and `--level` are then not needed.

use std::process::ExitCode;
use std::sync::Arc;

use ntlm::http::hyper_server::{serve, ServerOptions};
use ntlm::netlogon::DcClient;
use ntlm::policy::{LmCompatibilityLevel, ServerPolicy};
use ntlm::server::ServerConfig;
use ntlm::store::MemoryStore;

#[path = "common/dc_flags.rs"]
mod dc_flags;

fn usage() -> ExitCode {
    eprintln!(
        "usage: http_server --listen ADDR:PORT [--quiet] [--audit-level N] [--no-auth] (--users FILE | --dc HOST[:PORT] [--dc ...] --machine-account 'DOMAIN\\NAME$' (--machine-password-env VAR | --machine-password-file FILE)) --level N [--no-ess] [--tls-cert PEM --tls-key PEM] [--dns-domain NAME] [--dns-computer NAME]"
    );
    ExitCode::from(2)
}

#[tokio::main]
async fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let (mut listen, mut users, mut level, mut no_ess, mut cert, mut key) =
        (None, None, None, false, None, None);
    let (mut dns_domain, mut dns_computer) = (None, None);
    let mut dc_flags = dc_flags::DcFlags::default();
    let (mut quiet, mut no_auth, mut audit_level) = (false, false, None);
    while let Some(arg) = args.next() {
        if dc_flags.take(&arg, &mut args) {
            continue;
        }
        match arg.as_str() {
            "--listen" => listen = args.next(),
            "--users" => users = args.next(),
            "--level" => level = args.next().and_then(|l| l.parse::<u8>().ok()),
            "--no-ess" => no_ess = true,
            "--tls-cert" => cert = args.next(),
            "--tls-key" => key = args.next(),
            "--dns-domain" => dns_domain = args.next(),
            "--dns-computer" => dns_computer = args.next(),
            "--quiet" => quiet = true,
            "--no-auth" => no_auth = true,
            "--audit-level" => {
                match args
                    .next()
                    .and_then(|l| l.parse::<u8>().ok())
                    .and_then(LmCompatibilityLevel::new)
                {
                    Some(l) => audit_level = Some(l),
                    None => return usage(),
                }
            }
            _ => return usage(),
        }
    }
    if !quiet {
        // The server's decisions are `tracing` events: to stderr.
        tracing_subscriber::fmt()
            .with_writer(std::io::stderr)
            .with_ansi(false)
            .init();
    }
    if no_auth {
        return match listen {
            Some(listen) => serve_without_auth(&listen).await,
            None => usage(),
        };
    }
    let (Some(listen), Some(level)) = (listen, level) else {
        return usage();
    };
    let Some(level) = LmCompatibilityLevel::new(level) else {
        eprintln!("http_server: level must be 0..5");
        return ExitCode::from(2);
    };
    let mut policy = ServerPolicy::domain_controller(level);
    policy.offer_ess = !no_ess;
    policy.audit_level = audit_level;
    let (mut config, dc) = match dc_flags::verifier(dc_flags, users.as_deref(), policy) {
        Ok(v) => v,
        Err(dc_flags::SetupError::Usage) => return usage(),
        Err(dc_flags::SetupError::Message(e)) => {
            eprintln!("http_server: {e}");
            return ExitCode::from(2);
        }
    };
    config.dns_domain = dns_domain.unwrap_or(config.dns_domain);
    config.dns_computer = dns_computer.unwrap_or(config.dns_computer);
    #[allow(unused_mut)]
    let mut options = ServerOptions::new(Arc::new(config));
    if let Some(dc) = dc {
        eprintln!("http_server: {}", dc_flags::describe(&dc));
        options.dc = Some(Arc::new(DcClient::new(dc)));
    }
    match (cert, key) {
        (Some(cert), Some(key)) => {
            let read = |p: &str| std::fs::read(p).map_err(|e| format!("{p}: {e}"));
            let tls = read(&cert).and_then(|c| {
                read(&key).and_then(|k| {
                    ntlm::http::tls::ServerTls::from_pem(&c, &k).map_err(|e| e.to_string())
                })
            });
            match tls {
                Ok(tls) => options.tls = Some(tls),
                Err(e) => {
                    eprintln!("http_server: {e}");
                    return ExitCode::from(2);
                }
            }
        }
        (None, None) => {}
        _ => return usage(),
    }
    let listener = match tokio::net::TcpListener::bind(&listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("http_server: bind {listen}: {e}");
            return ExitCode::from(1);
        }
    };
    let addr = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or(listen);
    let https = options.tls.is_some();
    eprintln!(
        "http_server: listening on {}://{addr} (level {level}{})",
        if https { "https" } else { "http" },
        if no_ess { ", no ESS" } else { "" }
    );
    match serve(listener, options).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("http_server: {e}");
            ExitCode::from(1)
        }
    }
}

/// `--no-auth`: every request gets `200` with a body like the authenticated one's, over
/// hyper's HTTP/1.1 connection with the settings `serve` uses (keep-alive, the same header
/// read timeout), one task per connection on the same runtime. No NTLM, no connection cap.
async fn serve_without_auth(listen: &str) -> ExitCode {
    use hyper::service::service_fn;
    use hyper_util::rt::{TokioIo, TokioTimer};
    let listener = match tokio::net::TcpListener::bind(listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("http_server: bind {listen}: {e}");
            return ExitCode::from(1);
        }
    };
    let header_read_timeout = ServerOptions::new(Arc::new(ServerConfig::new(
        ServerPolicy::domain_controller(LmCompatibilityLevel::L3),
        MemoryStore::new(),
    )))
    .header_read_timeout;
    eprintln!("http_server: listening on http://{listen} without authentication");
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(s) => s,
            Err(e) => {
                eprintln!("http_server: accept: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            let service = service_fn(|_req| async {
                Ok::<_, std::convert::Infallible>(ntlm::http::hyper_server::text(
                    hyper::StatusCode::OK,
                    "authenticated as CORP\\alice\n".to_string(),
                ))
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .keep_alive(true)
                .timer(TokioTimer::new())
                .header_read_timeout(header_read_timeout)
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
