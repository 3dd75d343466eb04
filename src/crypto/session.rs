//! Session security of MS-NLMP §3.4: message integrity (§3.4.2, `GSS_GetMICEx` /
//! `GSS_VerifyMICEx`), confidentiality (§3.4.3, `GSS_WrapEx` / `GSS_UnwrapEx`) and the
//! message signature (§3.4.4, §2.2.2.9).

use crate::crypto::crc32::crc32;
use crate::crypto::keys::{seal_key, sign_key, Side};
use crate::crypto::owf::HmacMd5;
use crate::crypto::rc4::Rc4;
use crate::secret::SessionKey;
use crate::wire::NegotiateFlags as F;
use core::fmt;
use hmac::{KeyInit, Mac};
use subtle::ConstantTimeEq;

/// Why an incoming message was refused by [`SessionSecurity::verify`] or
/// [`SessionSecurity::unseal`] (MS-NLMP §3.4.4 signature check, §3.4.3 sealing, sequence
/// numbers of §3.4.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SecurityError {
    /// The signature is not the 16 bytes of an NTLMSSP_MESSAGE_SIGNATURE (§2.2.2.9).
    WrongLength {
        /// Bytes received.
        len: usize,
    },
    /// The signature's Version field is not 1 (§2.2.2.9.1, §2.2.2.9.2).
    WrongVersion {
        /// Version received.
        version: u32,
    },
    /// The checksum (CRC32 or HMAC) or the RandomPad does not match: the message or its
    /// signature was altered, or made with another key.
    BadSignature,
    /// The sequence number is not the one expected: a replayed, reordered, dropped or
    /// injected message (§3.4.4). Without ESS the received number is decrypted with the
    /// current keystream, so for a replayed message it is noise.
    OutOfSequence {
        /// The sequence number this context expected.
        expected: u32,
        /// The sequence number found in the signature.
        found: u32,
    },
    /// An earlier message failed; this context accepts nothing more.
    ContextFailed,
}

impl fmt::Display for SecurityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::WrongLength { len } => write!(f, "NTLM signature is {len} bytes, not 16"),
            Self::WrongVersion { version } => write!(f, "NTLM signature version {version}, not 1"),
            Self::BadSignature => f.write_str("NTLM message signature does not match"),
            Self::OutOfSequence { expected, found } => write!(
                f,
                "NTLM message out of sequence: expected {expected}, found {found}"
            ),
            Self::ContextFailed => {
                f.write_str("NTLM security context failed earlier and accepts no more messages")
            }
        }
    }
}

impl std::error::Error for SecurityError {}

fn keyed_hmac(key: &SessionKey) -> HmacMd5 {
    <HmacMd5 as KeyInit>::new_from_slice(key.as_bytes()).expect("any key length")
}

/// The v1 signature from an already computed CRC32; continues `handle`'s keystream over
/// RandomPad ‖ Checksum ‖ SeqNum, then writes RandomPad as zero.
fn v1_from_crc(handle: &mut Rc4, seq_num: u32, crc: u32) -> [u8; 16] {
    let mut sig = [0u8; 16];
    sig[0..4].copy_from_slice(&1u32.to_le_bytes());
    sig[8..12].copy_from_slice(&crc.to_le_bytes());
    sig[12..16].copy_from_slice(&seq_num.to_le_bytes());
    handle.apply_keystream(&mut sig[4..16]);
    sig[4..8].fill(0);
    sig
}

/// HMAC_MD5(SigningKey, SeqNum ‖ Message)[0..7] from a keyed HMAC state.
fn ess_checksum(mac: &HmacMd5, seq_num: u32, message: &[u8]) -> [u8; 8] {
    let mut mac = mac.clone();
    mac.update(&seq_num.to_le_bytes());
    mac.update(message);
    mac.finalize().into_bytes()[..8]
        .try_into()
        .expect("8 bytes")
}

