//! The sans-IO server (acceptor) context, MS-NLMP §3.2, and the verification that decides a
//! logon.
//!
//! The server always verifies the response against the stored hash (a missing MIC never lets
//! a wrong password in), computes the NTLMv2 proof over the client's blob exactly as received,
//! and says which rule refused a logon: [`Refusal`].
//!
//! With the `netlogon` feature a server may instead hand the responses to a domain
//! controller: `ServerContext::begin_pass_through` and `complete_pass_through` (MS-APDS
//! §3.1.5.2), sans-IO like the rest; see `crate::netlogon`.
//!
//! ```
//! use std::sync::Arc;
//! use std::time::SystemTime;
//! use ntlm::client::{ClientConfig, ClientContext};
//! use ntlm::guard::ReflectionGuard;
//! use ntlm::policy::{LmCompatibilityLevel, ServerPolicy};
//! use ntlm::server::{ServerConfig, ServerContext};
//! use ntlm::store::MemoryStore;
//!
//! let mut store = MemoryStore::new();
//! store.add_password("DOMAIN", "alice", "Secret1");
//! let mut config = ServerConfig::new(ServerPolicy::domain_controller(LmCompatibilityLevel::L5), store);
//! // This example plays both machines in one process: give the server its own guard.
//! config.reflection_guard = Some(Arc::new(ReflectionGuard::new(std::time::Duration::from_secs(60))));
//! let mut server = ServerContext::new(Arc::new(config));
//! let mut client = ClientContext::new(ClientConfig::new(LmCompatibilityLevel::L3, "DOMAIN", "alice", "Secret1"));
//!
//! let now = SystemTime::now();
//! let challenge = server.challenge(&client.negotiate().unwrap(), now).unwrap();
//! let authenticate = client.authenticate(&challenge, now).unwrap();
//! let logon = server.accept(&authenticate, now).unwrap();
//! assert_eq!(logon.user, "alice");
//! ```

use core::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use subtle::ConstantTimeEq;

use crate::channel_bindings::ChannelBindings;
use crate::classify::{classify_fields, ResponseKinds};
use crate::client::Entropy;
use crate::crypto::{self, windows_uppercase, ResponseKeyV2, Side};
use crate::error::DecodeError;
use crate::established::Established;
use crate::filetime;
use crate::guard::{ReflectionGuard, ReplayCache};
use crate::lockout::LockoutTracker;
use crate::policy::{ChannelBindingPolicy, PolicyRefusal, RefusedKind, ServerPolicy, Verify};
use crate::secret::{NtHash, SessionKey};
use crate::store::CredentialStore;
use crate::wire::{
    AuthenticateMessage, AvFlags, AvId, NegotiateFlags as F, NegotiateMessage, NtlmV2Response,
    TargetInfo, Version,
};

mod challenge;
#[cfg(feature = "netlogon")]
mod pass_through;
#[cfg(feature = "netlogon")]
pub use pass_through::PassThroughStep;

/// Everything a server needs; shared by all its contexts through an `Arc`.
pub struct ServerConfig {
    /// What is accepted.
    pub policy: ServerPolicy,
    /// Where users are looked up.
    pub store: Arc<dyn CredentialStore>,
    /// Account lockout, when enabled.
    pub lockout: Option<Arc<LockoutTracker>>,
    /// Replay detection (on by default; an accepted response is remembered for the
    /// policy's challenge lifetime, at least 60 s, unless more than the cache holds crowd it
    /// out first: see [`ReplayCache::new`]).
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
    /// Random bytes for challenges; `None` uses [`crate::crypto::random_bytes`] (a
    /// user-space ChaCha generator seeded from the operating system).
    pub entropy: Option<Entropy>,
    /// The CHALLENGE encoded once for these names and version, patched per handshake.
    challenge_cache: challenge::ChallengeCache,
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
            challenge_cache: challenge::ChallengeCache::default(),
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

/// Why a server context could not produce a CHALLENGE.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServerError {
    /// `challenge` called twice, or after `accept`.
    OutOfOrder(&'static str),
    /// The NEGOTIATE could not be decoded.
    Malformed(DecodeError),
    /// The random server challenge drawn is already outstanding in the reflection guard
    /// (only seen with a fixed entropy source): it is not issued twice. A full guard never
    /// refuses a challenge; it forgets its oldest one ([`crate::guard`]).
    DuplicateChallenge,
}

impl fmt::Display for ServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::OutOfOrder(what) => write!(f, "server context used out of order: {what}"),
            Self::Malformed(e) => write!(f, "malformed NEGOTIATE: {e}"),
            Self::DuplicateChallenge => {
                f.write_str("the server challenge drawn is already outstanding")
            }
        }
    }
}

impl std::error::Error for ServerError {}

/// How a MIC check failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MicFailure {
    /// MsvAvFlags announces a MIC but the message has no MIC field ("drop the MIC").
    Missing,
    /// The MIC does not match the three messages.
    Invalid,
    /// Policy requires a MIC and the client did not announce one.
    Required,
}

/// How a channel-binding check failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChannelBindingFailure {
    /// The client sent bindings that differ from the connection's.
    Mismatch,
    /// Policy requires bindings and the client sent none (or could not: NTLMv1).
    Missing,
}

