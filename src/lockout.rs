//! Account lockout with Active Directory's password-history refinement.
//!
//! A [`LockoutTracker`] counts bad passwords per account. After `threshold` failures, each
//! within `observation_window` of the previous one, the account is locked for
//! `lockout_duration`. As in Active Directory (the "badPwdCount" rule with password history),
//! a failure whose response matches one of the account's two previous passwords is *not*
//! counted: the server reports it as stale credentials instead. That is the background client
//! still holding the old password after a change, and it must not lock the user out.
//!
//! The tracker is shared by all server contexts (one `Arc`); its lock is taken only for
//! accounts that failed at least once, or when a failure is recorded.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

/// Threshold, observation window and lockout duration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct LockoutPolicy {
    /// Bad passwords that lock the account (Windows "Account lockout threshold").
    pub threshold: u32,
    /// A failure older than this (counted from the latest failure) resets the count
    /// (Windows "Reset account lockout counter after").
    pub observation_window: Duration,
    /// How long the account stays locked (Windows "Account lockout duration"). Unlike
    /// Windows, where 0 means "until an administrator unlocks it", a lockout here always
    /// ends; use a very long duration for that effect. A threshold of 0 never locks.
    pub lockout_duration: Duration,
}

impl LockoutPolicy {
    /// Locks an account after `threshold` bad passwords, each within `observation_window`
    /// of the previous one, for `lockout_duration`.
    pub const fn new(
        threshold: u32,
        observation_window: Duration,
        lockout_duration: Duration,
    ) -> Self {
        Self {
            threshold,
            observation_window,
            lockout_duration,
        }
    }
}

