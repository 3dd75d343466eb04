//! The pass-through options shared by the verifying helpers: `--dc HOST[:PORT]` (repeated),
//! `--machine-account 'DOMAIN\NAME$'` and the machine password from
//! `--machine-password-env VAR` or `--machine-password-file FILE` (never the command line).

use std::time::Duration;

use ntlm::netlogon::{DcAddress, DcConfig, MachineAccount};
use ntlm::Password;

/// The option names (with a value) these flags add to a subcommand's parser; `--dc` is
/// taken out first by [`crate::args::take_repeated`].
pub const OPTIONS: [&str; 4] = [
    "machine-account",
    "machine-password-env",
    "machine-password-file",
    "dc-timeout",
];

/// The DC configuration the flags describe, or `None` without `--dc` (when none of the
/// other DC flags may be given either).
pub fn dc_config(parsed: &crate::args::Parsed, dcs: &[String]) -> Result<Option<DcConfig>, String> {
    if dcs.is_empty() {
        if let Some(name) = OPTIONS.iter().find(|o| parsed.value(o).is_some()) {
            return Err(format!("--{name} needs --dc"));
        }
        return Ok(None);
    }
    let dcs = dcs
        .iter()
        .map(|d| {
            d.parse::<DcAddress>()
                .map_err(|e| format!("--dc {d:?}: {e}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let account = parsed.required("machine-account")?;
    let password = match (
        parsed.value("machine-password-env"),
        parsed.value("machine-password-file"),
    ) {
        (Some(var), None) => match std::env::var(var) {
            Ok(p) => Password::new(p),
            Err(_) => {
                return Err(format!(
                    "environment variable {var:?} is not set or not UTF-8"
                ))
            }
        },
        (None, Some(file)) => {
            let text = zeroize::Zeroizing::new(
                std::fs::read_to_string(file)
                    .map_err(|e| format!("--machine-password-file {file:?}: {e}"))?,
            );
            Password::new(text.lines().next().unwrap_or(""))
        }
        _ => {
            return Err(
                "give exactly one of --machine-password-env and --machine-password-file".into(),
            )
        }
    };
    let machine = MachineAccount::new(account, &password);
    if machine.domain.is_empty() {
        return Err("--machine-account: give the domain, e.g. 'CORP\\WEB1$'".into());
    }
    let mut config = DcConfig::new(dcs, machine);
    let secs = match parsed.value("dc-timeout") {
        Some(t) => t
            .parse::<u64>()
            .map_err(|_| format!("--dc-timeout: bad number {t:?}"))?
            .max(1),
        None => 5,
    };
    config.connect_timeout = Duration::from_secs(secs);
    config.call_timeout = Duration::from_secs(secs);
    Ok(Some(config))
}
