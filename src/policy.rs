//! LmCompatibilityLevel 0–5 as data: what a client sends, what a server accepts.
//!
//! A [`LmCompatibilityLevel`] maps to a [`ClientPolicy`] (what a Windows client at that level
//! puts in the AUTHENTICATE message) and to a [`ServerPolicy`] (what a domain controller at
//! that level accepts). Both are plain structs with named fields: build one from a level, then
//! adjust any field. The server's decision about *which response kinds* it accepts is made in
//! one place, [`ServerPolicy::judge_responses`], which says why.
//!
//! | level | client sends (no ESS / ESS) | DC accepts |
//! |---|---|---|
//! | 0 | LM + NTLMv1 / — (never asks for ESS) | LM, NTLMv1, NTLMv2 |
//! | 1 | LM + NTLMv1 / ESS | LM, NTLMv1, NTLMv2 |
//! | 2 | NT copy + NTLMv1 / ESS | LM, NTLMv1, NTLMv2 |
//! | 3 | LMv2 (or Z(24)) + NTLMv2 | LM, NTLMv1, NTLMv2 |
//! | 4 | as 3 | NTLMv1, NTLMv2 (LM refused) |
//! | 5 | as 3 | NTLMv2 only |
//!
//! The [`ServerPreset::Symmetric`] preset instead accepts only what a *client* at the same level
//! would send. That is how gss-ntlmssp treats its own level setting on a standalone server;
//! a domain controller is more lenient, which is why levels 0–3 accept everything there.

use core::fmt;
use std::time::Duration;

use crate::classify::{LmKind, NtKind, ResponseKinds};

/// The Windows `LmCompatibilityLevel` registry value (0 to 5), also read by pyspnego and
/// gss-ntlmssp from the `LM_COMPAT_LEVEL` environment variable.
///
/// ```
/// use ntlm::policy::LmCompatibilityLevel;
/// let level = LmCompatibilityLevel::new(3).unwrap();
/// assert_eq!(level.get(), 3);
/// assert!(LmCompatibilityLevel::new(6).is_none());
/// assert_eq!("5".parse::<LmCompatibilityLevel>().unwrap(), LmCompatibilityLevel::L5);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LmCompatibilityLevel(u8);

impl LmCompatibilityLevel {
    /// Level 0: LM and NTLM, never extended session security.
    pub const L0: Self = Self(0);
    /// Level 1: LM and NTLM, extended session security if negotiated.
    pub const L1: Self = Self(1);
    /// Level 2: NTLM only (LM field carries a copy), ESS if negotiated.
    pub const L2: Self = Self(2);
    /// Level 3: NTLMv2 only (the Windows default since Vista).
    pub const L3: Self = Self(3);
    /// Level 4: clients as 3; domain controllers refuse LM.
    pub const L4: Self = Self(4);
    /// Level 5: clients as 3; domain controllers refuse LM and NTLMv1.
    pub const L5: Self = Self(5);
    /// All six levels, in order.
    pub const ALL: [Self; 6] = [Self::L0, Self::L1, Self::L2, Self::L3, Self::L4, Self::L5];

    /// A level from 0 to 5; `None` otherwise.
    pub const fn new(level: u8) -> Option<Self> {
        if level <= 5 {
            Some(Self(level))
        } else {
            None
        }
    }

    /// The number, 0 to 5.
    pub const fn get(self) -> u8 {
        self.0
    }
}

impl fmt::Display for LmCompatibilityLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A string that is not a level from 0 to 5.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct BadLevel(pub String);

impl fmt::Display for BadLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LmCompatibilityLevel must be 0 to 5, not {:?}", self.0)
    }
}

impl std::error::Error for BadLevel {}

impl core::str::FromStr for LmCompatibilityLevel {
    type Err = BadLevel;
    fn from_str(s: &str) -> Result<Self, BadLevel> {
        s.trim()
            .parse::<u8>()
            .ok()
            .and_then(Self::new)
            .ok_or_else(|| BadLevel(s.to_string()))
    }
}

