//! The sans-IO connection logic: binding a presentation context (with the schannel
//! NL_AUTH_MESSAGE when asked), sending a call as request fragments under
//! `max_xmit_frag`, sealed one by one, and checking, unsealing and reassembling the
//! response fragments (C706 §12.6.3.6 fragmentation, MS-RPCE §3.3.1.5.7 verification).
//!
//! The caller owns the socket: it writes the bytes these functions return and hands back
//! each PDU it reads ([`super::pdu::frame_length`] finds its end).

use core::fmt;

use super::pdu::{
    AuthVerifier, Bind, Body, ContextElem, Pdu, Request, SyntaxId, DREP_LE, HEADER_LEN, NDR_SYNTAX,
    PFC_FIRST_FRAG, PFC_LAST_FRAG, SEC_TRAILER_LEN,
};
use super::schannel::{
    Schannel, SchannelError, AUTH_LEVEL_PRIVACY, AUTH_TYPE_SCHANNEL, SIGNATURE_LEN,
};
use crate::error::DecodeError;

/// The fragment size offered in binds (as Windows and Samba do).
pub const MAX_FRAG: u16 = 5840;
/// The largest reassembled response stub accepted (a validation is a few hundred bytes).
pub const MAX_RESPONSE_STUB: usize = 256 * 1024;
/// The `auth_context_id` of our schannel binding.
const AUTH_CONTEXT_ID: u32 = 1;
/// The auth padding alignment of the stub (MS-RPCE §2.2.2.11).
const AUTH_PAD: usize = 16;

/// Why a call on the connection failed. Every variant means the connection (and the
/// secure channel on it) is no longer usable.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RpcError {
    /// A PDU from the peer could not be decoded.
    Decode(DecodeError),
    /// The peer answered with another PDU type than expected.
    UnexpectedPdu {
        /// What was expected ("bind_ack", "response").
        expected: &'static str,
        /// The PTYPE received.
        ptype: u8,
    },
    /// The PDU answers another call.
    CallId {
        /// Our call.
        expected: u32,
        /// The peer's.
        found: u32,
    },
    /// The bind was refused (bind_nak), with the provider reason.
    BindNak(u16),
    /// The bind_ack refused the presentation context (result, reason).
    ContextRejected(u16, u16),
    /// The peer faulted the call (C706 status, e.g. 0x5 access denied, 0x1c010002 range).
    Fault(u32),
    /// A response fragment of a sealed call has no schannel verifier, or the wrong one.
    MissingVerifier,
    /// The response's seal or signature is wrong.
    Schannel(SchannelError),
    /// The bind_ack carried no valid NL_AUTH_MESSAGE answer.
    BadAuthAnswer,
    /// The reassembled response would exceed [`MAX_RESPONSE_STUB`], or fragments are
    /// out of order.
    Reassembly(&'static str),
}

impl fmt::Display for RpcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Decode(e) => write!(f, "malformed PDU: {e}"),
            Self::UnexpectedPdu { expected, ptype } => {
                write!(f, "expected a {expected} PDU, got PTYPE {ptype}")
            }
            Self::CallId { expected, found } => {
                write!(f, "PDU for call {found}, expected call {expected}")
            }
            Self::BindNak(r) => write!(f, "bind refused (bind_nak, reason {r})"),
            Self::ContextRejected(res, reason) => {
                write!(
                    f,
                    "presentation context rejected (result {res}, reason {reason})"
                )
            }
            Self::Fault(s) => write!(f, "call faulted with status {s:#010x}"),
            Self::MissingVerifier => f.write_str("response without the schannel verifier"),
            Self::Schannel(e) => write!(f, "response refused: {e}"),
            Self::BadAuthAnswer => f.write_str("bind_ack without a schannel negotiate response"),
            Self::Reassembly(why) => write!(f, "response reassembly: {why}"),
        }
    }
}

impl std::error::Error for RpcError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Decode(e) => Some(e),
            Self::Schannel(e) => Some(e),
            _ => None,
        }
    }
}

impl From<DecodeError> for RpcError {
    fn from(e: DecodeError) -> Self {
        Self::Decode(e)
    }
}

/// One DCE/RPC association (C706 §12.6.2): call IDs, the negotiated fragment size, the bound context.
#[derive(Debug)]
pub struct Association {
    next_call_id: u32,
    max_xmit: u16,
    context_id: u16,
    auth_context_id: u32,
}

impl Default for Association {
    fn default() -> Self {
        Self::new()
    }
}

impl Association {
    /// A fresh connection.
    pub fn new() -> Self {
        Self {
            next_call_id: 1,
            max_xmit: MAX_FRAG,
            context_id: 0,
            auth_context_id: AUTH_CONTEXT_ID,
        }
    }

