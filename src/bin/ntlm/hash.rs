//! `ntlm hash`: NTOWFv1 (and LMOWFv1, or NTOWFv2 for one user) of a password read from stdin
//! (MS-NLMP §3.3.1, §3.3.2).

use std::io::{self, Read};
use std::process::ExitCode;

use ntlm::crypto::{lmowf_v1, ntowf_v1, ntowf_v2};
use ntlm::names::split_user;
use zeroize::Zeroizing;

pub const HELP: &str = "\
ntlm hash: the NT hash (NTOWFv1, MD4 of the UTF-16LE password) of a password

usage: printf '%s' \"$PASSWORD\" | ntlm hash [--lm | --ntlmv2 --user 'DOMAIN\\user']

Reads one line from stdin: the password, without its newline (a final \\n or \\r\\n is
dropped). Prints the NT hash as 32 hex digits. With --lm prints LMHEX:NTHEX as in
smbpasswd files; the LM hash of a password longer than 14 characters does not exist and
is printed as 32 X (smbpasswd's convention). With --ntlmv2 prints ntlmv2:HEX, the NTOWFv2
of that user and domain (cntlm's PassNTLMv2): `ntlm proxy --hash-file` takes it, and it can
answer only with NTLMv2 (level 3 and above) for exactly that user and domain spelling.
";

/// Longest password read, in bytes.
const MAX_PASSWORD: u64 = 4096;

/// Runs `hash`.
pub fn main(args: &[String]) -> ExitCode {
    let parsed = match crate::args::parse(args, &["user"], &["lm", "ntlmv2"]) {
        Ok(p) => p,
        Err(e) => return crate::usage_error("hash", &e),
    };
    if parsed.flag("help") {
        print!("{HELP}");
        return ExitCode::SUCCESS;
    }
    if parsed.flag("ntlmv2") && (parsed.flag("lm") || parsed.value("user").is_none()) {
        return crate::usage_error("hash", "--ntlmv2 needs --user 'DOMAIN\\user', and no --lm");
    }
    if !parsed.positional.is_empty() {
        return crate::usage_error(
            "hash",
            "the password is read from stdin, not from the command line",
        );
    }
    let mut raw = Zeroizing::new(Vec::new());
    if let Err(e) = io::stdin()
        .lock()
        .take(MAX_PASSWORD + 1)
        .read_to_end(&mut raw)
    {
        eprintln!("ntlm hash: reading stdin: {e}");
        return ExitCode::FAILURE;
    }
    if raw.len() as u64 > MAX_PASSWORD {
        eprintln!("ntlm hash: password longer than {MAX_PASSWORD} bytes");
        return ExitCode::FAILURE;
    }
    let Some(password) = first_line(&raw) else {
        eprintln!("ntlm hash: no password on stdin");
        return ExitCode::FAILURE;
    };
    let Ok(password) = std::str::from_utf8(password) else {
        eprintln!("ntlm hash: the password is not valid UTF-8");
        return ExitCode::FAILURE;
    };
    let nt = hex(ntowf_v1(password).as_bytes());
    if let (true, Some(account)) = (parsed.flag("ntlmv2"), parsed.value("user")) {
        let (domain, user) = split_user(account);
        let v2 = hex(ntowf_v2(&ntowf_v1(password), user, domain).as_bytes());
        println!("ntlmv2:{}", v2.as_str());
    } else if parsed.flag("lm") {
        let lm = match lmowf_v1(password) {
            Some(lm) => hex(lm.as_bytes()),
            None => {
                eprintln!(
                    "ntlm hash: no LM hash (over 14 characters, or a character outside CP850)"
                );
                Zeroizing::new("X".repeat(32))
            }
        };
        println!("{}:{}", lm.as_str(), nt.as_str());
    } else {
        println!("{}", nt.as_str());
    }
    ExitCode::SUCCESS
}

/// The first line of `input` without its `\n` or `\r\n`; `None` for empty input.
fn first_line(input: &[u8]) -> Option<&[u8]> {
    if input.is_empty() {
        return None;
    }
    let line = match input.iter().position(|b| *b == b'\n') {
        Some(i) => input.get(..i).unwrap_or(&[]),
        None => input,
    };
    Some(line.strip_suffix(b"\r").unwrap_or(line))
}

fn hex(bytes: &[u8]) -> Zeroizing<String> {
    use std::fmt::Write as _;
    let mut s = Zeroizing::new(String::with_capacity(bytes.len() * 2));
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines() {
        assert_eq!(first_line(b""), None);
        assert_eq!(first_line(b"\n"), Some(&b""[..]));
        assert_eq!(first_line(b"Password\r\n"), Some(&b"Password"[..]));
        assert_eq!(first_line(b"a\nb"), Some(&b"a"[..]));
        assert_eq!(
            hex(ntowf_v1("Password").as_bytes()).as_str(),
            "a4f49c406510bdcab6824ee7c30fd852"
        );
        // MS-NLMP §4.2.4.1.1: NTOWFv2("Password", "User", "Domain").
        let nt = ntowf_v1("Password");
        assert_eq!(
            hex(ntowf_v2(&nt, "User", "Domain").as_bytes()).as_str(),
            "0c868a403bfd7a93a3001ef22ef02e3f"
        );
    }
}
