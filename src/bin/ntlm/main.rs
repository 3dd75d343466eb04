//! `ntlm`: command-line tools over the `ntlm` crate (MS-NLMP).
//!
//! - `squid-helper`: a Squid/Samba `squid-2.5-ntlmssp` authenticator (MS-NLMP §3.2).
//! - `negotiate-helper`: a Squid `auth_param negotiate` authenticator, SPNEGO wrapping NTLM.
//! - `client-helper`: a Samba `ntlmssp-client-1` client helper (MS-NLMP §3.1).
//! - `dc-check`: NTLM pass-through to a domain controller, step by step (MS-NRPC).
//! - `decode`: every field of a NEGOTIATE, CHALLENGE or AUTHENTICATE (MS-NLMP §2.2).
//! - `hash`: NTOWFv1 and LMOWFv1 of a password read from stdin (MS-NLMP §3.3.1).
//! - `proxy`: a local forward proxy that logs tools on to an NTLM/Negotiate proxy (MS-NLMP §3.1).
#![forbid(unsafe_code)]

mod args;
mod client_helper;
mod dc_args;
mod dc_check;
mod dc_verifier;
mod decode;
mod hash;
mod helper;
mod negotiate_helper;
mod proxy;
mod squid;

use std::process::ExitCode;

const USAGE: &str = "\
ntlm: NTLM (MS-NLMP) tools

usage:
  ntlm squid-helper --level N --users FILE [--audit-level N] [--preset dc|symmetric] [--domain NAME] [--computer NAME]
  ntlm squid-helper --level N --dc HOST[:PORT] [--dc ...] --machine-account 'DOMAIN\\NAME$'
                    (--machine-password-env VAR | --machine-password-file FILE)
  ntlm negotiate-helper --level N --users FILE [--audit-level N] [--preset dc|symmetric] [--domain NAME] [--computer NAME]
  ntlm negotiate-helper --level N --dc HOST[:PORT] [--dc ...] --machine-account 'DOMAIN\\NAME$'
                        (--machine-password-env VAR | --machine-password-file FILE)
  ntlm client-helper --level N --user 'DOMAIN\\user' --password-env VAR [--workstation NAME]
  ntlm dc-check --dc HOST[:PORT] --machine-account 'DOMAIN\\NAME$' --machine-password-env VAR
               [--user 'DOMAIN\\user' --password-env VAR2]
  ntlm decode [--json] [TOKEN]
  ntlm hash [--lm]
  ntlm proxy --listen ADDR:PORT --upstream http://HOST:PORT --user 'DOMAIN\\user' --password-env VAR [--level N]
  ntlm help | --help | --version

`ntlm SUBCOMMAND --help` describes each subcommand.
Exit codes: 0 success, 1 failure (bad token, I/O), 2 bad arguments or configuration.
";

fn main() -> ExitCode {
    let mut raw = Vec::new();
    for arg in std::env::args_os().skip(1) {
        match arg.into_string() {
            Ok(s) => raw.push(s),
            Err(bad) => {
                eprintln!("ntlm: argument {bad:?} is not valid UTF-8");
                return ExitCode::from(2);
            }
        }
    }
    let Some((command, rest)) = raw.split_first() else {
        eprint!("{USAGE}");
        return ExitCode::from(2);
    };
    match command.as_str() {
        "squid-helper" => squid::main(rest),
        "negotiate-helper" => negotiate_helper::main(rest),
        "client-helper" => client_helper::main(rest),
        "dc-check" => dc_check::main(rest),
        "decode" => decode::main(rest),
        "hash" => hash::main(rest),
        "proxy" => proxy::main(rest),
        "help" | "--help" | "-h" => {
            print!("{USAGE}");
            ExitCode::SUCCESS
        }
        "--version" | "-V" => {
            println!("ntlm {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        other => {
            eprintln!("ntlm: unknown subcommand {other:?}\n");
            eprint!("{USAGE}");
            ExitCode::from(2)
        }
    }
}

/// Prints a usage error for `command` and returns exit code 2.
pub(crate) fn usage_error(command: &str, message: &str) -> ExitCode {
    eprintln!("ntlm {command}: {message}\n(see `ntlm {command} --help`)");
    ExitCode::from(2)
}
