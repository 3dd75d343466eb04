//! The random source of the handshakes: ServerChallenge (MS-NLMP §3.2.5.1.1 `NONCE(8)`),
//! ClientChallenge and ExportedSessionKey (§3.1.5.1.2 `NONCE(8)`, `NONCE(16)`).
//!
//! The default is [`fill_random`]: `rand`'s thread-local generator ([`rand::rng`]), a
//! user-space ChaCha12 CSPRNG seeded from the operating system's generator (`getrandom`)
//! on its first use in each thread and reseeded from it after every 64 KiB of output. It is
//! not reseeded when the process forks: a program that forks after drawing random bytes and
//! then authenticates in the child should reseed there (`rand::rng().reseed()`).
//!
//! [`Entropy`] replaces it for one configuration
//! ([`ClientConfig::entropy`](crate::client::ClientConfig::entropy),
//! [`ServerConfig::entropy`](crate::server::ServerConfig::entropy)): tests and fuzz targets
//! inject a fixed source to reproduce messages byte for byte. Never inject a predictable
//! source in production: a predictable server challenge allows replay and precomputed
//! responses, a predictable exported session key exposes the session.

use std::sync::Arc;

use zeroize::Zeroize;

use super::random_bytes;

/// An injectable source of random bytes: fills its argument completely. `None` in a
/// configuration's `entropy` field means [`fill_random`].
///
/// ```
/// use std::sync::Arc;
/// use ntlm::crypto::Entropy;
///
/// // A fixed source (for tests only): every draw is the same bytes.
/// let fixed: Entropy = Arc::new(|out: &mut [u8]| out.fill(0x42));
/// let mut challenge = [0u8; 8];
/// ntlm::crypto::fill_from(Some(&fixed), &mut challenge);
/// assert_eq!(challenge, [0x42; 8]);
/// ```
pub type Entropy = Arc<dyn Fn(&mut [u8]) + Send + Sync>;

/// The default random source: fills `out` from `rand`'s thread-local generator
/// ([`rand::rng`]), a user-space ChaCha12 CSPRNG seeded from the operating system's
/// generator (`getrandom`) on its first use in each thread and reseeded from it after every
/// 64 KiB of output. It is not reseeded when the process forks: a program that forks after
/// drawing random bytes and authenticates in the child should call `rand::rng().reseed()`
/// there. The intermediate copies are wiped. [`Entropy`] replaces it in a configuration.
pub fn fill_random(out: &mut [u8]) {
    for chunk in out.chunks_mut(16) {
        let mut random = random_bytes::<16>();
        chunk.copy_from_slice(&random[..chunk.len()]);
        random.zeroize();
    }
}

/// Fills `out` from `entropy` when one is injected, else from [`fill_random`].
pub fn fill_from(entropy: Option<&Entropy>, out: &mut [u8]) {
    match entropy {
        Some(source) => source(out),
        None => fill_random(out),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn injected_source_is_used_and_default_is_not_constant() {
        let fixed: Entropy = Arc::new(|out: &mut [u8]| {
            for (i, b) in out.iter_mut().enumerate() {
                *b = i as u8;
            }
        });
        let mut out = [0u8; 20];
        fill_from(Some(&fixed), &mut out);
        assert_eq!(out[..3], [0, 1, 2]);
        assert_eq!(out[19], 19);
        let (mut a, mut b) = ([0u8; 20], [0u8; 20]);
        fill_from(None, &mut a);
        fill_random(&mut b);
        assert_ne!(a, b);
        assert_ne!(a, [0u8; 20]);
    }
}
