//! Secret values: passwords, one-way hashes and keys.
//!
//! Every type here zeroizes its bytes on drop, compares in constant time
//! ([`subtle::ConstantTimeEq`]) and prints as `<redacted>` in `Debug`. None implements
//! `Display`, `PartialEq` or `Hash`, so a secret cannot be compared with `==` or leak
//! through formatting by accident.

use core::fmt;
use subtle::{Choice, ConstantTimeEq};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

macro_rules! secret_16 {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, Zeroize, ZeroizeOnDrop)]
        pub struct $name([u8; 16]);

        impl $name {
            /// Wraps 16 bytes. The caller's copy is not zeroized; prefer building the value
            /// in place where that matters.
            pub const fn from_bytes(bytes: [u8; 16]) -> Self {
                Self(bytes)
            }

            /// The raw bytes. Keep the borrow short; never log them.
            pub const fn as_bytes(&self) -> &[u8; 16] {
                &self.0
            }

            /// Constant-time equality with raw bytes, as [`ConstantTimeEq`] does.
            pub fn ct_eq_bytes(&self, other: &[u8]) -> bool {
                other.len() == 16 && bool::from(self.0[..].ct_eq(other))
            }
        }

        impl ConstantTimeEq for $name {
            fn ct_eq(&self, other: &Self) -> Choice {
                self.0.ct_eq(&other.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "(<redacted>)"))
            }
        }
    };
}

secret_16!(
    /// NTOWFv1: MD4 of the UTF-16LE password (MS-NLMP §3.3.1). This is what Windows and
    /// Samba store for an account, and all a verifier needs ("pass the hash").
    NtHash
);
secret_16!(
    /// LMOWFv1: DES of `KGS!@#$%` under the two halves of the uppercased OEM password
    /// (MS-NLMP §3.3.1).
    LmHash
);
secret_16!(
    /// NTOWFv2 / LMOWFv2: HMAC-MD5 keyed by the NT hash over UPPERCASE(user) ‖ domain
    /// (MS-NLMP §3.3.2). The ResponseKeyNT and ResponseKeyLM of NTLMv2.
    NtlmV2Hash
);
secret_16!(
    /// A 128-bit key of MS-NLMP §3.4.5: SessionBaseKey, KeyExchangeKey, ExportedSessionKey,
    /// or a sign or seal key.
    SessionKey
);

/// A password, held as UTF-8 and zeroized on drop (MS-NLMP §3.1.1.1 `Passwd`).
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Password(String);

impl Password {
    /// Takes ownership of the string; its buffer is zeroized when the password is dropped.
    pub fn new(password: impl Into<String>) -> Self {
        Self(password.into())
    }

    /// The password text. Keep the borrow short; never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<&str> for Password {
    fn from(value: &str) -> Self {
        Self::new(value)
    }
}

impl From<String> for Password {
    fn from(value: String) -> Self {
        Self::new(value)
    }
}

impl From<Zeroizing<String>> for Password {
    fn from(value: Zeroizing<String>) -> Self {
        Self::new(value.as_str())
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// A sealing key of MS-NLMP §3.4.5.3 (SEALKEY): 16 bytes, or 8 bytes for the weakened
/// NTLMv1 keys (`ExportedSessionKey[0..6] ‖ 0xA0` or `ExportedSessionKey[0..4] ‖ 0xE5 0x38 0xB0`).
///
/// Zeroized on drop, compared in constant time, `<redacted>` in `Debug`, like the other
/// secrets of this module.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct SealKey {
    bytes: [u8; 16],
    len: u8,
}

impl SealKey {
    /// Copies a key of 1 to 16 bytes (MS-NLMP uses 8 or 16).
    ///
    /// # Panics
    /// If `key` is empty or longer than 16 bytes.
    ///
    /// ```
    /// let k = ntlm::secret::SealKey::from_slice(&[0x55, 0x55, 0x55, 0x55, 0x55, 0xe5, 0x38, 0xb0]);
    /// assert_eq!(k.len(), 8);
    /// assert!(k.ct_eq_bytes(&[0x55, 0x55, 0x55, 0x55, 0x55, 0xe5, 0x38, 0xb0]));
    /// assert_eq!(format!("{k:?}"), "SealKey(<redacted>)");
    /// ```
    pub fn from_slice(key: &[u8]) -> Self {
        assert!(
            (1..=16).contains(&key.len()),
            "seal key must be 1..=16 bytes, got {}",
            key.len()
        );
        let mut bytes = [0u8; 16];
        bytes[..key.len()].copy_from_slice(key);
        Self {
            bytes,
            len: key.len() as u8,
        }
    }

    /// The key bytes (8 or 16 of them in MS-NLMP). Keep the borrow short; never log them.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    /// The key length in bytes.
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// Always false: a seal key has at least one byte.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Constant-time equality with raw bytes (the length is not secret).
    pub fn ct_eq_bytes(&self, other: &[u8]) -> bool {
        other.len() == self.len() && bool::from(self.as_bytes().ct_eq(other))
    }
}

impl ConstantTimeEq for SealKey {
    fn ct_eq(&self, other: &Self) -> Choice {
        if self.len != other.len {
            return Choice::from(0);
        }
        self.as_bytes().ct_eq(other.as_bytes())
    }
}

impl fmt::Debug for SealKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SealKey(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let k = SessionKey::from_bytes([0x55; 16]);
        let p = Password::new("hunter2");
        assert_eq!(format!("{k:?}"), "SessionKey(<redacted>)");
        assert_eq!(format!("{p:?}"), "Password(<redacted>)");
        assert!(!format!("{k:?}{p:?}").contains("55"));
    }

    #[test]
    fn constant_time_eq() {
        let a = NtHash::from_bytes([1; 16]);
        let b = NtHash::from_bytes([1; 16]);
        let c = NtHash::from_bytes([2; 16]);
        assert!(bool::from(a.ct_eq(&b)));
        assert!(!bool::from(a.ct_eq(&c)));
        assert!(a.ct_eq_bytes(&[1; 16]));
        assert!(!a.ct_eq_bytes(&[1; 15]));
    }
}
