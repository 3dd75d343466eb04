//! What kind of responses an AUTHENTICATE carries (MS-NLMP §3.3.1, §3.3.2, §3.2.5.1.2).
//!
//! The two response fields do not say what they hold; their kind follows from their lengths,
//! the negotiated flags and, for the LM field, its relation to the NT field. The server, the
//! level matrix and `ntlm decode` all read them through [`classify`].

use core::fmt;

use crate::wire::{AuthenticateMessage, NegotiateFlags};

/// The kind of the NtChallengeResponse field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NtKind {
    /// Empty (anonymous, or an LM-only client).
    Empty,
    /// 24 bytes, NTLMv1 (§3.3.1).
    NtlmV1,
    /// 24 bytes with NEGOTIATE_EXTENDED_SESSIONSECURITY: the "NTLM2 session response".
    Ess,
    /// NTProofStr ‖ blob, NTLMv2 (§3.3.2).
    NtlmV2,
    /// Any other length.
    Other,
}

/// The kind of the LmChallengeResponse field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LmKind {
    /// Empty.
    Empty,
    /// Z(1): the anonymous LM response (§3.2.5.1.2).
    Anonymous,
    /// The LM response, DESL(LMOWFv1, challenge), beside NTLMv1.
    Lm,
    /// LMv2 beside NTLMv2.
    LmV2,
    /// 24 bytes with no NT response: an LM or an LMv2 response, to be told apart by trying.
    LmV1OrV2,
    /// A copy of the NTLMv1 response (level 2 clients, `NoLMResponseNTLMv1`).
    CopyOfNt,
    /// Client challenge ‖ Z(16), the LM field under extended session security.
    EssClientChallenge,
    /// Z(24): NTLMv2 with MsvAvTimestamp, where LMv2 is not sent.
    Zero24,
    /// Any other length.
    Other,
}

/// The two kinds together, plus whether the message is an anonymous logon.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct ResponseKinds {
    /// The LM field.
    pub lm: LmKind,
    /// The NT field.
    pub nt: NtKind,
    /// Empty user name and NT response, LM empty or Z(1) (§3.2.5.1.2).
    pub anonymous: bool,
}

impl ResponseKinds {
    /// The kinds of an LM and an NT field; `anonymous` for an anonymous logon.
    pub const fn new(lm: LmKind, nt: NtKind, anonymous: bool) -> Self {
        Self { lm, nt, anonymous }
    }
}

/// Classifies the response fields of an AUTHENTICATE message.
pub fn classify(auth: &AuthenticateMessage<'_>) -> ResponseKinds {
    classify_fields(
        auth.flags,
        auth.lm_challenge_response,
        auth.nt_challenge_response,
        auth.user_name.is_empty(),
    )
}

/// Classifies raw response fields, given the AUTHENTICATE's flags.
pub fn classify_fields(
    flags: NegotiateFlags,
    lm: &[u8],
    nt: &[u8],
    user_empty: bool,
) -> ResponseKinds {
    let ess = flags.contains(NegotiateFlags::NEGOTIATE_EXTENDED_SESSIONSECURITY);
    let nt_kind = match nt.len() {
        0 => NtKind::Empty,
        24 if ess => NtKind::Ess,
        24 => NtKind::NtlmV1,
        n if n > 24 => NtKind::NtlmV2,
        _ => NtKind::Other,
    };
    let lm_kind = match lm.len() {
        0 => LmKind::Empty,
        1 if lm == [0] => LmKind::Anonymous,
        24 => {
            let zero = lm.iter().all(|b| *b == 0);
            let tail_zero = lm.get(8..).is_some_and(|t| t.iter().all(|b| *b == 0));
            match nt_kind {
                NtKind::NtlmV2 if zero => LmKind::Zero24,
                NtKind::NtlmV2 => LmKind::LmV2,
                NtKind::Ess if tail_zero => LmKind::EssClientChallenge,
                NtKind::NtlmV1 | NtKind::Ess if lm == nt => LmKind::CopyOfNt,
                NtKind::NtlmV1 | NtKind::Ess => LmKind::Lm,
                NtKind::Empty => LmKind::LmV1OrV2,
                NtKind::Other => LmKind::Other,
            }
        }
        _ => LmKind::Other,
    };
    let anonymous = user_empty
        && nt_kind == NtKind::Empty
        && matches!(lm_kind, LmKind::Empty | LmKind::Anonymous);
    ResponseKinds {
        lm: lm_kind,
        nt: nt_kind,
        anonymous,
    }
}

impl fmt::Display for NtKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Empty => "-",
            Self::NtlmV1 => "NTLMv1",
            Self::Ess => "NTLMv1-ESS",
            Self::NtlmV2 => "NTLMv2",
            Self::Other => "?",
        })
    }
}

impl fmt::Display for LmKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Empty => "-",
            Self::Anonymous => "Z(1)",
            Self::Lm => "LM",
            Self::LmV2 => "LMv2",
            Self::LmV1OrV2 => "LM/LMv2",
            Self::CopyOfNt => "NT copy",
            Self::EssClientChallenge => "CC+Z(16)",
            Self::Zero24 => "Z(24)",
            Self::Other => "?",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ESS: NegotiateFlags = NegotiateFlags::NEGOTIATE_EXTENDED_SESSIONSECURITY;

    #[test]
    fn kinds_by_shape() {
        let none = NegotiateFlags::EMPTY;
        let nt = [7u8; 24];
        let lm = [9u8; 24];
        let k = classify_fields(none, &lm, &nt, false);
        assert_eq!((k.lm, k.nt), (LmKind::Lm, NtKind::NtlmV1));
        let k = classify_fields(none, &nt, &nt, false);
        assert_eq!((k.lm, k.nt), (LmKind::CopyOfNt, NtKind::NtlmV1));
        let mut cc = [0u8; 24];
        cc[..8].copy_from_slice(&[0xaa; 8]);
        let k = classify_fields(ESS, &cc, &nt, false);
        assert_eq!((k.lm, k.nt), (LmKind::EssClientChallenge, NtKind::Ess));
        let v2 = [1u8; 60];
        let k = classify_fields(ESS, &[0; 24], &v2, false);
        assert_eq!((k.lm, k.nt), (LmKind::Zero24, NtKind::NtlmV2));
        let k = classify_fields(ESS, &lm, &v2, false);
        assert_eq!(k.lm, LmKind::LmV2);
        let k = classify_fields(none, &lm, &[], false);
        assert_eq!((k.lm, k.nt), (LmKind::LmV1OrV2, NtKind::Empty));
        let k = classify_fields(none, &[0], &[], true);
        assert!(k.anonymous);
        let k = classify_fields(none, &[0], &[], false);
        assert!(!k.anonymous);
        let k = classify_fields(none, &[1; 3], &[1; 20], false);
        assert_eq!((k.lm, k.nt), (LmKind::Other, NtKind::Other));
    }
}