/// Why a logon was refused: the rule, with what the operator needs to act on it.
///
/// [`Refusal::to_peer`] is all that should reach the client: NTLM has no error message, and an
/// HTTP server answers 401 whatever the rule.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refusal {
    /// The AUTHENTICATE could not be decoded.
    Malformed(DecodeError),
    /// The server's level (or preset) does not accept what the client sent.
    Policy(PolicyRefusal),
    /// No such user in the store.
    UnknownUser,
    /// The account is disabled.
    AccountDisabled,
    /// Wrong password; counted towards lockout (`failures` = the count after this one, 0
    /// without lockout).
    BadPassword {
        /// Bad passwords counted for the account so far.
        failures: u32,
    },
    /// The response matches one of the user's two previous passwords: a client still using
    /// an old password. Not counted towards lockout (Active Directory's rule).
    StaleCredentials {
        /// 1 for the previous password, 2 for the one before.
        generations_old: usize,
    },
    /// The account is locked out.
    LockedOut {
        /// When the lockout ends.
        until: SystemTime,
    },
    /// MIC missing, invalid or required.
    Mic(MicFailure),
    /// The NTLMv2 timestamp is further from the server's clock than the allowed skew.
    Timestamp {
        /// The difference found.
        skew: Duration,
    },
    /// The AV pairs the client echoed differ from those the server sent.
    TargetInfoMismatch {
        /// The AvId that differs or is missing.
        av_id: u16,
    },
    /// This response was seen before.
    Replay,
    /// The challenge was answered by a client context of this process (NTLM reflection).
    Reflection,
    /// The challenge is older than the policy's challenge lifetime.
    ChallengeExpired,
    /// Channel bindings missing or wrong.
    ChannelBindings(ChannelBindingFailure),
    /// MsvAvTargetName missing or not one of the accepted SPNs.
    TargetName {
        /// What the client sent.
        sent: Option<String>,
    },
    /// KEY_EXCH negotiated without a 16-byte EncryptedRandomSessionKey.
    KeyExchange,
    /// The NTLMv2 response verified but the LMv2 response beside it does not
    /// (`ServerPolicy::verify_lmv2_with_ntlmv2`): the LM field was altered on the way or the
    /// client is broken. The password was right, so it is not counted towards lockout.
    LmV2Mismatch,
    /// `accept` called before `challenge`, twice, or after an error.
    OutOfOrder,
    /// Pass-through: the domain controller refused the logon, by its rule (a wrong
    /// password, a disabled or locked-out account, ...): the DC counted it, not us.
    #[cfg(feature = "netlogon")]
    DcRefused(crate::netlogon::LogonRefusal),
    /// Pass-through: no domain controller could be asked. Neither an acceptance nor a
    /// bad password: `BH` from a Squid helper, 503 from an HTTP server.
    #[cfg(feature = "netlogon")]
    DcUnavailable {
        /// The DC (host:port) whose failure is reported.
        dc: String,
        /// What failed, for the log.
        reason: String,
    },
}

impl Refusal {
    /// A short stable name of the rule, for logs and metrics.
    pub fn rule(&self) -> &'static str {
        match self {
            Self::Malformed(_) => "malformed",
            Self::Policy(_) => "policy level",
            Self::UnknownUser => "unknown user",
            Self::AccountDisabled => "account disabled",
            Self::BadPassword { .. } => "bad password",
            Self::StaleCredentials { .. } => "stale credentials",
            Self::LockedOut { .. } => "locked out",
            Self::Mic(_) => "MIC",
            Self::Timestamp { .. } => "timestamp",
            Self::TargetInfoMismatch { .. } => "target info",
            Self::Replay => "replay",
            Self::Reflection => "reflection",
            Self::ChallengeExpired => "challenge expired",
            Self::ChannelBindings(_) => "channel binding",
            Self::TargetName { .. } => "target name",
            Self::KeyExchange => "key exchange",
            Self::LmV2Mismatch => "LMv2 mismatch",
            Self::OutOfOrder => "out of order",
            #[cfg(feature = "netlogon")]
            Self::DcRefused(_) => "refused by the DC",
            #[cfg(feature = "netlogon")]
            Self::DcUnavailable { .. } => "DC unavailable",
        }
    }

    /// What may be told to the peer: the same for every rule.
    pub fn to_peer(&self) -> &'static str {
        "logon failure"
    }

    /// True when the refusal counted a bad password against the account.
    pub fn counted_towards_lockout(&self) -> bool {
        matches!(self, Self::BadPassword { failures } if *failures > 0)
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed(e) => write!(f, "malformed AUTHENTICATE: {e}"),
            Self::Policy(p) => write!(f, "{p}"),
            Self::UnknownUser => f.write_str("unknown user"),
            Self::AccountDisabled => f.write_str("account disabled"),
            Self::BadPassword { failures: 0 } => f.write_str("bad password"),
            Self::BadPassword { failures } => write!(f, "bad password ({failures} counted)"),
            Self::StaleCredentials { generations_old } => write!(
                f,
                "stale credentials: the password {generations_old} change(s) ago (not counted towards lockout)"
            ),
            Self::LockedOut { until } => {
                write!(f, "account locked out until {}", filetime::iso8601(*until))
            }
            Self::Mic(MicFailure::Missing) => {
                f.write_str("MIC announced in MsvAvFlags but absent (drop-the-MIC)")
            }
            Self::Mic(MicFailure::Invalid) => f.write_str("MIC does not match the messages"),
            Self::Mic(MicFailure::Required) => f.write_str("MIC required by policy, none sent"),
            Self::Timestamp { skew } => write!(
                f,
                "NTLMv2 timestamp {}s from the server clock",
                skew.as_secs()
            ),
            Self::TargetInfoMismatch { av_id } => {
                write!(f, "echoed target info differs from the server's (AvId {av_id})")
            }
            Self::Replay => f.write_str("replayed response"),
            Self::Reflection => f.write_str("challenge answered by this process's own client (reflection)"),
            Self::ChallengeExpired => f.write_str("challenge expired"),
            Self::ChannelBindings(ChannelBindingFailure::Mismatch) => {
                f.write_str("channel bindings do not match this connection")
            }
            Self::ChannelBindings(ChannelBindingFailure::Missing) => {
                f.write_str("channel bindings required, none sent")
            }
            Self::TargetName { sent: Some(name) } => {
                write!(f, "target name {name:?} is not accepted")
            }
            Self::TargetName { sent: None } => f.write_str("target name required, none sent"),
            Self::KeyExchange => f.write_str("KEY_EXCH without a 16-byte encrypted session key"),
            Self::LmV2Mismatch => {
                f.write_str("LMv2 response does not match the verified NTLMv2 response")
            }
            Self::OutOfOrder => f.write_str("server context used out of order"),
            #[cfg(feature = "netlogon")]
            Self::DcRefused(rule) => write!(f, "refused by the DC: {rule}"),
            #[cfg(feature = "netlogon")]
            Self::DcUnavailable { dc, reason } => write!(f, "DC unavailable ({dc}): {reason}"),
        }
    }
}

