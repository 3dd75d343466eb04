//! An axum application behind NTLM and Negotiate, through `ntlm::http::tower::NtlmLayer`.
//!
//! ```text
//! cargo run --release --features axum,tls --example axum_server -- \
//!     --listen 127.0.0.1:8080 --users users.txt --level 5 [--no-ess] [--audit-level N] \
//!     [--tls-cert cert.pem --tls-key key.pem]
//! ```
//!
//! The same flags as `http_server` (with `--dc`, `--machine-account` and
//! `--machine-password-env`/`--machine-password-file` for pass-through to a DC, which verifies
//! `NTLM` and the NTLM inside `Negotiate` alike, 503 when it cannot be reached), plus `--audit-level N` (accepted logons that level would
//! refuse are logged as audit findings). `--users` is an `NTLM_USER_FILE`
//! (`DOMAIN:USER:PASSWORD` lines, or smbpasswd lines). `GET /` answers
//! `authenticated as DOMAIN\user` to an authenticated connection; `GET /metrics` the
//! counters of the layer's decisions. Every decision is a `tracing` event on stderr.
//!
//! Plain HTTP is served by `axum::serve` with `into_make_service_with_connect_info::<Connection>()`
//! (one NTLM state per TCP connection); HTTPS by a hyper-util accept loop that wraps the
//! application per connection with `Connection::with_channel_bindings`, so that NTLM checks
//! the `tls-server-end-point` bindings.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use axum::routing::get;
use axum::Router;
use ntlm::http::tower::{Connection, NtlmLayer, NtlmUser};
use ntlm::metrics::Metrics;
use ntlm::policy::{LmCompatibilityLevel, ServerPolicy};

#[path = "common/dc_flags.rs"]
mod dc_flags;

fn usage() -> ExitCode {
    eprintln!(
        "usage: axum_server --listen ADDR:PORT (--users FILE | --dc HOST[:PORT] [--dc ...] --machine-account 'DOMAIN\\NAME$' (--machine-password-env VAR | --machine-password-file FILE)) --level N [--no-ess] [--audit-level N] [--tls-cert PEM --tls-key PEM]"
    );
    ExitCode::from(2)
}

async fn whoami(NtlmUser(principal): NtlmUser) -> String {
    format!("authenticated as {}\n", principal.qualified())
}

