//! The server's configuration ([`ServerConfig`]): policy, store, guards, the names the
//! CHALLENGE carries (MS-NLMP §2.2.1.2, §2.2.2.1) and the random source.

use core::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::crypto::Entropy;
use crate::guard::{ReflectionGuard, ReplayCache};
use crate::lockout::LockoutTracker;
use crate::policy::ServerPolicy;
use crate::store::CredentialStore;
use crate::wire::Version;

/// Everything a server needs; shared by all its contexts through an `Arc`.
#[non_exhaustive]
pub struct ServerConfig {
    /// What is accepted.
    pub policy: ServerPolicy,
    /// Where users are looked up.
    pub store: Arc<dyn CredentialStore>,
    /// Account lockout, when enabled.
    pub lockout: Option<Arc<LockoutTracker>>,
    /// Replay detection (on by default; an accepted response is remembered for at least the
    /// policy's challenge lifetime, at least 60 s, and at most twice that, unless more than
    /// the cache holds crowd it out first: see [`ReplayCache::new`]).
    pub replay: Option<Arc<ReplayCache>>,
    /// Reflection detection (the process-wide guard by default).
    pub reflection_guard: Option<Arc<ReflectionGuard>>,
    /// NetBIOS domain name: the CHALLENGE's TargetName and MsvAvNbDomainName.
    pub nb_domain: String,
    /// NetBIOS computer name (MsvAvNbComputerName).
    pub nb_computer: String,
    /// DNS domain name (MsvAvDnsDomainName); empty: not sent. Windows and Samba always
    /// send it, and some clients (impacket's NTLMv2 client) need it: see
    /// [`ServerConfig::default_dns_names`] for the default.
    pub dns_domain: String,
    /// DNS computer name (MsvAvDnsComputerName); empty: not sent. Default:
    /// [`ServerConfig::default_dns_names`].
    pub dns_computer: String,
    /// The VERSION structure to send when the client asks for one.
    pub version: Option<Version>,
    /// The random source of server challenges; `None` uses [`crate::crypto::fill_random`]
    /// (`rand`'s thread-local ChaCha12, seeded and reseeded from the operating system; see
    /// [`crate::crypto::Entropy`] for injecting one in tests).
    pub entropy: Option<Entropy>,
    /// The CHALLENGE encoded once for these names and version, patched per handshake.
    pub(super) challenge_cache: super::challenge::ChallengeCache,
}

impl fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerConfig")
            .field("policy", &self.policy)
            .field("lockout", &self.lockout)
            .field("nb_domain", &self.nb_domain)
            .field("nb_computer", &self.nb_computer)
            .finish_non_exhaustive()
    }
}

impl ServerConfig {
    /// A server with `policy` over `store`, domain `DOMAIN`, computer `SERVER`, and the
    /// DNS names [`default_dns_names`](Self::default_dns_names) gives for them. Set
    /// `dns_domain` and `dns_computer` again after changing the NetBIOS names.
    pub fn new(policy: ServerPolicy, store: impl CredentialStore + 'static) -> Self {
        let replay = ReplayCache::new(policy.challenge_lifetime.max(Duration::from_secs(60)));
        let (dns_domain, dns_computer) = Self::default_dns_names("DOMAIN", "SERVER");
        Self {
            policy,
            store: Arc::new(store),
            lockout: None,
            replay: Some(Arc::new(replay)),
            reflection_guard: Some(ReflectionGuard::process()),
            nb_domain: "DOMAIN".into(),
            nb_computer: "SERVER".into(),
            dns_domain,
            dns_computer,
            version: Some(Version::WINDOWS_10),
            entropy: None,
            challenge_cache: super::challenge::ChallengeCache::default(),
        }
    }

    /// MsvAvDnsDomainName and MsvAvDnsComputerName (MS-NLMP §2.2.2.1) for a server whose
    /// NetBIOS domain is `nb_domain`: the domain in lowercase, and this machine's host
    /// name (read from `/proc/sys/kernel/hostname` or `/etc/hostname`, else the
    /// `HOSTNAME` or `COMPUTERNAME` variable, else `nb_computer`), in lowercase, followed
    /// by `.` and that domain unless it already has a dot. Windows and Samba always send
    /// both pairs; some clients fail without them.
    ///
    /// ```
    /// let (domain, computer) = ntlm::server::ServerConfig::default_dns_names("CORP", "WEB1");
    /// assert_eq!(domain, "corp");
    /// assert!(computer.ends_with(".corp") || computer.contains('.'));
    /// ```
    pub fn default_dns_names(nb_domain: &str, nb_computer: &str) -> (String, String) {
        let domain = nb_domain.to_lowercase();
        let host = local_host_name().unwrap_or_else(|| nb_computer.to_lowercase());
        let computer = if host.contains('.') || domain.is_empty() {
            host
        } else {
            format!("{host}.{domain}")
        };
        (domain, computer)
    }
}

/// This machine's host name, lowercase, when one of the usual places has a plausible one
/// (letters, digits, `-` and `.`, at most 253 bytes).
fn local_host_name() -> Option<String> {
    let plausible = |s: &str| {
        let s = s.trim().to_ascii_lowercase();
        let ok = !s.is_empty()
            && s.len() <= 253
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
        ok.then_some(s)
    };
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .find_map(|path| {
            std::fs::read_to_string(path)
                .ok()
                .and_then(|s| plausible(&s))
        })
        .or_else(|| {
            ["HOSTNAME", "COMPUTERNAME"]
                .iter()
                .find_map(|v| std::env::var(v).ok().and_then(|s| plausible(&s)))
        })
}
