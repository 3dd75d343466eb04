//! `ntlm proxy`: a local forward proxy that logs every tool on to an upstream proxy asking
//! for NTLM or Negotiate (MS-NLMP §3.1, the client side, over HTTP's 407), as cntlm does.

mod acl;
mod attempt;
mod body;
mod config;
mod detect;
mod forward;
mod gate;
mod idle;
mod server;
mod tunnel;
mod upstream;

use std::process::ExitCode;
use std::sync::Arc;

use forward::Shared;
use gate::Gate;
use upstream::{Upstream, Upstreams};

pub const HELP: &str = "\
ntlm proxy: a local HTTP proxy that logs on to an upstream NTLM/Negotiate proxy

usage: ntlm proxy --listen ADDR:PORT --upstream http://HOST:PORT [--upstream ...]
                  --user 'DOMAIN\\user' (--password-env VAR | --hash-file FILE)
                  [--level N] [--no-proxy PATTERN ...] [--allow CIDR ...] [--allow-basic]
       ntlm proxy --detect --upstream http://HOST:PORT --user 'DOMAIN\\user'
                  (--password-env VAR | --hash-file FILE)

  --listen ADDR:PORT   where tools connect (set http_proxy/https_proxy to it)
  --upstream URL       the corporate proxy; several are tried in order (failover)
  --user NAME          DOMAIN\\user or user@domain
  --password-env VAR   the password is read from this environment variable
  --hash-file FILE     or the NT hash (32 hex digits, as `ntlm hash` prints it),
                       LMHEX:NTHEX (`ntlm hash --lm`), or ntlmv2:HEX (`ntlm hash
                       --ntlmv2 --user ...`, level 3 and above); never on the command line
  --level N            the client LmCompatibilityLevel, 0 to 5 (default 3: NTLMv2)
  --workstation NAME   the workstation name sent in the AUTHENTICATE
  --no-proxy PATTERN   hosts reached directly: example.com (and subdomains),
                       .example.com or *.example.com (subdomains), 10.0.0.0/8, *
  --allow CIDR         clients allowed (default: loopback only)
  --backoff SECS       after a refused logon, the password is not tried again for
                       this long (default 600); requests get 407 with the reason
  --timeout SECS       connecting, each handshake step, request headers (default 30)
  --idle-timeout SECS  idle client connections, tunnels and pooled upstream
                       connections are closed after this long (default 300)
  --max-clients N      client connections at once (default 512)
  --max-upstream N     connections to each upstream at once (default 64)
  --allow-basic        when an upstream offers only Basic, send the password with
                       Basic (readable by anyone on the path: off by default)
  --log LEVEL          error, warn, info (default: a line per request), debug, trace
  --detect             try NTLMv2, NTLMv1-ESS and NTLMv1 (raw and in Negotiate) once
                       each, most secure first, stop at the first refused logon, and
                       print what works

Plain HTTP requests and CONNECT tunnels are forwarded over upstream connections that
ntlm proxy authenticated; authenticated connections are pooled and reused. Logs go to
stderr and never contain a password, hash or token.
";

/// Runs `ntlm proxy`.
pub fn main(args: &[String]) -> ExitCode {
    let (repeated, rest) = match config::take_repeated(args) {
        Ok(r) => r,
        Err(e) => return crate::usage_error("proxy", &e),
    };
    let parsed = match crate::args::parse(&rest, config::WITH_VALUE, config::BOOLEANS) {
        Ok(p) => p,
        Err(e) => return crate::usage_error("proxy", &e),
    };
    if parsed.flag("help") {
        print!("{HELP}");
        return ExitCode::SUCCESS;
    }
    let config = match config::build(&parsed, &repeated) {
        Ok(c) => c,
        Err(e) => return crate::usage_error("proxy", &e),
    };
    let level = match config.log.as_str() {
        "error" => tracing::Level::ERROR,
        "warn" => tracing::Level::WARN,
        "debug" => tracing::Level::DEBUG,
        "trace" => tracing::Level::TRACE,
        _ => tracing::Level::INFO,
    };
    tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("ntlm proxy: starting the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        if config.detect {
            return detect::run(&config).await;
        }
        let Some(listen) = config.listen else {
            return crate::usage_error("proxy", "missing --listen");
        };
        let listener = match tokio::net::TcpListener::bind(listen).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("ntlm proxy: listening on {listen}: {e}");
                return ExitCode::FAILURE;
            }
        };
        let upstreams = Upstreams(
            config
                .upstreams
                .iter()
                .map(|u| Upstream::new(u.clone(), config.max_upstream))
                .collect(),
        );
        tracing::info!(
            listen = %listen,
            upstreams = %config.upstreams.iter().map(|u| u.label.as_str()).collect::<Vec<_>>().join(","),
            account = %config.account,
            level = config.ntlm.policy.level.get(),
            "ntlm proxy ready"
        );
        let shared = Arc::new(Shared {
            gate: Gate::new(config.backoff),
            basic: config.basic.clone(),
            upstreams: Arc::new(upstreams),
            config,
        });
        match server::run(listener, shared).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("ntlm proxy: {e}");
                ExitCode::FAILURE
            }
        }
    })
}