    fn call_id(&mut self) -> u32 {
        let id = self.next_call_id;
        self.next_call_id = self.next_call_id.wrapping_add(1).max(1);
        id
    }

    /// A bind for `interface` over NDR; with `nl_auth` (an encoded NL_AUTH_MESSAGE) it
    /// asks for schannel at packet privacy. Returns the call ID and the PDU.
    pub fn bind(&mut self, interface: SyntaxId, nl_auth: Option<&[u8]>) -> (u32, Vec<u8>) {
        let call_id = self.call_id();
        let pdu = Pdu {
            minor_version: 0,
            flags: PFC_FIRST_FRAG | PFC_LAST_FRAG,
            drep: DREP_LE,
            call_id,
            body: Body::Bind(Bind {
                max_xmit_frag: MAX_FRAG,
                max_recv_frag: MAX_FRAG,
                assoc_group_id: 0,
                contexts: vec![ContextElem {
                    context_id: self.context_id,
                    abstract_syntax: interface,
                    transfer_syntaxes: vec![NDR_SYNTAX],
                }],
                trailing: &[],
            }),
            auth: nl_auth.map(|value| AuthVerifier {
                auth_type: AUTH_TYPE_SCHANNEL,
                auth_level: AUTH_LEVEL_PRIVACY,
                pad_length: 0,
                reserved: 0,
                context_id: self.auth_context_id,
                value,
            }),
        };
        (call_id, pdu.encode())
    }

    /// Checks the bind_ack of call `call_id`; returns the auth value it carries, if any.
    pub fn on_bind_ack<'a>(
        &mut self,
        bytes: &'a [u8],
        call_id: u32,
    ) -> Result<Option<&'a [u8]>, RpcError> {
        let pdu = Pdu::decode(bytes)?;
        check_call(&pdu, call_id)?;
        let ack = match pdu.body {
            Body::BindAck(a) => a,
            Body::BindNak(n) => return Err(RpcError::BindNak(n.reason)),
            other => {
                return Err(RpcError::UnexpectedPdu {
                    expected: "bind_ack",
                    ptype: other.ptype(),
                })
            }
        };
        match ack.results.first() {
            Some(r) if r.result == 0 => {}
            Some(r) => return Err(RpcError::ContextRejected(r.result, r.reason)),
            None => return Err(RpcError::ContextRejected(u16::MAX, 0)),
        }
        // Our fragments must fit what the server receives.
        self.max_xmit = ack.max_recv_frag.clamp(1024, MAX_FRAG);
        Ok(pdu.auth.map(|a| a.value))
    }

    /// The request fragments of a call (sealed when `schannel` is given), and its call ID.
    pub fn request(
        &mut self,
        opnum: u16,
        stub: &[u8],
        mut schannel: Option<&mut Schannel>,
    ) -> (u32, Vec<Vec<u8>>) {
        let call_id = self.call_id();
        let overhead = HEADER_LEN
            + 8
            + if schannel.is_some() {
                SEC_TRAILER_LEN + SIGNATURE_LEN + AUTH_PAD
            } else {
                0
            };
        // A multiple of 16 so that only the last fragment needs auth padding.
        let room = (usize::from(self.max_xmit) - overhead) & !(AUTH_PAD - 1);
        let chunks: Vec<&[u8]> = if stub.is_empty() {
            vec![&[]]
        } else {
            stub.chunks(room).collect()
        };
        let last = chunks.len() - 1;
        let alloc_hint = u32::try_from(stub.len()).unwrap_or(u32::MAX);
        let mut out = Vec::with_capacity(chunks.len());
        for (i, chunk) in chunks.into_iter().enumerate() {
            let mut flags = 0;
            if i == 0 {
                flags |= PFC_FIRST_FRAG;
            }
            if i == last {
                flags |= PFC_LAST_FRAG;
            }
            let mut data = chunk.to_vec();
            let (auth_value, pad) = match schannel.as_deref_mut() {
                Some(s) => {
                    let pad = data.len().wrapping_neg() & (AUTH_PAD - 1);
                    data.resize(data.len() + pad, 0);
                    (Some(s.seal(&mut data)), pad)
                }
                None => (None, 0),
            };
            let pdu = Pdu {
                minor_version: 0,
                flags,
                drep: DREP_LE,
                call_id,
                body: Body::Request(Request {
                    alloc_hint,
                    context_id: self.context_id,
                    opnum,
                    object: None,
                    stub: &data,
                }),
                auth: auth_value.as_deref().map(|value| AuthVerifier {
                    auth_type: AUTH_TYPE_SCHANNEL,
                    auth_level: AUTH_LEVEL_PRIVACY,
                    pad_length: pad as u8,
                    reserved: 0,
                    context_id: self.auth_context_id,
                    value,
                }),
            };
            out.push(pdu.encode());
        }
        (call_id, out)
    }
}

