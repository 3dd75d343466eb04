//! Replay and reflection guards shared by the contexts of one process.
//!
//! - [`ReplayCache`]: every verified or attempted response is remembered for a while; the same
//!   NTProofStr (or NTLMv1 response) seen again is refused as a replay, before it can count as
//!   a bad password against the account.
//! - [`ReflectionGuard`]: NTLM reflection sends a server's own CHALLENGE to a client on the
//!   same machine and feeds the answer back. The guard remembers the challenges this process's
//!   servers issued and the ones its clients answered: a client refuses to answer a challenge
//!   issued here, and a server refuses an AUTHENTICATE whose challenge a local client answered.
//!   [`ReflectionGuard::process`] is the process-wide guard the contexts use by default; tests
//!   that play two machines in one process give each side its own.
//!
//! Both are sharded sets of 8-or-16-byte keys with an expiry, so contexts on different cores
//! rarely meet on a lock.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime};

const SHARDS: usize = 16;

/// A set of keys with an expiry, split over independently locked shards.
#[derive(Debug)]
struct ExpiringSet<const N: usize> {
    shards: [Mutex<HashMap<[u8; N], SystemTime>>; SHARDS],
    cap_per_shard: usize,
}

impl<const N: usize> ExpiringSet<N> {
    fn new(cap_per_shard: usize) -> Self {
        Self {
            shards: std::array::from_fn(|_| Mutex::new(HashMap::new())),
            cap_per_shard,
        }
    }

    fn shard(&self, key: &[u8; N]) -> std::sync::MutexGuard<'_, HashMap<[u8; N], SystemTime>> {
        let index = key.first().map_or(0, |b| usize::from(*b) % SHARDS);
        self.shards[index]
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Inserts `key` valid until `expires`; returns false when it was already present and
    /// not expired at `now`.
    fn insert(&self, key: [u8; N], now: SystemTime, expires: SystemTime) -> bool {
        let mut shard = self.shard(&key);
        if shard.len() >= self.cap_per_shard {
            shard.retain(|_, until| *until > now);
            if shard.len() >= self.cap_per_shard {
                // Still full of live entries: drop the one closest to expiry.
                if let Some(oldest) = shard.iter().min_by_key(|(_, t)| **t).map(|(k, _)| *k) {
                    shard.remove(&oldest);
                }
            }
        }
        match shard.insert(key, expires) {
            Some(previous) => previous <= now,
            None => true,
        }
    }

    fn contains(&self, key: &[u8; N], now: SystemTime) -> bool {
        self.shard(key).get(key).is_some_and(|until| *until > now)
    }

    fn remove(&self, key: &[u8; N]) {
        self.shard(key).remove(key);
    }
}

/// Remembers responses for a while and refuses the same one twice.
///
/// ```
/// use ntlm::guard::ReplayCache;
/// use std::time::{Duration, SystemTime};
/// let cache = ReplayCache::new(Duration::from_secs(300));
/// let now = SystemTime::now();
/// assert!(cache.first_use([7; 16], now));
/// assert!(!cache.first_use([7; 16], now));
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

    /// True the first time `key` is seen within the retention; false for a replay.
    pub fn first_use(&self, key: [u8; 16], now: SystemTime) -> bool {
        self.seen.insert(key, now, now + self.retention)
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
    /// A guard of its own (for a second "machine" in tests, or an isolated component).
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

    /// A server records a challenge it issued.
    pub fn server_issued(&self, challenge: [u8; 8], now: SystemTime) {
        self.issued.insert(challenge, now, now + self.retention);
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
        self.answered.insert(challenge, now, now + self.retention);
    }

    /// A server asks whether a local client answered its challenge (a reflected logon).
    pub fn answered_locally(&self, challenge: &[u8; 8], now: SystemTime) -> bool {
        self.answered.contains(challenge, now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replay_expires() {
        let c = ReplayCache::new(Duration::from_secs(10));
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(100);
        assert!(c.first_use([1; 16], t));
        assert!(!c.first_use([1; 16], t + Duration::from_secs(9)));
        assert!(c.first_use([1; 16], t + Duration::from_secs(30)));
    }

    #[test]
    fn full_shard_evicts_instead_of_growing() {
        let set = ExpiringSet::<8>::new(4);
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(100);
        for i in 0..10u8 {
            let mut k = [0u8; 8];
            k[1] = i;
            set.insert(k, t, t + Duration::from_secs(60));
        }
        assert!(set.shards[0].lock().unwrap().len() <= 4);
    }

    #[test]
    fn reflection_both_ways() {
        let g = ReflectionGuard::new(Duration::from_secs(60));
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(100);
        g.server_issued([5; 8], t);
        assert!(!g.client_may_answer(&[5; 8], t));
        assert!(g.client_may_answer(&[6; 8], t));
        g.client_answered([6; 8], t);
        assert!(g.answered_locally(&[6; 8], t));
        g.server_finished(&[5; 8]);
        assert!(g.client_may_answer(&[5; 8], t));
    }
}
