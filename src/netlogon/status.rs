//! What a DC's NTSTATUS for a network logon means (MS-ERREF §2.3.1, MS-APDS §3.1.5):
//! every status a DC returns for NetrLogonSamLogonEx becomes a [`LogonRefusal`] rule, or
//! says that the secure channel itself failed ([`is_channel_failure`]) or that the DC did
//! not understand the request ([`is_request_not_understood`]).

use core::fmt;

/// STATUS_SUCCESS.
pub const STATUS_SUCCESS: u32 = 0;

/// A logon the DC refused, by rule. The peer only learns "logon failure"; this is for
/// logs and for the administrator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LogonRefusal {
    /// STATUS_WRONG_PASSWORD (0xC000006A): the response does not match the password.
    WrongPassword,
    /// STATUS_NO_SUCH_USER (0xC0000064).
    NoSuchUser,
    /// STATUS_LOGON_FAILURE (0xC000006D): refused without a reason (Samba and Windows
    /// return it for unknown users and bad passwords alike in some configurations).
    LogonFailure,
    /// STATUS_ACCOUNT_LOCKED_OUT (0xC0000234).
    LockedOut,
    /// STATUS_ACCOUNT_DISABLED (0xC0000072).
    Disabled,
    /// STATUS_ACCOUNT_EXPIRED (0xC0000193).
    AccountExpired,
    /// STATUS_PASSWORD_EXPIRED (0xC0000071).
    PasswordExpired,
    /// STATUS_PASSWORD_MUST_CHANGE (0xC0000224).
    PasswordMustChange,
    /// STATUS_INVALID_LOGON_HOURS (0xC000006F).
    LogonHours,
    /// STATUS_INVALID_WORKSTATION (0xC0000070).
    Workstation,
    /// STATUS_ACCOUNT_RESTRICTION (0xC000006E): e.g. a blank password refused.
    AccountRestriction,
    /// STATUS_LOGON_TYPE_NOT_GRANTED (0xC000015B).
    LogonTypeNotGranted,
    /// STATUS_NOLOGON_WORKSTATION_TRUST_ACCOUNT (0xC0000199), _SERVER_ (0xC000019A),
    /// _INTERDOMAIN_ (0xC0000198): a machine or trust account may not log on this way.
    TrustAccount,
    /// STATUS_NO_SUCH_DOMAIN (0xC00000DF) or STATUS_NO_TRUST_SAM_ACCOUNT (0xC000018B)
    /// for a user's domain: the DC cannot route the logon.
    NoSuchDomain,
    /// STATUS_SMARTCARD_LOGON_REQUIRED (0xC000033E), STATUS_AUTHENTICATION_FIREWALL_FAILED
    /// (0xC0000413), STATUS_NTLM_BLOCKED (0xC0000418), STATUS_ACCOUNT_RESTRICTION-like
    /// policy refusals: NTLM is not allowed for this account or from this server.
    NtlmRefusedByPolicy,
    /// STATUS_INVALID_PARAMETER (0xC000000D): the DC refused the request as malformed
    /// (for example a response of an unsupported kind: LM or NTLMv1 where the DC has
    /// `ntlm auth = ntlmv2-only` reports WRONG_PASSWORD, not this).
    InvalidParameter,
    /// Any other status, with its code.
    Other(u32),
}

impl LogonRefusal {
    /// The refusal for a DC's status, or `None` for STATUS_SUCCESS.
    pub fn from_status(status: u32) -> Option<Self> {
        Some(match status {
            STATUS_SUCCESS => return None,
            0xC000_006A => Self::WrongPassword,
            0xC000_0064 => Self::NoSuchUser,
            0xC000_006D => Self::LogonFailure,
            0xC000_0234 => Self::LockedOut,
            0xC000_0072 => Self::Disabled,
            0xC000_0193 => Self::AccountExpired,
            0xC000_0071 => Self::PasswordExpired,
            0xC000_0224 => Self::PasswordMustChange,
            0xC000_006F => Self::LogonHours,
            0xC000_0070 => Self::Workstation,
            0xC000_006E => Self::AccountRestriction,
            0xC000_015B => Self::LogonTypeNotGranted,
            0xC000_0198..=0xC000_019A => Self::TrustAccount,
            0xC000_00DF | 0xC000_018B => Self::NoSuchDomain,
            0xC000_033E | 0xC000_0413 | 0xC000_0418 => Self::NtlmRefusedByPolicy,
            0xC000_000D => Self::InvalidParameter,
            other => Self::Other(other),
        })
    }