impl std::error::Error for Refusal {}

/// A successful logon.
#[derive(Debug)]
pub struct Authenticated {
    /// The account name as stored (empty for anonymous).
    pub user: String,
    /// The stored account's domain, or this server's NetBIOS domain for an account stored
    /// without one (an anonymous logon: the domain the client named). Not what the client
    /// claimed: NTLMv1 does not bind the domain name.
    pub domain: String,
    /// The workstation the client named (unprotected without a MIC).
    pub workstation: String,
    /// What the client sent.
    pub responses: ResponseKinds,
    /// Which response was verified.
    pub verified: Verify,
    /// True when a MIC was present and verified.
    pub mic_verified: bool,
    /// Flags, exported session key and session security.
    pub established: Established,
    /// Audit mode: the rule that would have refused this logon at the policy's
    /// [`audit_level`](ServerPolicy::audit_level) ([`ServerPolicy::audit`]); `None` when that
    /// level accepts it too, or without an audit level. The logon is accepted either way.
    pub audit: Option<PolicyRefusal>,
}

struct Pending {
    /// The NEGOTIATE then the CHALLENGE, as the MIC covers them (MS-NLMP §3.1.5.1.2).
    transcript: Vec<u8>,
    /// Where the CHALLENGE starts in `transcript`.
    negotiate_len: usize,
    /// Where the TargetInfo sent in the CHALLENGE (MsvAvEOL included) lies in
    /// `transcript`, for the echo check; empty when none was sent.
    target_info: core::ops::Range<usize>,
    server_challenge: [u8; 8],
    flags: F,
    issued: SystemTime,
}

impl Pending {
    fn negotiate(&self) -> &[u8] {
        self.transcript.get(..self.negotiate_len).unwrap_or(&[])
    }

    fn challenge(&self) -> &[u8] {
        self.transcript.get(self.negotiate_len..).unwrap_or(&[])
    }

    fn target_info(&self) -> &[u8] {
        self.transcript.get(self.target_info.clone()).unwrap_or(&[])
    }
}

enum State {
    Start,
    Challenged(Pending),
    /// Pass-through: the request went to the DC; its answer is awaited.
    #[cfg(feature = "netlogon")]
    AwaitingDc(Box<pass_through::AwaitingDc>),
    Done,
    Failed,
}

/// The server side of one NTLM handshake.
pub struct ServerContext {
    config: Arc<ServerConfig>,
    state: State,
    expected_bindings: Option<[u8; 16]>,
}

impl fmt::Debug for ServerContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.state {
            State::Start => "start",
            State::Challenged(_) => "sent CHALLENGE",
            #[cfg(feature = "netlogon")]
            State::AwaitingDc(_) => "awaiting the DC",
            State::Done => "done",
            State::Failed => "failed",
        };
        f.debug_struct("ServerContext")
            .field("state", &state)
            .finish_non_exhaustive()
    }
}

/// A context dropped between its CHALLENGE and its AUTHENTICATE (a closed connection, a
/// new NEGOTIATE replacing it, a flood that never answers) gives its challenge back to the
/// reflection guard, so abandoned handshakes do not fill it.
impl Drop for ServerContext {
    fn drop(&mut self) {
        self.release_challenge();
    }
}

impl ServerContext {
    /// A context for one handshake (one per connection for HTTP).
    pub fn new(config: Arc<ServerConfig>) -> Self {
        Self {
            config,
            state: State::Start,
            expected_bindings: None,
        }
    }

    /// Gives an outstanding challenge back to the reflection guard.
    fn release_challenge(&self) {
        if let (State::Challenged(pending), Some(guard)) =
            (&self.state, &self.config.reflection_guard)
        {
            guard.server_finished(&pending.server_challenge);
        }
    }

    /// The channel bindings of the connection this handshake runs on.
    pub fn set_channel_bindings(&mut self, bindings: &ChannelBindings) {
        self.expected_bindings = Some(bindings.md5());
    }

    /// The CHALLENGE flags for a client's NEGOTIATE flags (MS-NLMP §3.2.5.1.1).
    pub fn challenge_flags(&self, requested: F) -> F {
        let policy = &self.config.policy;
        let mut f = F::NEGOTIATE_NTLM | F::NEGOTIATE_TARGET_INFO | F::TARGET_TYPE_DOMAIN;
        if requested.contains(F::NEGOTIATE_UNICODE) {
            f.insert(F::NEGOTIATE_UNICODE);
        } else {
            f.insert(F::NEGOTIATE_OEM);
        }
        if requested.contains(F::REQUEST_TARGET) {
            f.insert(F::REQUEST_TARGET);
        }
        let echoed = F::NEGOTIATE_SIGN
            | F::NEGOTIATE_SEAL
            | F::NEGOTIATE_ALWAYS_SIGN
            | F::NEGOTIATE_128
            | F::NEGOTIATE_56
            | F::NEGOTIATE_KEY_EXCH;
        f |= requested & echoed;
        if policy.offer_ess && requested.contains(F::NEGOTIATE_EXTENDED_SESSIONSECURITY) {
            f.insert(F::NEGOTIATE_EXTENDED_SESSIONSECURITY);
        }
        if self.config.version.is_some() && requested.contains(F::NEGOTIATE_VERSION) {
            f.insert(F::NEGOTIATE_VERSION);
        }
        f
    }

