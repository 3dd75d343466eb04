//! Key derivation of MS-NLMP §3.4.5 (KXKEY, SIGNKEY, SEALKEY), key exchange (§3.1.5.1.2,
//! §3.2.5.1.2), the MIC (§3.1.5.1.2), channel bindings (§3.1.5.1.2, RFC 2744 §3.11) and the
//! random values of §3.1.5.1.2 / §3.2.5.1.1.

use crate::crypto::des::des7;
use crate::crypto::owf::HmacMd5;
use crate::crypto::rc4::Rc4;
use crate::secret::{LmHash, SealKey, SessionKey};
use crate::wire::NegotiateFlags as F;
use hmac::{KeyInit, Mac};
use md5::{Digest, Md5};
use rand::Rng;
use zeroize::Zeroize;

/// Which end of the connection a key or security context belongs to (MS-NLMP §3.4.5.2 and
/// §3.4.5.3 `Mode`): the client (initiator) sends with the client-to-server keys, the server
/// (acceptor) with the server-to-client keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Side {
    /// The initiator.
    Client,
    /// The acceptor.
    Server,
}

impl Side {
    /// The other end.
    ///
    /// ```
    /// use ntlm::crypto::Side;
    /// assert_eq!(Side::Client.peer(), Side::Server);
    /// ```
    pub const fn peer(self) -> Self {
        match self {
            Side::Client => Side::Server,
            Side::Server => Side::Client,
        }
    }
}

const CLIENT_SIGN: &[u8] = b"session key to client-to-server signing key magic constant\0";
const SERVER_SIGN: &[u8] = b"session key to server-to-client signing key magic constant\0";
const CLIENT_SEAL: &[u8] = b"session key to client-to-server sealing key magic constant\0";
const SERVER_SEAL: &[u8] = b"session key to server-to-client sealing key magic constant\0";

/// KXKEY for NTLM v1 (MS-NLMP §3.4.5.1), in the order the specification tests the flags:
///
/// * `NEGOTIATE_EXTENDED_SESSIONSECURITY`:
///   `HMAC_MD5(SessionBaseKey, ServerChallenge ‖ LmChallengeResponse[0..7])`;
/// * else `NEGOTIATE_LM_KEY`: `DES(LMOWF[0..6], LmChallengeResponse[0..7]) ‖
///   DES(LMOWF[7] ‖ 0xBDBDBDBDBDBD, LmChallengeResponse[0..7])`;
/// * else `REQUEST_NON_NT_SESSION_KEY`: `LMOWF[0..7] ‖ Z(8)`;
/// * else `SessionBaseKey`.
///
/// Returns `None` when the LM hash is needed (LM_KEY or NON_NT_SESSION_KEY without ESS) but
/// `lm_hash` is `None`, or when `lm_response` is needed and shorter than 8 bytes.
///
/// ```
/// use ntlm::crypto::{kxkey_v1, lm_v1_response, lmowf_v1, ntlm_v1_session_base_key, ntowf_v1};
/// use ntlm::NegotiateFlags as F;
/// let sc = [0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef];
/// let base = ntlm_v1_session_base_key(&ntowf_v1("Password"));
/// let lm = lmowf_v1("Password").unwrap();
/// let lm_resp = lm_v1_response(&lm, &sc);
/// let k = kxkey_v1(F::NEGOTIATE_LM_KEY, &base, Some(&lm), &lm_resp, &sc).unwrap();
/// assert_eq!(k.as_bytes(), &0xb09e379f7fbecb1eaf0afdcb0383c8a0u128.to_be_bytes());
/// assert!(kxkey_v1(F::NEGOTIATE_LM_KEY, &base, None, &lm_resp, &sc).is_none());
/// ```
pub fn kxkey_v1(
    flags: F,
    session_base_key: &SessionKey,
    lm_hash: Option<&LmHash>,
    lm_response: &[u8],
    server_challenge: &[u8; 8],
) -> Option<SessionKey> {
    if flags.contains(F::NEGOTIATE_EXTENDED_SESSIONSECURITY) {
        let lm8 = lm_response.get(..8)?;
        let mut mac = <HmacMd5 as KeyInit>::new_from_slice(session_base_key.as_bytes())
            .expect("any key length");
        mac.update(server_challenge);
        mac.update(lm8);
        Some(SessionKey::from_bytes(mac.finalize().into_bytes().into()))
    } else if flags.contains(F::NEGOTIATE_LM_KEY) {
        let lm = lm_hash?.as_bytes();
        let lm8: &[u8; 8] = lm_response.get(..8)?.try_into().expect("8 bytes");
        let mut k2 = [0xbd; 7];
        k2[0] = lm[7];
        let mut out = [0u8; 16];
        out[..8].copy_from_slice(&des7(lm[..7].try_into().expect("7 bytes"), lm8));
        out[8..].copy_from_slice(&des7(&k2, lm8));
        k2.zeroize();
        let key = SessionKey::from_bytes(out);
        out.zeroize();
        Some(key)
    } else if flags.contains(F::REQUEST_NON_NT_SESSION_KEY) {
        let mut out = [0u8; 16];
        out[..8].copy_from_slice(&lm_hash?.as_bytes()[..8]);
        let key = SessionKey::from_bytes(out);
        out.zeroize();
        Some(key)
    } else {
        Some(session_base_key.clone())
    }
}

