//! Why a server refused: [`ServerError`] before the CHALLENGE, [`Refusal`] (with
//! [`MicFailure`] and [`ChannelBindingFailure`]) for an AUTHENTICATE, each with its rule.

use core::fmt;
use std::time::{Duration, SystemTime};

use crate::error::DecodeError;
use crate::filetime;
use crate::policy::PolicyRefusal;

/// Why a server context could not produce a CHALLENGE.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
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

impl std::error::Error for ServerError {
    /// The error this one wraps, when it wraps one.
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Malformed(e) => Some(e),
            _ => None,
        }
    }
}

/// How a MIC check failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
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
#[non_exhaustive]
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

impl std::error::Error for Refusal {
    /// The error this one wraps, when it wraps one.
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Malformed(e) => Some(e),
            _ => None,
        }
    }
}
