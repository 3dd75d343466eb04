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
//! `--machine-password-file FILE`; the DC verifies each NTLM logon, a DC that cannot be reached
//! is answered with 503, and only the `NTLM` scheme is offered.
//!
//! `--users` is an `NTLM_USER_FILE` (`DOMAIN:USER:PASSWORD` lines, or smbpasswd lines).
//! The CHALLENGE carries MsvAvDnsDomainName and MsvAvDnsComputerName
//! ([`ServerConfig::default_dns_names`]: this host's name); `--dns-domain NAME` and
//! `--dns-computer NAME` set them.
//! Authenticated requests get 200 and `authenticated as DOMAIN\user`; others get 401 with
//! `WWW-Authenticate: Negotiate` and `WWW-Authenticate: NTLM`. Each handshake and each
//! refusal (with its reason) is logged to stderr.

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
        "usage: http_server --listen ADDR:PORT (--users FILE | --dc HOST[:PORT] [--dc ...] --machine-account 'DOMAIN\\NAME$' (--machine-password-env VAR | --machine-password-file FILE)) --level N [--no-ess] [--tls-cert PEM --tls-key PEM] [--dns-domain NAME] [--dns-computer NAME]"
    );
    ExitCode::from(2)
}

#[tokio::main]
async fn main() -> ExitCode {
    // The server's decisions are `tracing` events: to stderr.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
    let mut args = std::env::args().skip(1);
    let (mut listen, mut users, mut level, mut no_ess, mut cert, mut key) =
        (None, None, None, false, None, None);
    let (mut dns_domain, mut dns_computer) = (None, None);
    let mut dc_flags = dc_flags::DcFlags::default();
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
            _ => return usage(),
        }
    }
    let (Some(listen), Some(level)) = (listen, level) else {
        return usage();
    };
    let Some(level) = LmCompatibilityLevel::new(level) else {
        eprintln!("http_server: level must be 0..5");
        return ExitCode::from(2);
    };
    let dc = match dc_flags.config() {
        Ok(dc) => dc,
        Err(e) => {
            eprintln!("http_server: {e}");
            return ExitCode::from(2);
        }
    };
    let store = match (&users, &dc) {
        (Some(_), Some(_)) | (None, None) => return usage(),
        // Pass-through: no local users; the DC verifies.
        (None, Some(_)) => MemoryStore::new(),
        (Some(users), None) => match MemoryStore::from_file(users) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("http_server: {users}: {e}");
                return ExitCode::from(2);
            }
        },
    };
    let mut policy = ServerPolicy::domain_controller(level);
    policy.offer_ess = !no_ess;
    let mut config = ServerConfig::new(policy, store);
    if let Some(dc) = &dc {
        dc_flags::name_machine(&mut config, dc);
    }
    config.dns_domain = dns_domain.unwrap_or(config.dns_domain);
    config.dns_computer = dns_computer.unwrap_or(config.dns_computer);
    #[allow(unused_mut)]
    let mut options = ServerOptions::new(Arc::new(config));
    if let Some(dc) = dc {
        eprintln!("http_server: {}", dc_flags::describe(&dc));
        options.auth.schemes = vec![ntlm::http::auth::Scheme::Ntlm];
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
