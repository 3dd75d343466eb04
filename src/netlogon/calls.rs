//! The secure channel's setup calls (MS-NRPC §3.1.4.1): NetrServerReqChallenge (opnum 4,
//! §3.5.4.4.1) and NetrServerAuthenticate3 (opnum 26, §3.5.4.4.2), as NDR stubs.
//!
//! Requests are encoded by the client, responses decoded; each response type also encodes
//! (its exact inverse) for tests and fuzzing.

use super::ndr::NdrWriter;
use super::reader::Reader;
use crate::error::DecodeError;

/// NetrServerReqChallenge's opnum.
pub const OPNUM_REQ_CHALLENGE: u16 = 4;
/// NetrServerAuthenticate3's opnum.
pub const OPNUM_AUTHENTICATE3: u16 = 26;

/// `WorkstationSecureChannel` (MS-NRPC §2.2.1.3.13): a member workstation or server.
pub const WORKSTATION_SECURE_CHANNEL: u16 = 2;

/// The request stub of NetrServerReqChallenge: PrimaryName (the DC, `\\NAME`),
/// ComputerName (ours, without `$`), ClientChallenge.
pub fn req_challenge_request(primary: &str, computer: &str, client_challenge: &[u8; 8]) -> Vec<u8> {
    let mut w = NdrWriter::new();
    w.referent();
    w.wstring(primary);
    w.align(4);
    w.wstring(computer);
    w.bytes(client_challenge);
    w.buf
}

/// NetrServerReqChallenge's response: ServerChallenge and the status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReqChallengeResponse {
    /// ServerChallenge.
    pub server_challenge: [u8; 8],
    /// NTSTATUS.
    pub status: u32,
}

impl ReqChallengeResponse {
    /// Decodes the response stub.
    pub fn decode(stub: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(stub, 0);
        let server_challenge = r.array("ServerChallenge")?;
        let status = r.u32("status")?;
        r.finish("NetrServerReqChallenge response")?;
        Ok(Self {
            server_challenge,
            status,
        })
    }

    /// Encodes it.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = self.server_challenge.to_vec();
        out.extend_from_slice(&self.status.to_le_bytes());
        out
    }
}

/// The request stub of NetrServerAuthenticate3: PrimaryName, AccountName (`WEB1$`),
/// SecureChannelType, ComputerName (`WEB1`), ClientCredential, NegotiateFlags.
pub fn authenticate3_request(
    primary: &str,
    account: &str,
    channel_type: u16,
    computer: &str,
    client_credential: &[u8; 8],
    flags: u32,
) -> Vec<u8> {
    let mut w = NdrWriter::new();
    w.referent();
    w.wstring(primary);
    w.align(4);
    w.wstring(account);
    w.u16(channel_type);
    w.align(4);
    w.wstring(computer);
    w.bytes(client_credential);
    w.u32(flags);
    w.buf
}

/// NetrServerAuthenticate3's response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Authenticate3Response {
    /// ServerCredential.
    pub server_credential: [u8; 8],
    /// The flags the DC agreed to.
    pub negotiate_flags: u32,
    /// The machine account's RID.
    pub account_rid: u32,
    /// NTSTATUS (0xC0000022 access denied: wrong machine password or refused flags).
    pub status: u32,
}

impl Authenticate3Response {
    /// Decodes the response stub.
    pub fn decode(stub: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(stub, 0);
        let out = Self {
            server_credential: r.array("ServerCredential")?,
            negotiate_flags: r.u32("NegotiateFlags")?,
            account_rid: r.u32("AccountRid")?,
            status: r.u32("status")?,
        };
        r.finish("NetrServerAuthenticate3 response")?;
        Ok(out)
    }

    /// Encodes it.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = self.server_credential.to_vec();
        for v in [self.negotiate_flags, self.account_rid, self.status] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn req_challenge_layout() {
        let stub = req_challenge_request("\\\\DC", "WEB1", &[1; 8]);
        // referent, max 5, offset 0, actual 5, 10 bytes, pad 2, max 5, 0, 5, 10 bytes, challenge
        assert_eq!(stub.len(), 4 + 12 + 10 + 2 + 12 + 10 + 8);
        assert_eq!(&stub[stub.len() - 8..], &[1; 8]);
    }

    #[test]
    fn responses_round_trip() {
        let r = Authenticate3Response {
            server_credential: [3; 8],
            negotiate_flags: 0x612f_ffff,
            account_rid: 1105,
            status: 0,
        };
        let b = r.encode();
        assert_eq!(Authenticate3Response::decode(&b).unwrap(), r);
        assert!(Authenticate3Response::decode(&b[..b.len() - 1]).is_err());
        let q = ReqChallengeResponse {
            server_challenge: [9; 8],
            status: 0,
        };
        assert_eq!(ReqChallengeResponse::decode(&q.encode()).unwrap(), q);
        assert!(ReqChallengeResponse::decode(&[0; 13]).is_err());
    }
}
