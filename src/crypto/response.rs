//! Challenge responses and session base keys of MS-NLMP §3.3.1 (NTLM v1, with and without
//! extended session security) and §3.3.2 (NTLM v2).
//!
//! Doc examples use the values of MS-NLMP §4.2: user "User", domain "Domain", password
//! "Password", server challenge `0123456789abcdef`, client challenge `aa` x 8, time 0.

use crate::crypto::des::desl;
use crate::crypto::owf::HmacMd5;
use crate::secret::{LmHash, NtHash, NtlmV2Hash, SessionKey};
use hmac::{KeyInit, Mac};
use md4::{Digest, Md4};
use md5::Md5;

/// LM v1 response (MS-NLMP §3.3.1): `DESL(ResponseKeyLM, ServerChallenge)`, ResponseKeyLM
/// being LMOWFv1.
///
/// ```
/// use ntlm::crypto::{lm_v1_response, lmowf_v1};
/// let r = lm_v1_response(&lmowf_v1("Password").unwrap(), &[0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef]);
/// assert_eq!(r[..8], [0x98, 0xde, 0xf7, 0xb8, 0x7f, 0x88, 0xaa, 0x5d]);
/// ```
pub fn lm_v1_response(lm: &LmHash, server_challenge: &[u8; 8]) -> [u8; 24] {
    desl(lm.as_bytes(), server_challenge)
}

/// NTLM v1 response (MS-NLMP §3.3.1): `DESL(ResponseKeyNT, ServerChallenge)`, ResponseKeyNT
/// being NTOWFv1.
///
/// ```
/// use ntlm::crypto::{ntlm_v1_response, ntowf_v1};
/// let r = ntlm_v1_response(&ntowf_v1("Password"), &[0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef]);
/// assert_eq!(r[..8], [0x67, 0xc4, 0x30, 0x11, 0xf3, 0x02, 0x98, 0xa2]);
/// ```
pub fn ntlm_v1_response(nt: &NtHash, server_challenge: &[u8; 8]) -> [u8; 24] {
    desl(nt.as_bytes(), server_challenge)
}

/// LM response with extended session security (MS-NLMP §3.3.1, the "NTLM2 session
/// response"): `ClientChallenge ‖ Z(16)`.
///
/// ```
/// let r = ntlm::crypto::ess_lm_response(&[0xaa; 8]);
/// assert_eq!(r[..8], [0xaa; 8]);
/// assert_eq!(r[8..], [0; 16]);
/// ```
pub fn ess_lm_response(client_challenge: &[u8; 8]) -> [u8; 24] {
    let mut r = [0u8; 24];
    r[..8].copy_from_slice(client_challenge);
    r
}

/// NT response with extended session security (MS-NLMP §3.3.1):
/// `DESL(ResponseKeyNT, MD5(ServerChallenge ‖ ClientChallenge)[0..7])`.
///
/// ```
/// use ntlm::crypto::{ess_nt_response, ntowf_v1};
/// let sc = [0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef];
/// let r = ess_nt_response(&ntowf_v1("Password"), &sc, &[0xaa; 8]);
/// assert_eq!(r[..8], [0x75, 0x37, 0xf8, 0x03, 0xae, 0x36, 0x71, 0x28]);
/// ```
pub fn ess_nt_response(
    nt: &NtHash,
    server_challenge: &[u8; 8],
    client_challenge: &[u8; 8],
) -> [u8; 24] {
    let mut md5 = Md5::new();
    md5.update(server_challenge);
    md5.update(client_challenge);
    let digest = md5.finalize();
    desl(nt.as_bytes(), digest[..8].try_into().expect("8 bytes"))
}

/// NTLM v1 SessionBaseKey (MS-NLMP §3.3.1): `MD4(NTOWFv1)`, with or without extended
/// session security.
///
/// ```
/// use ntlm::crypto::{ntlm_v1_session_base_key, ntowf_v1};
/// let k = ntlm_v1_session_base_key(&ntowf_v1("Password"));
/// assert_eq!(k.as_bytes(), &0xd87262b0cde4b1cb7499becccdf10784u128.to_be_bytes());
/// ```
pub fn ntlm_v1_session_base_key(nt: &NtHash) -> SessionKey {
    SessionKey::from_bytes(Md4::digest(nt.as_bytes()).into())
}

fn hmac_md5(key: &[u8; 16]) -> HmacMd5 {
    <HmacMd5 as KeyInit>::new_from_slice(key).expect("any key length")
}