    /// Step 1: answers a NEGOTIATE with a CHALLENGE.
    pub fn challenge(&mut self, negotiate: &[u8], now: SystemTime) -> Result<Vec<u8>, ServerError> {
        if !matches!(self.state, State::Start) {
            self.release_challenge();
            self.state = State::Failed;
            return Err(ServerError::OutOfOrder(
                "challenge called twice or after accept",
            ));
        }
        let message = match NegotiateMessage::decode(negotiate) {
            Ok(m) => m,
            Err(e) => {
                self.state = State::Failed;
                return Err(ServerError::Malformed(e));
            }
        };
        let flags = self.challenge_flags(message.flags);
        let mut server_challenge = [0u8; 8];
        match &self.config.entropy {
            Some(entropy) => entropy(&mut server_challenge),
            None => crate::client::fill_random(&mut server_challenge),
        }
        let c = &self.config;
        // The fixed parts (names, TargetInfo, VERSION) were encoded once for this
        // configuration (MS-NLMP §3.2.5.1.1); the flags, challenge and timestamp go in here.
        let bytes = c.challenge_cache.message(c, flags, server_challenge, now);
        if let Some(guard) = &c.reflection_guard {
            if !guard.server_issued(server_challenge, now, c.policy.challenge_lifetime) {
                self.state = State::Failed;
                return Err(ServerError::DuplicateChallenge);
            }
        }
        let info = challenge::target_info_range(&bytes);
        let negotiate_len = negotiate.len();
        let mut transcript = Vec::with_capacity(negotiate_len + bytes.len());
        transcript.extend_from_slice(negotiate);
        transcript.extend_from_slice(&bytes);
        self.state = State::Challenged(Pending {
            transcript,
            negotiate_len,
            target_info: info.start + negotiate_len..info.end + negotiate_len,
            server_challenge,
            flags,
            issued: now,
        });
        Ok(bytes)
    }

    /// Ends the challenged state for an AUTHENTICATE (the context is failed until it
    /// succeeds) and tells the reflection guard this server is done with its challenge.
    fn take_challenged(&mut self) -> Result<Pending, Refusal> {
        let pending = match std::mem::replace(&mut self.state, State::Failed) {
            State::Challenged(p) => p,
            _ => return Err(Refusal::OutOfOrder),
        };
        if let Some(guard) = &self.config.reflection_guard {
            guard.server_finished(&pending.server_challenge);
        }
        Ok(pending)
    }

    /// Step 2: verifies the AUTHENTICATE. The context is finished either way.
    pub fn accept(
        &mut self,
        authenticate: &[u8],
        now: SystemTime,
    ) -> Result<Authenticated, Refusal> {
        let pending = self.take_challenged()?;
        let result = self.verify(&pending, authenticate, now);
        if result.is_ok() {
            self.state = State::Done;
        }
        result
    }

