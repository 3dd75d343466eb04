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
//!   that play two machines in one process give each side its own.
//!
//! # A full guard
//!
//! A server context holds its challenge in the guard from its CHALLENGE until its
//! AUTHENTICATE, or until it is dropped or replaced (a connection that closes, a new
//! NEGOTIATE on the same connection, a helper's new `YR`): a context that will never be
//! answered gives its entry back. What is left is bounded by the contexts the application
//! keeps alive. When the issued set is full all the same (a NEGOTIATE flood over many
//! connections, or an application that keeps unanswered contexts), the **oldest issued
//! challenge is forgotten** to make room, and a new logon always gets its challenge.
//!
//! Why evict rather than refuse or size the guard per connection: refusing turns a flood
//! into a denial of service for every user (every NEGOTIATE refused until the flood's
//! challenges expire); a per-connection quota only exists where the adapter knows
//! connections, and the guard also serves the sans-IO core, helpers and other transports.
//! Forgetting an issued challenge weakens only the first of the two independent reflection
//! checks for that one challenge (a local client would no longer refuse to answer it); the
//! second, the server's [`ReflectionGuard::answered_locally`], still refuses the reflected
//! AUTHENTICATE, since the local client records every challenge it answers. The evicted
//! challenge is the oldest outstanding one: under a flood, the flood's own. The context that
//! issued it can still complete its logon (the server does not need its entry to verify).
//!
//! Both are sharded, so contexts on different cores rarely meet on a lock; a peer cannot aim
//! its values at one shard (the shard is chosen under a per-process random key). The replay
//! cache keeps keyed fingerprints in two generations (see [`ReplayCache`]); the reflection guard's sets
//! keep 8-byte challenges with an expiry each.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime};

mod replay;
pub use replay::ReplayCache;

const SHARDS: usize = 16;

/// A set of 8-byte keys with an expiry, split over independently locked shards.
#[derive(Debug)]
struct ExpiringSet<const N: usize> {
    shards: [Padded<Mutex<Shard<N>>>; SHARDS],
    cap_per_shard: usize,
    salt: u64,
    /// Set by the first insert: until then a lookup answers without hashing or locking (a
    /// server's guard never sees a local client's answered challenge in most processes).
    ever_inserted: AtomicBool,
}

/// A shard on cache lines of its own: two threads locking neighbouring shards must not
/// contend on one line (false sharing). 128 bytes: adjacent-line prefetch pairs lines.
#[derive(Debug)]
#[repr(align(128))]
struct Padded<T>(T);

impl<T> core::ops::Deref for Padded<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// One shard: the live keys, and the same keys in insertion order for O(1) expiry and
/// eviction. Entries of `order` whose key was removed or re-inserted are skipped when they
/// reach the front; the deque is compacted when such stale entries pile up.
#[derive(Debug)]
struct Shard<const N: usize> {
    live: HashMap<Key<N>, SystemTime>,
    order: VecDeque<(Key<N>, SystemTime)>,
}

/// A key of a set: hashed as whole 64-bit words, without the length prefix `[u8; N]` feeds
/// the hasher (every key of a set has the same length). Still the std `HashMap`'s SipHash
/// under a per-process random key, so a peer that influences the keys (its NTProofStr, a
/// challenge) cannot aim them at one bucket; a third fewer hashing instructions per lookup.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Key<const N: usize>([u8; N]);

impl<const N: usize> core::hash::Hash for Key<N> {
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        let mut words = self.0.chunks_exact(8);
        for word in &mut words {
            let mut w = [0u8; 8];
            w.copy_from_slice(word);
            state.write_u64(u64::from_le_bytes(w));
        }
        let rest = words.remainder();
        if !rest.is_empty() {
            state.write(rest);
        }
    }
}