fn metrics_text(metrics: &Metrics) -> String {
    let snap = metrics.snapshot();
    let mut out = String::new();
    for (kind, n) in &snap.accepted_by_kind {
        out.push_str(&format!("accepted{{kind=\"{kind:?}\"}} {n}\n"));
    }
    for (rule, n) in &snap.refused_by_rule {
        out.push_str(&format!("refused{{rule=\"{rule}\"}} {n}\n"));
    }
    for (kind, n) in &snap.audit_would_refuse {
        out.push_str(&format!("audit_would_refuse{{kind=\"{kind}\"}} {n}\n"));
    }
    out
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
    let mut args = std::env::args().skip(1);
    let (mut listen, mut users, mut level, mut no_ess, mut audit, mut cert, mut key) =
        (None, None, None, false, None, None, None);
    let mut dc_flags = dc_flags::DcFlags::default();
    while let Some(arg) = args.next() {
        if dc_flags.take(&arg, &mut args) {
            continue;
        }
        match arg.as_str() {
            "--listen" => listen = args.next(),
            "--users" => users = args.next(),
            "--level" => level = args.next().and_then(|l| l.parse::<u8>().ok()),
            "--audit-level" => match args.next().and_then(|l| l.parse::<u8>().ok()) {
                Some(l) => audit = Some(l),
                None => return usage(),
            },
            "--no-ess" => no_ess = true,
            "--tls-cert" => cert = args.next(),
            "--tls-key" => key = args.next(),
            _ => return usage(),
        }
    }
    let (Some(listen), Some(level)) = (listen, level) else {
        return usage();
    };
    let (Some(level), Some(audit)) = (
        LmCompatibilityLevel::new(level),
        audit.map_or(Some(None), |a| LmCompatibilityLevel::new(a).map(Some)),
    ) else {
        eprintln!("axum_server: levels must be 0..5");
        return ExitCode::from(2);
    };
    let mut policy = ServerPolicy::domain_controller(level);
    policy.offer_ess = !no_ess;
    policy.audit_level = audit;
    let (config, dc) = match dc_flags::verifier(dc_flags, users.as_deref(), policy) {
        Ok(v) => v,
        Err(dc_flags::SetupError::Usage) => return usage(),
        Err(dc_flags::SetupError::Message(e)) => {
            eprintln!("axum_server: {e}");
            return ExitCode::from(2);
        }
    };
    let layer = match dc {
        None => NtlmLayer::new(Arc::new(config)),
        Some(dc) => {
            eprintln!("axum_server: {}", dc_flags::describe(&dc));
            // Both schemes, as with `--users`: the NTLM inside Negotiate is passed through too.
            NtlmLayer::new(Arc::new(config)).with_dc(Arc::new(ntlm::netlogon::DcClient::new(dc)))
        }
    };
    let metrics = layer.metrics().clone();
    let app = Router::new()
        .route("/", get(whoami))
        .route(
            "/metrics",
            get(move |_: NtlmUser| async move { metrics_text(&metrics) }),
        )
        .layer(layer);

    let tls = match (cert, key) {
        (Some(cert), Some(key)) => {
            let read = |p: &str| std::fs::read(p).map_err(|e| format!("{p}: {e}"));
            match read(&cert).and_then(|c| {
                read(&key).and_then(|k| {
                    ntlm::http::tls::ServerTls::from_pem(&c, &k).map_err(|e| e.to_string())
                })
            }) {
                Ok(tls) => Some(tls),
                Err(e) => {
                    eprintln!("axum_server: {e}");
                    return ExitCode::from(2);
                }
            }
        }
        (None, None) => None,
        _ => return usage(),
    };
    let listener = match tokio::net::TcpListener::bind(&listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("axum_server: bind {listen}: {e}");
            return ExitCode::from(1);
        }
    };
    let addr = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or(listen);
    eprintln!(
        "axum_server: listening on {}://{addr} (level {level}{}{})",
        if tls.is_some() { "https" } else { "http" },
        if no_ess { ", no ESS" } else { "" },
        audit.map_or(String::new(), |a| format!(", audit level {a}"))
    );
    let result = match tls {
        None => {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<Connection>(),
            )
            .await
        }
        Some(tls) => serve_tls(listener, app, tls).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("axum_server: {e}");
            ExitCode::from(1)
        }
    }
}

/// HTTPS: one task per connection, the application wrapped with that connection's state
/// and channel bindings.
async fn serve_tls(
    listener: tokio::net::TcpListener,
    app: Router,
    tls: ntlm::http::tls::ServerTls,
) -> std::io::Result<()> {
    use hyper_util::rt::TokioIo;
    use tower::ServiceExt;
    let acceptor = tokio_rustls::TlsAcceptor::from(tls.config.clone());
    loop {
        let (stream, peer): (_, SocketAddr) = listener.accept().await?;
        let (acceptor, app, bindings) = (acceptor.clone(), app.clone(), tls.bindings.clone());
        tokio::spawn(async move {
            let handshake =
                tokio::time::timeout(std::time::Duration::from_secs(10), acceptor.accept(stream));
            let Ok(Ok(stream)) = handshake.await else {
                tracing::warn!(%peer, "TLS handshake failed or timed out");
                return;
            };
            let service = Connection::with_channel_bindings(peer, bindings).wrap(app);
            let hyper_service = hyper::service::service_fn(move |request| {
                service.clone().oneshot(request.map(axum::body::Body::new))
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), hyper_service)
                .await;
        });
    }
}