/// What goes in the LmChallengeResponse field when NTLMv1 is used without ESS.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum V1LmField {
    /// The LM response, DESL(LMOWFv1, challenge) (levels 0 and 1).
    LmResponse,
    /// A copy of the NTLMv1 response (level 2; MS-NLMP §3.3.1 `NoLMResponseNTLMv1`).
    CopyOfNt,
}

/// What a client sends, MS-NLMP §3.1.5.1.2 with the level's choices made.
///
/// ```
/// use ntlm::policy::{ClientPolicy, LmCompatibilityLevel, V1LmField};
/// let p = ClientPolicy::from_level(LmCompatibilityLevel::L2);
/// assert!(!p.ntlmv2 && p.request_ess);
/// assert_eq!(p.v1_lm_field, V1LmField::CopyOfNt);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientPolicy {
    /// The level this policy was built from (informational once fields are changed).
    pub level: LmCompatibilityLevel,
    /// Send NTLMv2 (levels 3–5). When true the client never falls back to LM or NTLMv1,
    /// whatever the CHALLENGE says.
    pub ntlmv2: bool,
    /// Ask for NTLMv1 extended session security in NEGOTIATE and use it when the server
    /// agrees (levels 1–5).
    pub request_ess: bool,
    /// LM field for plain NTLMv1 (levels 0–2).
    pub v1_lm_field: V1LmField,
    /// With NTLMv2: send LMv2 in the LM field (replaced by Z(24) when the CHALLENGE carries
    /// MsvAvTimestamp, MS-NLMP §3.1.5.1.2).
    pub lmv2: bool,
    /// With NTLMv2 and a server timestamp: set MsvAvFlags 0x2 and send a MIC.
    pub mic_with_timestamp: bool,
    /// Send an NT response (true at every level). `false` models a legacy client that
    /// sends only the LM field (Windows 9x without the directory services client): the LM
    /// response, or LMv2 when `ntlmv2` is set. This is what level 4 servers refuse.
    pub send_nt_response: bool,
    /// Request 128-bit keys.
    pub request_128: bool,
    /// Request 56-bit keys.
    pub request_56: bool,
    /// Request key exchange (an EncryptedRandomSessionKey).
    pub key_exchange: bool,
    /// Request signing.
    pub sign: bool,
    /// Request sealing.
    pub seal: bool,
    /// Flags the client will not do without (MS-NLMP §3.1.1.1 `ClientRequire128bitEncryption`
    /// generalised): a CHALLENGE that does not grant all of them is refused, so that a
    /// man in the middle cannot strip 128-bit keys, sealing or ESS. Empty by default.
    pub required: crate::wire::NegotiateFlags,
}

impl ClientPolicy {
    /// The policy a Windows client at `level` follows.
    pub fn from_level(level: LmCompatibilityLevel) -> Self {
        let n = level.get();
        Self {
            level,
            ntlmv2: n >= 3,
            request_ess: n >= 1,
            v1_lm_field: if n >= 2 {
                V1LmField::CopyOfNt
            } else {
                V1LmField::LmResponse
            },
            lmv2: true,
            mic_with_timestamp: true,
            send_nt_response: true,
            request_128: true,
            request_56: true,
            key_exchange: true,
            sign: true,
            seal: true,
            required: crate::wire::NegotiateFlags::EMPTY,
        }
    }
}

/// Which presets a [`ServerPolicy`] can start from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServerPreset {
    /// Domain-controller semantics of LmCompatibilityLevel: 0–3 accept LM, NTLMv1 and
    /// NTLMv2; 4 refuses LM; 5 refuses LM and NTLMv1.
    DomainController,
    /// Accept only what a client at the same level would send (gss-ntlmssp's reading for a
    /// standalone server): 0–1 LM, NTLMv1 (and ESS at 1), 2 NTLMv1 and ESS but no LM,
    /// 3–5 NTLMv2 only (with or without LMv2 beside it; LMv2 alone is refused).
    Symmetric,
}

