//! `ntlm proxy --detect`: what the upstream accepts (cntlm's `-M`, without its lockout risk).
//!
//! Kinds are tried most secure first, each at most once: Negotiate (NTLMv2 inside SPNEGO),
//! NTLMv2, NTLMv1 with extended session security, NTLMv1. Every level of a Windows server
//! accepts NTLMv2, so a refused NTLMv2 logon means the credentials are wrong (or the account
//! is locked, disabled, unknown): detection stops there, after one logon attempt. A kind the
//! upstream does not offer, or whose NEGOTIATE it refuses, costs no logon and is skipped.

use std::process::ExitCode;

use hyper::header::{HeaderValue, HOST};
use hyper::{Method, Request};
use ntlm::client::ClientConfig;
use ntlm::http::auth::{
    ClientAuth, ClientAuthError, ClientAuthOptions, HandshakeStep, Scheme, Target,
};
use ntlm::http::handshake::{drive, HandshakeError};
use ntlm::policy::{ClientPolicy, LmCompatibilityLevel};

use super::body::empty_request;
use super::config::Config;
use super::upstream::Upstream;

struct Kind {
    name: &'static str,
    scheme: Scheme,
    level: u8,
    ess: bool,
}

const KINDS: &[Kind] = &[
    Kind {
        name: "Negotiate (NTLMv2 in SPNEGO)",
        scheme: Scheme::Negotiate,
        level: 3,
        ess: true,
    },
    Kind {
        name: "NTLMv2",
        scheme: Scheme::Ntlm,
        level: 3,
        ess: true,
    },
    Kind {
        name: "NTLMv1-ESS",
        scheme: Scheme::Ntlm,
        level: 2,
        ess: true,
    },
    Kind {
        name: "NTLMv1",
        scheme: Scheme::Ntlm,
        level: 2,
        ess: false,
    },
];

enum Verdict {
    Works,
    NotOffered,
    Refused(String),
    /// Not a logon refusal: the NEGOTIATE was refused or something else failed.
    Skipped(String),
}

async fn try_kind(config: &Config, up: &Upstream, kind: &Kind) -> Verdict {
    let mut ntlm: ClientConfig = config.ntlm.clone();
    let Some(level) = LmCompatibilityLevel::new(kind.level) else {
        return Verdict::Skipped("bad level".into());
    };
    ntlm.policy = ClientPolicy::from_level(level);
    ntlm.policy.request_ess = kind.ess;
    let mut auth = ClientAuth::new(
        ntlm,
        ClientAuthOptions::default()
            .with_target(Target::Proxy)
            .with_schemes(vec![kind.scheme]),
    );
    let mut conn = match up.open(0, config.timeout).await {
        Ok(c) => c,
        Err(e) => return Verdict::Skipped(format!("connecting: {e}")),
    };
    let authority = format!("{}:{}", up.addr.host, up.addr.port);
    let seed = up.seed();
    let result = drive(
        &mut conn.sender,
        &mut auth,
        seed.as_deref(),
        config.timeout,
        |round| {
            let mut request = Request::new(empty_request());
            *request.method_mut() = Method::CONNECT;
            *request.uri_mut() = authority.parse().map_err(|e| format!("{e}"))?;
            request.headers_mut().insert(
                HOST,
                HeaderValue::from_str(&authority).map_err(|e| e.to_string())?,
            );
            if let Some((name, value)) = round.header() {
                request.headers_mut().insert(
                    hyper::header::PROXY_AUTHORIZATION,
                    HeaderValue::from_str(value).map_err(|e| e.to_string())?,
                );
                let _ = name;
            }
            Ok(request)
        },
    )
    .await;
    match result {
        Err(HandshakeError::Reconnect { offered }) => {
            up.set_seed(offered);
            Verdict::Skipped(
                "the upstream closed the connection after its first 407; run again".into(),
            )
        }
        Ok(outcome) => {
            if let Some(o) = outcome.offered {
                up.set_seed(o);
            }
            match outcome.completed.scheme {
                Some(_) => Verdict::Works,
                None => Verdict::Skipped(format!(
                    "the upstream asked for no authentication (answered {})",
                    outcome.completed.status
                )),
            }
        }
        Err(HandshakeError::Auth(ClientAuthError::NoUsableScheme { offered })) => {
            up.set_seed(offered.iter().map(|s| s.as_bytes().to_vec()).collect());
            Verdict::NotOffered
        }
        Err(HandshakeError::Auth(
            e @ ClientAuthError::Refused {
                step: HandshakeStep::Authenticate,
                ..
            },
        )) => Verdict::Refused(e.to_string()),
        Err(e) => Verdict::Skipped(e.to_string()),
    }
}

/// Runs the detection against the first upstream and prints the result.
pub async fn run(config: &Config) -> ExitCode {
    let Some(addr) = config.upstreams.first() else {
        return ExitCode::from(2);
    };
    let up = Upstream::new(addr.clone(), 1);
    println!("upstream {} as {}", addr.label, config.account);
    let mut best: Option<&Kind> = None;
    for kind in KINDS {
        match try_kind(config, &up, kind).await {
            Verdict::Works => {
                println!("  {:<30} works", kind.name);
                best = Some(kind);
                break;
            }
            Verdict::NotOffered => println!("  {:<30} not offered (no logon attempted)", kind.name),
            Verdict::Skipped(why) => println!("  {:<30} not usable: {why}", kind.name),
            Verdict::Refused(why) => {
                println!("  {:<30} logon refused: {why}", kind.name);
                println!("stopped: a refused logon means wrong credentials (every server level accepts NTLMv2 and stronger); no further attempt, so the account cannot be locked out by this run");
                return ExitCode::FAILURE;
            }
        }
    }
    match best {
        Some(kind) => {
            println!(
                "most secure that works: {} (ntlm proxy --level {}{})",
                kind.name,
                kind.level,
                if kind.scheme == Scheme::Negotiate {
                    ""
                } else {
                    "; the upstream is sent NTLM"
                }
            );
            ExitCode::SUCCESS
        }
        None => {
            println!("nothing works");
            ExitCode::FAILURE
        }
    }
}
