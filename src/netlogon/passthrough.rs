//! The pass-through interface a verifying server uses (MS-APDS §3.1.5.2): what it hands
//! to the DC ([`NetworkLogonRequest`]), what it gets back ([`Validation`]) or why not
//! ([`PassThroughError`]).

use core::fmt;

use zeroize::Zeroizing;

use super::channel::RpcError;
use super::credential::ChannelKey;
use super::logon::{parameter_control, GroupMembership, NetworkInfo, SamInfo, Sid};
use super::ndr::utf16_lossy;
use super::secure_channel::SetupError;
use super::status::LogonRefusal;
use crate::secret::SessionKey;

/// A network logon as a server received it: the challenge it sent and the client's
/// AUTHENTICATE fields exactly as received.
#[derive(Clone, PartialEq, Eq)]
pub struct NetworkLogonRequest {
    /// The server challenge of our CHALLENGE message (for NTLMv1-ESS, the challenge
    /// [`Self::with_ess_challenge`] mixes from it).
    pub server_challenge: [u8; 8],
    /// LmChallengeResponse as received.
    pub lm_response: Vec<u8>,
    /// NtChallengeResponse as received.
    pub nt_response: Vec<u8>,
    /// UserName as received.
    pub user: String,
    /// DomainName as received.
    pub domain: String,
    /// Workstation as received.
    pub workstation: String,
    /// ParameterControl; [`parameter_control::DEFAULT`] unless the server says otherwise.
    pub parameter_control: u32,
}

impl fmt::Debug for NetworkLogonRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NetworkLogonRequest")
            .field("user", &self.user)
            .field("domain", &self.domain)
            .field("workstation", &self.workstation)
            .field("lm_response_len", &self.lm_response.len())
            .field("nt_response_len", &self.nt_response.len())
            .finish_non_exhaustive()
    }
}

impl NetworkLogonRequest {
    /// A request with the default ParameterControl.
    pub fn new(
        server_challenge: [u8; 8],
        lm_response: &[u8],
        nt_response: &[u8],
        user: &str,
        domain: &str,
        workstation: &str,
    ) -> Self {
        Self {
            server_challenge,
            lm_response: lm_response.to_vec(),
            nt_response: nt_response.to_vec(),
            user: user.to_string(),
            domain: domain.to_string(),
            workstation: workstation.to_string(),
            parameter_control: parameter_control::DEFAULT,
        }
    }

    /// The request for an NTLMv1 response with extended session security: its challenge
    /// becomes `MD5(ServerChallenge ‖ ClientChallenge)[0..8]` (MS-NLMP §3.3.1), the one the
    /// NT response was computed over, with the client challenge taken from the first 8
    /// bytes of the LM field. A DC verifies what it gets as plain NTLMv1 (a Samba AD DC
    /// does not mix the challenge itself; Samba's own NTLMSSP server mixes it before its
    /// pass-through in the same way); the session base key it returns, MD4(NTOWFv1), does
    /// not depend on the challenge. Unchanged when the LM field is shorter than 8 bytes.
    pub fn with_ess_challenge(mut self) -> Self {
        use md5::{Digest, Md5};
        if let Some(client_challenge) = self.lm_response.get(..8) {
            let mut md5 = Md5::new();
            md5.update(self.server_challenge);
            md5.update(client_challenge);
            self.server_challenge.copy_from_slice(&md5.finalize()[..8]);
        }
        self
    }

    /// The NDR view of the request.
    pub fn info(&self) -> NetworkInfo<'_> {
        NetworkInfo {
            domain: &self.domain,
            parameter_control: self.parameter_control,
            logon_id: 0,
            user: &self.user,
            workstation: &self.workstation,
            challenge: self.server_challenge,
            nt_response: &self.nt_response,
            lm_response: &self.lm_response,
        }
    }
}

/// What the DC says about a user it accepted (NETLOGON_VALIDATION_SAM_INFO).
#[derive(Clone)]
#[non_exhaustive]
pub struct Validation {
    /// UserSessionKey: the session base key of the NTLM response (MS-NLMP §3.3.1,
    /// §3.3.2), from which the server derives KXKEY and the rest.
    pub user_session_key: SessionKey,
    /// The LM session key (the first 8 bytes of ExpansionRoom), for NTLMv1 key exchange.
    pub lm_key: Zeroizing<[u8; 8]>,
    /// EffectiveName: the account name as the DC spells it.
    pub account: String,
    /// LogonDomainName.
    pub domain: String,
    /// LogonServer: the DC that verified.
    pub logon_server: String,
    /// UserId (RID).
    pub user_rid: u32,
    /// PrimaryGroupId (RID).
    pub primary_group_rid: u32,
    /// GroupIds.
    pub groups: Vec<GroupMembership>,
    /// LogonDomainId.
    pub domain_sid: Option<Sid>,
    /// UserFlags.
    pub user_flags: u32,
    /// BadPasswordCount (before this logon reset it).
    pub bad_password_count: u16,
}

impl fmt::Debug for Validation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Validation")
            .field("account", &self.account)
            .field("domain", &self.domain)
            .field("user_rid", &self.user_rid)
            .field("groups", &self.groups.len())
            .field(
                "domain_sid",
                &self.domain_sid.as_ref().map(ToString::to_string),
            )
            .finish_non_exhaustive()
    }
}

