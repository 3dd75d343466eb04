//! NegotiateFlags (MS-NLMP §2.2.2.5).
//!
//! All 32 bits have a name, including the reserved ones (`R1`..`R10`), so a flag word
//! received from a peer survives decode and encode unchanged.

use core::fmt;
use core::ops::{BitAnd, BitOr, BitOrAssign, Not};

/// The 32-bit NegotiateFlags word of every NTLM message (MS-NLMP §2.2.2.5).
///
/// ```
/// use ntlm::wire::NegotiateFlags as F;
/// let f = F::NEGOTIATE_UNICODE | F::NEGOTIATE_NTLM | F::NEGOTIATE_EXTENDED_SESSIONSECURITY;
/// assert!(f.contains(F::NEGOTIATE_NTLM));
/// assert_eq!(F::from_bits(0xe2028233).bits(), 0xe2028233);
/// assert_eq!(format!("{:?}", F::NEGOTIATE_SIGN), "NegotiateFlags(SIGN)");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct NegotiateFlags(u32);

macro_rules! flags {
    ($($(#[$m:meta])* $name:ident = $bit:expr, $short:expr;)*) => {
        impl NegotiateFlags {
            $($(#[$m])* pub const $name: Self = Self($bit);)*

            /// Every bit with its short name, lowest bit first.
            pub const NAMES: [(Self, &'static str); 32] = [$((Self::$name, $short)),*];
        }
    };
}

flags! {
    /// A: Unicode (UTF-16LE) strings.
    NEGOTIATE_UNICODE = 0x0000_0001, "UNICODE";
    /// B: OEM code page strings.
    NEGOTIATE_OEM = 0x0000_0002, "OEM";
    /// C: the server's CHALLENGE must carry TargetName.
    REQUEST_TARGET = 0x0000_0004, "REQUEST_TARGET";
    /// r10: reserved.
    R10 = 0x0000_0008, "R10";
    /// D: message integrity (signing).
    NEGOTIATE_SIGN = 0x0000_0010, "SIGN";
    /// E: message confidentiality (sealing).
    NEGOTIATE_SEAL = 0x0000_0020, "SEAL";
    /// F: connectionless (datagram) NTLM.
    NEGOTIATE_DATAGRAM = 0x0000_0040, "DATAGRAM";
    /// G: LAN Manager session key.
    NEGOTIATE_LM_KEY = 0x0000_0080, "LM_KEY";
    /// r9: reserved (historically NetWare).
    R9 = 0x0000_0100, "R9";
    /// H: NTLM v1 authentication.
    NEGOTIATE_NTLM = 0x0000_0200, "NTLM";
    /// r8: reserved.
    R8 = 0x0000_0400, "R8";
    /// J: anonymous connection.
    ANONYMOUS = 0x0000_0800, "ANONYMOUS";
    /// K: the NEGOTIATE carries a domain name.
    NEGOTIATE_OEM_DOMAIN_SUPPLIED = 0x0000_1000, "OEM_DOMAIN_SUPPLIED";
    /// L: the NEGOTIATE carries a workstation name.
    NEGOTIATE_OEM_WORKSTATION_SUPPLIED = 0x0000_2000, "OEM_WORKSTATION_SUPPLIED";
    /// r7: reserved (historically "local call").
    R7 = 0x0000_4000, "R7";
    /// M: always sign (dummy signatures when no key is negotiated).
    NEGOTIATE_ALWAYS_SIGN = 0x0000_8000, "ALWAYS_SIGN";
    /// N: TargetName is a domain.
    TARGET_TYPE_DOMAIN = 0x0001_0000, "TARGET_TYPE_DOMAIN";
    /// O: TargetName is a server.
    TARGET_TYPE_SERVER = 0x0002_0000, "TARGET_TYPE_SERVER";
    /// r6: reserved (historically "target type share").
    R6 = 0x0004_0000, "R6";
    /// P: NTLM v1 extended session security (the "NTLM2 session response").
    NEGOTIATE_EXTENDED_SESSIONSECURITY = 0x0008_0000, "EXTENDED_SESSIONSECURITY";
    /// Q: identify-level token.
    NEGOTIATE_IDENTIFY = 0x0010_0000, "IDENTIFY";
    /// r5: reserved.
    R5 = 0x0020_0000, "R5";
    /// R: LMOWF-based session key without the NT part.
    REQUEST_NON_NT_SESSION_KEY = 0x0040_0000, "REQUEST_NON_NT_SESSION_KEY";
    /// S: the CHALLENGE carries TargetInfo.
    NEGOTIATE_TARGET_INFO = 0x0080_0000, "TARGET_INFO";
    /// r4: reserved.
    R4 = 0x0100_0000, "R4";
    /// T: the message carries a VERSION structure.
    NEGOTIATE_VERSION = 0x0200_0000, "VERSION";
    /// r3: reserved.
    R3 = 0x0400_0000, "R3";
    /// r2: reserved.
    R2 = 0x0800_0000, "R2";
    /// r1: reserved.
    R1 = 0x1000_0000, "R1";
    /// U: 128-bit session key.
    NEGOTIATE_128 = 0x2000_0000, "128";
    /// V: explicit key exchange (EncryptedRandomSessionKey).
    NEGOTIATE_KEY_EXCH = 0x4000_0000, "KEY_EXCH";
    /// W: 56-bit session key.
    NEGOTIATE_56 = 0x8000_0000, "56";
}

impl NegotiateFlags {
    /// No bit set.
    pub const EMPTY: Self = Self(0);

    /// Any 32-bit word; unknown and reserved bits are kept.
    pub const fn from_bits(bits: u32) -> Self {
        Self(bits)
    }

    /// The 32-bit word as sent on the wire (little-endian there).
    pub const fn bits(self) -> u32 {
        self.0
    }

    /// True when every bit of `other` is set here.
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// True when any bit of `other` is set here.
    pub const fn intersects(self, other: Self) -> bool {
        self.0 & other.0 != 0
    }

    /// Sets the bits of `other`.
    pub fn insert(&mut self, other: Self) {
        self.0 |= other.0;
    }

    /// Clears the bits of `other`.
    pub fn remove(&mut self, other: Self) {
        self.0 &= !other.0;
    }

    /// Sets or clears the bits of `other`.
    pub fn set(&mut self, other: Self, on: bool) {
        if on {
            self.insert(other)
        } else {
            self.remove(other)
        }
    }

    /// The short names of the set bits, lowest first (`"UNICODE"`, `"NTLM"`, ...).
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        Self::NAMES
            .into_iter()
            .filter(move |(f, _)| self.contains(*f))
            .map(|(_, n)| n)
    }
}

impl BitOr for NegotiateFlags {
    type Output = Self;
    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}

impl BitOrAssign for NegotiateFlags {
    fn bitor_assign(&mut self, rhs: Self) {
        self.0 |= rhs.0;
    }
}

impl BitAnd for NegotiateFlags {
    type Output = Self;
    fn bitand(self, rhs: Self) -> Self {
        Self(self.0 & rhs.0)
    }
}

impl Not for NegotiateFlags {
    type Output = Self;
    fn not(self) -> Self {
        Self(!self.0)
    }
}

impl fmt::Debug for NegotiateFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NegotiateFlags(")?;
        let mut first = true;
        for name in self.names() {
            if !first {
                f.write_str(" | ")?;
            }
            f.write_str(name)?;
            first = false;
        }
        if first {
            f.write_str("0")?;
        }
        f.write_str(")")
    }
}

impl fmt::Display for NegotiateFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{:08x}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bit_is_named_once() {
        let mut all = 0u32;
        for (f, _) in NegotiateFlags::NAMES {
            assert_eq!(f.bits().count_ones(), 1);
            assert_eq!(all & f.bits(), 0);
            all |= f.bits();
        }
        assert_eq!(all, u32::MAX);
    }

    #[test]
    fn spec_flags_decode_by_name() {
        let f = NegotiateFlags::from_bits(0xe202_8233);
        let names: Vec<_> = f.names().collect();
        assert_eq!(
            names,
            [
                "UNICODE",
                "OEM",
                "SIGN",
                "SEAL",
                "NTLM",
                "ALWAYS_SIGN",
                "TARGET_TYPE_SERVER",
                "VERSION",
                "128",
                "KEY_EXCH",
                "56"
            ]
        );
    }
}