/// How channel bindings (MsvAvChannelBindings, MS-NLMP §2.2.2.1) are checked: Windows'
/// "Extended Protection for Authentication" settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChannelBindingPolicy {
    /// Not checked.
    Never,
    /// Checked when the client sends a non-zero value; absent or all-zero is accepted. A
    /// non-zero value on a connection for which the server has no bindings (plain HTTP, or
    /// TLS terminated before the server) is refused as a mismatch: the client bound the
    /// logon to a channel that is not this one.
    WhenSupported,
    /// The client must send the expected value.
    Required,
}

/// What a server accepts, MS-NLMP §3.2.5.1.2 with the level's choices made.
///
/// ```
/// use ntlm::policy::{ServerPolicy, LmCompatibilityLevel, ChannelBindingPolicy};
/// let mut p = ServerPolicy::domain_controller(LmCompatibilityLevel::L5);
/// assert!(!p.accept_ntlmv1 && p.accept_ntlmv2);
/// p.require_mic = true;
/// p.channel_bindings = ChannelBindingPolicy::Required;
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerPolicy {
    /// The level this policy was built from.
    pub level: LmCompatibilityLevel,
    /// The preset it was built from.
    pub preset: ServerPreset,
    /// Accept the LM response (DESL of the LM hash), and LM_KEY session keys.
    pub accept_lm: bool,
    /// Accept NTLMv1 responses without ESS.
    pub accept_ntlmv1: bool,
    /// Accept the NTLMv1 extended-session-security ("NTLM2 session") response.
    pub accept_ess: bool,
    /// Accept NTLMv2.
    pub accept_ntlmv2: bool,
    /// Accept an LMv2 response on its own (no NT response). It carries no target info, so no
    /// MIC, channel bindings or target name: the server refuses it whenever it checks target
    /// names or has channel bindings to check.
    pub accept_lmv2_only: bool,
    /// Also verify an LMv2 sent beside a valid NTLMv2 (Windows does not).
    pub verify_lmv2_with_ntlmv2: bool,
    /// Refuse an AUTHENTICATE without a valid MIC. A MIC announced in MsvAvFlags is always
    /// verified whatever this says.
    pub require_mic: bool,
    /// How channel bindings are checked.
    pub channel_bindings: ChannelBindingPolicy,
    /// SPNs accepted in MsvAvTargetName, compared case-insensitively; empty: not checked.
    pub target_names: Vec<String>,
    /// Refuse an NTLMv2 logon that carries no MsvAvTargetName while `target_names` is set.
    pub require_target_name: bool,
    /// Accept anonymous logons (MS-NLMP §3.2.5.1.2, empty user and NT response). They carry
    /// no MIC, channel bindings or target name, so `require_mic`, required channel bindings
    /// and `require_target_name` refuse them.
    pub allow_anonymous: bool,
    /// Offer extended session security in the CHALLENGE when the client asks for it.
    pub offer_ess: bool,
    /// Put MsvAvTimestamp in the CHALLENGE's target info (Windows does since Vista).
    pub send_timestamp: bool,
    /// Largest accepted difference between the NTLMv2 timestamp and the server's clock
    /// (MS-NLMP `MaxLifetime`, 36 hours on Windows).
    pub clock_skew: Duration,
    /// How long an issued challenge stays valid.
    pub challenge_lifetime: Duration,
    /// Audit mode (Windows' "Restrict NTLM: Audit"): the level whose response-kind rules
    /// (same preset) a logon accepted under this policy is also judged by. A logon that level
    /// would refuse is still accepted, and reported (see [`ServerPolicy::audit`]); `None`: no
    /// audit. Administrators set it to the level they plan to raise to, to see who still
    /// sends LM or NTLMv1 first.
    pub audit_level: Option<LmCompatibilityLevel>,
}