    fn verify(
        &self,
        pending: &Pending,
        bytes: &[u8],
        now: SystemTime,
    ) -> Result<Authenticated, Refusal> {
        let config = &*self.config;
        let policy = &config.policy;
        let Screened {
            auth,
            flags,
            kinds,
            verify,
            replay_key,
        } = self.screen(pending, bytes, now)?;
        // Names decoded into stack buffers: verification allocates only its result.
        let (mut user_buf, mut domain_buf) = ([0u8; NAME_BUF], [0u8; NAME_BUF]);
        let user = auth
            .user_name
            .to_str_in(&mut user_buf)
            .ok_or(Refusal::UnknownUser)?;
        let domain = auth
            .domain_name
            .to_str_in(&mut domain_buf)
            .ok_or(Refusal::UnknownUser)?;
        if verify == Verify::Anonymous {
            return self.accept_anonymous(&auth, flags, kinds, domain);
        }

        let v2 = match verify {
            Verify::NtlmV2 => Some(
                NtlmV2Response::decode(auth.nt_challenge_response).map_err(Refusal::Malformed)?,
            ),
            _ => None,
        };
        // Account state and password are decided with the same cryptographic work for every
        // refusal of a given response shape (MS-NLMP leaves this to the implementation):
        // an unknown user is checked against stand-in hashes, a missing LM hash or history
        // slot gets a stand-in too, and a disabled or locked-out account is verified in
        // full before it is refused. See `verify_password`.
        let record = config.store.lookup(user, domain);
        // The lockout counter belongs to the stored account, never to what the client named:
        // a record without a domain matches any domain, and each would otherwise count apart.
        // An unknown user's key (the names it sent) is built and checked the same way, for
        // the same work; no failure is ever recorded for it.
        let account = config.lockout.as_ref().map(|_| {
            let (d, u) = record
                .as_ref()
                .map_or((domain, user), |r| (r.domain.as_str(), r.user.as_str()));
            format!("{}\\{}", windows_uppercase(d), windows_uppercase(u))
        });
        // What refuses the logon whatever the password; applied after the cryptography.
        let locked = match (&config.lockout, &account) {
            (Some(lockout), Some(account)) => lockout.check(account, now).err(),
            _ => None,
        };
        let blocked = match (&record, locked) {
            (None, _) => Some(Refusal::UnknownUser),
            (Some(r), _) if r.disabled => Some(Refusal::AccountDisabled),
            (Some(_), Some(l)) => Some(Refusal::LockedOut { until: l.until }),
            (Some(_), None) => None,
        };
        let check = |nt: &NtHash, lm: Option<&crate::secret::LmHash>, exhaustive: bool| {
            check_response(
                verify,
                &auth,
                v2.as_ref(),
                nt,
                lm,
                user,
                domain,
                &pending.server_challenge,
                policy,
                exhaustive,
            )
        };
        let found = verify_password(record.as_deref(), blocked, check);
        let (record, (session_base_key, verify)) = match (record, found) {
            (Some(record), Ok(found)) => (record, found),
            (_, Err(PasswordRefusal::Blocked(refusal))) => return Err(refusal),
            (_, Err(PasswordRefusal::Stale(generations_old))) => {
                return Err(Refusal::StaleCredentials { generations_old })
            }
            (_, Err(PasswordRefusal::Mismatch(Mismatch::LmRefused))) => {
                return Err(Refusal::Policy(PolicyRefusal {
                    refused: RefusedKind::Lm,
                    level: policy.level,
                    preset: policy.preset,
                }))
            }
            (_, Err(PasswordRefusal::Mismatch(Mismatch::LmV2))) => {
                return Err(Refusal::LmV2Mismatch)
            }
            (Some(_), Err(PasswordRefusal::Mismatch(Mismatch::NoMatch))) => {
                let failures = match (&config.lockout, &account) {
                    (Some(lockout), Some(account)) => lockout.record_failure(account, now),
                    _ => 0,
                };
                return Err(Refusal::BadPassword { failures });
            }
            // `verify_password` blocks every logon without a record.
            (None, _) => return Err(Refusal::UnknownUser),
        };

        // The password is right; now the integrity rules, which only a verified blob can tell.
        let exported = exported_key(
            flags,
            verify,
            session_base_key,
            record.lm_hash.as_ref(),
            &auth,
            &pending.server_challenge,
        )?;
        let mic_verified = match &v2 {
            Some(response) => {
                self.check_v2_rules(pending, &auth, bytes, response, &exported, now)?
            }
            None => {
                self.check_rules_without_blob(verify)?;
                false
            }
        };
        if let (Some(lockout), Some(account)) = (&config.lockout, &account) {
            // Refused if a concurrent attempt locked the account while this one verified.
            lockout
                .record_success(account, now)
                .map_err(|l| Refusal::LockedOut { until: l.until })?;
        }
        if let Some(cache) = &config.replay {
            cache.remember(replay_key, now);
        }
        Ok(Authenticated {
            user: record.user.clone(),
            // The stored account's domain; an account stored without one belongs to this
            // server's domain. What the client claimed is not reported: NTLMv1 does not
            // bind it.
            domain: if record.domain.is_empty() {
                config.nb_domain.clone()
            } else {
                record.domain.clone()
            },
            workstation: auth.workstation.to_string_lossy(),
            responses: kinds,
            verified: verify,
            mic_verified,
            established: Established::new(flags, exported, Side::Server, false),
            audit: policy.audit(&kinds),
        })
    }