    /// A short rule name for logs ("wrong password", "account disabled", ...).
    pub fn rule(&self) -> &'static str {
        match self {
            Self::WrongPassword => "wrong password",
            Self::NoSuchUser => "no such user",
            Self::LogonFailure => "logon failure",
            Self::LockedOut => "account locked out",
            Self::Disabled => "account disabled",
            Self::AccountExpired => "account expired",
            Self::PasswordExpired => "password expired",
            Self::PasswordMustChange => "password must change",
            Self::LogonHours => "outside logon hours",
            Self::Workstation => "workstation not allowed",
            Self::AccountRestriction => "account restriction",
            Self::LogonTypeNotGranted => "logon type not granted",
            Self::TrustAccount => "trust account may not log on",
            Self::NoSuchDomain => "no such domain",
            Self::NtlmRefusedByPolicy => "NTLM refused by policy",
            Self::InvalidParameter => "invalid parameter",
            Self::Other(_) => "refused by the DC",
        }
    }

    /// The NTSTATUS this refusal stands for (the first of a group).
    pub fn status(&self) -> u32 {
        match self {
            Self::WrongPassword => 0xC000_006A,
            Self::NoSuchUser => 0xC000_0064,
            Self::LogonFailure => 0xC000_006D,
            Self::LockedOut => 0xC000_0234,
            Self::Disabled => 0xC000_0072,
            Self::AccountExpired => 0xC000_0193,
            Self::PasswordExpired => 0xC000_0071,
            Self::PasswordMustChange => 0xC000_0224,
            Self::LogonHours => 0xC000_006F,
            Self::Workstation => 0xC000_0070,
            Self::AccountRestriction => 0xC000_006E,
            Self::LogonTypeNotGranted => 0xC000_015B,
            Self::TrustAccount => 0xC000_0199,
            Self::NoSuchDomain => 0xC000_00DF,
            Self::NtlmRefusedByPolicy => 0xC000_0418,
            Self::InvalidParameter => 0xC000_000D,
            Self::Other(s) => *s,
        }
    }
}

impl fmt::Display for LogonRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Other(s) => write!(f, "refused by the DC (NTSTATUS {s:#010x})"),
            r => write!(f, "{} (NTSTATUS {:#010x})", r.rule(), r.status()),
        }
    }
}

impl std::error::Error for LogonRefusal {}

/// True for statuses of NetrLogonSamLogonEx that say the secure channel, not the user, is
/// at fault: STATUS_ACCESS_DENIED (0xC0000022, the DC no longer knows the channel),
/// STATUS_NO_LOGON_SERVERS (0xC000005E), STATUS_TRUSTED_RELATIONSHIP_FAILURE (0xC000018D),
/// STATUS_TRUSTED_DOMAIN_FAILURE (0xC000018C), STATUS_INTERNAL_ERROR (0xC00000E5),
/// RPC_NT_* (0xC002xxxx). The client reconnects and retries once on these.
pub fn is_channel_failure(status: u32) -> bool {
    matches!(
        status,
        0xC000_0022 | 0xC000_005E | 0xC000_018C | 0xC000_018D | 0xC000_00E5
    ) || status & 0xFFFF_0000 == 0xC002_0000
}

/// True for statuses that say the DC could not process the request as it was sent, neither
/// the user nor the channel being at fault: STATUS_INVALID_INFO_CLASS (0xC0000003: a logon
/// or validation level it does not take, or fields it read misaligned) and
/// STATUS_NOT_SUPPORTED (0xC00000BB). Not retried: a new channel gets the same answer. The
/// logon is neither accepted nor refused (a DC that cannot be used); the status points at
/// this library or at the DC's version, not at the network.
pub fn is_request_not_understood(status: u32) -> bool {
    matches!(status, 0xC000_0003 | 0xC000_00BB)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_rules_and_back() {
        assert_eq!(LogonRefusal::from_status(0), None);
        for s in [
            0xC000_006A,
            0xC000_0064,
            0xC000_006D,
            0xC000_0234,
            0xC000_0072,
            0xC000_0193,
            0xC000_0071,
            0xC000_0224,
            0xC000_006F,
            0xC000_0070,
            0xC000_006E,
            0xC000_015B,
            0xC000_0199,
            0xC000_00DF,
            0xC000_0418,
            0xC000_000D,
            0xC000_9999,
        ] {
            let r = LogonRefusal::from_status(s).unwrap();
            assert_eq!(r.status(), s, "{r}");
        }
        assert_eq!(
            LogonRefusal::from_status(0xC000_9999).unwrap().to_string(),
            "refused by the DC (NTSTATUS 0xc0009999)"
        );
        assert_eq!(
            LogonRefusal::WrongPassword.to_string(),
            "wrong password (NTSTATUS 0xc000006a)"
        );
        assert!(is_channel_failure(0xC000_0022) && !is_channel_failure(0xC000_006A));
        for s in [0xC000_0003, 0xC000_00BB] {
            assert!(is_request_not_understood(s) && !is_channel_failure(s));
            assert_eq!(LogonRefusal::from_status(s), Some(LogonRefusal::Other(s)));
        }
    }
}