fn ess_from_checksum(mut checksum: [u8; 8], seal: Option<&mut Rc4>, seq_num: u32) -> [u8; 16] {
    if let Some(h) = seal {
        h.apply_keystream(&mut checksum);
    }
    let mut sig = [0u8; 16];
    sig[0..4].copy_from_slice(&1u32.to_le_bytes());
    sig[4..12].copy_from_slice(&checksum);
    sig[12..16].copy_from_slice(&seq_num.to_le_bytes());
    sig
}

/// One NTLMv1 message signature without extended session security (MS-NLMP §3.4.4.1,
/// NTLMSSP_MESSAGE_SIGNATURE of §2.2.2.9.1): `Version(1) ‖ RandomPad ‖ Checksum ‖ SeqNum`
/// with `Checksum = CRC32(message)`, the last 12 bytes encrypted with `handle` (continuing its
/// keystream) and RandomPad then written as zero, as Windows does.
///
/// To reproduce a sealed message of §4.2.2, run the handle over the message first
/// (`GSS_WrapEx` encrypts, then signs the plaintext with the same stream):
///
/// ```
/// use ntlm::crypto::{signature_v1, Rc4};
/// let plaintext: Vec<u8> = "Plaintext".encode_utf16().flat_map(u16::to_le_bytes).collect();
/// let mut handle = Rc4::new(&[0x55; 16]);
/// let mut sealed = plaintext.clone();
/// handle.apply_keystream(&mut sealed);
/// let sig = signature_v1(&mut handle, 0, &plaintext);
/// assert_eq!(sig, 0x010000000000000009dcd1df2e459d36u128.to_be_bytes());
/// ```
pub fn signature_v1(handle: &mut Rc4, seq_num: u32, message: &[u8]) -> [u8; 16] {
    v1_from_crc(handle, seq_num, crc32(message))
}

/// One message signature with extended session security (MS-NLMP §3.4.4.2,
/// NTLMSSP_MESSAGE_SIGNATURE of §2.2.2.9.2): `Version(1) ‖ Checksum ‖ SeqNum` with
/// `Checksum = HMAC_MD5(SigningKey, SeqNum ‖ message)[0..7]`, encrypted with `seal_handle`
/// when `NEGOTIATE_KEY_EXCH` was negotiated (pass `None` otherwise).
///
/// ```
/// use ntlm::crypto::{seal_key, sign_key, signature_ess, Rc4, Side};
/// use ntlm::{NegotiateFlags as F, SessionKey};
/// // MS-NLMP 4.2.4: NTLMv2 (ESS, 128-bit, KEY_EXCH), exported session key 55 x 16.
/// let f = F::NEGOTIATE_EXTENDED_SESSIONSECURITY | F::NEGOTIATE_128 | F::NEGOTIATE_KEY_EXCH;
/// let exported = SessionKey::from_bytes([0x55; 16]);
/// let sign = sign_key(f, &exported, Side::Client).unwrap();
/// let mut handle = Rc4::new(seal_key(f, &exported, Side::Client).as_bytes());
/// let plaintext: Vec<u8> = "Plaintext".encode_utf16().flat_map(u16::to_le_bytes).collect();
/// let mut sealed = plaintext.clone();
/// handle.apply_keystream(&mut sealed);
/// let sig = signature_ess(&sign, Some(&mut handle), 0, &plaintext);
/// assert_eq!(sig, 0x010000007fb38ec5c55d497600000000u128.to_be_bytes());
/// ```
pub fn signature_ess(
    sign_key: &SessionKey,
    seal_handle: Option<&mut Rc4>,
    seq_num: u32,
    message: &[u8],
) -> [u8; 16] {
    let checksum = ess_checksum(&keyed_hmac(sign_key), seq_num, message);
    ess_from_checksum(checksum, seal_handle, seq_num)
}

/// One direction of an ESS context: keyed HMAC state, RC4 handle, sequence number.
struct Direction {
    sign: HmacMd5,
    seal: Rc4,
    seq: u32,
}

impl Direction {
    fn new(flags: F, exported: &SessionKey, side: Side) -> Self {
        let sign = sign_key(flags, exported, side).expect("ESS is negotiated");
        Self {
            sign: keyed_hmac(&sign),
            seal: Rc4::new(seal_key(flags, exported, side).as_bytes()),
            seq: 0,
        }
    }
}

