//! Counters of logon decisions for a metrics endpoint: accepted logons by the response that
//! was verified, refused ones by rule (and by response kind when the level refused them), and
//! audit findings (accepted logons the audit level would refuse, see
//! [`ServerPolicy::audit`](crate::policy::ServerPolicy::audit)).
//!
//! Lock-free atomic counters, shared through an `Arc` by every connection or helper that
//! records into them; [`Metrics::snapshot`] copies them into plain data.
//!
//! ```
//! use ntlm::metrics::Metrics;
//! use ntlm::policy::{LmCompatibilityLevel, PolicyRefusal, RefusedKind, ServerPreset, Verify};
//!
//! let metrics = Metrics::new();
//! let finding = PolicyRefusal::new(
//!     RefusedKind::NtlmV1,
//!     LmCompatibilityLevel::L5,
//!     ServerPreset::DomainController,
//! );
//! metrics.record_accepted(Verify::NtlmV1, Some(&finding));
//! metrics.record_refused("bad password", None);
//! let snap = metrics.snapshot();
//! assert_eq!(snap.accepted(Verify::NtlmV1), 1);
//! assert_eq!(snap.would_refuse(RefusedKind::NtlmV1), 1);
//! assert_eq!(snap.refused("bad password"), 1);
//! ```

use core::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::policy::{PolicyRefusal, RefusedKind, Verify};

/// Every response kind a server verifies, in the order of [`MetricsSnapshot::accepted_by_kind`].
pub const VERIFIED_KINDS: [Verify; 6] = [
    Verify::NtlmV2,
    Verify::Ess,
    Verify::NtlmV1,
    Verify::LmV2Only,
    Verify::LmOnly,
    Verify::Anonymous,
];

/// Every response kind a policy refuses, in the order of the snapshot's per-kind lists.
pub const REFUSED_KINDS: [RefusedKind; 6] = [
    RefusedKind::Lm,
    RefusedKind::NtlmV1,
    RefusedKind::Ess,
    RefusedKind::NtlmV2,
    RefusedKind::Anonymous,
    RefusedKind::NoUsableResponse,
];

/// The refusal rules counted apart: the names of
/// [`Refusal::rule`](crate::server::Refusal::rule), then those of the adapters (HTTP
/// headers, SPNEGO, helper requests). Any other name is counted as `other`.
pub const RULES: [&str; 26] = [
    "malformed",
    "policy level",
    "unknown user",
    "account disabled",
    "bad password",
    "stale credentials",
    "locked out",
    "MIC",
    "timestamp",
    "target info",
    "replay",
    "reflection",
    "challenge expired",
    "channel binding",
    "target name",
    "key exchange",
    "LMv2 mismatch",
    "out of order",
    "refused by the DC",
    "DC unavailable",
    "header",
    "unsupported scheme",
    "unexpected message",
    "negotiate",
    "spnego",
    "other",
];

const OTHER: usize = RULES.len() - 1;

fn verified_index(kind: Verify) -> usize {
    match kind {
        Verify::NtlmV2 => 0,
        Verify::Ess => 1,
        Verify::NtlmV1 => 2,
        Verify::LmV2Only => 3,
        Verify::LmOnly => 4,
        Verify::Anonymous => 5,
    }
}

fn refused_index(kind: RefusedKind) -> usize {
    match kind {
        RefusedKind::Lm => 0,
        RefusedKind::NtlmV1 => 1,
        RefusedKind::Ess => 2,
        RefusedKind::NtlmV2 => 3,
        RefusedKind::Anonymous => 4,
        RefusedKind::NoUsableResponse => 5,
    }
}

fn rule_index(rule: &str) -> usize {
    RULES.iter().position(|r| *r == rule).unwrap_or(OTHER)
}

/// The counters. `Default` is all zeros.
#[derive(Default)]
pub struct Metrics {
    accepted: [AtomicU64; VERIFIED_KINDS.len()],
    refused_by_rule: [AtomicU64; RULES.len()],
    refused_by_kind: [AtomicU64; REFUSED_KINDS.len()],
    would_refuse: [AtomicU64; REFUSED_KINDS.len()],
}

impl fmt::Debug for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.snapshot().fmt(f)
    }
}

fn bump(counter: Option<&AtomicU64>) {
    if let Some(c) = counter {
        c.fetch_add(1, Ordering::Relaxed);
    }
}

fn load(counters: &[AtomicU64]) -> impl Iterator<Item = u64> + '_ {
    counters.iter().map(|c| c.load(Ordering::Relaxed))
}

impl Metrics {
    /// All counters at zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts an accepted logon verified as `verified`, and the audit finding on it if any.
    pub fn record_accepted(&self, verified: Verify, audit: Option<&PolicyRefusal>) {
        bump(self.accepted.get(verified_index(verified)));
        if let Some(finding) = audit {
            bump(self.would_refuse.get(refused_index(finding.refused)));
        }
    }

    /// Counts a refusal by its rule name (one of [`RULES`]; others count as `other`) and,
    /// for a refusal by the level, by the response kind refused.
    pub fn record_refused(&self, rule: &str, policy: Option<&PolicyRefusal>) {
        bump(self.refused_by_rule.get(rule_index(rule)));
        if let Some(p) = policy {
            bump(self.refused_by_kind.get(refused_index(p.refused)));
        }
    }

