//! `ntlm client-helper`: the client side of MS-NLMP §3.1 behind Samba's `ntlmssp-client-1`
//! helper protocol (as used by curl, Firefox and libsoup).

use std::process::ExitCode;
use std::time::SystemTime;

use ntlm::client::ClientConfig;
use ntlm::helper::ClientHelper;
use ntlm::names::split_user;
use ntlm::policy::LmCompatibilityLevel;
use ntlm::Password;

use crate::helper::serve_stdio;

pub const HELP: &str = "\
ntlm client-helper: an NTLM client helper (Samba `ntlmssp-client-1` protocol)

usage: ntlm client-helper --level N --user 'DOMAIN\\user' --password-env VAR
                          [--workstation NAME]

  --level N           client LmCompatibilityLevel, 0 to 5 (what the client sends)
  --user NAME         DOMAIN\\user, user@domain or user
  --password-env VAR  the name of the environment variable holding the password
                      (the password is never taken from the command line nor printed)
  --workstation NAME  workstation name sent in AUTHENTICATE (default: none)

Requests (stdin, one per line) and replies (stdout, one line each, flushed):
  YR                  -> YR <base64 NEGOTIATE>       (starts a new handshake)
  TT <base64 CHALLENGE> -> AF <base64 AUTHENTICATE>  (as ntlm_auth 4.x answers; curl and
                                                     Firefox accept AF and KK)
  anything else, TT before YR, bad base64, a CHALLENGE we cannot answer -> BH <reason>
End of input exits 0.
";

/// Runs the helper on stdin/stdout.
pub fn main(args: &[String]) -> ExitCode {
    let parsed =
        match crate::args::parse(args, &["level", "user", "password-env", "workstation"], &[]) {
            Ok(p) => p,
            Err(e) => return crate::usage_error("client-helper", &e),
        };
    if parsed.flag("help") {
        print!("{HELP}");
        return ExitCode::SUCCESS;
    }
    let config = match build_config(&parsed) {
        Ok(c) => c,
        Err(e) => return crate::usage_error("client-helper", &e),
    };
    let mut helper = ClientHelper::new(config);
    serve_stdio("client-helper", |line| {
        helper.handle(line, SystemTime::now()).to_string()
    })
}

fn build_config(parsed: &crate::args::Parsed) -> Result<ClientConfig, String> {
    if let Some(extra) = parsed.positional.first() {
        return Err(format!(
            "unexpected argument {extra:?} (the password is read from --password-env)"
        ));
    }
    let level: LmCompatibilityLevel = parsed
        .required("level")?
        .parse()
        .map_err(|e| format!("--level: {e}"))?;
    let (domain, user) = split_user(parsed.required("user")?);
    if user.is_empty() {
        return Err("--user: empty user name".into());
    }
    let var = parsed.required("password-env")?;
    let password = match std::env::var(var) {
        Ok(p) => Password::new(p),
        Err(std::env::VarError::NotPresent) => {
            return Err(format!("environment variable {var:?} is not set"))
        }
        Err(std::env::VarError::NotUnicode(_)) => {
            return Err(format!("environment variable {var:?} is not valid UTF-8"))
        }
    };
    let mut config = ClientConfig::new(level, domain, user, password);
    if let Some(workstation) = parsed.value("workstation") {
        config.workstation = workstation.to_string();
    }
    Ok(config)
}
