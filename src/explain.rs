//! Which server levels would accept an AUTHENTICATE, and why (MS-NLMP §3.2.5.1.2 with the
//! LmCompatibilityLevel choices of [`crate::policy`]).
//!
//! The verdicts come from [`ServerPolicy::judge_responses`], the function the server itself
//! calls, so an explanation can never disagree with what [`crate::server::ServerContext`]
//! decides about the response kinds. They judge the kinds only: the password, MIC,
//! timestamp, channel bindings and target name are checked later, by the server.
//!
//! ```
//! use ntlm::classify::{LmKind, NtKind, ResponseKinds};
//! use ntlm::explain::acceptance_by_level;
//!
//! let v1 = ResponseKinds::new(LmKind::Lm, NtKind::NtlmV1, false);
//! let verdicts = acceptance_by_level(&v1);
//! assert!(verdicts[4].accepted());
//! assert!(!verdicts[5].accepted());
//! assert_eq!(verdicts[5].reason(), "NTLMv1 refused by server level 5 (it accepts NTLMv2)");
//! ```

use core::fmt;

use crate::classify::{LmKind, NtKind, ResponseKinds};
use crate::policy::{LmCompatibilityLevel, PolicyRefusal, ServerPolicy, ServerPreset, Verify};

/// What a server at one level and preset decides about a message's response kinds
/// (MS-NLMP §3.2.5.1.2), as [`ServerPolicy::judge_responses`] decides it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct LevelVerdict {
    /// The server's LmCompatibilityLevel.
    pub level: LmCompatibilityLevel,
    /// The preset the server policy was built from.
    pub preset: ServerPreset,
    /// The response the server would verify, or the rule that refuses the message.
    pub outcome: Result<Verify, PolicyRefusal>,
    /// The response kinds this policy accepts, for the explanation (`"NTLMv2"`, `"LMv2"`, ...).
    pub accepts: Vec<&'static str>,
}

impl LevelVerdict {
    /// True when the response kinds pass the level (the password is still to be checked).
    pub fn accepted(&self) -> bool {
        self.outcome.is_ok()
    }

    /// One sentence: what is verified, or which rule refuses and what the level accepts.
    pub fn reason(&self) -> String {
        match &self.outcome {
            Ok(verify) => format!("accepted: verifies {}", verify_name(*verify)),
            Err(refusal) => format!("{refusal} (it accepts {})", self.accepts.join(", ")),
        }
    }
}

impl fmt::Display for LevelVerdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason())
    }
}

/// The verdict of a server with `policy` on `kinds` (MS-NLMP §3.2.5.1.2).
pub fn verdict(policy: &ServerPolicy, kinds: &ResponseKinds) -> LevelVerdict {
    LevelVerdict {
        level: policy.level,
        preset: policy.preset,
        outcome: policy.judge_responses(kinds),
        accepts: accepted_kinds(policy),
    }
}

/// The verdicts of domain-controller servers at levels 0 to 5 (index = level).
pub fn acceptance_by_level(kinds: &ResponseKinds) -> [LevelVerdict; 6] {
    acceptance_by_level_for(ServerPreset::DomainController, kinds)
}

/// The verdicts of servers built from `preset` at levels 0 to 5 (index = level).
pub fn acceptance_by_level_for(preset: ServerPreset, kinds: &ResponseKinds) -> [LevelVerdict; 6] {
    LmCompatibilityLevel::ALL.map(|level| verdict(&ServerPolicy::new(preset, level), kinds))
}

/// The response kinds `policy` accepts, in the order of [`ServerPolicy::judge_responses`].
pub fn accepted_kinds(policy: &ServerPolicy) -> Vec<&'static str> {
    let mut out = Vec::new();
    if policy.accept_ntlmv2 {
        out.push("NTLMv2");
    }
    if policy.accept_ess {
        out.push("NTLMv1-ESS");
    }
    if policy.accept_ntlmv1 {
        out.push("NTLMv1");
    }
    if policy.accept_lmv2_only {
        out.push("LMv2");
    }
    if policy.accept_lm {
        out.push("LM");
    }
    if policy.allow_anonymous {
        out.push("anonymous");
    }
    if out.is_empty() {
        out.push("nothing");
    }
    out
}

