//! The replay cache: accepted responses, remembered for a while, in a layout that costs an
//! accepted logon one cache line of a shared table rather than four.
//!
//! Each response is kept as a 64-bit fingerprint: its 16-byte key hashed by std's
//! `RandomState` (SipHash-1-3 today) under a per-cache random key. Two different responses share a fingerprint
//! with probability about n / 2^63 for n remembered, and a peer, which does not know the key,
//! cannot aim one response at another's fingerprint or at one shard or probe sequence.
//!
//! A shard holds two generations, each an open-addressing table of fingerprints (linear
//! probing, at most half full). Responses go into the current generation. When it is
//! `retention` old it becomes the previous one and the previous is dropped as a whole, so a
//! response is remembered for at least `retention` and at most twice that, with no
//! per-entry expiry list to walk and no second hash lookup to expire the oldest. A full current
//! generation is turned over early: the previous, oldest, generation is forgotten to make room.
//! Both bounds assume a clock that does not go back; one that does makes responses stay longer
//! (until their shard fills up), never shorter.

use std::hash::{BuildHasher, RandomState};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use super::Padded;

const SHARDS: usize = 16;
/// Responses a shard's current generation takes before it is turned over early.
const PER_GENERATION: usize = 1 << 13;
/// Slots a generation's table starts with; it doubles while it is more than half full.
const FIRST_SLOTS: usize = 64;

/// Remembers accepted responses for a while, so that the same one is refused if it comes
/// again.
///
/// ```
/// use ntlm::guard::ReplayCache;
/// use std::time::{Duration, SystemTime};
/// let cache = ReplayCache::new(Duration::from_secs(300));
/// let now = SystemTime::now();
/// assert!(!cache.seen(&[7; 16], now));
/// assert!(cache.remember([7; 16], now));
/// assert!(cache.seen(&[7; 16], now));
/// assert!(!cache.remember([7; 16], now)); // a second acceptance of the same response
/// ```
pub struct ReplayCache {
    shards: [Padded<Mutex<Shard>>; SHARDS],
    hasher: RandomState,
    retention: Duration,
    per_generation: usize,
}

impl ReplayCache {
    /// Keeps each response for at least `retention` (use the policy's challenge lifetime or
    /// longer) and at most twice that, or less under load: each of the 16 shards holds at most
    /// 16 384 responses (two generations of 8 192), and a shard whose current generation is
    /// full forgets its older generation to take more, so that under a flood a shard
    /// guarantees its newest 8 192.
    pub fn new(retention: Duration) -> Self {
        Self::with_generation_capacity(retention, PER_GENERATION)
    }

    fn with_generation_capacity(retention: Duration, per_generation: usize) -> Self {
        let per_generation = per_generation.max(1);
        Self {
            // Both generations' first slots up front: a logon allocates nothing here until a
            // shard outgrows them.
            shards: std::array::from_fn(|_| {
                Padded(Mutex::new(Shard {
                    current: Table::with_slots(FIRST_SLOTS),
                    previous: Table::with_slots(FIRST_SLOTS),
                    current_since: None,
                }))
            }),
            hasher: RandomState::new(),
            retention,
            per_generation,
        }
    }

    /// True when `key` was remembered and has not expired at `now`.
    pub fn seen(&self, key: &[u8; 16], now: SystemTime) -> bool {
        let fingerprint = self.fingerprint(key);
        self.shard(fingerprint)
            .seen(fingerprint, now, self.retention)
    }

    /// Remembers an accepted response's key for at least the retention, unless its shard
    /// fills up first (see [`Self::new`]).
    /// False when it is already remembered: the same response accepted by another context
    /// since this one asked [`Self::seen`] (a replay racing the original), which the caller
    /// refuses.
    #[must_use]
    pub fn remember(&self, key: [u8; 16], now: SystemTime) -> bool {
        let fingerprint = self.fingerprint(&key);
        self.shard(fingerprint)
            .remember(fingerprint, now, self.retention, self.per_generation)
    }

