//! The VERSION structure (MS-NLMP §2.2.2.10).

use crate::error::DecodeError;

use super::layout::array;

/// NTLMSSP_REVISION_W2K3: the only NTLMRevisionCurrent value in use (MS-NLMP §2.2.2.10).
pub const NTLMSSP_REVISION_W2K3: u8 = 0x0F;

/// The 8-byte VERSION structure of MS-NLMP §2.2.2.10: the sender's OS version, for
/// debugging only. Sent when NTLMSSP_NEGOTIATE_VERSION is set.
///
/// ```
/// use ntlm::wire::Version;
/// let v = Version::decode(&[6, 0, 0x70, 0x17, 0, 0, 0, 15]).unwrap();
/// assert_eq!(v, Version::WINDOWS_VISTA);
/// assert_eq!(v.encode(), [6, 0, 0x70, 0x17, 0, 0, 0, 15]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Version {
    /// ProductMajorVersion.
    pub major: u8,
    /// ProductMinorVersion.
    pub minor: u8,
    /// ProductBuild.
    pub build: u16,
    /// Reserved (3 bytes), kept as received.
    pub reserved: [u8; 3],
    /// NTLMRevisionCurrent; [`NTLMSSP_REVISION_W2K3`] in practice.
    pub revision: u8,
}

impl Version {
    /// Length on the wire (MS-NLMP §2.2.2.10).
    pub const LEN: usize = 8;

    /// Windows XP SP2 / 5.1.2600, as in MS-NLMP §4.2.2's AUTHENTICATE_MESSAGE.
    pub const WINDOWS_XP: Self = Self::new(5, 1, 2600);
    /// Windows Vista / Server 2008, 6.0.6000, as in MS-NLMP §4.2.2's CHALLENGE_MESSAGE.
    pub const WINDOWS_VISTA: Self = Self::new(6, 0, 6000);
    /// Windows 10 version 2004, 10.0.19041 (MS-NLMP §2.2.2.10).
    pub const WINDOWS_10: Self = Self::new(10, 0, 19041);
    /// Windows Server 2022, 10.0.20348 (MS-NLMP §2.2.2.10).
    pub const WINDOWS_SERVER_2022: Self = Self::new(10, 0, 20348);

    /// A version with zero Reserved bytes and revision [`NTLMSSP_REVISION_W2K3`] (MS-NLMP §2.2.2.10).
    pub const fn new(major: u8, minor: u8, build: u16) -> Self {
        Self {
            major,
            minor,
            build,
            reserved: [0; 3],
            revision: NTLMSSP_REVISION_W2K3,
        }
    }

    /// Decodes the first 8 bytes of `bytes` (MS-NLMP §2.2.2.10); any value is accepted.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let b: [u8; 8] = array(bytes, 0, "Version")?;
        let [major, minor, b0, b1, r0, r1, r2, revision] = b;
        Ok(Self {
            major,
            minor,
            build: u16::from_le_bytes([b0, b1]),
            reserved: [r0, r1, r2],
            revision,
        })
    }

    /// The 8 bytes of MS-NLMP §2.2.2.10.
    pub fn encode(&self) -> [u8; 8] {
        let [b0, b1] = self.build.to_le_bytes();
        let [r0, r1, r2] = self.reserved;
        [self.major, self.minor, b0, b1, r0, r1, r2, self.revision]
    }
}
