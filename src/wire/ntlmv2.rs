//! NTLMv2_RESPONSE (MS-NLMP §2.2.2.8) and NTLMv2_CLIENT_CHALLENGE (§2.2.2.7).

use crate::error::{DecodeError, DecodeErrorKind};

use super::layout::{array, take, u64_at};
use super::TargetInfo;

/// Bytes of an NTLMv2 response before its AV pairs: NTProofStr (16) and the fixed part of
/// NTLMv2_CLIENT_CHALLENGE (28).
const FIXED_LEN: usize = 16 + 28;

/// An NTLMv2_RESPONSE (MS-NLMP §2.2.2.8): NTProofStr followed by the
/// NTLMv2_CLIENT_CHALLENGE "blob" (§2.2.2.7, `temp` of §3.3.2), decoded from an
/// AUTHENTICATE_MESSAGE's NtChallengeResponse.
///
/// Checked: at least 16 + 28 bytes, RespType = 1, an AV pair list (validated as
/// [`TargetInfo`]) starting at byte 44 and ending with MsvAvEOL. Anything after the list
/// (Windows sends `Z(4)`, Samba nothing) is allowed and stays in `blob`. HiRespType and the
/// Reserved fields are not checked (the HMAC covers them). Error offsets are relative to
/// the start of the response.
///
/// The NTLMv2 NtChallengeResponse of MS-NLMP §4.2.4:
///
/// ```
/// use ntlm::wire::NtlmV2Response;
/// let hex = concat!(
///     "68cd0ab851e51c96aabc927bebef6a1c01010000000000000000000000000000",
///     "aaaaaaaaaaaaaaaa0000000002000c0044006f006d00610069006e0001000c00",
///     "5300650072007600650072000000000000000000",
/// );
/// let bytes: Vec<u8> = (0..hex.len())
///     .step_by(2)
///     .map(|i| u8::from_str_radix(&hex[i..i + 2], 16))
///     .collect::<Result<_, _>>()?;
/// let r = NtlmV2Response::decode(&bytes)?;
/// assert_eq!((r.timestamp, r.client_challenge), (0, [0xaa; 8]));
/// assert_eq!(r.av_pairs.iter().count(), 2);
/// // NTProofStr then the blob, which `encode_blob` rebuilds from its parts.
/// assert_eq!([&r.nt_proof_str[..], r.blob].concat(), bytes);
/// let blob = NtlmV2Response::encode_blob(r.timestamp, r.client_challenge, r.av_pairs.as_bytes());
/// assert_eq!(blob, r.blob);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NtlmV2Response<'a> {
    /// NTProofStr: HMAC-MD5 over the server challenge and `blob`.
    pub nt_proof_str: [u8; 16],
    /// Everything after NTProofStr, exactly as received: the input of NTProofStr.
    pub blob: &'a [u8],
    /// RespType (always 1).
    pub resp_type: u8,
    /// HiRespType (1 from every known client).
    pub hi_resp_type: u8,
    /// TimeStamp: FILETIME of the client.
    pub timestamp: u64,
    /// ChallengeFromClient.
    pub client_challenge: [u8; 8],
    /// AvPairs: the client's (modified) copy of the server's TargetInfo.
    pub av_pairs: TargetInfo<'a>,
}

impl<'a> NtlmV2Response<'a> {
    /// Decodes an NtChallengeResponse as an NTLMv2 response; see the type documentation (MS-NLMP §2.2.2.8).
    pub fn decode(nt_challenge_response: &'a [u8]) -> Result<Self, DecodeError> {
        let b = nt_challenge_response;
        if b.len() < FIXED_LEN {
            return Err(DecodeError::new(
                "NtChallengeResponse",
                0,
                DecodeErrorKind::Truncated {
                    needed: FIXED_LEN,
                    available: b.len(),
                },
            ));
        }
        let nt_proof_str = array(b, 0, "NTProofStr")?;
        let blob = b.get(16..).unwrap_or(&[]);
        let [resp_type, hi_resp_type] = array(b, 16, "RespType")?;
        if resp_type != 1 {
            return Err(DecodeError::new(
                "RespType",
                16,
                DecodeErrorKind::UnexpectedValue {
                    found: u32::from(resp_type),
                    expected: 1,
                },
            ));
        }
        let timestamp = u64_at(b, 24, "TimeStamp")?;
        let client_challenge = array(b, 32, "ChallengeFromClient")?;
        let rest = take(b, FIXED_LEN, b.len().saturating_sub(FIXED_LEN), "AvPairs")?;
        let (av_pairs, _padding) =
            TargetInfo::decode_prefix(rest).map_err(|e| e.shifted(FIXED_LEN))?;
        Ok(Self {
            nt_proof_str,
            blob,
            resp_type,
            hi_resp_type,
            timestamp,
            client_challenge,
            av_pairs,
        })
    }

    /// The blob (`temp` of MS-NLMP §3.3.2) a client sends after NTProofStr:
    /// RespType 1, HiRespType 1, `Z(6)`, `timestamp`, `client_challenge`, `Z(4)`,
    /// `av_pairs` (a whole list with MsvAvEOL), `Z(4)` as Windows does.
    pub fn encode_blob(timestamp: u64, client_challenge: [u8; 8], av_pairs: &[u8]) -> Vec<u8> {
        let mut v = Vec::with_capacity(28 + av_pairs.len() + 4);
        v.extend_from_slice(&[1, 1, 0, 0, 0, 0, 0, 0]);
        v.extend_from_slice(&timestamp.to_le_bytes());
        v.extend_from_slice(&client_challenge);
        v.extend_from_slice(&[0; 4]);
        v.extend_from_slice(av_pairs);
        v.extend_from_slice(&[0; 4]);
        v
    }
}
