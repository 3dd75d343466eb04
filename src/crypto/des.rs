//! DES helpers of MS-NLMP §6 (Appendix A: "DES", "DESL"): single-block DES-ECB under a
//! 7-byte key, and DESL over a 16-byte key.

use des::cipher::{Array, BlockCipherEncrypt, KeyInit};
use des::Des;
use zeroize::Zeroize;

/// Expands a 56-bit key (7 bytes) to the 64-bit DES key layout: seven key bits per byte,
/// the low bit of each byte set to odd parity (DES ignores it, but this is the form the
/// standard and MS-NLMP's "DES(K, D)" describe).
fn expand_key(k: &[u8; 7]) -> [u8; 8] {
    let mut out = [
        k[0],
        (k[0] << 7) | (k[1] >> 1),
        (k[1] << 6) | (k[2] >> 2),
        (k[2] << 5) | (k[3] >> 3),
        (k[3] << 4) | (k[4] >> 4),
        (k[4] << 3) | (k[5] >> 5),
        (k[5] << 2) | (k[6] >> 6),
        k[6] << 1,
    ];
    for b in &mut out {
        let high = *b & 0xfe;
        *b = high | u8::from(high.count_ones() % 2 == 0);
    }
    out
}

/// `DES(K, D)`: DES-ECB of one 8-byte block under a 7-byte key (MS-NLMP §6).
pub(crate) fn des7(key: &[u8; 7], data: &[u8; 8]) -> [u8; 8] {
    let mut k = expand_key(key);
    let cipher = Des::new(&Array::from(k));
    k.zeroize();
    let mut block = Array::from(*data);
    cipher.encrypt_block(&mut block);
    block.into()
}

/// `DESL(K, D)` (MS-NLMP §6): `DES(K[0..6], D) ‖ DES(K[7..13], D) ‖ DES(K[14..15] ‖ Z(5), D)`.
pub(crate) fn desl(key: &[u8; 16], data: &[u8; 8]) -> [u8; 24] {
    let mut k3 = [0u8; 7];
    k3[..2].copy_from_slice(&key[14..16]);
    let mut out = [0u8; 24];
    out[..8].copy_from_slice(&des7(key[0..7].try_into().expect("7 bytes"), data));
    out[8..16].copy_from_slice(&des7(key[7..14].try_into().expect("7 bytes"), data));
    out[16..].copy_from_slice(&des7(&k3, data));
    k3.zeroize();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parity_is_odd() {
        for b in expand_key(&[0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde]) {
            assert_eq!(b.count_ones() % 2, 1);
        }
    }

    #[test]
    fn classic_known_answer() {
        // The textbook DES example (key 133457799bbcdff1, plaintext 0123456789abcdef,
        // ciphertext 85e813540f0ab405): drop the parity bits to get the 7-byte key.
        let key8 = 0x1334_5779_9bbc_dff1u64.to_be_bytes();
        let bits: u64 = key8
            .iter()
            .fold(0u64, |acc, b| (acc << 7) | u64::from(b >> 1));
        let k7: [u8; 7] = bits.to_be_bytes()[1..].try_into().unwrap();
        assert_eq!(expand_key(&k7).map(|b| b & 0xfe), key8.map(|b| b & 0xfe));
        let ct = des7(&k7, &0x0123_4567_89ab_cdefu64.to_be_bytes());
        assert_eq!(ct, 0x85e8_1354_0f0a_b405u64.to_be_bytes());
    }
}