// One value per context, built once and never moved on a hot path: boxing the larger
// variant would only add an indirection.
#[allow(clippy::large_enum_variant)]
enum State {
    /// NTLMv1 without ESS: one handle and one counter for both directions.
    V1 { rc4: Rc4, seq: u32 },
    /// Extended session security (NTLMv1 ESS or NTLMv2).
    Ess {
        key_exch: bool,
        out: Direction,
        inc: Direction,
    },
}

/// The session security context of one end of an NTLM connection (MS-NLMP §3.4): signs,
/// seals, verifies and unseals messages with the keys derived from the ExportedSessionKey
/// and the negotiated flags. See below for how RC4 state and sequence numbers are kept,
/// and what happens after a failure.
///
/// # RC4 state and sequence numbers
///
/// * **With extended session security** (§3.4.4.2) each direction has its own sign key, seal
///   key, RC4 handle and sequence number, all starting at 0: the client sends with the
///   client-to-server keys and receives with the server-to-client keys, and the server the
///   other way round.
/// * **Without extended session security** (NTLMv1, §3.4.4.1) there is one seal key for both
///   directions, and this crate keeps **one RC4 handle and one sequence number shared by
///   everything a context sends and receives**, as Samba (`libcli/auth/ntlmssp_sign.c`: a
///   single `crypt->ntlm.seal_state` and `crypt->ntlm.seq_num` used by sign, check, seal and
///   unseal) and pyspnego (`spnego/_ntlm.py`: `self._handle_out = self._handle_in = rc4init(...)`
///   and `_seq_num_in` returning the *outgoing* counter when ESS is off, citing MS-NLMP) do.
///   Both ends therefore stay in step only if every
///   message is processed in the one order both sides see (e.g. strict request/response).
///
/// # The NTLMv1 RandomPad
///
/// `sign`/`seal` without ESS write RandomPad as zero after running the RC4 stream over four
/// zero bytes, as Windows and pyspnego do (the signature of §4.2.2 as Windows produces it);
/// the specification document shows `RC4(0)` there instead, as Samba sends it.
/// `verify`/`unseal` accept either form and nothing else.
///
/// # Failures
///
/// A bad signature, a signature of the wrong length or version, and an unexpected sequence
/// number are distinct [`SecurityError`]s. A failed message still consumes its sequence
/// number and RC4 keystream (unless its signature had the wrong length or version, which is
/// detected first), and the context is then marked failed: **every later `verify`
/// or `unseal` returns [`SecurityError::ContextFailed`]**; there is no resynchronisation.
/// `sign` and `seal` keep working (with ESS the outgoing direction is independent; without
/// ESS the shared stream has moved on exactly as the peer's has if the message had the sent
/// length), but the caller is expected to tear the connection down. On any error `unseal`
/// overwrites the message with zeros, so unauthenticated plaintext is never returned.
///
/// Sequence numbers start at 0, so a fresh context reproduces the §4.2 examples (which use
/// sequence number 0). RC4 states are zeroized on drop; `Debug` shows no key material.
///
/// ```
/// use ntlm::crypto::{SessionSecurity, Side};
/// use ntlm::{NegotiateFlags as F, SessionKey};
/// let f = F::NEGOTIATE_EXTENDED_SESSIONSECURITY | F::NEGOTIATE_128 | F::NEGOTIATE_KEY_EXCH
///     | F::NEGOTIATE_SIGN | F::NEGOTIATE_SEAL;
/// let key = SessionKey::from_bytes([0x55; 16]);
/// let mut client = SessionSecurity::new(f, &key, Side::Client);
/// let mut server = SessionSecurity::new(f, &key, Side::Server);
///
/// let mut msg: Vec<u8> = "Plaintext".encode_utf16().flat_map(u16::to_le_bytes).collect();
/// let sig = client.seal(&mut msg);
/// assert_eq!(sig, 0x010000007fb38ec5c55d497600000000u128.to_be_bytes()); // MS-NLMP 4.2.4
/// server.unseal(&mut msg, &sig).unwrap();
/// assert_eq!(msg, "Plaintext".encode_utf16().flat_map(u16::to_le_bytes).collect::<Vec<_>>());
///
/// let sig = server.sign(b"reply");
/// client.verify(b"reply", &sig).unwrap();
/// assert!(client.verify(b"reply", &sig).is_err()); // replay
/// ```
pub struct SessionSecurity {
    state: State,
    failed: bool,
}

