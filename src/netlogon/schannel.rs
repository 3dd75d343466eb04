//! Netlogon as its own security provider, auth type 0x44 (MS-NRPC §3.3): the
//! NL_AUTH_MESSAGE of the bind (§2.2.1.3.1, §2.2.1.3.2) and the AES message protection of
//! §3.3.4.2 with its NL_AUTH_SHA2_SIGNATURE (§2.2.1.3.3).
//!
//! Sealing (packet privacy), for a message `M` (the stub and its auth padding):
//! 1. SequenceNumber = big-endian low 32 bits of the counter ‖ big-endian high 32 bits,
//!    with 0x80 set in byte 4 when the sender is the client;
//! 2. a random 8-byte Confounder;
//! 3. Checksum = the first 8 bytes of HMAC-SHA256(SessionKey, the signature's first 8
//!    bytes ‖ Confounder ‖ M);
//! 4. Confounder ‖ M encrypted as one stream with AES-128-CFB8 under SessionKey XOR 0xF0…,
//!    IV = SequenceNumber twice;
//! 5. SequenceNumber encrypted with AES-128-CFB8 under SessionKey, IV = Checksum twice.
//!
//! Both directions share one counter, incremented once per message (request, then
//! response). The receiver decrypts, recomputes the checksum and the encrypted sequence
//! number and compares both in constant time; any difference refuses the message.

use aes::cipher::KeyIvInit;
use hmac::{KeyInit, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::credential::ChannelKey;
use super::reader::Reader;
use crate::error::DecodeError;

type Aes128Cfb8Enc = cfb8::Encryptor<aes::Aes128>;
type Aes128Cfb8Dec = cfb8::Decryptor<aes::Aes128>;

/// `auth_type` of the Netlogon security provider (MS-RPCE §2.2.1.1.7).
pub const AUTH_TYPE_SCHANNEL: u8 = 0x44;
/// `auth_level` packet privacy (MS-RPCE §2.2.1.1.8).
pub const AUTH_LEVEL_PRIVACY: u8 = 6;
/// Length of an NL_AUTH_SHA2_SIGNATURE as sent (MS-NRPC §2.2.1.3.3).
pub const SIGNATURE_LEN: usize = 56;
/// NL_AUTH_SHA2_SIGNATURE SignatureAlgorithm: HMAC-SHA256.
pub const SIGN_HMAC_SHA256: u16 = 0x0013;
/// NL_AUTH_SHA2_SIGNATURE SealAlgorithm: AES-128.
pub const SEAL_AES128: u16 = 0x001a;

/// NL_AUTH_MESSAGE (MS-NRPC §2.2.1.3.1): the auth value of the bind and its answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NlAuthMessage<'a> {
    /// 0 negotiate request, 1 negotiate response.
    pub message_type: u32,
    /// Which names the buffer holds: 0x1 NetBIOS OEM domain, 0x2 NetBIOS OEM computer,
    /// 0x4 DNS domain, 0x8 DNS host, 0x10 NetBIOS UTF-8 computer.
    pub flags: u32,
    /// The names, NUL-terminated, in flag order, as received.
    pub buffer: &'a [u8],
}

impl<'a> NlAuthMessage<'a> {
    /// Decodes the auth value of a bind or bind_ack.
    pub fn decode(bytes: &'a [u8], base: usize) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes, base);
        Ok(Self {
            message_type: r.u32("NL_AUTH_MESSAGE.MessageType")?,
            flags: r.u32("NL_AUTH_MESSAGE.Flags")?,
            buffer: r.rest(),
        })
    }

    /// Encodes the message, the exact inverse of [`NlAuthMessage::decode`].
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(8 + self.buffer.len());
        out.extend_from_slice(&self.message_type.to_le_bytes());
        out.extend_from_slice(&self.flags.to_le_bytes());
        out.extend_from_slice(self.buffer);
        out
    }
}

/// The names of a negotiate request: NetBIOS domain and computer names, OEM
/// (uppercase ASCII here), each NUL-terminated; flags 0x3.
pub fn negotiate_buffer(domain: &str, computer: &str) -> Vec<u8> {
    let mut b = Vec::new();
    for name in [domain, computer] {
        b.extend(name.bytes().map(|c| c.to_ascii_uppercase()));
        b.push(0);
    }
    b
}

/// An NL_AUTH_SHA2_SIGNATURE (MS-NRPC §2.2.1.3.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sha2Signature<'a> {
    /// SignatureAlgorithm (0x0013).
    pub sign_algorithm: u16,
    /// SealAlgorithm (0x001A sealed, 0xFFFF not).
    pub seal_algorithm: u16,
    /// Pad (0xFFFF).
    pub pad: u16,
    /// Flags (0).
    pub flags: u16,
    /// The encrypted SequenceNumber.
    pub sequence: [u8; 8],
    /// The first 8 bytes of the HMAC-SHA256.
    pub checksum: [u8; 8],
    /// The encrypted Confounder.
    pub confounder: [u8; 8],
    /// The reserved bytes after the confounder (24 zero bytes as sent).
    pub reserved: &'a [u8],
}