/// ResponseKeyNT / ResponseKeyLM of NTLMv2 (MS-NLMP §3.3.2, NTOWFv2) with its HMAC-MD5
/// key schedule done once: the inner (`key ⊕ ipad`) and outer (`key ⊕ opad`) MD5 states are
/// computed by [`new`](Self::new) and cloned for each use, so NTProofStr, the LMv2 response
/// and the SessionBaseKey under the same key cost two MD5 compressions less each than
/// calling [`nt_proof_str`], [`lm_v2_response`] and [`ntlm_v2_session_base_key`] separately.
///
/// The state is derived from the secret key; it is dropped (not zeroized: the `hmac` crate
/// offers no zeroizing state) with this value.
///
/// ```
/// use ntlm::crypto::{nt_proof_str, ntlm_v2_session_base_key, ntowf_v1, ntowf_v2, ResponseKeyV2};
/// let key = ntowf_v2(&ntowf_v1("Password"), "User", "Domain");
/// let keyed = ResponseKeyV2::new(&key);
/// let sc = [0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef];
/// let proof = keyed.nt_proof_str(&sc, b"blob");
/// assert_eq!(proof, nt_proof_str(&key, &sc, b"blob"));
/// assert_eq!(
///     keyed.session_base_key(&proof).as_bytes(),
///     ntlm_v2_session_base_key(&key, &proof).as_bytes()
/// );
/// ```
#[derive(Clone)]
pub struct ResponseKeyV2 {
    mac: HmacMd5,
}

impl ResponseKeyV2 {
    /// Runs the HMAC key schedule for `key` (two MD5 compressions).
    pub fn new(key: &NtlmV2Hash) -> Self {
        Self {
            mac: hmac_md5(key.as_bytes()),
        }
    }

    /// NTProofStr: `HMAC_MD5(key, ServerChallenge ‖ blob)`, as [`nt_proof_str`].
    pub fn nt_proof_str(&self, server_challenge: &[u8; 8], blob: &[u8]) -> [u8; 16] {
        let mut mac = self.mac.clone();
        mac.update(server_challenge);
        mac.update(blob);
        mac.finalize().into_bytes().into()
    }

    /// The LMv2 response, as [`lm_v2_response`].
    pub fn lm_v2_response(
        &self,
        server_challenge: &[u8; 8],
        client_challenge: &[u8; 8],
    ) -> [u8; 24] {
        let mut mac = self.mac.clone();
        mac.update(server_challenge);
        mac.update(client_challenge);
        let mut r = [0u8; 24];
        r[..16].copy_from_slice(&mac.finalize().into_bytes());
        r[16..].copy_from_slice(client_challenge);
        r
    }

    /// The SessionBaseKey `HMAC_MD5(key, NTProofStr)`, as [`ntlm_v2_session_base_key`].
    pub fn session_base_key(&self, nt_proof_str: &[u8; 16]) -> SessionKey {
        let mut mac = self.mac.clone();
        mac.update(nt_proof_str);
        SessionKey::from_bytes(mac.finalize().into_bytes().into())
    }
}

impl core::fmt::Debug for ResponseKeyV2 {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("ResponseKeyV2(<redacted>)")
    }
}

/// LMv2 response (MS-NLMP §3.3.2):
/// `HMAC_MD5(ResponseKeyLM, ServerChallenge ‖ ClientChallenge) ‖ ClientChallenge`, where
/// ResponseKeyLM = NTOWFv2.
///
/// ```
/// use ntlm::crypto::{lm_v2_response, ntowf_v1, ntowf_v2};
/// let key = ntowf_v2(&ntowf_v1("Password"), "User", "Domain");
/// let sc = [0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef];
/// let r = lm_v2_response(&key, &sc, &[0xaa; 8]);
/// assert_eq!(r[..16], 0x86c35097ac9cec102554764a57cccc19u128.to_be_bytes());
/// assert_eq!(r[16..], [0xaa; 8]);
/// ```
pub fn lm_v2_response(
    key: &NtlmV2Hash,
    server_challenge: &[u8; 8],
    client_challenge: &[u8; 8],
) -> [u8; 24] {
    let mut mac = hmac_md5(key.as_bytes());
    mac.update(server_challenge);
    mac.update(client_challenge);
    let mut r = [0u8; 24];
    r[..16].copy_from_slice(&mac.finalize().into_bytes());
    r[16..].copy_from_slice(client_challenge);
    r
}

/// The NTLMv2 client challenge, `temp` of MS-NLMP §3.3.2 (the NTLMv2_CLIENT_CHALLENGE of
/// §2.2.2.7 followed by four zero bytes):
/// `0x01 ‖ 0x01 ‖ Z(6) ‖ Time ‖ ClientChallenge ‖ Z(4) ‖ ServerName ‖ Z(4)`.
///
/// `timestamp` is a FILETIME (100 ns ticks since 1601-01-01 UTC), written little-endian;
/// `target_info` is the AV pair list (ServerName), as it will be sent.
///
/// ```
/// let blob = ntlm::crypto::ntlm_v2_blob(0, &[0xaa; 8], &[0, 0, 0, 0]);
/// assert_eq!(blob[..8], [1, 1, 0, 0, 0, 0, 0, 0]);
/// assert_eq!(blob[16..24], [0xaa; 8]);
/// assert_eq!(blob.len(), 28 + 4 + 4);
/// ```
pub fn ntlm_v2_blob(timestamp: u64, client_challenge: &[u8; 8], target_info: &[u8]) -> Vec<u8> {
    let mut blob = Vec::with_capacity(ntlm_v2_blob_len(target_info.len()));
    ntlm_v2_blob_into(&mut blob, timestamp, client_challenge, |out| {
        out.extend_from_slice(target_info)
    });
    blob
}

