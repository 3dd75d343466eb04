//! The Netlogon credential computation with AES (MS-NRPC §3.1.4.3.1 session key,
//! §3.1.4.4.1 credential, §3.1.4.5 authenticator).
//!
//! - SessionKey = the first 16 bytes of HMAC-SHA256(NTOWFv1(machine password),
//!   ClientChallenge ‖ ServerChallenge);
//! - ComputeNetlogonCredential(input, key) = AES-128-CFB8(key, IV = 0¹²⁸, input), 8 bytes;
//! - the client credential is computed from the client challenge, the server credential
//!   from the server challenge; the client checks the server's in constant time.

use aes::cipher::KeyIvInit;
use hmac::{KeyInit, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::secret::NtHash;

type Aes128Cfb8Enc = cfb8::Encryptor<aes::Aes128>;

/// The secure channel's 128-bit session key (MS-NRPC §3.1.4.3.1). Zeroized on drop,
/// `<redacted>` in `Debug`.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct ChannelKey([u8; 16]);

impl core::fmt::Debug for ChannelKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("ChannelKey(<redacted>)")
    }
}

impl ChannelKey {
    /// The AES session key: HMAC-SHA256 keyed by the machine account's NT hash over
    /// ClientChallenge ‖ ServerChallenge, truncated to 16 bytes.
    pub fn aes(machine: &NtHash, client_challenge: &[u8; 8], server_challenge: &[u8; 8]) -> Self {
        let mut mac = <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(machine.as_bytes())
            .expect("HMAC takes any key length");
        mac.update(client_challenge);
        mac.update(server_challenge);
        let digest = mac.finalize().into_bytes();
        let mut key = [0u8; 16];
        key.copy_from_slice(&digest[..16]);
        Self(key)
    }

    /// Wraps raw key bytes (tests, known answers).
    pub const fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(bytes)
    }

    /// The key bytes. Keep the borrow short; never log them.
    pub const fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// ComputeNetlogonCredential with AES: AES-128-CFB8 with a zero IV over 8 bytes.
    pub fn credential(&self, input: &[u8; 8]) -> [u8; 8] {
        let mut out = *input;
        Aes128Cfb8Enc::new(&self.0.into(), &[0u8; 16].into()).encrypt(&mut out);
        out
    }

    /// Decryption of the keys of a validation (MS-NRPC, NETLOGON_VALIDATION_SAM_INFO's
    /// UserSessionKey and LM key under an AES session key): AES-128-CFB8 with a zero IV, in
    /// place, as ComputeNetlogonCredential encrypts. A DC encrypts the UserSessionKey and LM key of a validation this
    /// way; all-zero keys are sent as they are.
    pub fn decrypt(&self, buf: &mut [u8]) {
        if buf.iter().all(|b| *b == 0) {
            return;
        }
        cfb8::Decryptor::<aes::Aes128>::new(&self.0.into(), &[0u8; 16].into()).decrypt(buf);
    }

    /// The inverse of [`ChannelKey::decrypt`] (a DC's side; tests).
    pub fn encrypt(&self, buf: &mut [u8]) {
        if buf.iter().all(|b| *b == 0) {
            return;
        }
        Aes128Cfb8Enc::new(&self.0.into(), &[0u8; 16].into()).encrypt(buf);
    }

    /// True when `received` is the server credential for `server_challenge`, compared in
    /// constant time.
    pub fn verify_server_credential(&self, server_challenge: &[u8; 8], received: &[u8; 8]) -> bool {
        bool::from(self.credential(server_challenge).ct_eq(received))
    }
}

/// A Netlogon authenticator (MS-NRPC §2.2.1.1.5): the credential of the stored credential
/// plus a timestamp, and the timestamp.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Authenticator {
    /// Credential.
    pub credential: [u8; 8],
    /// Timestamp (seconds since 1970).
    pub timestamp: u32,
}

/// The client's stored credential chain for calls that take an authenticator
/// (MS-NRPC §3.1.4.5). NetrLogonSamLogonEx, which this module uses, needs none: the
/// schannel-protected transport authenticates it.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct CredentialChain {
    stored: [u8; 8],
}

impl core::fmt::Debug for CredentialChain {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("CredentialChain(<redacted>)")
    }
}

impl CredentialChain {
    /// Starts the chain from the client credential sent in NetrServerAuthenticate3.
    pub const fn new(client_credential: [u8; 8]) -> Self {
        Self {
            stored: client_credential,
        }
    }

    /// The next authenticator at `timestamp`: ClientStoredCredential += timestamp (as a
    /// little-endian 32-bit addition on its first 4 bytes), then its credential.
    pub fn next(&mut self, key: &ChannelKey, timestamp: u32) -> Authenticator {
        add_le32(&mut self.stored, timestamp);
        Authenticator {
            credential: key.credential(&self.stored),
            timestamp,
        }
    }

    /// Checks the server's ReturnAuthenticator: the credential of ClientStoredCredential
    /// + 1; on success the chain advances.
    pub fn verify_return(&mut self, key: &ChannelKey, returned: &[u8; 8]) -> bool {
        let mut expected = self.stored;
        add_le32(&mut expected, 1);
        let ok = bool::from(key.credential(&expected).ct_eq(returned));
        if ok {
            self.stored = expected;
        }
        ok
    }
}

fn add_le32(cred: &mut [u8; 8], n: u32) {
    let mut low = [0u8; 4];
    low.copy_from_slice(&cred[..4]);
    let sum = u32::from_le_bytes(low).wrapping_add(n);
    cred[..4].copy_from_slice(&sum.to_le_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cfb8_known_answer() {
        // AES-128-CFB8 with IV 0: NIST SP 800-38A F.3.7 uses another IV, so check
        // against the block cipher directly: CFB8's first output byte is
        // AES(K, IV)[0] XOR P[0].
        use aes::cipher::{BlockCipherEncrypt, KeyInit as _};
        let key = ChannelKey::from_bytes([0x2b; 16]);
        let cipher = aes::Aes128::new(&[0x2b; 16].into());
        let mut block = [0u8; 16].into();
        cipher.encrypt_block(&mut block);
        let out = key.credential(&[0x11; 8]);
        assert_eq!(out[0], block[0] ^ 0x11);
        assert!(key.verify_server_credential(&[0x11; 8], &out));
        assert!(!key.verify_server_credential(&[0x12; 8], &out));
    }

    #[test]
    fn authenticator_chain() {
        let key = ChannelKey::from_bytes([7; 16]);
        let mut chain = CredentialChain::new([0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4]);
        let a = chain.next(&key, 2);
        assert_eq!(a.credential, key.credential(&[1, 0, 0, 0, 1, 2, 3, 4]));
        let ret = key.credential(&[2, 0, 0, 0, 1, 2, 3, 4]);
        assert!(!chain.verify_return(&key, &[0; 8]));
        assert!(chain.verify_return(&key, &ret));
    }
}
