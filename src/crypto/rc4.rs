//! RC4 (MS-NLMP §6 "RC4", "RC4K", "RC4Init"): the stream cipher of NTLM key exchange and
//! sealing.
//!
//! A small, self-contained implementation (the key-scheduling and pseudo-random generation
//! algorithms as published, e.g. in RFC 6229 §1) rather than a dependency, because NTLM
//! needs the keystream to continue across calls (one `RC4Init`, many `RC4(Handle, ...)`)
//! and keys of 5, 7, 8 or 16 bytes. RC4 is broken as a cipher; it is here only because
//! the protocol requires it. The state is zeroized on drop.

use core::fmt;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// An RC4 cipher handle (MS-NLMP §6 `RC4Init(H, K)` / `RC4(H, D)`): encrypting and
/// decrypting are the same operation, and every call continues the keystream.
///
/// Not `Clone`, so a keystream cannot be reused by accident.
///
/// ```
/// use ntlm::crypto::Rc4;
/// // RFC 6229, 40-bit key 0102030405, keystream offset 0.
/// let mut rc4 = Rc4::new(&[1, 2, 3, 4, 5]);
/// let mut buf = [0u8; 8];
/// rc4.apply_keystream(&mut buf);
/// assert_eq!(buf, [0xb2, 0x39, 0x63, 0x05, 0xf0, 0x3d, 0xc0, 0x27]);
/// ```
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct Rc4 {
    s: [u8; 256],
    i: u8,
    j: u8,
}

impl Rc4 {
    /// `RC4Init(H, K)`: the key-scheduling algorithm.
    ///
    /// # Panics
    /// If `key` is empty or longer than 256 bytes (NTLM uses 5 to 16).
    pub fn new(key: &[u8]) -> Self {
        assert!(
            (1..=256).contains(&key.len()),
            "RC4 key must be 1..=256 bytes, got {}",
            key.len()
        );
        // The identity permutation, then one pass of swaps, on 32-bit entries (byte entries
        // made this loop ~25% slower here: the same choice as OpenSSL's `RC4_INT`). The key
        // index wraps by compare rather than `i % key.len()`: a division per step cost more
        // than the swap itself.
        //
        // `S[i + 1]` is read before step `i` stores, then replaced by the value step `i`
        // moved there if its swap hit `i + 1`: the next `j` then never waits for this step's
        // stores, which is the loop's critical path.
        let mut wide: [u32; 256] = core::array::from_fn(|i| i as u32);
        let mut j = 0usize;
        let mut k = 0usize;
        let mut si = wide[0];
        for i in 0..256 {
            let next = wide[(i + 1) & 0xff];
            j = (j + si as usize + usize::from(key[k])) & 0xff;
            wide[i] = wide[j];
            wide[j] = si;
            si = if j == (i + 1) & 0xff { si } else { next };
            k += 1;
            if k == key.len() {
                k = 0;
            }
        }
        // Every entry is below 256.
        let s = core::array::from_fn(|i| wide[i] as u8);
        wide.zeroize();
        Self { s, i: 0, j: 0 }
    }

    /// `RC4(H, D)`: XORs `data` in place with the next `data.len()` keystream bytes.
    pub fn apply_keystream(&mut self, data: &mut [u8]) {
        let (mut i, mut j) = (self.i, self.j);
        for b in data {
            i = i.wrapping_add(1);
            j = j.wrapping_add(self.s[usize::from(i)]);
            self.s.swap(usize::from(i), usize::from(j));
            let k = self.s[usize::from(i)].wrapping_add(self.s[usize::from(j)]);
            *b ^= self.s[usize::from(k)];
        }
        self.i = i;
        self.j = j;
    }

    /// `RC4K(K, D)`: a one-shot encryption of `data` in place under a fresh handle.
    pub fn rc4k(key: &[u8], data: &mut [u8]) {
        Self::new(key).apply_keystream(data);
    }
}

impl fmt::Debug for Rc4 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Rc4(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::Rc4;

    /// The key-scheduling algorithm as published, one byte per entry, no look-ahead.
    fn textbook(key: &[u8]) -> [u8; 256] {
        let mut s: [u8; 256] = core::array::from_fn(|i| i as u8);
        let mut j = 0u8;
        for i in 0..256 {
            j = j.wrapping_add(s[i]).wrapping_add(key[i % key.len()]);
            s.swap(i, usize::from(j));
        }
        s
    }

    #[test]
    fn key_schedule_matches_the_textbook_one() {
        // Keys of every length NTLM uses and the extremes; many keys, so that swaps landing
        // on the entry read ahead (`j == i + 1`) occur (each key has ~63% odds of one).
        let mut lookahead_hits = 0;
        for len in [1, 5, 7, 8, 16, 40, 255, 256] {
            for seed in 0..64u8 {
                let key: Vec<u8> = (0..len)
                    .map(|x| (x as u8).wrapping_mul(37) ^ seed.wrapping_mul(91))
                    .collect();
                let want = textbook(&key);
                assert_eq!(Rc4::new(&key).s, want, "key length {len}, seed {seed}");
                let mut s: [u8; 256] = core::array::from_fn(|i| i as u8);
                let mut j = 0u8;
                for i in 0..255 {
                    j = j.wrapping_add(s[i]).wrapping_add(key[i % key.len()]);
                    s.swap(i, usize::from(j));
                    lookahead_hits += usize::from(usize::from(j) == i + 1);
                }
            }
        }
        assert!(lookahead_hits > 100, "{lookahead_hits}");
    }
}