impl ServerPolicy {
    /// Domain-controller semantics for `level`.
    pub fn domain_controller(level: LmCompatibilityLevel) -> Self {
        let n = level.get();
        Self {
            level,
            preset: ServerPreset::DomainController,
            accept_lm: n <= 3,
            accept_ntlmv1: n <= 4,
            accept_ess: n <= 4,
            accept_ntlmv2: true,
            // LMv2 alone counts as LM (as gss-ntlmssp counts it): refused from level 4 on.
            accept_lmv2_only: n <= 3,
            verify_lmv2_with_ntlmv2: false,
            require_mic: false,
            channel_bindings: ChannelBindingPolicy::WhenSupported,
            target_names: Vec::new(),
            require_target_name: false,
            allow_anonymous: false,
            offer_ess: true,
            send_timestamp: true,
            clock_skew: Duration::from_secs(36 * 3600),
            challenge_lifetime: Duration::from_secs(300),
            audit_level: None,
        }
    }

    /// Accept only what a client at `level` would send.
    pub fn symmetric(level: LmCompatibilityLevel) -> Self {
        let n = level.get();
        Self {
            preset: ServerPreset::Symmetric,
            accept_lm: n <= 1,
            accept_ntlmv1: n <= 2,
            accept_ess: (1..=2).contains(&n),
            accept_ntlmv2: n >= 3,
            // No client level sends LMv2 without NTLMv2.
            accept_lmv2_only: false,
            // A level-0 client never uses ESS, so a level-0 server does not offer it.
            offer_ess: n >= 1,
            ..Self::domain_controller(level)
        }
    }

    /// Builds from a preset and a level.
    pub fn new(preset: ServerPreset, level: LmCompatibilityLevel) -> Self {
        match preset {
            ServerPreset::DomainController => Self::domain_controller(level),
            ServerPreset::Symmetric => Self::symmetric(level),
        }
    }

    /// The one place that decides which response of an AUTHENTICATE the server will verify,
    /// given what the client sent; or which rule refuses it.
    ///
    /// The NT response is preferred (Windows and Samba verify it first); the LM field is
    /// used only when the NT field carries nothing the policy accepts.
    pub fn judge_responses(&self, kinds: &ResponseKinds) -> Result<Verify, PolicyRefusal> {
        let nt = kinds.nt;
        match nt {
            NtKind::NtlmV2 if self.accept_ntlmv2 => return Ok(Verify::NtlmV2),
            NtKind::Ess if self.accept_ess => return Ok(Verify::Ess),
            NtKind::NtlmV1 if self.accept_ntlmv1 => return Ok(Verify::NtlmV1),
            _ => {}
        }
        match (nt, kinds.lm) {
            (NtKind::Empty, LmKind::LmV1OrV2) => {
                if self.accept_lmv2_only {
                    return Ok(Verify::LmV2Only);
                }
                if self.accept_lm {
                    return Ok(Verify::LmOnly);
                }
            }
            (NtKind::Empty, LmKind::Empty | LmKind::Anonymous) if kinds.anonymous => {
                return if self.allow_anonymous {
                    Ok(Verify::Anonymous)
                } else {
                    Err(PolicyRefusal {
                        refused: RefusedKind::Anonymous,
                        level: self.level,
                        preset: self.preset,
                    })
                };
            }
            _ => {}
        }
        let refused = match nt {
            NtKind::NtlmV2 => RefusedKind::NtlmV2,
            NtKind::Ess => RefusedKind::Ess,
            NtKind::NtlmV1 => RefusedKind::NtlmV1,
            NtKind::Empty if kinds.lm == LmKind::LmV1OrV2 => RefusedKind::Lm,
            NtKind::Empty | NtKind::Other => RefusedKind::NoUsableResponse,
        };
        Err(PolicyRefusal {
            refused,
            level: self.level,
            preset: self.preset,
        })
    }
}