    /// Counts a refusal of the NTLM server context.
    pub fn record_refusal(&self, refusal: &crate::server::Refusal) {
        let policy = match refusal {
            crate::server::Refusal::Policy(p) => Some(p),
            _ => None,
        };
        self.record_refused(refusal.rule(), policy);
    }

    /// A copy of every counter.
    pub fn snapshot(&self) -> MetricsSnapshot {
        MetricsSnapshot {
            accepted_by_kind: VERIFIED_KINDS
                .iter()
                .copied()
                .zip(load(&self.accepted))
                .collect(),
            refused_by_rule: RULES
                .iter()
                .copied()
                .zip(load(&self.refused_by_rule))
                .collect(),
            refused_by_kind: REFUSED_KINDS
                .iter()
                .copied()
                .zip(load(&self.refused_by_kind))
                .collect(),
            audit_would_refuse: REFUSED_KINDS
                .iter()
                .copied()
                .zip(load(&self.would_refuse))
                .collect(),
        }
    }
}

/// The counters at one moment, as plain data (every kind and rule listed, zeros included).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct MetricsSnapshot {
    /// Accepted logons by the response verified.
    pub accepted_by_kind: Vec<(Verify, u64)>,
    /// Refused logons (and refused HTTP or helper requests) by rule.
    pub refused_by_rule: Vec<(&'static str, u64)>,
    /// Logons refused by the level, by the response kind refused.
    pub refused_by_kind: Vec<(RefusedKind, u64)>,
    /// Accepted logons the audit level would refuse, by the response kind it would refuse.
    pub audit_would_refuse: Vec<(RefusedKind, u64)>,
}

impl MetricsSnapshot {
    /// Accepted logons verified as `kind`.
    pub fn accepted(&self, kind: Verify) -> u64 {
        find(&self.accepted_by_kind, &kind)
    }

    /// All accepted logons.
    pub fn accepted_total(&self) -> u64 {
        self.accepted_by_kind.iter().map(|(_, n)| n).sum()
    }

    /// Refusals by `rule`.
    pub fn refused(&self, rule: &str) -> u64 {
        find(&self.refused_by_rule, &rule)
    }

    /// All refusals.
    pub fn refused_total(&self) -> u64 {
        self.refused_by_rule.iter().map(|(_, n)| n).sum()
    }

    /// Accepted logons the audit level would refuse as `kind`.
    pub fn would_refuse(&self, kind: RefusedKind) -> u64 {
        find(&self.audit_would_refuse, &kind)
    }

    /// All audit findings.
    pub fn would_refuse_total(&self) -> u64 {
        self.audit_would_refuse.iter().map(|(_, n)| n).sum()
    }
}

fn find<K: PartialEq>(list: &[(K, u64)], key: &K) -> u64 {
    list.iter().find(|(k, _)| k == key).map_or(0, |(_, n)| *n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{LmCompatibilityLevel, ServerPreset};
    use crate::server::Refusal;

    #[test]
    fn counters_move_and_unknown_rules_count_as_other() {
        let m = Metrics::new();
        let level = PolicyRefusal {
            refused: RefusedKind::Lm,
            level: LmCompatibilityLevel::L4,
            preset: ServerPreset::DomainController,
        };
        m.record_accepted(Verify::NtlmV2, None);
        m.record_accepted(Verify::LmOnly, Some(&level));
        m.record_refusal(&Refusal::Policy(level));
        m.record_refusal(&Refusal::Replay);
        m.record_refused("no such rule", None);
        let s = m.snapshot();
        assert_eq!((s.accepted(Verify::NtlmV2), s.accepted_total()), (1, 2));
        assert_eq!(s.would_refuse(RefusedKind::Lm), 1);
        assert_eq!(s.would_refuse_total(), 1);
        assert_eq!(s.refused("policy level"), 1);
        assert_eq!(s.refused("replay"), 1);
        assert_eq!(s.refused("other"), 1);
        assert_eq!(s.refused_total(), 3);
        assert_eq!(
            s.refused_by_kind
                .iter()
                .find(|(k, _)| *k == RefusedKind::Lm),
            Some(&(RefusedKind::Lm, 1))
        );
    }

    #[test]
    fn every_refusal_rule_has_its_own_counter() {
        use crate::server::{ChannelBindingFailure, MicFailure};
        let all = [
            Refusal::UnknownUser,
            Refusal::AccountDisabled,
            Refusal::BadPassword { failures: 0 },
            Refusal::StaleCredentials { generations_old: 1 },
            Refusal::Mic(MicFailure::Invalid),
            Refusal::Replay,
            Refusal::Reflection,
            Refusal::ChallengeExpired,
            Refusal::ChannelBindings(ChannelBindingFailure::Missing),
            Refusal::TargetName { sent: None },
            Refusal::KeyExchange,
            Refusal::LmV2Mismatch,
            Refusal::OutOfOrder,
        ];
        for r in all {
            assert_ne!(rule_index(r.rule()), OTHER, "{}", r.rule());
        }
        #[cfg(feature = "netlogon")]
        for r in [
            Refusal::DcRefused(crate::netlogon::LogonRefusal::WrongPassword),
            Refusal::DcUnavailable {
                dc: "127.0.0.1:135".into(),
                reason: "connection refused".into(),
            },
        ] {
            assert_ne!(rule_index(r.rule()), OTHER, "{}", r.rule());
        }
    }
}