fn check_call(pdu: &Pdu<'_>, call_id: u32) -> Result<(), RpcError> {
    if pdu.call_id != call_id {
        return Err(RpcError::CallId {
            expected: call_id,
            found: pdu.call_id,
        });
    }
    Ok(())
}

/// Collects the response fragments of one call.
#[derive(Debug)]
pub struct ResponseAssembler {
    call_id: u32,
    stub: Vec<u8>,
    started: bool,
    max: usize,
}

impl ResponseAssembler {
    /// Expects the response of call `call_id`, at most `max` stub bytes in total.
    pub fn new(call_id: u32, max: usize) -> Self {
        Self {
            call_id,
            stub: Vec::new(),
            started: false,
            max,
        }
    }

    /// Takes one response PDU; returns the whole stub after the last fragment. With
    /// `schannel`, each fragment must carry a valid sealed verifier.
    pub fn push(
        &mut self,
        bytes: &[u8],
        schannel: Option<&mut Schannel>,
    ) -> Result<Option<Vec<u8>>, RpcError> {
        let pdu = Pdu::decode(bytes)?;
        check_call(&pdu, self.call_id)?;
        let resp = match &pdu.body {
            Body::Response(r) => r,
            Body::Fault(f) => return Err(RpcError::Fault(f.status)),
            other => {
                return Err(RpcError::UnexpectedPdu {
                    expected: "response",
                    ptype: other.ptype(),
                })
            }
        };
        let first = pdu.flags & PFC_FIRST_FRAG != 0;
        if first == self.started {
            return Err(RpcError::Reassembly(if first {
                "a second first fragment"
            } else {
                "no first fragment"
            }));
        }
        self.started = true;
        let mut data = resp.stub.to_vec();
        match (schannel, &pdu.auth) {
            (Some(s), Some(a))
                if a.auth_type == AUTH_TYPE_SCHANNEL
                    && a.auth_level == AUTH_LEVEL_PRIVACY
                    && a.context_id == AUTH_CONTEXT_ID =>
            {
                // The sec_trailer is not signed (no header signing): bound what a changed
                // auth_pad_length can cut, to less than one padding block.
                if usize::from(a.pad_length) >= AUTH_PAD {
                    return Err(RpcError::Reassembly("auth padding of 16 bytes or more"));
                }
                s.unseal(&mut data, a.value).map_err(RpcError::Schannel)?;
                // decode checked pad_length <= stub length.
                data.truncate(data.len().saturating_sub(usize::from(a.pad_length)));
            }
            (Some(_), _) => return Err(RpcError::MissingVerifier),
            (None, _) => {}
        }
        if self.stub.len().saturating_add(data.len()) > self.max {
            return Err(RpcError::Reassembly("response larger than the limit"));
        }
        self.stub.extend_from_slice(&data);
        if pdu.flags & PFC_LAST_FRAG != 0 {
            return Ok(Some(core::mem::take(&mut self.stub)));
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netlogon::credential::ChannelKey;
    use crate::netlogon::pdu::{Fault, Response};

    fn response(call_id: u32, flags: u8, stub: &[u8], auth: Option<AuthVerifier<'_>>) -> Vec<u8> {
        Pdu {
            minor_version: 0,
            flags,
            drep: DREP_LE,
            call_id,
            body: Body::Response(Response {
                alloc_hint: 0,
                context_id: 0,
                cancel_count: 0,
                reserved: 0,
                stub,
            }),
            auth,
        }
        .encode()
    }

    /// The client's request, unsealed by a simulated DC, and the DC's sealed answer,
    /// reassembled from two fragments by the client.
    #[test]
    fn sealed_call_and_fragmented_answer() {
        let key = [9u8; 16];
        let mut client = Schannel::new(ChannelKey::from_bytes(key), true);
        let mut dc = Schannel::new(ChannelKey::from_bytes(key), false);
        let mut conn = Association::new();
        let stub: Vec<u8> = (0..10_000u32).map(|i| i as u8).collect();
        let (call_id, frags) = conn.request(39, &stub, Some(&mut client));
        assert!(frags.len() > 1 && frags.iter().all(|f| f.len() <= usize::from(MAX_FRAG)));
        let mut received = Vec::new();
        for f in &frags {
            let p = Pdu::decode(f).unwrap();
            let (Body::Request(q), Some(a)) = (&p.body, &p.auth) else {
                panic!()
            };
            let mut data = q.stub.to_vec();
            dc.unseal(&mut data, a.value).unwrap();
            data.truncate(data.len() - usize::from(a.pad_length));
            received.extend_from_slice(&data);
        }
        assert_eq!(received, stub);

        let mut asm = ResponseAssembler::new(call_id, MAX_RESPONSE_STUB);
        for (i, part) in [&b"first part of the answer"[..], b"and the rest"]
            .iter()
            .enumerate()
        {
            let mut data = part.to_vec();
            let pad = data.len().wrapping_neg() & 15;
            data.resize(data.len() + pad, 0);
            let sig = dc.seal(&mut data);
            let flags = if i == 0 {
                PFC_FIRST_FRAG
            } else {
                PFC_LAST_FRAG
            };
            let auth = AuthVerifier {
                auth_type: AUTH_TYPE_SCHANNEL,
                auth_level: AUTH_LEVEL_PRIVACY,
                pad_length: pad as u8,
                reserved: 0,
                context_id: AUTH_CONTEXT_ID,
                value: &sig,
            };
            let out = asm
                .push(
                    &response(call_id, flags, &data, Some(auth)),
                    Some(&mut client),
                )
                .unwrap();
            assert_eq!(out.is_some(), i == 1);
            if let Some(s) = out {
                assert_eq!(s, b"first part of the answerand the rest");
            }
        }
    }

    #[test]
    fn bad_answers_are_refused() {
        let key = [9u8; 16];
        let mut client = Schannel::new(ChannelKey::from_bytes(key), true);
        let mut dc = Schannel::new(ChannelKey::from_bytes(key), false);
        let _ = client.seal(&mut [0; 16]);
        let _ = dc.seal(&mut [0; 16]);
        let whole = PFC_FIRST_FRAG | PFC_LAST_FRAG;
        // No verifier on a sealed call.
        let mut asm = ResponseAssembler::new(2, 1024);
        assert_eq!(
            asm.push(&response(2, whole, &[0; 16], None), Some(&mut client)),
            Err(RpcError::MissingVerifier)
        );
        // A wrong signature.
        let mut data = [1u8; 16];
        let mut sig = dc.seal(&mut data);
        sig[20] ^= 1;
        let auth = AuthVerifier {
            auth_type: AUTH_TYPE_SCHANNEL,
            auth_level: AUTH_LEVEL_PRIVACY,
            pad_length: 0,
            reserved: 0,
            context_id: AUTH_CONTEXT_ID,
            value: &sig,
        };
        let mut asm = ResponseAssembler::new(2, 1024);
        assert!(matches!(
            asm.push(&response(2, whole, &data, Some(auth)), Some(&mut client)),
            Err(RpcError::Schannel(SchannelError::BadChecksum))
        ));
        // Found by fuzz/fuzz_targets/netlogon_unseal.rs: the sec_trailer is not signed, so
        // a genuine seal under another auth_context_id, or with an auth_pad_length that
        // would cut the message, must be refused by those fields' own checks.
        for (context_id, pad_length) in [(0x0001_0001, 0), (AUTH_CONTEXT_ID, 16)] {
            let mut client = Schannel::new(ChannelKey::from_bytes(key), true);
            let mut dc = Schannel::new(ChannelKey::from_bytes(key), false);
            let mut data = [0u8; 32];
            let sig = dc.seal(&mut data);
            let auth = AuthVerifier {
                auth_type: AUTH_TYPE_SCHANNEL,
                auth_level: AUTH_LEVEL_PRIVACY,
                pad_length,
                reserved: 0,
                context_id,
                value: &sig,
            };
            let mut asm = ResponseAssembler::new(2, 1024);
            assert!(asm
                .push(&response(2, whole, &data, Some(auth)), Some(&mut client))
                .is_err());
        }
        // Another call's answer, a fault, a response over the size limit, a middle fragment first.
        let mut asm = ResponseAssembler::new(2, 4);
        assert!(matches!(
            asm.push(&response(3, whole, &[], None), None),
            Err(RpcError::CallId { .. })
        ));
        assert_eq!(
            asm.push(&response(2, whole, &[0; 8], None), None),
            Err(RpcError::Reassembly("response larger than the limit"))
        );
        let mut asm = ResponseAssembler::new(2, 4);
        assert!(matches!(
            asm.push(&response(2, PFC_LAST_FRAG, &[], None), None),
            Err(RpcError::Reassembly(_))
        ));
        let fault = Pdu {
            minor_version: 0,
            flags: whole,
            drep: DREP_LE,
            call_id: 2,
            body: Body::Fault(Fault {
                alloc_hint: 0,
                context_id: 0,
                cancel_count: 0,
                reserved: 0,
                status: 5,
                rest: &[0; 4],
            }),
            auth: None,
        }
        .encode();
        assert_eq!(
            ResponseAssembler::new(2, 4).push(&fault, None),
            Err(RpcError::Fault(5))
        );
    }
}