impl SessionSecurity {
    /// Sets up the context of `side` from the negotiated `flags` and the
    /// ExportedSessionKey (MS-NLMP §3.1.5.1.2 / §3.2.5.1.2 "set up session security").
    ///
    /// `NEGOTIATE_EXTENDED_SESSIONSECURITY` selects the ESS scheme (NTLMv2 sessions negotiate
    /// it too); `NEGOTIATE_KEY_EXCH` makes ESS checksums encrypted; `NEGOTIATE_128`/`56`,
    /// `LM_KEY` and `DATAGRAM` select the seal key as in [`seal_key`](crate::crypto::seal_key).
    /// Datagram (connectionless) sequence numbering is not supported: sequence numbers are
    /// counted by the context.
    pub fn new(flags: F, exported_session_key: &SessionKey, side: Side) -> Self {
        let state = if flags.contains(F::NEGOTIATE_EXTENDED_SESSIONSECURITY) {
            State::Ess {
                key_exch: flags.contains(F::NEGOTIATE_KEY_EXCH),
                out: Direction::new(flags, exported_session_key, side),
                inc: Direction::new(flags, exported_session_key, side.peer()),
            }
        } else {
            State::V1 {
                rc4: Rc4::new(seal_key(flags, exported_session_key, side).as_bytes()),
                seq: 0,
            }
        };
        Self {
            state,
            failed: false,
        }
    }

    /// True once a `verify` or `unseal` has failed; see [`SecurityError::ContextFailed`].
    ///
    /// ```
    /// use ntlm::crypto::{SessionSecurity, Side};
    /// let mut s = SessionSecurity::new(ntlm::NegotiateFlags::EMPTY, &ntlm::SessionKey::from_bytes([1; 16]), Side::Server);
    /// assert!(!s.is_failed());
    /// assert!(s.verify(b"m", &[0; 15]).is_err());
    /// assert!(s.is_failed());
    /// ```
    pub fn is_failed(&self) -> bool {
        self.failed
    }

    /// `GSS_GetMICEx` (MS-NLMP §3.4.2): the signature of an outgoing `message`, which is sent
    /// in the clear. Consumes one sequence number.
    ///
    /// ```
    /// use ntlm::crypto::{SessionSecurity, Side};
    /// use ntlm::{NegotiateFlags as F, SessionKey};
    /// let f = F::NEGOTIATE_EXTENDED_SESSIONSECURITY | F::NEGOTIATE_SIGN;
    /// let key = SessionKey::from_bytes([0x55; 16]);
    /// let sig = SessionSecurity::new(f, &key, Side::Client).sign(b"hello");
    /// assert_eq!(sig[..4], [1, 0, 0, 0]); // version
    /// assert_eq!(sig[12..], [0, 0, 0, 0]); // sequence number 0
    /// let mut server = SessionSecurity::new(f, &key, Side::Server);
    /// assert!(server.verify(b"hello", &sig).is_ok());
    /// ```
    pub fn sign(&mut self, message: &[u8]) -> [u8; 16] {
        match &mut self.state {
            State::V1 { rc4, seq } => {
                let sig = signature_v1(rc4, *seq, message);
                *seq = seq.wrapping_add(1);
                sig
            }
            State::Ess { key_exch, out, .. } => {
                let checksum = ess_checksum(&out.sign, out.seq, message);
                let sig = ess_from_checksum(checksum, key_exch.then_some(&mut out.seal), out.seq);
                out.seq = out.seq.wrapping_add(1);
                sig
            }
        }
    }

