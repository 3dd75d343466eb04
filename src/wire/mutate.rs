//! Test support for the one-pass decoders: a reproducible xorshift generator and the byte
//! changes with which each one-pass decoder is checked against its field-by-field decoder.
//! Test-only (`#[cfg(test)]` in `wire`), where a failed conversion may panic.
#![allow(clippy::unwrap_used)]

/// Marsaglia's xorshift64: reproducible, no dependency, good enough to pick bytes to change.
pub(crate) struct XorShift(u64);

impl XorShift {
    /// A generator started at `seed` (non-zero).
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next value.
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// The next value as a `usize`.
    pub(crate) fn next_usize(&mut self) -> usize {
        usize::try_from(self.next()).unwrap()
    }
}

/// Changes one to three bytes of a message (half of them within its first `header` bytes,
/// where the lengths and offsets are) to 0, one more, one less or a random byte, and one
/// time in eight truncates it.
pub(crate) fn mutate_message(b: &mut Vec<u8>, rng: &mut XorShift, header: u64) {
    for _ in 0..=(rng.next() % 3) {
        let at = if rng.next() % 2 == 0 {
            usize::try_from(rng.next() % header).unwrap()
        } else {
            rng.next_usize() % b.len().max(1)
        };
        if let Some(x) = b.get_mut(at) {
            *x = match rng.next() % 4 {
                0 => 0,
                1 => x.wrapping_add(1),
                2 => x.wrapping_sub(1),
                _ => u8::try_from(rng.next() & 0xff).unwrap(),
            };
        }
    }
    if rng.next() % 8 == 0 {
        b.truncate(rng.next_usize() % (b.len() + 1));
    }
}