    /// What is decided before any password is checked (shared by [`Self::accept`] and
    /// pass-through): the challenge's age, the message, the flags the client may use,
    /// reflection, the level policy and replay.
    fn screen<'a>(
        &self,
        pending: &Pending,
        bytes: &'a [u8],
        now: SystemTime,
    ) -> Result<Screened<'a>, Refusal> {
        let config = &*self.config;
        let policy = &config.policy;
        let elapsed = now.duration_since(pending.issued).unwrap_or(Duration::ZERO);
        if elapsed > policy.challenge_lifetime {
            return Err(Refusal::ChallengeExpired);
        }
        // Strings in the encoding the CHALLENGE negotiated, whatever the AUTHENTICATE claims
        // (GNU wget claims UNICODE and sends OEM), as Samba reads them.
        let unicode = pending.flags.contains(F::NEGOTIATE_UNICODE);
        let auth = AuthenticateMessage::decode_as(bytes, unicode).map_err(Refusal::Malformed)?;
        // The client may only use what the CHALLENGE offered. MS-NLMP's earlier 52-byte
        // AUTHENTICATE carries no flags: those the CHALLENGE negotiated apply (as in Samba).
        let flags = if auth.header_len() == 52 {
            pending.flags
        } else {
            auth.flags & pending.flags
        };
        let kinds = classify_fields(
            flags,
            auth.lm_challenge_response,
            auth.nt_challenge_response,
            auth.user_name.is_empty(),
        );
        if let Some(guard) = &config.reflection_guard {
            if guard.answered_locally(&pending.server_challenge, now) {
                return Err(Refusal::Reflection);
            }
        }
        let verify = policy.judge_responses(&kinds).map_err(Refusal::Policy)?;
        // A response already accepted once is a replay. Only accepted responses are
        // remembered: an attacker who copies a logon first cannot make the real one "seen".
        let replay_key = replay_key(&auth);
        if verify != Verify::Anonymous {
            if let Some(cache) = &config.replay {
                if cache.seen(&replay_key, now) {
                    return Err(Refusal::Replay);
                }
            }
        }
        Ok(Screened {
            auth,
            flags,
            kinds,
            verify,
            replay_key,
        })
    }

    /// An anonymous logon the policy accepts. It carries no blob: no MIC, channel bindings
    /// or target name, so a policy that requires one refuses it like any other such response.
    fn accept_anonymous(
        &self,
        auth: &AuthenticateMessage<'_>,
        flags: F,
        kinds: ResponseKinds,
        domain: &str,
    ) -> Result<Authenticated, Refusal> {
        self.check_rules_without_blob(Verify::Anonymous)?;
        let established =
            Established::new(flags, SessionKey::from_bytes([0; 16]), Side::Server, true);
        Ok(Authenticated {
            user: String::new(),
            domain: domain.to_string(),
            workstation: auth.workstation.to_string_lossy(),
            responses: kinds,
            verified: Verify::Anonymous,
            mic_verified: false,
            established,
            audit: self.config.policy.audit(&kinds),
        })
    }

    /// MIC, timestamp, echoed AV pairs, channel bindings and target name (MS-NLMP §3.2.5.1.2).
    fn check_v2_rules(
        &self,
        pending: &Pending,
        auth: &AuthenticateMessage<'_>,
        bytes: &[u8],
        response: &NtlmV2Response<'_>,
        exported: &SessionKey,
        now: SystemTime,
    ) -> Result<bool, Refusal> {
        let policy = &self.config.policy;
        let pairs = &response.av_pairs;
        let announced = pairs
            .flags()
            .is_some_and(|f| f.contains(AvFlags::MIC_PRESENT));
        let mic_verified = if announced {
            let (offset, mic) = match (auth.mic_offset(), auth.mic) {
                (Some(offset), Some(mic)) if offset.saturating_add(16) <= bytes.len() => {
                    (offset, mic)
                }
                _ => return Err(Refusal::Mic(MicFailure::Missing)),
            };
            let expected = crypto::mic(
                exported,
                pending.negotiate(),
                pending.challenge(),
                bytes,
                offset,
            );
            if !bool::from(expected.ct_eq(&mic)) {
                return Err(Refusal::Mic(MicFailure::Invalid));
            }
            true
        } else if policy.require_mic {
            return Err(Refusal::Mic(MicFailure::Required));
        } else {
            false
        };

        let skew = filetime::distance(response.timestamp, filetime::from_system_time(now));
        if skew > policy.clock_skew {
            return Err(Refusal::Timestamp { skew });
        }

        check_echo(pending.target_info(), pairs)?;

        let sent_bindings = pairs.channel_bindings().filter(|cb| cb != &[0u8; 16]);
        match (
            policy.channel_bindings,
            sent_bindings,
            self.expected_bindings,
        ) {
            (ChannelBindingPolicy::Never, _, _) => {}
            (ChannelBindingPolicy::WhenSupported, None, _) => {}
            (_, Some(sent), Some(expected)) if bool::from(sent.ct_eq(&expected)) => {}
            (_, Some(_), _) => {
                return Err(Refusal::ChannelBindings(ChannelBindingFailure::Mismatch))
            }
            (ChannelBindingPolicy::Required, None, _) => {
                return Err(Refusal::ChannelBindings(ChannelBindingFailure::Missing))
            }
        }

        if !policy.target_names.is_empty() {
            let sent = pairs
                .target_name()
                .map(|n| n.to_string_lossy())
                .filter(|n| !n.is_empty());
            let accepted = |name: &str| {
                policy
                    .target_names
                    .iter()
                    .any(|t| crypto::windows_eq_ignore_case(t, name))
            };
            match sent {
                Some(name) if !accepted(&name) => {
                    return Err(Refusal::TargetName { sent: Some(name) });
                }
                None if policy.require_target_name => {
                    return Err(Refusal::TargetName { sent: None })
                }
                _ => {}
            }
        }
        Ok(mic_verified)
    }

    /// What a response without an NTLMv2 blob (LM, NTLMv1, ESS, LMv2 alone, anonymous) cannot carry:
    /// refused when policy requires it. LMv2 alone is what is left of an NTLMv2 logon whose
    /// NT response was stripped, so it is also refused whenever the server checks target
    /// names or has channel bindings to check: a downgrade must not skip configured checks.
    fn check_rules_without_blob(&self, verify: Verify) -> Result<(), Refusal> {
        let policy = &self.config.policy;
        if policy.require_mic {
            return Err(Refusal::Mic(MicFailure::Required));
        }
        let bindings_expected = self.expected_bindings.is_some()
            && policy.channel_bindings != ChannelBindingPolicy::Never;
        if policy.channel_bindings == ChannelBindingPolicy::Required
            || (verify == Verify::LmV2Only && bindings_expected)
        {
            return Err(Refusal::ChannelBindings(ChannelBindingFailure::Missing));
        }
        if !policy.target_names.is_empty()
            && (policy.require_target_name || verify == Verify::LmV2Only)
        {
            return Err(Refusal::TargetName { sent: None });
        }
        Ok(())
    }
}

/// What [`ServerContext::screen`] let through.
struct Screened<'a> {
    auth: AuthenticateMessage<'a>,
    flags: F,
    kinds: ResponseKinds,
    verify: Verify,
    replay_key: [u8; 16],
}

/// KXKEY from the session base key (MS-NLMP §3.4.5.1; `lm_hash` for NTLMv1 with LM_KEY
/// or REQUEST_NON_NT_SESSION_KEY, whose first 8 bytes are all it uses), then the exported
/// session key: decrypted from EncryptedRandomSessionKey under KEY_EXCH (§3.2.5.1.2).
fn exported_key(
    flags: F,
    verify: Verify,
    session_base_key: SessionKey,
    lm_hash: Option<&crate::secret::LmHash>,
    auth: &AuthenticateMessage<'_>,
    server_challenge: &[u8; 8],
) -> Result<SessionKey, Refusal> {
    let key_exchange_key = match verify {
        Verify::NtlmV2 | Verify::LmV2Only => crypto::kxkey_v2(&session_base_key),
        _ => crypto::kxkey_v1(
            flags,
            &session_base_key,
            lm_hash,
            auth.lm_challenge_response,
            server_challenge,
        )
        .unwrap_or(session_base_key),
    };
    if flags.contains(F::NEGOTIATE_KEY_EXCH) {
        let encrypted: &[u8; 16] = auth
            .encrypted_random_session_key
            .try_into()
            .map_err(|_| Refusal::KeyExchange)?;
        Ok(crypto::rc4_session_key(&key_exchange_key, encrypted))
    } else {
        Ok(key_exchange_key)
    }
}