/// The length of `temp` (MS-NLMP §3.3.2) around a target info of `target_info_len` bytes.
pub const fn ntlm_v2_blob_len(target_info_len: usize) -> usize {
    28 + target_info_len + 4
}

/// Appends `temp` (as [`ntlm_v2_blob`], MS-NLMP §3.3.2) to `out`, with `write_target_info`
/// writing the AV pair list in place: a client builds `NTProofStr ‖ temp` in one buffer.
///
/// ```
/// let mut out = vec![0u8; 16];
/// ntlm::crypto::ntlm_v2_blob_into(&mut out, 0, &[0xaa; 8], |o| o.extend_from_slice(&[0; 4]));
/// assert_eq!(out[16..], ntlm::crypto::ntlm_v2_blob(0, &[0xaa; 8], &[0; 4])[..]);
/// ```
pub fn ntlm_v2_blob_into(
    out: &mut Vec<u8>,
    timestamp: u64,
    client_challenge: &[u8; 8],
    write_target_info: impl FnOnce(&mut Vec<u8>),
) {
    out.extend_from_slice(&[1, 1, 0, 0, 0, 0, 0, 0]);
    out.extend_from_slice(&timestamp.to_le_bytes());
    out.extend_from_slice(client_challenge);
    out.extend_from_slice(&[0; 4]);
    write_target_info(out);
    out.extend_from_slice(&[0; 4]);
}

/// NTProofStr (MS-NLMP §3.3.2): `HMAC_MD5(ResponseKeyNT, ServerChallenge ‖ temp)`.
///
/// `blob` is `temp` exactly as sent or received (a server verifies over the bytes of the
/// AUTHENTICATE message's NtChallengeResponse after its first 16 bytes).
///
/// ```
/// use ntlm::crypto::{nt_proof_str, ntlm_v2_blob, ntowf_v1, ntowf_v2};
/// let key = ntowf_v2(&ntowf_v1("Password"), "User", "Domain");
/// let target_info = [
///     0x02, 0x00, 0x0c, 0x00, b'D', 0, b'o', 0, b'm', 0, b'a', 0, b'i', 0, b'n', 0,
///     0x01, 0x00, 0x0c, 0x00, b'S', 0, b'e', 0, b'r', 0, b'v', 0, b'e', 0, b'r', 0,
///     0x00, 0x00, 0x00, 0x00,
/// ];
/// let blob = ntlm_v2_blob(0, &[0xaa; 8], &target_info);
/// let sc = [0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef];
/// let proof = nt_proof_str(&key, &sc, &blob);
/// assert_eq!(proof, 0x68cd0ab851e51c96aabc927bebef6a1cu128.to_be_bytes());
/// ```
pub fn nt_proof_str(key: &NtlmV2Hash, server_challenge: &[u8; 8], blob: &[u8]) -> [u8; 16] {
    let mut mac = hmac_md5(key.as_bytes());
    mac.update(server_challenge);
    mac.update(blob);
    mac.finalize().into_bytes().into()
}

/// NTLMv2 response (MS-NLMP §3.3.2): `NTProofStr ‖ temp`.
///
/// ```
/// use ntlm::crypto::{ntlm_v2_blob, ntlm_v2_response, ntowf_v1, ntowf_v2};
/// let key = ntowf_v2(&ntowf_v1("Password"), "User", "Domain");
/// let blob = ntlm_v2_blob(0, &[0xaa; 8], &[0; 4]);
/// let r = ntlm_v2_response(&key, &[0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef], &blob);
/// assert_eq!(r.len(), 16 + blob.len());
/// assert_eq!(r[16..], blob[..]);
/// ```
pub fn ntlm_v2_response(key: &NtlmV2Hash, server_challenge: &[u8; 8], blob: &[u8]) -> Vec<u8> {
    let mut r = Vec::with_capacity(16 + blob.len());
    r.extend_from_slice(&nt_proof_str(key, server_challenge, blob));
    r.extend_from_slice(blob);
    r
}

/// NTLMv2 SessionBaseKey (MS-NLMP §3.3.2): `HMAC_MD5(ResponseKeyNT, NTProofStr)`.
///
/// ```
/// use ntlm::crypto::{ntlm_v2_session_base_key, ntowf_v1, ntowf_v2};
/// let key = ntowf_v2(&ntowf_v1("Password"), "User", "Domain");
/// let proof = 0x68cd0ab851e51c96aabc927bebef6a1cu128.to_be_bytes();
/// let k = ntlm_v2_session_base_key(&key, &proof);
/// assert_eq!(k.as_bytes(), &0x8de40ccadbc14a82f15cb0ad0de95ca3u128.to_be_bytes());
/// ```
pub fn ntlm_v2_session_base_key(key: &NtlmV2Hash, nt_proof_str: &[u8; 16]) -> SessionKey {
    let mut mac = hmac_md5(key.as_bytes());
    mac.update(nt_proof_str);
    SessionKey::from_bytes(mac.finalize().into_bytes().into())
}