    /// Responses currently remembered (both generations, expired ones not yet turned over
    /// included); for tests and monitoring.
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| {
                let s = s.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                s.current.len + s.previous.len
            })
            .sum()
    }

    /// True when nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The key's fingerprint: never zero (zero marks an empty slot).
    fn fingerprint(&self, key: &[u8; 16]) -> u64 {
        let mut words = [0u64; 2];
        for (w, bytes) in words.iter_mut().zip(key.chunks_exact(8)) {
            let mut b = [0u8; 8];
            b.copy_from_slice(bytes);
            *w = u64::from_le_bytes(b);
        }
        self.hasher.hash_one(words) | 1 << 63
    }

    /// The shard from bits 59–62 (the probe position uses the low bits).
    fn shard(&self, fingerprint: u64) -> std::sync::MutexGuard<'_, Shard> {
        let index = usize::try_from(fingerprint >> 59 & (SHARDS as u64 - 1)).unwrap_or(0);
        self.shards[index]
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A summary: the fingerprints themselves (up to 4 MiB of them) are not listed.
impl core::fmt::Debug for ReplayCache {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ReplayCache")
            .field("retention", &self.retention)
            .field("remembered", &self.len())
            .finish_non_exhaustive()
    }
}

/// One shard's two generations.
#[derive(Debug)]
struct Shard {
    current: Table,
    previous: Table,
    /// When the current generation began (set by the first call after the cache was made).
    current_since: Option<SystemTime>,
}

impl Shard {
    fn seen(&mut self, fingerprint: u64, now: SystemTime, retention: Duration) -> bool {
        self.turn_over(now, retention);
        self.current.contains(fingerprint) || self.previous.contains(fingerprint)
    }

    /// Inserts `fingerprint` into the current generation; false when either generation
    /// already holds it. Looked up in both before a full generation is turned over, so a
    /// response held in it is never taken for a new one.
    fn remember(
        &mut self,
        fingerprint: u64,
        now: SystemTime,
        retention: Duration,
        per_generation: usize,
    ) -> bool {
        if self.seen(fingerprint, now, retention) {
            return false;
        }
        if self.current.len >= per_generation {
            // Full before its time: the older generation is forgotten to make room. Its
            // responses leave early; the current ones still get their whole retention.
            self.swap_generations(now);
        }
        self.current.insert(fingerprint)
    }

    /// Turns the generations over when the current one is `retention` old. The current
    /// generation's responses were all inserted in `[since, since + retention)`; the new one
    /// starts at `since + retention`, so a response is dropped, at the second turn-over after
    /// its insertion, once `now` has reached `since + 2 × retention`: at least `retention` and
    /// at most twice that after it was inserted, however sparse the calls.
    fn turn_over(&mut self, now: SystemTime, retention: Duration) {
        let since = *self.current_since.get_or_insert(now);
        let Ok(age) = now.duration_since(since) else {
            return; // the clock went back: keep everything
        };
        if age < retention {
            return;
        }
        if age >= retention.saturating_mul(2) {
            // Both generations are at least `retention` old.
            self.previous.clear();
            self.current.clear();
            self.current_since = Some(now);
        } else {
            self.swap_generations(since.checked_add(retention).unwrap_or(now));
        }
    }

    /// The current generation becomes the previous one, whose table is cleared and reused as
    /// the new current generation, starting at `since`.
    fn swap_generations(&mut self, since: SystemTime) {
        std::mem::swap(&mut self.current, &mut self.previous);
        self.current.clear();
        self.current_since = Some(since);
    }
}

/// An open-addressing set of non-zero fingerprints, linear probing, at most half full.
#[derive(Debug, Default)]
struct Table {
    slots: Vec<u64>,
    len: usize,
}

impl Table {
    fn with_slots(slots: usize) -> Self {
        Self {
            slots: vec![0; slots.next_power_of_two()],
            len: 0,
        }
    }

    fn contains(&self, fingerprint: u64) -> bool {
        self.find(fingerprint).is_ok()
    }

    /// `Ok` with the slot holding `fingerprint`, or `Err` with the empty slot that ends its
    /// probe sequence. A table without slots answers `Err(0)`.
    fn find(&self, fingerprint: u64) -> Result<usize, usize> {
        let mask = self.slots.len().wrapping_sub(1);
        if self.slots.is_empty() {
            return Err(0);
        }
        let mut i = probe_start(fingerprint) & mask;
        // At most half full, so an empty slot ends every probe within the table's size.
        for _ in 0..self.slots.len() {
            match self.slots[i] {
                0 => return Err(i),
                f if f == fingerprint => return Ok(i),
                _ => i = (i + 1) & mask,
            }
        }
        Err(usize::MAX)
    }

