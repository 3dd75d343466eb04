//! The pass-through flags `examples/http_server` and `examples/axum_server` share:
//! `--dc HOST[:PORT]` (repeat for failover), `--machine-account 'CORP\WEB1$'` and
//! `--machine-password-env VAR` or `--machine-password-file FILE` (the machine password is
//! never taken from the command line).

use ntlm::netlogon::{DcAddress, DcConfig, MachineAccount};
use ntlm::policy::ServerPolicy;
use ntlm::server::ServerConfig;
use ntlm::store::MemoryStore;
use ntlm::Password;

/// Why the verifier could not be set up from the flags.
pub enum SetupError {
    /// Neither or both of `--users` and `--dc`: print the usage.
    Usage,
    /// A flag's value is wrong (the message names it).
    Message(String),
}

/// The server configuration for `policy`, verifying against the user file `users` or,
/// with `--dc`, through the DC (no local users; the CHALLENGE names the machine account),
/// and the pass-through configuration when there is one.
pub fn verifier(
    flags: DcFlags,
    users: Option<&str>,
    policy: ServerPolicy,
) -> Result<(ServerConfig, Option<DcConfig>), SetupError> {
    let dc = flags.config().map_err(SetupError::Message)?;
    let store = match (users, &dc) {
        (Some(_), Some(_)) | (None, None) => return Err(SetupError::Usage),
        (None, Some(_)) => MemoryStore::new(),
        (Some(users), None) => MemoryStore::from_file(users)
            .map_err(|e| SetupError::Message(format!("{users}: {e}")))?,
    };
    let mut config = ServerConfig::new(policy, store);
    if let Some(dc) = &dc {
        name_machine(&mut config, dc);
    }
    Ok((config, dc))
}

/// The flags as given, before they are checked.
#[derive(Default)]
pub struct DcFlags {
    dcs: Vec<String>,
    account: Option<String>,
    env: Option<String>,
    file: Option<String>,
}

impl DcFlags {
    /// Takes `arg` (and its value from `args`) when it is one of these flags.
    pub fn take(&mut self, arg: &str, args: &mut impl Iterator<Item = String>) -> bool {
        match arg {
            "--dc" => self.dcs.extend(args.next()),
            "--machine-account" => self.account = args.next(),
            "--machine-password-env" => self.env = args.next(),
            "--machine-password-file" => self.file = args.next(),
            _ => return false,
        }
        true
    }

    /// The pass-through configuration, or `None` without `--dc`.
    pub fn config(self) -> Result<Option<DcConfig>, String> {
        if self.dcs.is_empty() {
            return match (self.account, self.env, self.file) {
                (None, None, None) => Ok(None),
                _ => Err("--machine-account and its password need --dc".into()),
            };
        }
        let dcs = self
            .dcs
            .iter()
            .map(|d| {
                d.parse::<DcAddress>()
                    .map_err(|e| format!("--dc {d:?}: {e}"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let account = self.account.ok_or("--dc needs --machine-account")?;
        let password = match (self.env, self.file) {
            (Some(var), None) => Password::new(
                std::env::var(&var)
                    .map_err(|_| format!("environment variable {var:?} is not set"))?,
            ),
            (None, Some(path)) => {
                let text = zeroize::Zeroizing::new(
                    std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?,
                );
                Password::new(text.lines().next().unwrap_or(""))
            }
            _ => {
                return Err("give one of --machine-password-env and --machine-password-file".into())
            }
        };
        let machine = MachineAccount::new(&account, &password);
        if machine.domain.is_empty() {
            return Err("--machine-account: give the domain, e.g. 'CORP\\WEB1$'".into());
        }
        let mut config = DcConfig::new(dcs, machine);
        config.connect_timeout = std::time::Duration::from_secs(3);
        config.call_timeout = std::time::Duration::from_secs(5);
        // Four schannel connections for concurrent logons, all bound with the one secure
        // channel (a DC keeps one session key per machine account).
        config.pool_size = 4;
        Ok(Some(config))
    }
}

/// Names the machine account in the CHALLENGE (NetBIOS and DNS names): a DC refuses an
/// NTLMv2 blob naming another computer than the secure channel's.
pub fn name_machine(config: &mut ServerConfig, dc: &DcConfig) {
    config.nb_domain = dc.machine.domain.clone();
    config.nb_computer = dc.machine.computer().to_string();
    let (d, c) = ServerConfig::default_dns_names(&config.nb_domain, &config.nb_computer);
    (config.dns_domain, config.dns_computer) = (d, c);
}

/// The line the servers print when they start with pass-through.
pub fn describe(dc: &DcConfig) -> String {
    format!(
        "pass-through to {:?} as {}\\{}",
        dc.dcs.iter().map(ToString::to_string).collect::<Vec<_>>(),
        dc.machine.domain,
        dc.machine.account
    )
}