    /// [`Self::sign`] at sequence number `seq_num`; the counter then continues from
    /// `seq_num + 1`. For SPNEGO's mechListMIC, which without extended session security
    /// the acceptor makes at sequence number 1 on a fresh RC4 state (MS-SPNG §3.1.5.1).
    #[cfg_attr(not(feature = "http"), allow(dead_code))] // SPNEGO's mechListMIC
    pub(crate) fn sign_at(&mut self, seq_num: u32, message: &[u8]) -> [u8; 16] {
        match &mut self.state {
            State::V1 { seq, .. } => *seq = seq_num,
            State::Ess { out, .. } => out.seq = seq_num,
        }
        self.sign(message)
    }

    /// `GSS_WrapEx` (MS-NLMP §3.4.3): encrypts `message` in place with the sending RC4 handle
    /// and returns the signature of the plaintext, made after the encryption on the same
    /// keystream. Consumes one sequence number.
    ///
    /// ```
    /// use ntlm::crypto::{SessionSecurity, Side};
    /// use ntlm::{NegotiateFlags as F, SessionKey};
    /// // MS-NLMP 4.2.2: NTLMv1 without ESS, flags 0xe2028233, exported session key 55 x 16.
    /// let mut client = SessionSecurity::new(F::from_bits(0xe2028233), &SessionKey::from_bytes([0x55; 16]), Side::Client);
    /// let mut msg: Vec<u8> = "Plaintext".encode_utf16().flat_map(u16::to_le_bytes).collect();
    /// let sig = client.seal(&mut msg);
    /// assert_eq!(msg[..4], [0x56, 0xfe, 0x04, 0xd8]);
    /// assert_eq!(sig, 0x010000000000000009dcd1df2e459d36u128.to_be_bytes());
    /// ```
    pub fn seal(&mut self, message: &mut [u8]) -> [u8; 16] {
        match &mut self.state {
            State::V1 { rc4, seq } => {
                let crc = crc32(message);
                rc4.apply_keystream(message);
                let sig = v1_from_crc(rc4, *seq, crc);
                *seq = seq.wrapping_add(1);
                sig
            }
            State::Ess { key_exch, out, .. } => {
                let checksum = ess_checksum(&out.sign, out.seq, message);
                out.seal.apply_keystream(message);
                let sig = ess_from_checksum(checksum, key_exch.then_some(&mut out.seal), out.seq);
                out.seq = out.seq.wrapping_add(1);
                sig
            }
        }
    }

    /// `GSS_VerifyMICEx` (MS-NLMP §3.4.2, §3.4.4): checks the signature of an incoming
    /// clear-text `message`. Consumes one sequence number, even on failure; any failure
    /// marks the context failed (see [`SessionSecurity`]).
    ///
    /// ```
    /// use ntlm::crypto::{SecurityError, SessionSecurity, Side};
    /// use ntlm::{NegotiateFlags as F, SessionKey};
    /// let f = F::NEGOTIATE_EXTENDED_SESSIONSECURITY | F::NEGOTIATE_KEY_EXCH;
    /// let key = SessionKey::from_bytes([0x55; 16]);
    /// let mut client = SessionSecurity::new(f, &key, Side::Client);
    /// let mut server = SessionSecurity::new(f, &key, Side::Server);
    /// let sig = client.sign(b"hello");
    /// assert_eq!(server.verify(b"hellO", &sig), Err(SecurityError::BadSignature));
    /// assert_eq!(server.verify(b"hello", &sig), Err(SecurityError::ContextFailed));
    /// ```
    pub fn verify(&mut self, message: &[u8], signature: &[u8]) -> Result<(), SecurityError> {
        let r = self.check(Incoming::Plain(message), signature);
        self.failed |= r.is_err();
        r
    }