    /// Inserts `fingerprint`; false when it is already there.
    fn insert(&mut self, fingerprint: u64) -> bool {
        if 2 * (self.len + 1) > self.slots.len() {
            self.grow();
        }
        match self.find(fingerprint) {
            Ok(_) => false,
            Err(i) => match self.slots.get_mut(i) {
                Some(slot) => {
                    *slot = fingerprint;
                    self.len += 1;
                    true
                }
                // No empty slot: cannot happen while the table is at most half full, but
                // never forget a response over it.
                None => {
                    self.grow();
                    self.insert(fingerprint)
                }
            },
        }
    }

    /// Doubles the table (or makes its first slots) and re-inserts what it held.
    fn grow(&mut self) {
        let size = (2 * self.slots.len()).max(FIRST_SLOTS);
        let old = std::mem::replace(&mut self.slots, vec![0; size]);
        let mask = size - 1;
        for f in old.into_iter().filter(|&f| f != 0) {
            let mut i = probe_start(f) & mask;
            while self.slots[i] != 0 {
                i = (i + 1) & mask;
            }
            self.slots[i] = f;
        }
    }

    /// Empties the table, keeping its slots for the next generation.
    fn clear(&mut self) {
        if self.len > 0 {
            self.slots.fill(0);
            self.len = 0;
        }
    }
}

