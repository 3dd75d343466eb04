//! Pure cryptographic functions of MS-NLMP §3.3 and §3.4.
//!
//! * one-way functions (§3.3.1, §3.3.2): [`lmowf_v1`], [`ntowf_v1`], [`ntowf_v2`], and the
//!   Windows 1:1 uppercase mapping [`windows_uppercase`];
//! * challenge responses and session base keys (§3.3.1, §3.3.2);
//! * key derivation (§3.4.5): [`kxkey_v1`], [`kxkey_v2`], [`rc4_session_key`], [`sign_key`],
//!   [`seal_key`]; the [`mic`] and [`channel_bindings_hash`] (§3.1.5.1.2);
//! * session security (§3.4): [`SessionSecurity`], [`signature_v1`], [`signature_ess`];
//! * the random source ([`Entropy`], [`fill_random`]: MS-NLMP's `NONCE`);
//! * the primitives MS-NLMP §6 names that no dependency provides: [`Rc4`] and [`crc32`].
//!
//! Hashing is incremental: no function here concatenates its inputs into a buffer, and only
//! [`ntlm_v2_blob`], [`ntlm_v2_response`] and [`windows_uppercase`] allocate (they return
//! owned data).

mod crc32;
mod des;
mod keys;
mod oem;
mod owf;
mod random;
mod rc4;
mod response;
mod session;

pub use crate::secret::SealKey;
pub use crc32::crc32;
pub use keys::{
    channel_bindings_hash, kxkey_v1, kxkey_v2, mic, random_bytes, rc4_session_key, seal_key,
    sign_key, Side,
};
pub use oem::{cp850_byte, cp850_char, cp850_encode_into};
pub use owf::{
    lmowf_v1, ntowf_v1, ntowf_v2, windows_eq_ignore_case, windows_upcase_char, windows_uppercase,
    windows_uppercase_into, NtowfV2User,
};
pub use random::{fill_from, fill_random, Entropy};
pub use rc4::Rc4;
pub use response::{
    ess_lm_response, ess_nt_response, lm_v1_response, lm_v2_response, nt_proof_str,
    ntlm_v1_response, ntlm_v1_session_base_key, ntlm_v2_blob, ntlm_v2_blob_into, ntlm_v2_blob_len,
    ntlm_v2_response, ntlm_v2_session_base_key, ResponseKeyV2,
};
pub use session::{signature_ess, signature_v1, SecurityError, SessionSecurity};