    /// `GSS_UnwrapEx` (MS-NLMP §3.4.3): decrypts an incoming `message` in place with the
    /// receiving RC4 handle and checks `signature` over the plaintext. On error the message is
    /// overwritten with zeros and the context is marked failed.
    ///
    /// ```
    /// use ntlm::crypto::{SecurityError, SessionSecurity, Side};
    /// use ntlm::{NegotiateFlags as F, SessionKey};
    /// let f = F::NEGOTIATE_EXTENDED_SESSIONSECURITY | F::NEGOTIATE_128;
    /// let key = SessionKey::from_bytes([0x55; 16]);
    /// let mut client = SessionSecurity::new(f, &key, Side::Client);
    /// let mut server = SessionSecurity::new(f, &key, Side::Server);
    /// let (mut m0, mut m1) = (b"first".to_vec(), b"second".to_vec());
    /// let s0 = client.seal(&mut m0);
    /// let s1 = client.seal(&mut m1);
    /// assert!(matches!(server.unseal(&mut m1, &s1), Err(SecurityError::OutOfSequence { expected: 0, found: 1 })));
    /// assert_eq!(m1, [0; 6]);
    /// ```
    pub fn unseal(&mut self, message: &mut [u8], signature: &[u8]) -> Result<(), SecurityError> {
        let r = self.check(Incoming::Sealed(message), signature);
        if r.is_err() {
            self.failed = true;
            message.fill(0);
        }
        r
    }

    /// Shared by verify and unseal.
    fn check(&mut self, message: Incoming<'_>, signature: &[u8]) -> Result<(), SecurityError> {
        if self.failed {
            return Err(SecurityError::ContextFailed);
        }
        let sig: &[u8; 16] = signature
            .try_into()
            .map_err(|_| SecurityError::WrongLength {
                len: signature.len(),
            })?;
        let le = |b: &[u8]| u32::from_le_bytes(b.try_into().expect("4 bytes"));
        let version = le(&sig[0..4]);
        if version != 1 {
            return Err(SecurityError::WrongVersion { version });
        }
        match &mut self.state {
            State::V1 { rc4, seq } => {
                let plain: &[u8] = match message {
                    Incoming::Plain(m) => m,
                    Incoming::Sealed(m) => {
                        rc4.apply_keystream(m);
                        m
                    }
                };
                let crc = crc32(plain);
                let expected = *seq;
                *seq = seq.wrapping_add(1);
                let mut ks = [0u8; 12];
                rc4.apply_keystream(&mut ks);
                let pad_ok = sig[4..8] == [0; 4] || sig[4..8] == ks[0..4];
                let found_crc = le(&sig[8..12]) ^ le(&ks[4..8]);
                let found = le(&sig[12..16]) ^ le(&ks[8..12]);
                if found != expected {
                    return Err(SecurityError::OutOfSequence { expected, found });
                }
                if !pad_ok || !bool::from(found_crc.ct_eq(&crc)) {
                    return Err(SecurityError::BadSignature);
                }
                Ok(())
            }
            State::Ess { key_exch, inc, .. } => {
                let plain: &[u8] = match message {
                    Incoming::Plain(m) => m,
                    Incoming::Sealed(m) => {
                        inc.seal.apply_keystream(m);
                        m
                    }
                };
                let expected = inc.seq;
                inc.seq = inc.seq.wrapping_add(1);
                let mut checksum = ess_checksum(&inc.sign, expected, plain);
                if *key_exch {
                    inc.seal.apply_keystream(&mut checksum);
                }
                let found = le(&sig[12..16]);
                if found != expected {
                    return Err(SecurityError::OutOfSequence { expected, found });
                }
                if !bool::from(checksum[..].ct_eq(&sig[4..12])) {
                    return Err(SecurityError::BadSignature);
                }
                Ok(())
            }
        }
    }
}

/// The incoming message: clear text (verify) or to be decrypted in place (unseal).
enum Incoming<'a> {
    Plain(&'a [u8]),
    Sealed(&'a mut [u8]),
}

impl fmt::Debug for SessionSecurity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ess = matches!(self.state, State::Ess { .. });
        f.debug_struct("SessionSecurity")
            .field("extended_session_security", &ess)
            .field("failed", &self.failed)
            .finish_non_exhaustive()
    }
}