impl ServerPolicy {
    /// The audit verdict on what a client sent in a logon this policy accepted: `Some` with
    /// the rule when the same preset at [`audit_level`](Self::audit_level) would refuse it
    /// ([`judge_responses`](Self::judge_responses) at that level, `allow_anonymous` kept),
    /// `None` when it would be accepted too or no audit level is set. Allocates nothing.
    ///
    /// ```
    /// use ntlm::classify::{LmKind, NtKind, ResponseKinds};
    /// use ntlm::policy::{LmCompatibilityLevel as L, RefusedKind, ServerPolicy};
    /// let mut p = ServerPolicy::domain_controller(L::L2);
    /// p.audit_level = Some(L::L5);
    /// let v1 = ResponseKinds::new(LmKind::CopyOfNt, NtKind::NtlmV1, false);
    /// assert!(p.judge_responses(&v1).is_ok());
    /// let finding = p.audit(&v1).unwrap();
    /// assert_eq!(finding.refused, RefusedKind::NtlmV1);
    /// assert_eq!(finding.to_string(), "NTLMv1 refused by server level 5");
    /// ```
    pub fn audit(&self, kinds: &ResponseKinds) -> Option<PolicyRefusal> {
        let level = self.audit_level?;
        let mut at_audit = Self::new(self.preset, level);
        at_audit.allow_anonymous = self.allow_anonymous;
        at_audit.judge_responses(kinds).err()
    }
}

/// Which response the server verifies, as decided by [`ServerPolicy::judge_responses`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verify {
    /// The NTLMv2 NTProofStr (and, per policy, the LMv2).
    NtlmV2,
    /// The NTLMv1 response with extended session security.
    Ess,
    /// The plain NTLMv1 response (the LM field may be checked as a fallback).
    NtlmV1,
    /// An LM field on its own, tried as LMv2.
    LmV2Only,
    /// An LM field on its own, tried as the LM response.
    LmOnly,
    /// An anonymous logon.
    Anonymous,
}

/// The response kind a policy refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RefusedKind {
    /// An LM response (and nothing better).
    Lm,
    /// NTLMv1.
    NtlmV1,
    /// NTLMv1 with extended session security.
    Ess,
    /// NTLMv2.
    NtlmV2,
    /// An anonymous logon.
    Anonymous,
    /// Neither field carried a response the server knows.
    NoUsableResponse,
}

impl fmt::Display for RefusedKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Lm => "LM",
            Self::NtlmV1 => "NTLMv1",
            Self::Ess => "NTLMv1-ESS",
            Self::NtlmV2 => "NTLMv2",
            Self::Anonymous => "anonymous",
            Self::NoUsableResponse => "no usable response",
        })
    }
}

/// A response kind refused by the server's level.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PolicyRefusal {
    /// What the client sent that was refused.
    pub refused: RefusedKind,
    /// The server's level.
    pub level: LmCompatibilityLevel,
    /// The server's preset.
    pub preset: ServerPreset,
}

impl std::error::Error for PolicyRefusal {}

impl PolicyRefusal {
    /// `refused` by a server at `level` built from `preset`.
    pub const fn new(
        refused: RefusedKind,
        level: LmCompatibilityLevel,
        preset: ServerPreset,
    ) -> Self {
        Self {
            refused,
            level,
            preset,
        }
    }
}