impl<'a> Sha2Signature<'a> {
    /// Decodes a signature of at least 32 bytes (48 and more as every peer sends).
    pub fn decode(bytes: &'a [u8], base: usize) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes, base);
        Ok(Self {
            sign_algorithm: r.u16("SignatureAlgorithm")?,
            seal_algorithm: r.u16("SealAlgorithm")?,
            pad: r.u16("Pad")?,
            flags: r.u16("Flags")?,
            sequence: r.array("SequenceNumber")?,
            checksum: r.array("Checksum")?,
            confounder: r.array("Confounder")?,
            reserved: r.rest(),
        })
    }

    /// Encodes it, the exact inverse of [`Sha2Signature::decode`].
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(SIGNATURE_LEN);
        for v in [
            self.sign_algorithm,
            self.seal_algorithm,
            self.pad,
            self.flags,
        ] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&self.sequence);
        out.extend_from_slice(&self.checksum);
        out.extend_from_slice(&self.confounder);
        out.extend_from_slice(self.reserved);
        out
    }
}

/// Why a sealed message was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SchannelError {
    /// The signature could not be decoded.
    Malformed(DecodeError),
    /// A header field of the signature is not what AES sealing requires.
    WrongHeader {
        /// The field (SignatureAlgorithm, SealAlgorithm, Pad).
        field: &'static str,
        /// Its value.
        found: u16,
    },
    /// The checksum does not match the message: altered, or another key.
    BadChecksum,
    /// The sequence number is not the one expected: replayed, reordered or dropped.
    BadSequence,
}

impl core::fmt::Display for SchannelError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Malformed(e) => write!(f, "malformed NL_AUTH_SHA2_SIGNATURE: {e}"),
            Self::WrongHeader { field, found } => {
                write!(f, "NL_AUTH_SHA2_SIGNATURE {field} is {found:#06x}")
            }
            Self::BadChecksum => f.write_str("NL_AUTH_SHA2_SIGNATURE checksum mismatch"),
            Self::BadSequence => f.write_str("NL_AUTH_SHA2_SIGNATURE sequence number mismatch"),
        }
    }
}

impl std::error::Error for SchannelError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Malformed(e) => Some(e),
            _ => None,
        }
    }
}

/// One side's schannel message protection: the session key and the shared sequence
/// counter (MS-NRPC §3.3.4.2).
#[derive(Debug)]
pub struct Schannel {
    key: ChannelKey,
    seal_key: Zeroizing<[u8; 16]>,
    sequence: u64,
    initiator: bool,
}

const HEADER: [u8; 8] = [0x13, 0x00, 0x1a, 0x00, 0xff, 0xff, 0x00, 0x00];

impl Schannel {
    /// Protection for the client (`initiator`) or the server side of a channel.
    pub fn new(key: ChannelKey, initiator: bool) -> Self {
        let mut seal_key = Zeroizing::new(*key.as_bytes());
        seal_key.iter_mut().for_each(|b| *b ^= 0xf0);
        Self {
            key,
            seal_key,
            sequence: 0,
            initiator,
        }
    }

    /// The sequence counter (messages protected or accepted so far).
    pub fn sequence(&self) -> u64 {
        self.sequence
    }

    fn sequence_bytes(&self, sender_is_client: bool) -> [u8; 8] {
        let mut high = (self.sequence >> 32) as u32;
        if sender_is_client {
            high |= 0x8000_0000;
        }
        let mut s = [0u8; 8];
        s[..4].copy_from_slice(&(self.sequence as u32).to_be_bytes());
        s[4..].copy_from_slice(&high.to_be_bytes());
        s
    }

    fn checksum(&self, confounder: &[u8; 8], data: &[u8]) -> [u8; 8] {
        let mut mac = <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(self.key.as_bytes())
            .expect("HMAC takes any key length");
        mac.update(&HEADER);
        mac.update(confounder);
        mac.update(data);
        let digest = mac.finalize().into_bytes();
        let mut c = [0u8; 8];
        c.copy_from_slice(&digest[..8]);
        c
    }

    fn encrypted_sequence(&self, plain: [u8; 8], checksum: &[u8; 8]) -> [u8; 8] {
        let mut iv = [0u8; 16];
        iv[..8].copy_from_slice(checksum);
        iv[8..].copy_from_slice(checksum);
        let mut s = plain;
        Aes128Cfb8Enc::new(self.key.as_bytes().into(), &iv.into()).encrypt(&mut s);
        s
    }

    fn data_iv(sequence: &[u8; 8]) -> [u8; 16] {
        let mut iv = [0u8; 16];
        iv[..8].copy_from_slice(sequence);
        iv[8..].copy_from_slice(sequence);
        iv
    }

    /// Seals `data` in place with a random confounder and returns the signature.
    pub fn seal(&mut self, data: &mut [u8]) -> Vec<u8> {
        self.seal_with_confounder(data, crate::crypto::random_bytes::<8>())
    }

