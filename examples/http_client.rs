//! Fetches a URL with NTLM or Negotiate authentication, optionally through an HTTP proxy.
//!
//! ```text
//! PASS=Secret1 cargo run --release --all-features --example http_client -- \
//!     --url http://127.0.0.1:8080/ --user 'CORP\alice' --password-env PASS --level 3 \
//!     [--proxy http://127.0.0.1:3128] [--negotiate|--ntlm] [--ca ca.pem] \
//!     [--principal msstd:host] [--count N]
//! ```
//!
//! Prints the status line and the body of each response; exits 1 with the reason when the
//! request or the authentication fails.

use std::process::ExitCode;

use ntlm::client::{split_user, ClientConfig};
use ntlm::http::auth::Scheme;
use ntlm::http::hyper_client::{AuthClient, ClientOptions};
use ntlm::policy::LmCompatibilityLevel;

fn usage() -> ExitCode {
    eprintln!(
        "usage: http_client --url URL --user 'DOMAIN\\user' --password-env VAR --level N \
         [--proxy URL] [--negotiate|--ntlm] [--ca PEM] [--principal msstd:HOST] [--count N]"
    );
    ExitCode::from(2)
}

#[tokio::main]
async fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let (mut url, mut user, mut password_env, mut level) = (None, None, None, None);
    let (mut proxy, mut schemes, mut ca, mut principal, mut count) = (
        None,
        vec![Scheme::Negotiate, Scheme::Ntlm],
        None,
        None,
        1u32,
    );
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--url" => url = args.next(),
            "--user" => user = args.next(),
            "--password-env" => password_env = args.next(),
            "--level" => level = args.next().and_then(|l| l.parse::<u8>().ok()),
            "--proxy" => proxy = args.next(),
            "--negotiate" => schemes = vec![Scheme::Negotiate],
            "--ntlm" => schemes = vec![Scheme::Ntlm],
            "--ca" => ca = args.next(),
            "--principal" => principal = args.next(),
            "--count" => count = args.next().and_then(|c| c.parse().ok()).unwrap_or(1),
            _ => return usage(),
        }
    }
    let (Some(url), Some(user), Some(password_env), Some(level)) = (url, user, password_env, level)
    else {
        return usage();
    };
    let Some(level) = LmCompatibilityLevel::new(level) else {
        eprintln!("http_client: level must be 0..5");
        return ExitCode::from(2);
    };
    let Ok(password) = std::env::var(&password_env) else {
        eprintln!("http_client: environment variable {password_env} is not set");
        return ExitCode::from(2);
    };
    let (domain, name) = split_user(&user);
    let mut options = ClientOptions::new(ClientConfig::new(level, domain, name, password));
    options.schemes = schemes;
    options.proxy = proxy;
    if let Some(ca) = ca {
        match std::fs::read(&ca) {
            Ok(pem) => options.tls.trusted_pem = pem,
            Err(e) => {
                eprintln!("http_client: {ca}: {e}");
                return ExitCode::from(2);
            }
        }
    }
    options.tls.expected_principal = principal;
    let path = url
        .parse::<hyper::Uri>()
        .ok()
        .and_then(|u| u.path_and_query().map(|p| p.as_str().to_string()))
        .unwrap_or_else(|| "/".into());
    let mut client = match AuthClient::connect(&url, options).await {
        Ok(c) => c,
        Err(e) => {
            eprintln!("http_client: {e}");
            return ExitCode::from(1);
        }
    };
    for _ in 0..count.max(1) {
        match client.get(&path).await {
            Ok(r) => {
                println!("{} {} {}", r.version, r.status, r.reason);
                print!("{}", String::from_utf8_lossy(&r.body));
                if !(200..300).contains(&r.status) {
                    eprintln!("http_client: server answered {}", r.status);
                    return ExitCode::from(1);
                }
            }
            Err(e) => {
                eprintln!("http_client: {e}");
                return ExitCode::from(1);
            }
        }
    }
    eprintln!(
        "http_client: {} handshake(s) on one connection",
        client.handshakes()
    );
    ExitCode::SUCCESS
}
