//! Replay and reflection guards shared by the contexts of one process.
//!
//! - [`ReplayCache`]: every accepted response is remembered for a while; the same NTProofStr
//!   (or NTLMv1 response) seen again is refused as a replay, before it can count as a bad
//!   password against the account. Only accepted responses are remembered, so an attacker who
//!   copies a logon onto its own connection first cannot get the real one refused.
//! - [`ReflectionGuard`]: NTLM reflection sends a server's own CHALLENGE to a client on the
//!   same machine and feeds the answer back. The guard remembers the challenges this process's
//!   servers issued and the ones its clients answered: a client refuses to answer a challenge
//!   issued here, and a server refuses an AUTHENTICATE whose challenge a local client answered.
//!   [`ReflectionGuard::process`] is the process-wide guard the contexts use by default; tests
//!   that play two machines in one process give each side its own. An issued challenge is
//!   never forgotten before it expires: when the guard is full (a NEGOTIATE flood), servers
//!   stop issuing challenges instead.
//!
//! Both are sharded sets of 8-or-16-byte keys with an expiry, so contexts on different cores
//! rarely meet on a lock; the shard is chosen through a per-process random salt.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime};

const SHARDS: usize = 16;

/// A set of keys with an expiry, split over independently locked shards.
#[derive(Debug)]
struct ExpiringSet<const N: usize> {
    shards: [Mutex<HashMap<[u8; N], SystemTime>>; SHARDS],
    cap_per_shard: usize,
    salt: u64,
}

/// What to do when a shard is full of live entries.
#[derive(Clone, Copy, PartialEq, Eq)]
enum WhenFull {
    /// Forget the entry closest to expiry.
    Evict,
    /// Insert nothing and say so.
    Refuse,
}

impl<const N: usize> ExpiringSet<N> {
    fn new(cap_per_shard: usize) -> Self {
        Self {
            shards: std::array::from_fn(|_| Mutex::new(HashMap::new())),
            cap_per_shard,
            salt: u64::from_le_bytes(crate::crypto::random_bytes::<8>()),
        }
    }

    fn shard(&self, key: &[u8; N]) -> std::sync::MutexGuard<'_, HashMap<[u8; N], SystemTime>> {
        let mut word = [0u8; 8];
        for (w, k) in word.iter_mut().zip(key) {
            *w = *k;
        }
        let mixed = (u64::from_le_bytes(word) ^ self.salt).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        let index = usize::try_from(mixed >> 60).unwrap_or(0) % SHARDS;
        self.shards[index]
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Inserts `key` valid until `expires`. False when it could not be inserted: already
    /// present and live at `now`, or (with [`WhenFull::Refuse`]) no room.
    fn insert(&self, key: [u8; N], now: SystemTime, expires: SystemTime, full: WhenFull) -> bool {
        let mut shard = self.shard(&key);
        if shard.get(&key).is_some_and(|until| *until > now) {
            return false;
        }
        if shard.len() >= self.cap_per_shard {
            shard.retain(|_, until| *until > now);
        }
        if shard.len() >= self.cap_per_shard {
            if full == WhenFull::Refuse {
                return false;
            }
            if let Some(oldest) = shard.iter().min_by_key(|(_, t)| **t).map(|(k, _)| *k) {
                shard.remove(&oldest);
            }
        }
        shard.insert(key, expires);
        true
    }

    fn contains(&self, key: &[u8; N], now: SystemTime) -> bool {
        self.shard(key).get(key).is_some_and(|until| *until > now)
    }

    fn remove(&self, key: &[u8; N]) {
        self.shard(key).remove(key);
    }
}

/// Remembers accepted responses for a while, so that the same one is refused if it comes
/// again.
///
/// ```
/// use ntlm::guard::ReplayCache;
/// use std::time::{Duration, SystemTime};
/// let cache = ReplayCache::new(Duration::from_secs(300));
/// let now = SystemTime::now();
/// assert!(!cache.seen(&[7; 16], now));
/// cache.remember([7; 16], now);
/// assert!(cache.seen(&[7; 16], now));
/// ```
#[derive(Debug)]
pub struct ReplayCache {
    seen: ExpiringSet<16>,
    retention: Duration,
}

impl ReplayCache {
    /// Keeps each response for `retention` (use the policy's challenge lifetime or longer).
    pub fn new(retention: Duration) -> Self {
        Self {
            seen: ExpiringSet::new(1 << 14),
            retention,
        }
    }

    /// True when `key` was remembered and has not expired at `now`.
    pub fn seen(&self, key: &[u8; 16], now: SystemTime) -> bool {
        self.seen.contains(key, now)
    }

    /// Remembers an accepted response's key until the retention has passed.
    pub fn remember(&self, key: [u8; 16], now: SystemTime) {
        self.seen
            .insert(key, now, later(now, self.retention), WhenFull::Evict);
    }
}

/// Challenges issued by this process's servers and answered by its clients.
#[derive(Debug)]
pub struct ReflectionGuard {
    issued: ExpiringSet<8>,
    answered: ExpiringSet<8>,
    retention: Duration,
}