/// A readable name of what [`Verify`] says the server checks.
pub fn verify_name(verify: Verify) -> &'static str {
    match verify {
        Verify::NtlmV2 => "the NTLMv2 response",
        Verify::Ess => "the NTLMv1 extended-session-security response",
        Verify::NtlmV1 => "the NTLMv1 response",
        Verify::LmV2Only => "the LM field as LMv2 (no NT response)",
        Verify::LmOnly => "the LM field as the LM response (no NT response)",
        Verify::Anonymous => "nothing (anonymous logon)",
    }
}

/// What an LmChallengeResponse of this kind is (MS-NLMP §3.3.1, §3.3.2).
pub fn describe_lm(kind: LmKind) -> &'static str {
    match kind {
        LmKind::Empty => "empty",
        LmKind::Anonymous => "Z(1), the anonymous LM response",
        LmKind::Lm => "LM response, DESL(LMOWFv1, challenge)",
        LmKind::LmV2 => "LMv2 response",
        LmKind::LmV1OrV2 => "LM or LMv2 response (no NT response to tell them apart)",
        LmKind::CopyOfNt => "a copy of the NTLMv1 response (level-2 client)",
        LmKind::EssClientChallenge => "ESS client challenge followed by Z(16)",
        LmKind::Zero24 => "Z(24): LMv2 omitted because the CHALLENGE carried MsvAvTimestamp",
        LmKind::Other => "unrecognised length",
    }
}

/// What an NtChallengeResponse of this kind is (MS-NLMP §3.3.1, §3.3.2).
pub fn describe_nt(kind: NtKind) -> &'static str {
    match kind {
        NtKind::Empty => "empty",
        NtKind::NtlmV1 => "NTLMv1 response",
        NtKind::Ess => "NTLMv1 response with extended session security (NTLM2 session response)",
        NtKind::NtlmV2 => "NTLMv2 response (NTProofStr and client blob)",
        NtKind::Other => "unrecognised length",
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
    fn agrees_with_judge_responses_everywhere() {
        let lms = [
            LmKind::Empty,
            LmKind::Anonymous,
            LmKind::Lm,
            LmKind::LmV2,
            LmKind::LmV1OrV2,
            LmKind::CopyOfNt,
            LmKind::EssClientChallenge,
            LmKind::Zero24,
            LmKind::Other,
        ];
        let nts = [
            NtKind::Empty,
            NtKind::NtlmV1,
            NtKind::Ess,
            NtKind::NtlmV2,
            NtKind::Other,
        ];
        for preset in [ServerPreset::DomainController, ServerPreset::Symmetric] {
            for lm in lms {
                for nt in nts {
                    for anonymous in [false, true] {
                        let k = ResponseKinds { lm, nt, anonymous };
                        let all = acceptance_by_level_for(preset, &k);
                        for (i, v) in all.iter().enumerate() {
                            assert_eq!(usize::from(v.level.get()), i);
                            let p = ServerPolicy::new(preset, v.level);
                            assert_eq!(v.outcome, p.judge_responses(&k));
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn domain_controller_ntlmv2_everywhere_v1_until_four() {
        let v2 = acceptance_by_level(&kinds(LmKind::Zero24, NtKind::NtlmV2));
        assert!(v2.iter().all(LevelVerdict::accepted));
        assert_eq!(v2[0].reason(), "accepted: verifies the NTLMv2 response");
        let ess = acceptance_by_level(&kinds(LmKind::EssClientChallenge, NtKind::Ess));
        let accepted: Vec<bool> = ess.iter().map(LevelVerdict::accepted).collect();
        assert_eq!(accepted, [true, true, true, true, true, false]);
        assert_eq!(
            ess[5].reason(),
            "NTLMv1-ESS refused by server level 5 (it accepts NTLMv2)"
        );
    }

    #[test]
    fn symmetric_names_its_preset() {
        let v1 =
            acceptance_by_level_for(ServerPreset::Symmetric, &kinds(LmKind::Lm, NtKind::NtlmV1));
        let accepted: Vec<bool> = v1.iter().map(LevelVerdict::accepted).collect();
        assert_eq!(accepted, [true, true, true, false, false, false]);
        assert_eq!(
            v1[3].reason(),
            "NTLMv1 refused by server level 3 (symmetric) (it accepts NTLMv2)"
        );
    }
}