impl fmt::Display for PolicyRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let preset = match self.preset {
            ServerPreset::DomainController => "",
            ServerPreset::Symmetric => " (symmetric)",
        };
        write!(
            f,
            "{} refused by server level {}{}",
            self.refused, self.level, preset
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(lm: LmKind, nt: NtKind) -> ResponseKinds {
        ResponseKinds {
            lm,
            nt,
            anonymous: false,
        }
    }

    #[test]
    fn domain_controller_levels() {
        use NtKind::*;
        for level in LmCompatibilityLevel::ALL {
            let p = ServerPolicy::domain_controller(level);
            let n = level.get();
            let v1 = p.judge_responses(&kinds(LmKind::LmV1OrV2, NtlmV1));
            assert_eq!(v1.is_ok(), n <= 4, "level {n}");
            let ess = p.judge_responses(&kinds(LmKind::EssClientChallenge, Ess));
            assert_eq!(ess.is_ok(), n <= 4, "level {n}");
            let lm_only = ServerPolicy {
                accept_lmv2_only: false,
                ..p.clone()
            }
            .judge_responses(&kinds(LmKind::LmV1OrV2, Empty));
            assert_eq!(lm_only.is_ok(), n <= 3, "level {n}");
            assert_eq!(
                p.judge_responses(&kinds(LmKind::Zero24, NtlmV2)),
                Ok(Verify::NtlmV2)
            );
        }
    }

    #[test]
    fn level_five_names_the_rule() {
        let p = ServerPolicy::domain_controller(LmCompatibilityLevel::L5);
        let err = p
            .judge_responses(&kinds(LmKind::LmV1OrV2, NtKind::NtlmV1))
            .unwrap_err();
        assert_eq!(err.refused, RefusedKind::NtlmV1);
        assert_eq!(err.to_string(), "NTLMv1 refused by server level 5");
    }

    #[test]
    fn symmetric_accepts_only_its_own_kind() {
        let p = ServerPolicy::symmetric(LmCompatibilityLevel::L3);
        assert!(p
            .judge_responses(&kinds(LmKind::LmV1OrV2, NtKind::NtlmV1))
            .is_err());
        let p = ServerPolicy::symmetric(LmCompatibilityLevel::L0);
        assert!(p
            .judge_responses(&kinds(LmKind::Zero24, NtKind::NtlmV2))
            .is_err());
        assert!(p
            .judge_responses(&kinds(LmKind::EssClientChallenge, NtKind::Ess))
            .is_err());
    }

    #[test]
    fn anonymous_needs_permission() {
        let mut p = ServerPolicy::domain_controller(LmCompatibilityLevel::L3);
        let anon = ResponseKinds {
            lm: LmKind::Anonymous,
            nt: NtKind::Empty,
            anonymous: true,
        };
        assert_eq!(
            p.judge_responses(&anon).unwrap_err().refused,
            RefusedKind::Anonymous
        );
        p.allow_anonymous = true;
        assert_eq!(p.judge_responses(&anon), Ok(Verify::Anonymous));
    }

    #[test]
    fn audit_judges_at_the_audit_level() {
        let v1 = kinds(LmKind::LmV1OrV2, NtKind::NtlmV1);
        let v2 = kinds(LmKind::Zero24, NtKind::NtlmV2);
        let lm = kinds(LmKind::LmV1OrV2, NtKind::Empty);
        let mut p = ServerPolicy::domain_controller(LmCompatibilityLevel::L2);
        assert_eq!(p.audit(&v1), None, "no audit level: no finding");
        p.audit_level = Some(LmCompatibilityLevel::L5);
        assert_eq!(p.judge_responses(&v1), Ok(Verify::NtlmV1));
        let finding = p.audit(&v1).unwrap();
        assert_eq!(
            (finding.refused, finding.level),
            (RefusedKind::NtlmV1, LmCompatibilityLevel::L5)
        );
        assert_eq!(p.audit(&v2), None);
        assert_eq!(p.audit(&lm).unwrap().refused, RefusedKind::Lm);
        p.audit_level = Some(LmCompatibilityLevel::L4);
        assert_eq!(p.audit(&v1), None, "level 4 still accepts NTLMv1");
        assert_eq!(p.audit(&lm).unwrap().refused, RefusedKind::Lm);
        // The preset is kept: symmetric level 3 refuses NTLMv1-ESS.
        let mut s = ServerPolicy::symmetric(LmCompatibilityLevel::L2);
        s.audit_level = Some(LmCompatibilityLevel::L3);
        let ess = kinds(LmKind::EssClientChallenge, NtKind::Ess);
        assert_eq!(s.audit(&ess).unwrap().preset, ServerPreset::Symmetric);
        // Anonymous is judged with this policy's permission, not the preset's.
        let mut a = ServerPolicy::domain_controller(LmCompatibilityLevel::L3);
        a.allow_anonymous = true;
        a.audit_level = Some(LmCompatibilityLevel::L5);
        let mut anon = kinds(LmKind::Anonymous, NtKind::Empty);
        anon.anonymous = true;
        assert_eq!(a.audit(&anon), None);
    }
}