impl<const N: usize> Shard<N> {
    /// Drops the oldest entry of `order`, and its key when it is still that entry.
    fn pop_oldest(&mut self) {
        if let Some((key, expires)) = self.order.pop_front() {
            // One hash lookup: remove the key only when this entry is still its live one.
            if let Entry::Occupied(live) = self.live.entry(key) {
                if *live.get() == expires {
                    live.remove();
                }
            }
        }
    }

    /// Expires entries from the front while they are due. Expiry times are in insertion order
    /// when every insert uses the same lifetime; an entry with a longer lifetime behind a
    /// shorter one is expired late, never early.
    fn expire(&mut self, now: SystemTime) {
        while self.order.front().is_some_and(|(_, until)| *until <= now) {
            self.pop_oldest();
        }
    }
}

impl<const N: usize> ExpiringSet<N> {
    fn new(cap_per_shard: usize) -> Self {
        Self {
            // Room for the first entries up front: a logon then allocates nothing here until
            // a shard outgrows it (amortised growth after that).
            shards: std::array::from_fn(|_| {
                let room = cap_per_shard.min(64);
                Padded(Mutex::new(Shard {
                    live: HashMap::with_capacity(room),
                    order: VecDeque::with_capacity(room),
                }))
            }),
            cap_per_shard,
            salt: u64::from_le_bytes(crate::crypto::random_bytes::<8>()),
            ever_inserted: AtomicBool::new(false),
        }
    }

    fn shard(&self, key: &[u8; N]) -> std::sync::MutexGuard<'_, Shard<N>> {
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

    /// Inserts `key` valid until `expires`, forgetting the shard's oldest entries when it is
    /// full. False when `key` is already present and live at `now`. O(1) amortised.
    fn insert(&self, key: [u8; N], now: SystemTime, expires: SystemTime) -> bool {
        // Before the key is in: a lookup that happens after this insert sees the flag.
        self.ever_inserted.store(true, Ordering::Release);
        let mut shard = self.shard(&key);
        let key = Key(key);
        shard.expire(now);
        if shard.live.len() < self.cap_per_shard && shard.order.len() < 2 * self.cap_per_shard {
            // Room without evicting or compacting: look the key up and insert it with one
            // hash instead of two.
            let Shard { live, order } = &mut *shard;
            match live.entry(key) {
                Entry::Occupied(e) if *e.get() > now => return false,
                Entry::Occupied(mut e) => {
                    e.insert(expires);
                }
                Entry::Vacant(e) => {
                    e.insert(expires);
                }
            }
            order.push_back((key, expires));
            return true;
        }
        if shard.live.get(&key).is_some_and(|until| *until > now) {
            return false;
        }
        while shard.live.len() >= self.cap_per_shard {
            shard.pop_oldest();
        }
        if shard.order.len() >= 2 * self.cap_per_shard {
            let Shard { live, order } = &mut *shard;
            order.retain(|(k, until)| live.get(k) == Some(until));
        }
        shard.live.insert(key, expires);
        shard.order.push_back((key, expires));
        true
    }

    fn contains(&self, key: &[u8; N], now: SystemTime) -> bool {
        if !self.ever_inserted.load(Ordering::Acquire) {
            return false;
        }
        self.shard(key)
            .live
            .get(&Key(*key))
            .is_some_and(|until| *until > now)
    }

    fn remove(&self, key: &[u8; N]) {
        self.shard(key).live.remove(&Key(*key));
    }

    fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| {
                s.lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .live
                    .len()
            })
            .sum()
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
    /// Outstanding challenges (and answered ones) a guard made by [`ReflectionGuard::new`]
    /// holds: 262 144, as 16 shards of 16 384.
    pub const DEFAULT_CAPACITY: usize = SHARDS << 14;

    /// A guard of its own (for a second "machine" in tests, or an isolated component);
    /// `retention` is how long a client remembers the challenges it answered.
    pub fn new(retention: Duration) -> Self {
        Self::with_capacity(retention, Self::DEFAULT_CAPACITY)
    }

    /// A guard holding about `capacity` issued and as many answered challenges (rounded up
    /// to a multiple of its 16 shards; at least one per shard). A full set forgets its
    /// oldest entries (see the module documentation).
    pub fn with_capacity(retention: Duration, capacity: usize) -> Self {
        let per_shard = capacity.div_ceil(SHARDS).max(1);
        Self {
            issued: ExpiringSet::new(per_shard),
            answered: ExpiringSet::new(per_shard),
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

    /// A server records a challenge it issued, valid for `lifetime`. When the guard is full,
    /// the oldest issued challenge is forgotten to make room. False only when this
    /// challenge is already outstanding (a repeated random value, or a fixed entropy
    /// source): the server must not issue it twice.
    #[must_use]
    pub fn server_issued(&self, challenge: [u8; 8], now: SystemTime, lifetime: Duration) -> bool {
        self.issued.insert(challenge, now, later(now, lifetime))
    }

    /// Issued challenges currently held (live or not yet expired from the sets' fronts);
    /// for tests and monitoring.
    pub fn issued_len(&self) -> usize {
        self.issued.len()
    }

    /// A server is done with a challenge (answered, or its context dropped).
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
            .insert(challenge, now, later(now, self.retention));
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
    fn full_shards_evict_the_oldest_and_never_grow() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(100);
        let live = t + Duration::from_secs(60);
        let set = ExpiringSet::<8>::new(2);
        for i in 0..200u8 {
            assert!(set.insert([i; 8], t, live));
        }
        assert!(set.len() <= 2 * SHARDS);
        // The newest entries are kept; most of the first ones are gone.
        assert!(set.contains(&[199; 8], t));
        let kept_early = (0..100u8).filter(|i| set.contains(&[*i; 8], t)).count();
        assert!(kept_early < 10, "{kept_early} of the oldest entries kept");
    }

    #[test]
    fn expiry_and_eviction_are_in_insertion_order_and_stay_bounded() {
        let set = ExpiringSet::<8>::new(4);
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(100);
        let life = Duration::from_secs(10);
        // Many inserts and removals (a server issuing and finishing challenges) keep
        // the order deque bounded by compaction.
        for i in 0..100_000u32 {
            let mut k = [0u8; 8];
            k[..4].copy_from_slice(&i.to_le_bytes());
            let _ = set.insert(k, t, t + life);
            set.remove(&k);
        }
        for m in &set.shards {
            assert!(m.lock().unwrap().order.len() <= 2 * 4 + 1);
        }
        // Entries expire at their time, oldest first.
        let a = [1u8; 8];
        assert!(set.insert(a, t, t + life));
        assert!(set.contains(&a, t + Duration::from_secs(9)));
        assert!(!set.contains(&a, t + life));
        assert!(set.insert(a, t + life, t + life + life));
    }

    #[test]
    fn a_full_guard_evicts_the_oldest_issued_challenge_and_keeps_issuing() {
        // A small guard, flooded with ten times its capacity: every challenge is issued,
        // the guard stays bounded, the newest challenge is guarded, and a challenge a local
        // client answered is still caught by the server-side check.
        let g = ReflectionGuard::with_capacity(Duration::from_secs(60), 64 * SHARDS);
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(100);
        let life = Duration::from_secs(300);
        g.client_answered([42; 8], t);
        for i in 0..(10 * 64 * SHARDS as u32) {
            let mut c = [0u8; 8];
            c[..4].copy_from_slice(&i.to_le_bytes());
            c[4] = 1;
            assert!(g.server_issued(c, t, life), "challenge {i} refused");
        }
        assert!(g.issued_len() <= 64 * SHARDS);
        let mut newest = [0u8; 8];
        newest[..4].copy_from_slice(&(10 * 64 * SHARDS as u32 - 1).to_le_bytes());
        newest[4] = 1;
        assert!(!g.client_may_answer(&newest, t));
        assert!(g.answered_locally(&[42; 8], t + Duration::from_secs(59)));
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