impl Default for LockoutPolicy {
    /// Microsoft's current baseline: 10 attempts, 10 minutes, 10 minutes.
    fn default() -> Self {
        Self {
            threshold: 10,
            observation_window: Duration::from_secs(600),
            lockout_duration: Duration::from_secs(600),
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct AccountState {
    failures: u32,
    last_failure: SystemTime,
    locked_until: Option<SystemTime>,
}

/// Bad-password counts per account, shared by all contexts of a server.
///
/// The check before verification and the count after it are two steps: guesses already
/// being verified when the threshold is reached still finish (at most one per concurrent
/// context). Once the lock is recorded every later attempt is refused.
///
/// ```
/// use ntlm::lockout::{LockoutPolicy, LockoutTracker};
/// use std::time::{Duration, SystemTime};
/// let ten_minutes = Duration::from_secs(600);
/// let t = LockoutTracker::new(LockoutPolicy::new(2, ten_minutes, ten_minutes));
/// let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
/// assert!(t.check("DOMAIN\\ALICE", now).is_ok());
/// t.record_failure("DOMAIN\\ALICE", now);
/// t.record_failure("DOMAIN\\ALICE", now);
/// assert!(t.check("DOMAIN\\ALICE", now).is_err());
/// assert!(t.check("DOMAIN\\ALICE", now + Duration::from_secs(601)).is_ok());
/// ```
#[derive(Debug)]
pub struct LockoutTracker {
    policy: LockoutPolicy,
    accounts: Mutex<HashMap<String, AccountState>>,
}

/// The account is locked until the given time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct LockedOut {
    /// When the lockout ends.
    pub until: SystemTime,
}

impl LockoutTracker {
    /// A tracker with no failures recorded.
    pub fn new(policy: LockoutPolicy) -> Self {
        Self {
            policy,
            accounts: Mutex::new(HashMap::new()),
        }
    }

    /// The policy.
    pub fn policy(&self) -> LockoutPolicy {
        self.policy
    }

    fn accounts(&self) -> std::sync::MutexGuard<'_, HashMap<String, AccountState>> {
        // A panic elsewhere while holding the lock leaves plain counters behind; keep going.
        self.accounts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// `Err` while `account` is locked at `now`.
    pub fn check(&self, account: &str, now: SystemTime) -> Result<(), LockedOut> {
        match self.accounts().get(account).and_then(|s| s.locked_until) {
            Some(until) if now < until => Err(LockedOut { until }),
            _ => Ok(()),
        }
    }

    /// Counts one bad password; returns the count after it (the account is locked once it
    /// reaches the threshold, see [`LockoutTracker::check`]).
    pub fn record_failure(&self, account: &str, now: SystemTime) -> u32 {
        let mut accounts = self.accounts();
        let state = accounts.entry(account.to_string()).or_insert(AccountState {
            failures: 0,
            last_failure: now,
            locked_until: None,
        });
        let expired_lock = state.locked_until.is_some_and(|until| now >= until);
        let stale_count = now
            .duration_since(state.last_failure)
            .is_ok_and(|age| age > self.policy.observation_window);
        if expired_lock || stale_count {
            state.failures = 0;
            state.locked_until = None;
        }
        state.failures = state.failures.saturating_add(1);
        state.last_failure = now;
        if self.policy.threshold > 0 && state.failures >= self.policy.threshold {
            state.locked_until = Some(
                now.checked_add(self.policy.lockout_duration)
                    .unwrap_or_else(|| now + Duration::from_secs(100 * 365 * 86_400)),
            );
        }
        state.failures
    }

    /// A verified logon: resets the count, or `Err` when the account is locked at `now`
    /// (locked by a concurrent attempt while this one was verified): the logon is refused.
    pub fn record_success(&self, account: &str, now: SystemTime) -> Result<(), LockedOut> {
        let mut accounts = self.accounts();
        match accounts.get(account).and_then(|s| s.locked_until) {
            Some(until) if now < until => Err(LockedOut { until }),
            _ => {
                accounts.remove(account);
                Ok(())
            }
        }
    }

    /// Bad passwords currently counted for `account`.
    pub fn failures(&self, account: &str) -> u32 {
        self.accounts().get(account).map_or(0, |s| s.failures)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t0() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)
    }

    #[test]
    fn locks_at_threshold_and_unlocks_after_duration() {
        let t = LockoutTracker::new(LockoutPolicy {
            threshold: 3,
            observation_window: Duration::from_secs(60),
            lockout_duration: Duration::from_secs(300),
        });
        for i in 1..=2 {
            assert_eq!(t.record_failure("A", t0()), i);
            assert!(t.check("A", t0()).is_ok());
        }
        t.record_failure("A", t0());
        let locked = t.check("A", t0() + Duration::from_secs(10)).unwrap_err();
        assert_eq!(locked.until, t0() + Duration::from_secs(300));
        assert!(t.check("A", t0() + Duration::from_secs(300)).is_ok());
        assert_eq!(t.record_failure("A", t0() + Duration::from_secs(301)), 1);
        assert!(t.check("B", t0()).is_ok());
    }

    #[test]
    fn observation_window_resets_count() {
        let t = LockoutTracker::new(LockoutPolicy {
            threshold: 2,
            observation_window: Duration::from_secs(60),
            lockout_duration: Duration::from_secs(300),
        });
        t.record_failure("A", t0());
        assert_eq!(t.record_failure("A", t0() + Duration::from_secs(61)), 1);
        assert!(t.check("A", t0() + Duration::from_secs(61)).is_ok());
    }

    #[test]
    fn success_resets_count_but_not_a_lock() {
        let t = LockoutTracker::new(LockoutPolicy {
            threshold: 2,
            ..Default::default()
        });
        t.record_failure("A", t0());
        assert!(t.record_success("A", t0()).is_ok());
        assert_eq!(t.failures("A"), 0);
        t.record_failure("A", t0());
        t.record_failure("A", t0());
        assert!(t.record_success("A", t0()).is_err());
        assert!(t.check("A", t0()).is_err());
        // Once the lock has expired, a success clears everything.
        assert!(t
            .record_success("A", t0() + Duration::from_secs(601))
            .is_ok());
        assert_eq!(t.failures("A"), 0);
    }
}
