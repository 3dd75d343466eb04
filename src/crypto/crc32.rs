//! CRC-32 of MS-NLMP §3.4.4.1 (the NTLMv1 signature checksum, "CRC32(Message)").

/// The 256-entry table of the reflected CRC-32 polynomial 0xEDB88320, built at compile time.
const TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut n = 0;
    while n < 256 {
        let mut c = n as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xedb8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        table[n] = c;
        n += 1;
    }
    table
};

/// CRC-32 (ISO 3309 / ITU-T V.42, the one of zlib and Ethernet) as MS-NLMP §3.4.4.1 uses it
/// for the NTLMv1 message signature: reflected polynomial 0xEDB88320, initial value and final
/// XOR 0xFFFFFFFF. Table-driven, one byte per step; written here to avoid a dependency.
///
/// ```
/// assert_eq!(ntlm::crypto::crc32(b"123456789"), 0xcbf4_3926);
/// ```
pub fn crc32(data: &[u8]) -> u32 {
    !data
        .iter()
        .fold(!0u32, |c, &b| TABLE[usize::from((c as u8) ^ b)] ^ (c >> 8))
}
