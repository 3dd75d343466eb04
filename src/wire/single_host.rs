//! Single_Host_Data, the value of MsvAvSingleHost (MS-NLMP §2.2.2.2).

use crate::error::{DecodeError, DecodeErrorKind};

/// Single_Host_Data (MS-NLMP §2.2.2.2): what a client tells a server on the same machine
/// about itself. The AV pair itself ([`crate::wire::AvPair::SingleHost`]) keeps the raw
/// bytes, so that a list re-encodes exactly; this is the typed view.
///
/// ```
/// use ntlm::wire::SingleHostData;
/// let mut value = [0u8; 48];
/// value[0] = 48; // Size
/// value[16..48].copy_from_slice(&[0xab; 32]); // MachineID
/// let data = SingleHostData::decode(&value)?;
/// assert_eq!((data.size, data.machine_id), (48, [0xab; 32]));
/// assert!(SingleHostData::decode(&value[..40]).is_err());
/// # Ok::<(), ntlm::DecodeError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SingleHostData<'a> {
    /// Size: the length of the whole value in bytes (48, or more with trailing data).
    pub size: u32,
    /// Z4: 4 bytes MS-NLMP requires to be zero, as received.
    pub z4: [u8; 4],
    /// CustomData: 8 bytes whose meaning is the sender's platform's.
    pub custom_data: [u8; 8],
    /// MachineID: a 256-bit random number identifying the sending machine for this boot.
    pub machine_id: [u8; 32],
    /// Bytes after the 48 the structure defines, not interpreted.
    pub rest: &'a [u8],
}

impl<'a> SingleHostData<'a> {
    /// Length of the structure MS-NLMP §2.2.2.2 defines.
    pub const LEN: usize = 48;

    /// Decodes an MsvAvSingleHost value: at least 48 bytes, and `Size` equal to its length.
    pub fn decode(value: &'a [u8]) -> Result<Self, DecodeError> {
        const FIELD: &str = "MsvAvSingleHost";
        let (head, rest) = value.split_first_chunk::<48>().ok_or_else(|| {
            DecodeError::new(
                FIELD,
                0,
                DecodeErrorKind::Truncated {
                    needed: Self::LEN,
                    available: value.len(),
                },
            )
        })?;
        let (size, head) = head.split_first_chunk::<4>().unwrap_or((&[0; 4], &[]));
        let (z4, head) = head.split_first_chunk::<4>().unwrap_or((&[0; 4], &[]));
        let (custom_data, head) = head.split_first_chunk::<8>().unwrap_or((&[0; 8], &[]));
        let machine_id: [u8; 32] = head.try_into().unwrap_or([0; 32]);
        let size = u32::from_le_bytes(*size);
        if usize::try_from(size).ok() != Some(value.len()) {
            return Err(DecodeError::new(
                FIELD,
                0,
                DecodeErrorKind::UnexpectedValue {
                    found: size,
                    expected: u32::try_from(value.len()).unwrap_or(u32::MAX),
                },
            ));
        }
        Ok(Self {
            size,
            z4: *z4,
            custom_data: *custom_data,
            machine_id,
            rest,
        })
    }
}