/// The pairs of the CHALLENGE's TargetInfo (`sent`, MsvAvEOL included; empty when none was
/// sent) must come back unchanged in the client's list, MsvAvFlags excepted (MS-NLMP
/// §3.1.5.1.2: the client adds pairs, it does not alter the server's).
fn check_echo(sent: &[u8], echoed: &TargetInfo<'_>) -> Result<(), Refusal> {
    if sent.is_empty() {
        return Ok(());
    }
    // Clients (Windows, Samba, ours) keep the server's pairs first and in order: the byte
    // prefix proves every pair equal. `sent` is the server's own list and holds no MsvAvFlags.
    let body = sent.get(..sent.len().saturating_sub(4)).unwrap_or(&[]);
    if echoed.as_bytes().starts_with(body) {
        return Ok(());
    }
    let sent = TargetInfo::decode(sent).map_err(Refusal::Malformed)?;
    for pair in sent.iter() {
        let id = pair.id();
        if id == AvId::Flags as u16 {
            continue;
        }
        if echoed.iter().find(|p| p.id() == id) != Some(pair) {
            return Err(Refusal::TargetInfoMismatch { av_id: id });
        }
    }
    Ok(())
}

/// 16 bytes identifying a response for the replay cache: the NTProofStr for NTLMv2, the
/// start of the NTLMv1 response, or of the LM field when that is all there is. All are
/// keyed MACs of the server challenge, so a peer cannot choose them.
fn replay_key(auth: &AuthenticateMessage<'_>) -> [u8; 16] {
    let source = if auth.nt_challenge_response.is_empty() {
        auth.lm_challenge_response
    } else {
        auth.nt_challenge_response
    };
    let mut key = [0u8; 16];
    for (k, b) in key.iter_mut().zip(source) {
        *k = *b;
    }
    key
}

/// Bytes for a decoded name: [`crate::wire::MAX_NAME_LEN`] bytes of UTF-16 are at most 768
/// bytes of UTF-8.
const NAME_BUF: usize = 1024;

/// Calls `f` with the domains NTOWFv2 is tried with, until it returns `Some`: as sent,
/// uppercased, and empty (as Windows and Samba try them). `exhaustive` tries every variant
/// even after a match (the first match is returned), so that the work does not tell which
/// matched. No allocation.
fn with_domain_variants<T>(
    domain: &str,
    exhaustive: bool,
    mut f: impl FnMut(&str) -> Option<T>,
) -> Option<T> {
    let mut found = f(domain);
    if found.is_some() && !exhaustive {
        // A right password as sent: the accept path needs no other variant.
        return found;
    }
    let mut buf = [0u8; NAME_BUF];
    if let Some(upper) = crypto::windows_uppercase_into(domain, &mut buf) {
        if upper != domain && (found.is_none() || exhaustive) {
            let other = f(upper);
            found = found.or(other);
        }
    }
    if !domain.is_empty() && (found.is_none() || exhaustive) {
        let other = f("");
        found = found.or(other);
    }
    found
}

/// Why a response did not verify against one set of hashes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mismatch {
    /// Wrong password (or not the hash tried).
    NoMatch,
    /// An LM response alone that is right, but the level refuses LM: a policy refusal, not a
    /// bad password (it must not count towards lockout).
    LmRefused,
    /// The NTProofStr is right and the LMv2 response beside it is not: not a bad password.
    LmV2,
}

/// Why [`verify_password`] refused.
#[derive(Debug)]
enum PasswordRefusal {
    /// Refused whatever the password (unknown user, disabled, locked out).
    Blocked(Refusal),
    /// One of the two previous passwords (1 or 2 generations old).
    Stale(usize),
    /// The current password's check said so.
    Mismatch(Mismatch),
}

/// Hashes no password has, drawn at random once per process: the stand-ins that give an
/// unknown user, an account without an LM hash or with fewer than two previous passwords
/// the same work as any other. Being secret, no client can build a response that matches
/// them.
struct StandIns {
    nt: NtHash,
    lm: crate::secret::LmHash,
}

fn stand_ins() -> &'static StandIns {
    static STAND_INS: std::sync::OnceLock<StandIns> = std::sync::OnceLock::new();
    STAND_INS.get_or_init(|| StandIns {
        nt: NtHash::from_bytes(crypto::random_bytes()),
        lm: crate::secret::LmHash::from_bytes(crypto::random_bytes()),
    })
}

/// Checks the response against the account's current password and, unless it matched on an
/// account that may log on, against its two previous ones; then applies `blocked`.
///
/// Every refusal for one response shape costs the same: the current password (or a
/// stand-in for an unknown user), its LM hash (or a stand-in) and both history slots (a
/// stand-in for an empty one), each tried with every domain variant, whether the user is
/// unknown, disabled, locked out, has a password history or not, and whether the password
/// was right on a blocked account (otherwise timing would tell a guesser the password of a
/// locked-out account). Only a right password on an account that may log on skips the
/// history: a refusal after it (MIC, channel bindings, LMv2 mismatch...) is faster than a
/// wrong password's, but reaching it takes the right password, and every wrong guess
/// before it was counted towards lockout.
fn verify_password(
    record: Option<&crate::store::UserRecord>,
    blocked: Option<Refusal>,
    check: impl Fn(
        &NtHash,
        Option<&crate::secret::LmHash>,
        bool,
    ) -> Result<(SessionKey, Verify), Mismatch>,
) -> Result<(SessionKey, Verify), PasswordRefusal> {
    let stand_in = stand_ins();
    let (nt, lm) = match record {
        Some(r) => (&r.nt_hash, r.lm_hash.as_ref()),
        None => (&stand_in.nt, None),
    };
    let history = |i: usize| record.and_then(|r| r.previous_nt_hashes.get(i));
    // Exhaustive (no early exit on a matching domain variant) unless a match ends here.
    let current = check(nt, lm, blocked.is_some());
    if blocked.is_none() && !matches!(current, Err(Mismatch::NoMatch)) {
        return current.map_err(PasswordRefusal::Mismatch);
    }
    // Both slots, always: anything but "no match" (a right NTProofStr beside a wrong LMv2
    // too) is an old password.
    let previous = [0, 1].map(|i| {
        let result = check(history(i).unwrap_or(&stand_in.nt), None, true);
        history(i).is_some() && !matches!(result, Err(Mismatch::NoMatch))
    });
    if let Some(refusal) = blocked {
        return Err(PasswordRefusal::Blocked(refusal));
    }
    match previous.iter().position(|stale| *stale) {
        Some(i) => Err(PasswordRefusal::Stale(i + 1)),
        None => Err(PasswordRefusal::Mismatch(Mismatch::NoMatch)),
    }
}