/// KXKEY for NTLM v2 (MS-NLMP §3.4.5.1): the KeyExchangeKey is the SessionBaseKey.
///
/// ```
/// let base = ntlm::SessionKey::from_bytes([7; 16]);
/// assert_eq!(ntlm::crypto::kxkey_v2(&base).as_bytes(), &[7; 16]);
/// ```
pub fn kxkey_v2(session_base_key: &SessionKey) -> SessionKey {
    session_base_key.clone()
}

/// Key exchange (MS-NLMP §3.1.5.1.2 and §3.2.5.1.2): `RC4K(KeyExchangeKey, key)`.
///
/// The client encrypts its random ExportedSessionKey into the EncryptedRandomSessionKey; the
/// server calls the same function on the EncryptedRandomSessionKey to recover it (RC4 is its
/// own inverse).
///
/// ```
/// use ntlm::crypto::rc4_session_key;
/// use ntlm::SessionKey;
/// let kx = SessionKey::from_bytes(0xd87262b0cde4b1cb7499becccdf10784u128.to_be_bytes());
/// let enc = rc4_session_key(&kx, &[0x55; 16]);
/// assert_eq!(enc.as_bytes(), &0x518822b1b3f350c8958682ecbb3e3cb7u128.to_be_bytes());
/// assert_eq!(rc4_session_key(&kx, enc.as_bytes()).as_bytes(), &[0x55; 16]);
/// ```
pub fn rc4_session_key(kxkey: &SessionKey, key: &[u8; 16]) -> SessionKey {
    let mut out = *key;
    Rc4::rc4k(kxkey.as_bytes(), &mut out);
    let k = SessionKey::from_bytes(out);
    out.zeroize();
    k
}

/// SIGNKEY (MS-NLMP §3.4.5.2): with extended session security,
/// `MD5(ExportedSessionKey ‖ "session key to client-to-server signing key magic constant\0")`
/// for the client side, `server-to-client` for the server side. `None` without extended
/// session security (NTLMv1 signatures use no signing key).
///
/// ```
/// use ntlm::crypto::{sign_key, Side};
/// use ntlm::{NegotiateFlags as F, SessionKey};
/// let k = sign_key(F::NEGOTIATE_EXTENDED_SESSIONSECURITY, &SessionKey::from_bytes([0x55; 16]), Side::Client);
/// assert_eq!(k.unwrap().as_bytes(), &0x4788dc861b4782f35d43fd98fe1a2d39u128.to_be_bytes());
/// assert!(sign_key(F::EMPTY, &SessionKey::from_bytes([0x55; 16]), Side::Client).is_none());
/// ```
pub fn sign_key(flags: F, exported: &SessionKey, side: Side) -> Option<SessionKey> {
    if !flags.contains(F::NEGOTIATE_EXTENDED_SESSIONSECURITY) {
        return None;
    }
    let magic = match side {
        Side::Client => CLIENT_SIGN,
        Side::Server => SERVER_SIGN,
    };
    let mut md5 = Md5::new();
    md5.update(exported.as_bytes());
    md5.update(magic);
    Some(SessionKey::from_bytes(md5.finalize().into()))
}

/// SEALKEY (MS-NLMP §3.4.5.3), exactly as the specification's pseudocode:
///
/// * with `NEGOTIATE_EXTENDED_SESSIONSECURITY`: take the whole ExportedSessionKey if
///   `NEGOTIATE_128`, else its first 7 bytes if `NEGOTIATE_56`, else its first 5 bytes; the
///   key is `MD5(that ‖ "session key to client-to-server sealing key magic constant\0")`
///   (`server-to-client` for the server side): 16 bytes.
/// * else, with `NEGOTIATE_LM_KEY`, or with `NEGOTIATE_DATAGRAM` (the specification adds
///   "and NTLMRevisionCurrent >= NTLMSSP_REVISION_W2K3", which this crate always is):
///   `ExportedSessionKey[0..6] ‖ 0xA0` if `NEGOTIATE_56`, else
///   `ExportedSessionKey[0..4] ‖ 0xE5 0x38 0xB0`: 8 bytes, the same for both sides.
/// * else the ExportedSessionKey itself (16 bytes, both sides; `NEGOTIATE_128`/`56` do not
///   matter here).
///
/// ```
/// use ntlm::crypto::{seal_key, Side};
/// use ntlm::{NegotiateFlags as F, SessionKey};
/// let exported = SessionKey::from_bytes([0x55; 16]);
/// let f = F::NEGOTIATE_EXTENDED_SESSIONSECURITY | F::NEGOTIATE_128;
/// let k = seal_key(f, &exported, Side::Client);
/// assert_eq!(k.as_bytes(), &0x59f600973cc4960a25480a7c196e4c58u128.to_be_bytes());
/// let weak = seal_key(F::NEGOTIATE_LM_KEY | F::NEGOTIATE_56, &exported, Side::Client);
/// assert_eq!(weak.as_bytes(), &[0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0xa0]);
/// ```
pub fn seal_key(flags: F, exported: &SessionKey, side: Side) -> SealKey {
    let key = exported.as_bytes();
    if flags.contains(F::NEGOTIATE_EXTENDED_SESSIONSECURITY) {
        let n = if flags.contains(F::NEGOTIATE_128) {
            16
        } else if flags.contains(F::NEGOTIATE_56) {
            7
        } else {
            5
        };
        let magic = match side {
            Side::Client => CLIENT_SEAL,
            Side::Server => SERVER_SEAL,
        };
        let mut md5 = Md5::new();
        md5.update(&key[..n]);
        md5.update(magic);
        let mut out: [u8; 16] = md5.finalize().into();
        let k = SealKey::from_slice(&out);
        out.zeroize();
        k
    } else if flags.intersects(F::NEGOTIATE_LM_KEY | F::NEGOTIATE_DATAGRAM) {
        let mut out = [0u8; 8];
        if flags.contains(F::NEGOTIATE_56) {
            out[..7].copy_from_slice(&key[..7]);
            out[7] = 0xa0;
        } else {
            out[..5].copy_from_slice(&key[..5]);
            out[5..].copy_from_slice(&[0xe5, 0x38, 0xb0]);
        }
        let k = SealKey::from_slice(&out);
        out.zeroize();
        k
    } else {
        SealKey::from_slice(key)
    }
}