/// Where a fingerprint's probe starts, before masking to the table's size: its low bits (a
/// table has at most 2^14 slots; the shard is chosen by bits 59–62). Truncated, never
/// refused, where `usize` has 32 bits.
fn probe_start(fingerprint: u64) -> usize {
    fingerprint as usize
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_000 + secs)
    }

    #[test]
    fn a_response_is_kept_for_the_retention_and_forgotten_by_twice_that() {
        let c = ReplayCache::new(Duration::from_secs(10));
        assert!(!c.seen(&[1; 16], at(0)));
        assert!(c.remember([1; 16], at(0)));
        assert!(!c.remember([1; 16], at(9)));
        assert!(c.seen(&[1; 16], at(9)));
        // Turned over at 10 (still held, in the previous generation), dropped at 20.
        assert!(c.seen(&[1; 16], at(15)));
        assert!(!c.seen(&[1; 16], at(20)));
        assert!(c.remember([1; 16], at(21)));
    }

    #[test]
    fn debug_is_a_summary() {
        let c = ReplayCache::new(Duration::from_secs(10));
        assert!(c.remember([3; 16], at(0)));
        let shown = format!("{c:?}");
        assert_eq!(shown, "ReplayCache { retention: 10s, remembered: 1, .. }");
    }

    #[test]
    fn a_clock_that_goes_back_forgets_nothing() {
        let c = ReplayCache::new(Duration::from_secs(10));
        assert!(c.remember([2; 16], at(100)));
        assert!(c.seen(&[2; 16], at(50)));
        assert!(!c.remember([2; 16], at(0)));
    }

    #[test]
    fn a_full_shard_forgets_its_older_generation_and_stays_bounded() {
        let per_generation = 8;
        let c = ReplayCache::with_generation_capacity(Duration::from_secs(300), per_generation);
        let key = |i: u32| {
            let mut k = [0u8; 16];
            k[..4].copy_from_slice(&i.to_le_bytes());
            k
        };
        let n = 100 * per_generation as u32 * SHARDS as u32;
        for i in 0..n {
            assert!(c.remember(key(i), at(1)), "response {i} refused");
        }
        assert!(c.len() <= 2 * per_generation * SHARDS, "{} held", c.len());
        for shard in &c.shards {
            let s = shard.lock().unwrap();
            assert!(s.current.slots.len() <= 2 * per_generation.next_power_of_two().max(64));
        }
        // The newest are kept, almost all of the oldest are gone.
        assert!((n - 8..n).all(|i| c.seen(&key(i), at(1))));
        let kept_early = (0..1000).filter(|&i| c.seen(&key(i), at(1))).count();
        assert!(kept_early < 10, "{kept_early} of the oldest kept");
    }

    #[test]
    fn of_threads_remembering_the_same_responses_exactly_one_wins_each() {
        // Four threads race to remember the same 20 000 responses (a replay racing the
        // original on another connection): every response is accepted exactly once.
        let cache = ReplayCache::new(Duration::from_secs(300));
        let wins: Vec<Vec<u32>> = std::thread::scope(|scope| {
            let threads: Vec<_> = (0..4)
                .map(|t| {
                    let cache = &cache;
                    scope.spawn(move || {
                        (0..20_000u32)
                            .map(|i| (i + t * 5_000) % 20_000)
                            .filter(|&i| {
                                let mut k = [0u8; 16];
                                k[..4].copy_from_slice(&i.to_le_bytes());
                                cache.remember(k, at(1))
                            })
                            .collect()
                    })
                })
                .collect();
            threads.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let mut all: Vec<u32> = wins.into_iter().flatten().collect();
        all.sort_unstable();
        assert_eq!(all, (0..20_000).collect::<Vec<_>>());
        assert_eq!(cache.len(), 20_000);
    }

    fn fresh_shard() -> Shard {
        Shard {
            current: Table::with_slots(FIRST_SLOTS),
            previous: Table::with_slots(FIRST_SLOTS),
            current_since: None,
        }
    }

    const R: Duration = Duration::from_secs(10);

    #[test]
    fn a_response_in_a_full_generation_is_still_refused() {
        let mut shard = fresh_shard();
        for f in 1..=4u64 {
            assert!(shard.remember(f | 1 << 63, at(0), R, 4));
        }
        // The current generation is full: the same response again must not pass as new
        // through the early turn-over.
        assert!(!shard.remember(1 | 1 << 63, at(1), R, 4));
        assert!(!shard.remember(4 | 1 << 63, at(1), R, 4));
    }

    #[test]
    fn an_early_turn_over_gives_the_current_responses_their_whole_retention() {
        let mut shard = fresh_shard();
        for f in 1..=3u64 {
            assert!(shard.remember(f | 1 << 63, at(0), R, 4));
        }
        assert!(shard.remember(4 | 1 << 63, at(9), R, 4));
        // Full: this one turns the generations over at 9.
        assert!(shard.remember(5 | 1 << 63, at(9), R, 4));
        // Response 4 came at 9, so it must still be held at 18.
        assert!(shard.seen(4 | 1 << 63, at(18), R));
    }

    #[test]
    fn a_generation_never_holds_more_than_its_share_nor_grows_past_it() {
        let per_generation = 64;
        let mut shard = fresh_shard();
        for f in 1..=1_000u64 {
            assert!(shard.remember(f << 8 | 1 << 63, at(0), R, per_generation));
            assert!(shard.current.len <= per_generation);
            assert!(shard.current.slots.len() <= 2 * per_generation);
            assert!(shard.previous.slots.len() <= 2 * per_generation);
        }
    }

    #[test]
    fn tables_grow_and_keep_every_fingerprint() {
        let mut t = Table::default();
        for f in 1..=5_000u64 {
            assert!(t.insert(f | 1 << 63));
        }
        assert_eq!(t.len, 5_000);
        assert!(t.slots.len() >= 10_000);
        assert!((1..=5_000u64).all(|f| t.contains(f | 1 << 63)));
        assert!(!t.insert(17 | 1 << 63));
        assert!(!t.contains(5_001 | 1 << 63));
    }

    proptest! {
        /// Against a model that remembers every insertion time: a response remembered less
        /// than `retention` ago is always seen and refused; one last remembered at least twice
        /// the retention ago is never seen. Time only moves forward here; capacity is not
        /// reached.
        #[test]
        fn agrees_with_a_model_within_the_retention_bounds(
            ops in proptest::collection::vec((0u8..24, any::<bool>(), 0u64..7), 1..400)
        ) {
            let retention = Duration::from_secs(10);
            let c = ReplayCache::new(retention);
            let mut model: HashMap<u8, SystemTime> = HashMap::new();
            let mut now = at(0);
            for (k, insert, step) in ops {
                now += Duration::from_secs(step);
                let key = [k; 16];
                let last = model.get(&k).copied();
                let age = last.map(|t| now.duration_since(t).unwrap());
                let must_be_seen = age.is_some_and(|a| a < retention);
                let must_be_gone = age.is_none_or(|a| a >= 2 * retention);
                if insert {
                    let fresh = c.remember(key, now);
                    if must_be_seen { prop_assert!(!fresh); }
                    if must_be_gone { prop_assert!(fresh); }
                    if fresh { model.insert(k, now); }
                } else {
                    let seen = c.seen(&key, now);
                    if must_be_seen { prop_assert!(seen); }
                    if must_be_gone { prop_assert!(!seen); }
                }
            }
        }
    }
}