impl ReflectionGuard {
    /// A guard of its own (for a second "machine" in tests, or an isolated component);
    /// `retention` is how long a client remembers the challenges it answered.
    pub fn new(retention: Duration) -> Self {
        Self {
            issued: ExpiringSet::new(1 << 14),
            answered: ExpiringSet::new(1 << 14),
            retention,
        }
    }

    /// The process-wide guard every context uses unless configured otherwise.
    pub fn process() -> Arc<Self> {
        static GUARD: OnceLock<Arc<ReflectionGuard>> = OnceLock::new();
        GUARD
            .get_or_init(|| Arc::new(Self::new(Duration::from_secs(300))))
            .clone()
    }

    /// A server records a challenge it issued, valid for `lifetime`. False when the guard is
    /// full of live challenges (or this one is already outstanding): the server must not
    /// issue it.
    #[must_use]
    pub fn server_issued(&self, challenge: [u8; 8], now: SystemTime, lifetime: Duration) -> bool {
        self.issued
            .insert(challenge, now, later(now, lifetime), WhenFull::Refuse)
    }

    /// A server is done with a challenge.
    pub fn server_finished(&self, challenge: &[u8; 8]) {
        self.issued.remove(challenge);
    }

    /// A client asks whether it may answer `challenge`; false when a local server issued it.
    pub fn client_may_answer(&self, challenge: &[u8; 8], now: SystemTime) -> bool {
        !self.issued.contains(challenge, now)
    }

    /// A client records a challenge it answered.
    pub fn client_answered(&self, challenge: [u8; 8], now: SystemTime) {
        self.answered
            .insert(challenge, now, later(now, self.retention), WhenFull::Evict);
    }

    /// A server asks whether a local client answered its challenge (a reflected logon).
    pub fn answered_locally(&self, challenge: &[u8; 8], now: SystemTime) -> bool {
        self.answered.contains(challenge, now)
    }
}

/// `now + d`, saturating far in the future instead of overflowing.
fn later(now: SystemTime, d: Duration) -> SystemTime {
    now.checked_add(d)
        .unwrap_or_else(|| now + Duration::from_secs(100 * 365 * 86_400))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replay_expires() {
        let c = ReplayCache::new(Duration::from_secs(10));
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(100);
        assert!(!c.seen(&[1; 16], t));
        c.remember([1; 16], t);
        assert!(c.seen(&[1; 16], t + Duration::from_secs(9)));
        assert!(!c.seen(&[1; 16], t + Duration::from_secs(30)));
    }

    #[test]
    fn full_shards_evict_or_refuse_but_never_grow() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(100);
        let live = t + Duration::from_secs(60);
        let evicting = ExpiringSet::<8>::new(2);
        let refusing = ExpiringSet::<8>::new(2);
        let mut refused = 0;
        for i in 0..200u8 {
            let k = [i; 8];
            assert!(evicting.insert(k, t, live, WhenFull::Evict));
            if !refusing.insert(k, t, live, WhenFull::Refuse) {
                refused += 1;
            }
        }
        let total = |s: &ExpiringSet<8>| {
            s.shards
                .iter()
                .map(|m| m.lock().unwrap().len())
                .sum::<usize>()
        };
        assert!(total(&evicting) <= 2 * SHARDS);
        assert!(total(&refusing) <= 2 * SHARDS);
        assert!(refused >= 200 - 2 * SHARDS);
        // Expired entries make room again.
        assert!(refusing.insert(
            [250; 8],
            t + Duration::from_secs(61),
            live + Duration::from_secs(61),
            WhenFull::Refuse
        ));
    }

    #[test]
    fn a_flood_cannot_evict_an_issued_challenge() {
        // A small guard, flooded with ten times its capacity.
        let g = ReflectionGuard {
            issued: ExpiringSet::new(64),
            answered: ExpiringSet::new(64),
            retention: Duration::from_secs(60),
        };
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(100);
        let life = Duration::from_secs(300);
        assert!(g.server_issued([42; 8], t, life));
        for i in 0..(10 * 64 * SHARDS as u32) {
            let mut c = [0u8; 8];
            c[..4].copy_from_slice(&i.to_le_bytes());
            c[4] = 1;
            let _ = g.server_issued(c, t, life);
        }
        assert!(!g.client_may_answer(&[42; 8], t + Duration::from_secs(299)));
    }

    #[test]
    fn reflection_both_ways() {
        let g = ReflectionGuard::new(Duration::from_secs(60));
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(100);
        assert!(g.server_issued([5; 8], t, Duration::from_secs(60)));
        assert!(!g.server_issued([5; 8], t, Duration::from_secs(60)));
        assert!(!g.client_may_answer(&[5; 8], t));
        assert!(g.client_may_answer(&[6; 8], t));
        g.client_answered([6; 8], t);
        assert!(g.answered_locally(&[6; 8], t));
        g.server_finished(&[5; 8]);
        assert!(g.client_may_answer(&[5; 8], t));
    }
}