/// The MIC of the AUTHENTICATE message (MS-NLMP §3.1.5.1.2, checked in §3.2.5.1.2):
/// `HMAC_MD5(ExportedSessionKey, NEGOTIATE ‖ CHALLENGE ‖ AUTHENTICATE)`, computed with the
/// 16-byte MIC field of AUTHENTICATE (at `mic_offset`) taken as zero, whatever it holds.
/// The three messages are hashed where they lie; nothing is copied.
///
/// # Panics
/// If `mic_offset + 16 > authenticate.len()`.
///
/// ```
/// use ntlm::crypto::mic;
/// use ntlm::SessionKey;
/// let key = SessionKey::from_bytes([0x55; 16]);
/// let mut auth = vec![7u8; 100];
/// let m1 = mic(&key, b"negotiate", b"challenge", &auth, 72);
/// auth[72..88].copy_from_slice(&m1); // writing the MIC in does not change it
/// assert_eq!(mic(&key, b"negotiate", b"challenge", &auth, 72), m1);
/// ```
pub fn mic(
    exported: &SessionKey,
    negotiate: &[u8],
    challenge: &[u8],
    authenticate: &[u8],
    mic_offset: usize,
) -> [u8; 16] {
    let end = mic_offset
        .checked_add(16)
        .filter(|&e| e <= authenticate.len())
        .expect("MIC field must lie within the AUTHENTICATE message");
    let mut mac =
        <HmacMd5 as KeyInit>::new_from_slice(exported.as_bytes()).expect("any key length");
    mac.update(negotiate);
    mac.update(challenge);
    mac.update(&authenticate[..mic_offset]);
    mac.update(&[0u8; 16]);
    mac.update(&authenticate[end..]);
    mac.finalize().into_bytes().into()
}

/// `N` random bytes from `rand`'s thread-local generator (ChaCha seeded and periodically
/// reseeded from the operating system), for ServerChallenge, ClientChallenge and
/// ExportedSessionKey (MS-NLMP §3.1.5.1.2 `NONCE(8)`, `NONCE(16)`; §3.2.5.1.1).
///
/// ```
/// let a: [u8; 8] = ntlm::crypto::random_bytes();
/// let b: [u8; 8] = ntlm::crypto::random_bytes();
/// assert_ne!(a, b);
/// ```
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    rand::rng().fill_bytes(&mut out);
    out
}

/// The MsvAvChannelBindings value (MS-NLMP §2.2.2.1, §3.1.5.1.2): the MD5 of the
/// `gss_channel_bindings_struct` (RFC 2744 §3.11, the layout Windows hashes) with no
/// addresses: `initiator_addrtype`, `initiator_address.length`, `acceptor_addrtype`,
/// `acceptor_address.length` (four little-endian `u32` zeros), `application_data.length`
/// (little-endian `u32`), then `application_data` (for TLS: `"tls-server-end-point:"` and the
/// certificate hash, RFC 5929).
///
/// # Panics
/// If `application_data` is longer than `u32::MAX` bytes.
///
/// ```
/// let h = ntlm::crypto::channel_bindings_hash(b"");
/// // MD5 of 20 zero bytes
/// assert_eq!(h, 0x441018525208457705bf09a8ee3c1093u128.to_be_bytes());
/// ```
pub fn channel_bindings_hash(application_data: &[u8]) -> [u8; 16] {
    let len = u32::try_from(application_data.len()).expect("application data over 4 GiB");
    let mut md5 = Md5::new();
    md5.update([0u8; 16]);
    md5.update(len.to_le_bytes());
    md5.update(application_data);
    md5.finalize().into()
}