impl Validation {
    /// A validation for `account` in `domain` with the DC's UserSessionKey and LM key; the
    /// other fields empty or zero (set them as the DC reported). For a verifier that is not
    /// a NETLOGON DC, or a test's fake DC.
    pub fn new(
        user_session_key: SessionKey,
        lm_key: [u8; 8],
        account: impl Into<String>,
        domain: impl Into<String>,
    ) -> Self {
        Self {
            user_session_key,
            lm_key: Zeroizing::new(lm_key),
            account: account.into(),
            domain: domain.into(),
            logon_server: String::new(),
            user_rid: 0,
            primary_group_rid: 0,
            groups: Vec::new(),
            domain_sid: None,
            user_flags: 0,
            bad_password_count: 0,
        }
    }

    /// The validation from a decoded SAM_INFO, its keys decrypted with the secure
    /// channel's session key (the DC encrypts them, MS-NRPC §3.2.4.1).
    pub fn from_sam_info(v: &SamInfo<'_>, key: &ChannelKey) -> Self {
        let mut lm = Zeroizing::new([0u8; 8]);
        lm.copy_from_slice(&v.expansion[..8]);
        key.decrypt(&mut lm[..]);
        let mut user = Zeroizing::new(v.user_session_key);
        key.decrypt(&mut user[..]);
        Self {
            user_session_key: SessionKey::from_bytes(*user),
            lm_key: lm,
            account: utf16_lossy(v.strings[0]),
            domain: utf16_lossy(v.logon_domain),
            logon_server: utf16_lossy(v.logon_server),
            user_rid: v.user_id,
            primary_group_rid: v.primary_group_id,
            groups: v.groups.clone(),
            domain_sid: v.domain_sid.clone(),
            user_flags: v.user_flags,
            bad_password_count: v.bad_password_count,
        }
    }

    /// The user's SID: the domain SID and the RID (`S-1-5-21-…-1103`).
    pub fn user_sid(&self) -> Option<String> {
        self.domain_sid
            .as_ref()
            .map(|s| format!("{s}-{}", self.user_rid))
    }
}

/// Why the DC could not be used: the logon is neither accepted nor refused.
#[derive(Debug)]
#[non_exhaustive]
pub enum Unavailable {
    /// No DC configured.
    NoDc,
    /// Connecting, reading or writing failed.
    Io(std::io::Error),
    /// A step did not finish in time.
    Timeout(&'static str),
    /// The endpoint mapper does not know NETLOGON over TCP.
    NotRegistered,
    /// The RPC layer failed (bind refused, fault, malformed or badly sealed reply).
    Rpc(RpcError),
    /// The secure channel could not be set up (machine account, flags).
    Setup(SetupError),
    /// The DC's logon status says the secure channel is no longer valid.
    ChannelStatus(u32),
    /// The DC's logon status says it could not process the request as sent
    /// (STATUS_INVALID_INFO_CLASS, STATUS_NOT_SUPPORTED); the channel is kept.
    RequestNotUnderstood(u32),
    /// The logon request could not be encoded (oversized names or responses).
    Request(super::logon::RequestError),
}

impl fmt::Display for Unavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoDc => f.write_str("no domain controller configured"),
            Self::Io(e) => write!(f, "I/O: {e}"),
            Self::Timeout(step) => write!(f, "timed out: {step}"),
            Self::NotRegistered => {
                f.write_str("NETLOGON is not registered with the endpoint mapper")
            }
            Self::Rpc(e) => write!(f, "RPC: {e}"),
            Self::Setup(e) => write!(f, "secure channel: {e}"),
            Self::ChannelStatus(s) => {
                write!(f, "the DC refused the secure channel: NTSTATUS {s:#010x}")
            }
            Self::RequestNotUnderstood(s) => write!(
                f,
                "the DC could not process the logon request as sent (NTSTATUS {s:#010x}): \
                 a logon or validation level it does not take; report it with the DC's version"
            ),
            Self::Request(e) => write!(f, "request: {e}"),
        }
    }
}

impl std::error::Error for Unavailable {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io(e) => Some(e),
            Self::Rpc(e) => Some(e),
            Self::Setup(e) => Some(e),
            Self::Request(e) => Some(e),
            _ => None,
        }
    }
}

/// The outcome of a pass-through logon that is not an acceptance.
#[derive(Debug)]
#[non_exhaustive]
pub enum PassThroughError {
    /// The DC refused the logon, by rule: a bad password, a disabled account, ...
    Refused(LogonRefusal),
    /// No DC could be asked: `BH` from a Squid helper, 503 from an HTTP server; never a
    /// bad password. `dc` names the last DC tried.
    Unavailable {
        /// The DC (host:port) whose failure is reported.
        dc: String,
        /// What failed.
        reason: Unavailable,
    },
}

impl PassThroughError {
    /// True for [`PassThroughError::Unavailable`].
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Unavailable { .. })
    }
}

impl fmt::Display for PassThroughError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Refused(r) => write!(f, "logon refused by the DC: {r}"),
            Self::Unavailable { dc, reason } => write!(f, "DC unavailable ({dc}): {reason}"),
        }
    }
}

impl std::error::Error for PassThroughError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Refused(_) => None,
            Self::Unavailable { reason, .. } => Some(reason),
        }
    }
}