    /// [`Schannel::seal`] with a given confounder (known-answer tests).
    pub fn seal_with_confounder(&mut self, data: &mut [u8], confounder: [u8; 8]) -> Vec<u8> {
        let plain_seq = self.sequence_bytes(self.initiator);
        let checksum = self.checksum(&confounder, data);
        let mut enc_confounder = confounder;
        let mut cipher =
            Aes128Cfb8Enc::new((&*self.seal_key).into(), &Self::data_iv(&plain_seq).into());
        cipher.encrypt(&mut enc_confounder);
        cipher.encrypt(data);
        let sequence = self.encrypted_sequence(plain_seq, &checksum);
        self.sequence = self.sequence.wrapping_add(1);
        Sha2Signature {
            sign_algorithm: SIGN_HMAC_SHA256,
            seal_algorithm: SEAL_AES128,
            pad: 0xffff,
            flags: 0,
            sequence,
            checksum,
            confounder: enc_confounder,
            reserved: &[0; 24],
        }
        .encode()
    }

    /// Unseals `data` in place and checks `signature`. On error `data` holds garbage and
    /// the channel must be dropped: the counter no longer matches the peer's.
    pub fn unseal(&mut self, data: &mut [u8], signature: &[u8]) -> Result<(), SchannelError> {
        let sig = Sha2Signature::decode(signature, 0).map_err(SchannelError::Malformed)?;
        for (field, found, want) in [
            ("SignatureAlgorithm", sig.sign_algorithm, SIGN_HMAC_SHA256),
            ("SealAlgorithm", sig.seal_algorithm, SEAL_AES128),
            ("Pad", sig.pad, 0xffff),
        ] {
            if found != want {
                return Err(SchannelError::WrongHeader { field, found });
            }
        }
        let plain_seq = self.sequence_bytes(!self.initiator);
        let mut confounder = sig.confounder;
        let mut cipher =
            Aes128Cfb8Dec::new((&*self.seal_key).into(), &Self::data_iv(&plain_seq).into());
        cipher.decrypt(&mut confounder);
        cipher.decrypt(data);
        let checksum = self.checksum(&confounder, data);
        if !bool::from(checksum.ct_eq(&sig.checksum)) {
            return Err(SchannelError::BadChecksum);
        }
        let sequence = self.encrypted_sequence(plain_seq, &checksum);
        if !bool::from(sequence.ct_eq(&sig.sequence)) {
            return Err(SchannelError::BadSequence);
        }
        self.sequence = self.sequence.wrapping_add(1);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair() -> (Schannel, Schannel) {
        let key = [0x42; 16];
        (
            Schannel::new(ChannelKey::from_bytes(key), true),
            Schannel::new(ChannelKey::from_bytes(key), false),
        )
    }

    #[test]
    fn seal_unseal_both_ways() {
        let (mut client, mut server) = pair();
        for round in 0..3u8 {
            let mut m = vec![round; 37];
            let sig = client.seal(&mut m);
            assert_eq!(sig.len(), SIGNATURE_LEN);
            assert_ne!(m, vec![round; 37]);
            server.unseal(&mut m, &sig).unwrap();
            assert_eq!(m, vec![round; 37]);
            let mut r = vec![0xa0 ^ round; 5];
            let sig = server.seal(&mut r);
            client.unseal(&mut r, &sig).unwrap();
            assert_eq!(r, vec![0xa0 ^ round; 5]);
        }
        assert_eq!(client.sequence(), 6);
    }

    #[test]
    fn tampering_is_refused() {
        let (mut client, mut server) = pair();
        let mut m = b"logon".to_vec();
        let sig = client.seal(&mut m);
        let mut altered = m.clone();
        altered[0] ^= 1;
        let mut s2 = Schannel::new(ChannelKey::from_bytes([0x42; 16]), false);
        assert_eq!(
            s2.unseal(&mut altered, &sig),
            Err(SchannelError::BadChecksum)
        );
        let mut bad_sig = sig.clone();
        bad_sig[8] ^= 1;
        let mut s3 = Schannel::new(ChannelKey::from_bytes([0x42; 16]), false);
        assert_eq!(
            s3.unseal(&mut m.clone(), &bad_sig),
            Err(SchannelError::BadSequence)
        );
        let mut s4 = Schannel::new(ChannelKey::from_bytes([0x42; 16]), false);
        assert!(matches!(
            s4.unseal(&mut m.clone(), &sig[..20]),
            Err(SchannelError::Malformed(_))
        ));
        // A replay of the same message is out of sequence.
        server.unseal(&mut m.clone(), &sig).unwrap();
        assert!(server.unseal(&mut m, &sig).is_err());
    }

    #[test]
    fn signature_round_trip() {
        let (mut client, _) = pair();
        let sig = client.seal_with_confounder(&mut [1, 2, 3], [9; 8]);
        let d = Sha2Signature::decode(&sig, 0).unwrap();
        assert_eq!(d.encode(), sig);
        assert_eq!(&sig[..8], &HEADER);
    }
}