/// Verifies the response `verify` names against one NT (and LM) hash: the session base key
/// and the response kind that matched (an LM field alone may turn out to be LM or LMv2).
#[allow(clippy::too_many_arguments)]
fn check_response(
    verify: Verify,
    auth: &AuthenticateMessage<'_>,
    v2: Option<&NtlmV2Response<'_>>,
    nt_hash: &NtHash,
    lm_hash: Option<&crate::secret::LmHash>,
    user: &str,
    domain: &str,
    server_challenge: &[u8; 8],
    policy: &ServerPolicy,
    exhaustive: bool,
) -> Result<(SessionKey, Verify), Mismatch> {
    let lm_field = auth.lm_challenge_response;
    let nt_field = auth.nt_challenge_response;
    let matched = |ok: bool, key: SessionKey| {
        if ok {
            Ok((key, verify))
        } else {
            Err(Mismatch::NoMatch)
        }
    };
    match verify {
        Verify::NtlmV2 => {
            let response = v2.ok_or(Mismatch::NoMatch)?;
            let check_lmv2 =
                policy.verify_lmv2_with_ntlmv2 && lm_field.len() == 24 && lm_field != [0u8; 24];
            // The NT hash's HMAC key schedule and the uppercased user once for every
            // domain variant.
            let keyed_user = crypto::NtowfV2User::new(nt_hash, user);
            with_domain_variants(domain, exhaustive, |d| {
                let key = ResponseKeyV2::new(&keyed_user.domain(d));
                let proof = key.nt_proof_str(server_challenge, response.blob);
                if !bool::from(proof.ct_eq(&response.nt_proof_str)) {
                    return None;
                }
                if check_lmv2 {
                    let lmv2 =
                        lm_tail(lm_field).map(|cc| key.lm_v2_response(server_challenge, &cc));
                    if !lmv2.is_some_and(|r| bool::from(r.ct_eq(lm_field))) {
                        return Some(Err(Mismatch::LmV2));
                    }
                }
                Some(Ok((key.session_base_key(&proof), verify)))
            })
            .unwrap_or(Err(Mismatch::NoMatch))
        }
        Verify::Ess => {
            let cc = lm_head(lm_field).ok_or(Mismatch::NoMatch)?;
            let expected = crypto::ess_nt_response(nt_hash, server_challenge, &cc);
            matched(
                bool::from(expected.ct_eq(nt_field)),
                crypto::ntlm_v1_session_base_key(nt_hash),
            )
        }
        Verify::NtlmV1 => {
            let expected = crypto::ntlm_v1_response(nt_hash, server_challenge);
            matched(
                bool::from(expected.ct_eq(nt_field)),
                crypto::ntlm_v1_session_base_key(nt_hash),
            )
        }
        Verify::LmV2Only | Verify::LmOnly => {
            if policy.accept_lmv2_only {
                let cc = lm_tail(lm_field).ok_or(Mismatch::NoMatch)?;
                let proof: [u8; 16] = lm_field
                    .get(..16)
                    .and_then(|p| p.try_into().ok())
                    .ok_or(Mismatch::NoMatch)?;
                let keyed_user = crypto::NtowfV2User::new(nt_hash, user);
                let found = with_domain_variants(domain, exhaustive, |d| {
                    let key = ResponseKeyV2::new(&keyed_user.domain(d));
                    let expected = key.lm_v2_response(server_challenge, &cc);
                    bool::from(expected.ct_eq(lm_field)).then(|| key.session_base_key(&proof))
                });
                if let Some(key) = found {
                    return Ok((key, Verify::LmV2Only));
                }
            }
            // Without an LM hash, a stand-in costs the same and matches nothing.
            let expected =
                crypto::lm_v1_response(lm_hash.unwrap_or(&stand_ins().lm), server_challenge);
            if lm_hash.is_none() || !bool::from(expected.ct_eq(lm_field)) {
                return Err(Mismatch::NoMatch);
            }
            if policy.accept_lm {
                Ok((crypto::ntlm_v1_session_base_key(nt_hash), Verify::LmOnly))
            } else {
                Err(Mismatch::LmRefused)
            }
        }
        Verify::Anonymous => Err(Mismatch::NoMatch),
    }
}

/// The first 8 bytes of the LM field (the client challenge under ESS).
fn lm_head(lm_field: &[u8]) -> Option<[u8; 8]> {
    lm_field.get(..8)?.try_into().ok()
}

/// The last 8 bytes of a 24-byte LM field (the LMv2 client challenge).
fn lm_tail(lm_field: &[u8]) -> Option<[u8; 8]> {
    lm_field.get(16..24)?.try_into().ok()
}
