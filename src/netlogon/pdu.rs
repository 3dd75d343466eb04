//! Connection-oriented DCE/RPC PDUs (C706 §12.6, MS-RPCE §2.2.2): the 16-byte common
//! header, the bodies of bind, bind_ack, bind_nak, alter_context, alter_context_resp,
//! request, response and fault, and the auth verifier (`sec_trailer`, MS-RPCE §2.2.2.11)
//! that follows the body when `auth_length` is non-zero.
//!
//! [`Pdu::decode`] takes exactly one PDU (`frag_length` bytes; [`frame_length`] reads it
//! from a header), borrows from it, checks every count and length against the bytes
//! present, and never panics. [`Pdu::encode`] is its exact inverse: it recomputes
//! `frag_length` and `auth_length` from the fields, which decode checked.

use super::reader::Reader;
use crate::error::{DecodeError, DecodeErrorKind};

/// Length of the common header (C706 §12.6.3.1).
pub const HEADER_LEN: usize = 16;
/// Length of the `sec_trailer` before the auth value (MS-RPCE §2.2.2.11).
pub const SEC_TRAILER_LEN: usize = 8;

/// `PFC_FIRST_FRAG` (C706 §12.6.3.1).
pub const PFC_FIRST_FRAG: u8 = 0x01;
/// `PFC_LAST_FRAG`.
pub const PFC_LAST_FRAG: u8 = 0x02;
/// `PFC_OBJECT_UUID`: a request carries an object UUID.
pub const PFC_OBJECT_UUID: u8 = 0x80;

/// NDR data representation: little-endian integers, ASCII, IEEE floats (C706 §14.1).
pub const DREP_LE: [u8; 4] = [0x10, 0, 0, 0];

/// A UUID in its NDR wire order (first three fields little-endian, C706 appendix A).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Uuid(pub [u8; 16]);

impl Uuid {
    /// The UUID `d1-d2-d3-d4[0..2]-d4[2..8]` as written in text.
    pub const fn from_fields(d1: u32, d2: u16, d3: u16, d4: [u8; 8]) -> Self {
        let a = d1.to_le_bytes();
        let b = d2.to_le_bytes();
        let c = d3.to_le_bytes();
        Self([
            a[0], a[1], a[2], a[3], b[0], b[1], c[0], c[1], d4[0], d4[1], d4[2], d4[3], d4[4],
            d4[5], d4[6], d4[7],
        ])
    }
}

impl core::fmt::Debug for Uuid {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let b = &self.0;
        write!(
            f,
            "{:08x}-{:04x}-{:04x}-{:02x}{:02x}-",
            u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
            u16::from_le_bytes([b[4], b[5]]),
            u16::from_le_bytes([b[6], b[7]]),
            b[8],
            b[9]
        )?;
        b[10..].iter().try_for_each(|x| write!(f, "{x:02x}"))
    }
}

/// An interface or transfer syntax: UUID and version (C706 §12.6.3.1 `p_syntax_id_t`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SyntaxId {
    /// Interface UUID.
    pub uuid: Uuid,
    /// Major version.
    pub major: u16,
    /// Minor version.
    pub minor: u16,
}

/// The NDR 32-bit transfer syntax, 8a885d04-1ceb-11c9-9fe8-08002b104860 v2.0.
pub const NDR_SYNTAX: SyntaxId = SyntaxId {
    uuid: Uuid::from_fields(
        0x8a88_5d04,
        0x1ceb,
        0x11c9,
        [0x9f, 0xe8, 0x08, 0x00, 0x2b, 0x10, 0x48, 0x60],
    ),
    major: 2,
    minor: 0,
};

impl SyntaxId {
    fn read(r: &mut Reader<'_>, field: &'static str) -> Result<Self, DecodeError> {
        Ok(Self {
            uuid: Uuid(r.array(field)?),
            major: r.u16(field)?,
            minor: r.u16(field)?,
        })
    }

    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.uuid.0);
        out.extend_from_slice(&self.major.to_le_bytes());
        out.extend_from_slice(&self.minor.to_le_bytes());
    }
}

/// One presentation context of a bind (`p_cont_elem_t`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContextElem {
    /// `p_cont_id`.
    pub context_id: u16,
    /// The interface.
    pub abstract_syntax: SyntaxId,
    /// The transfer syntaxes offered (at least one).
    pub transfer_syntaxes: Vec<SyntaxId>,
}

/// One result of a bind_ack (`p_result_t`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContextResult {
    /// 0 acceptance, 1 user rejection, 2 provider rejection, 3 negotiate_ack.
    pub result: u16,
    /// Reason of a rejection.
    pub reason: u16,
    /// The transfer syntax accepted.
    pub transfer_syntax: SyntaxId,
}

/// bind and alter_context bodies (C706 §12.6.4.3, §12.6.4.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bind<'a> {
    /// `max_xmit_frag`.
    pub max_xmit_frag: u16,
    /// `max_recv_frag`.
    pub max_recv_frag: u16,
    /// `assoc_group_id`.
    pub assoc_group_id: u32,
    /// The presentation contexts.
    pub contexts: Vec<ContextElem>,
    /// Bytes after the context list, before the auth verifier (padding).
    pub trailing: &'a [u8],
}

/// bind_ack and alter_context_resp bodies (C706 §12.6.4.4, §12.6.4.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BindAck<'a> {
    /// `max_xmit_frag`.
    pub max_xmit_frag: u16,
    /// `max_recv_frag`.
    pub max_recv_frag: u16,
    /// `assoc_group_id`.
    pub assoc_group_id: u32,
    /// `sec_addr`: the secondary address (port) as a NUL-terminated string, with its NUL.
    pub sec_addr: &'a [u8],
    /// The padding after `sec_addr` to a 4-byte boundary, as received.
    pub sec_addr_pad: &'a [u8],
    /// One result per context of the bind.
    pub results: Vec<ContextResult>,
    /// Bytes after the result list, before the auth verifier (padding).
    pub trailing: &'a [u8],
}

/// A bind_nak body (C706 §12.6.4.5).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BindNak<'a> {
    /// `provider_reject_reason`.
    pub reason: u16,
    /// The protocol versions supported and any padding, as received.
    pub rest: &'a [u8],
}

/// A request body (C706 §12.6.4.9).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request<'a> {
    /// `alloc_hint`: the total stub length, or 0.
    pub alloc_hint: u32,
    /// `p_cont_id`.
    pub context_id: u16,
    /// `opnum`.
    pub opnum: u16,
    /// The object UUID, present when `PFC_OBJECT_UUID` is set.
    pub object: Option<Uuid>,
    /// The stub data of this fragment, including any auth padding (sealed when the
    /// verifier says packet privacy).
    pub stub: &'a [u8],
}

/// A response body (C706 §12.6.4.10).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response<'a> {
    /// `alloc_hint`.
    pub alloc_hint: u32,
    /// `p_cont_id`.
    pub context_id: u16,
    /// `cancel_count`.
    pub cancel_count: u8,
    /// The reserved byte, as received.
    pub reserved: u8,
    /// The stub data of this fragment, including any auth padding.
    pub stub: &'a [u8],
}

/// A fault body (C706 §12.6.4.7).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fault<'a> {
    /// `alloc_hint`.
    pub alloc_hint: u32,
    /// `p_cont_id`.
    pub context_id: u16,
    /// `cancel_count`.
    pub cancel_count: u8,
    /// The reserved byte.
    pub reserved: u8,
    /// The fault status (C706 appendix E, MS-RPCE §2.2.2.13; e.g. 0x1c010002 op range
    /// error, 0x00000005 access denied).
    pub status: u32,
    /// Anything after the status (reserved field, stub), as received.
    pub rest: &'a [u8],
}

/// The PDU body, by type (`PTYPE`).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Body<'a> {
    /// PTYPE 0.
    Request(Request<'a>),
    /// PTYPE 2.
    Response(Response<'a>),
    /// PTYPE 3.
    Fault(Fault<'a>),
    /// PTYPE 11.
    Bind(Bind<'a>),
    /// PTYPE 12.
    BindAck(BindAck<'a>),
    /// PTYPE 13.
    BindNak(BindNak<'a>),
    /// PTYPE 14.
    AlterContext(Bind<'a>),
    /// PTYPE 15.
    AlterContextResp(BindAck<'a>),
}

impl Body<'_> {
    /// The PTYPE of this body.
    pub fn ptype(&self) -> u8 {
        match self {
            Body::Request(_) => 0,
            Body::Response(_) => 2,
            Body::Fault(_) => 3,
            Body::Bind(_) => 11,
            Body::BindAck(_) => 12,
            Body::BindNak(_) => 13,
            Body::AlterContext(_) => 14,
            Body::AlterContextResp(_) => 15,
        }
    }
}

/// The auth verifier: `sec_trailer` and the auth value (MS-RPCE §2.2.2.11).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthVerifier<'a> {
    /// `auth_type`: 0x44 for Netlogon's secure channel (MS-RPCE §2.2.1.1.7).
    pub auth_type: u8,
    /// `auth_level`: 5 packet integrity, 6 packet privacy.
    pub auth_level: u8,
    /// `auth_pad_length`: bytes of padding at the end of the stub.
    pub pad_length: u8,
    /// `auth_reserved`.
    pub reserved: u8,
    /// `auth_context_id`.
    pub context_id: u32,
    /// The auth value (an NL_AUTH_MESSAGE or NL_AUTH_SHA2_SIGNATURE for schannel).
    pub value: &'a [u8],
}

/// One connection-oriented PDU.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pdu<'a> {
    /// `rpc_vers_minor` (0 or 1; `rpc_vers` is always 5).
    pub minor_version: u8,
    /// `pfc_flags`.
    pub flags: u8,
    /// `packed_drep`; only little-endian NDR ([`DREP_LE`]'s first byte) is accepted.
    pub drep: [u8; 4],
    /// `call_id`.
    pub call_id: u32,
    /// The body.
    pub body: Body<'a>,
    /// The auth verifier, when `auth_length` is non-zero.
    pub auth: Option<AuthVerifier<'a>>,
}

/// The `frag_length` announced by a PDU's first 16 bytes, checked to be at least the
/// header and at most `max` (the transport's bound on one fragment).
pub fn frame_length(header: &[u8], max: usize) -> Result<usize, DecodeError> {
    let mut r = Reader::new(header, 0);
    let version = r.u8("rpc_vers")?;
    r.expect("rpc_vers", u32::from(version), 5)?;
    r.take(7, "header")?;
    let len = usize::from(r.u16("frag_length")?);
    if len < HEADER_LEN {
        return Err(DecodeError::new(
            "frag_length",
            8,
            DecodeErrorKind::UnexpectedLength {
                found: len,
                allowed: &[],
            },
        ));
    }
    if len > max {
        return Err(DecodeError::new(
            "frag_length",
            8,
            DecodeErrorKind::TooLong { len, max },
        ));
    }
    Ok(len)
}

impl<'a> Pdu<'a> {
    /// Decodes exactly one PDU.
    pub fn decode(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes, 0);
        let version = r.u8("rpc_vers")?;
        r.expect("rpc_vers", u32::from(version), 5)?;
        let minor_version = r.u8("rpc_vers_minor")?;
        if minor_version > 1 {
            r.expect("rpc_vers_minor", u32::from(minor_version), 0)?;
        }
        let ptype = r.u8("PTYPE")?;
        let flags = r.u8("pfc_flags")?;
        let drep: [u8; 4] = r.array("packed_drep")?;
        if drep[0] != DREP_LE[0] {
            return Err(DecodeError::new(
                "packed_drep",
                4,
                DecodeErrorKind::UnexpectedValue {
                    found: u32::from(drep[0]),
                    expected: u32::from(DREP_LE[0]),
                },
            ));
        }
        let frag_length = usize::from(r.u16("frag_length")?);
        if frag_length != bytes.len() {
            return Err(DecodeError::new(
                "frag_length",
                8,
                DecodeErrorKind::UnexpectedLength {
                    found: frag_length,
                    allowed: &[],
                },
            ));
        }
        let auth_length = usize::from(r.u16("auth_length")?);
        let call_id = r.u32("call_id")?;
        // The body ends where the auth verifier starts.
        let body_end = if auth_length == 0 {
            bytes.len()
        } else {
            bytes
                .len()
                .checked_sub(auth_length + SEC_TRAILER_LEN)
                .filter(|end| *end >= HEADER_LEN)
                .ok_or(DecodeError::new(
                    "auth_length",
                    10,
                    DecodeErrorKind::OutOfBounds {
                        len: auth_length,
                        message_len: bytes.len(),
                    },
                ))?
        };
        let body_bytes = bytes.get(HEADER_LEN..body_end).unwrap_or(&[]);
        let auth = match bytes.get(body_end..).filter(|_| auth_length != 0) {
            Some(t) => {
                let mut a = Reader::new(t, body_end);
                Some(AuthVerifier {
                    auth_type: a.u8("auth_type")?,
                    auth_level: a.u8("auth_level")?,
                    pad_length: a.u8("auth_pad_length")?,
                    reserved: a.u8("auth_reserved")?,
                    context_id: a.u32("auth_context_id")?,
                    value: a.rest(),
                })
            }
            None => None,
        };
        let mut b = Reader::new(body_bytes, HEADER_LEN);
        let body = match ptype {
            0 => {
                let alloc_hint = b.u32("alloc_hint")?;
                let context_id = b.u16("p_cont_id")?;
                let opnum = b.u16("opnum")?;
                let object = if flags & PFC_OBJECT_UUID != 0 {
                    Some(Uuid(b.array("object")?))
                } else {
                    None
                };
                Body::Request(Request {
                    alloc_hint,
                    context_id,
                    opnum,
                    object,
                    stub: b.rest(),
                })
            }
            2 => Body::Response(Response {
                alloc_hint: b.u32("alloc_hint")?,
                context_id: b.u16("p_cont_id")?,
                cancel_count: b.u8("cancel_count")?,
                reserved: b.u8("reserved")?,
                stub: b.rest(),
            }),
            3 => Body::Fault(Fault {
                alloc_hint: b.u32("alloc_hint")?,
                context_id: b.u16("p_cont_id")?,
                cancel_count: b.u8("cancel_count")?,
                reserved: b.u8("reserved")?,
                status: b.u32("status")?,
                rest: b.rest(),
            }),
            11 => Body::Bind(Bind::read(&mut b)?),
            14 => Body::AlterContext(Bind::read(&mut b)?),
            12 => Body::BindAck(BindAck::read(&mut b)?),
            15 => Body::AlterContextResp(BindAck::read(&mut b)?),
            13 => Body::BindNak(BindNak {
                reason: b.u16("provider_reject_reason")?,
                rest: b.rest(),
            }),
            other => {
                return Err(DecodeError::new(
                    "PTYPE",
                    2,
                    DecodeErrorKind::UnexpectedValue {
                        found: u32::from(other),
                        expected: 2,
                    },
                ))
            }
        };
        if let (
            Some(a),
            Body::Request(Request { stub, .. }) | Body::Response(Response { stub, .. }),
        ) = (&auth, &body)
        {
            if usize::from(a.pad_length) > stub.len() {
                return Err(DecodeError::new(
                    "auth_pad_length",
                    body_end + 2,
                    DecodeErrorKind::TooLong {
                        len: usize::from(a.pad_length),
                        max: stub.len(),
                    },
                ));
            }
        }
        Ok(Self {
            minor_version,
            flags,
            drep,
            call_id,
            body,
            auth,
        })
    }

    /// Encodes the PDU; `frag_length` and `auth_length` are computed.
    ///
    /// # Panics
    /// When the PDU would be longer than 65535 bytes or hold more than 255 contexts,
    /// transfer syntaxes or results: callers fragment stubs first
    /// ([`super::channel`] keeps fragments under the negotiated `max_xmit_frag`).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_LEN + 64);
        out.extend_from_slice(&[5, self.minor_version, self.body.ptype(), self.flags]);
        out.extend_from_slice(&self.drep);
        out.extend_from_slice(&[0; 4]); // frag_length, auth_length
        out.extend_from_slice(&self.call_id.to_le_bytes());
        match &self.body {
            Body::Request(q) => {
                out.extend_from_slice(&q.alloc_hint.to_le_bytes());
                out.extend_from_slice(&q.context_id.to_le_bytes());
                out.extend_from_slice(&q.opnum.to_le_bytes());
                if let Some(o) = q.object {
                    out.extend_from_slice(&o.0);
                }
                out.extend_from_slice(q.stub);
            }
            Body::Response(p) => {
                out.extend_from_slice(&p.alloc_hint.to_le_bytes());
                out.extend_from_slice(&p.context_id.to_le_bytes());
                out.extend_from_slice(&[p.cancel_count, p.reserved]);
                out.extend_from_slice(p.stub);
            }
            Body::Fault(f) => {
                out.extend_from_slice(&f.alloc_hint.to_le_bytes());
                out.extend_from_slice(&f.context_id.to_le_bytes());
                out.extend_from_slice(&[f.cancel_count, f.reserved]);
                out.extend_from_slice(&f.status.to_le_bytes());
                out.extend_from_slice(f.rest);
            }
            Body::Bind(b) | Body::AlterContext(b) => b.write(&mut out),
            Body::BindAck(a) | Body::AlterContextResp(a) => a.write(&mut out),
            Body::BindNak(n) => {
                out.extend_from_slice(&n.reason.to_le_bytes());
                out.extend_from_slice(n.rest);
            }
        }
        let mut auth_length = 0u16;
        if let Some(a) = &self.auth {
            out.extend_from_slice(&[a.auth_type, a.auth_level, a.pad_length, a.reserved]);
            out.extend_from_slice(&a.context_id.to_le_bytes());
            out.extend_from_slice(a.value);
            auth_length = u16::try_from(a.value.len()).expect("auth value over 65535 bytes");
        }
        let frag_length = u16::try_from(out.len()).expect("PDU over 65535 bytes");
        out[8..10].copy_from_slice(&frag_length.to_le_bytes());
        out[10..12].copy_from_slice(&auth_length.to_le_bytes());
        out
    }
}

impl<'a> Bind<'a> {
    fn read(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
        let max_xmit_frag = r.u16("max_xmit_frag")?;
        let max_recv_frag = r.u16("max_recv_frag")?;
        let assoc_group_id = r.u32("assoc_group_id")?;
        let n = r.u8("n_context_elem")?;
        // Reserved bytes are zero (C706 §12.6.3.1): anything else is refused, so that
        // encode stays the exact inverse of decode.
        let reserved = r.u8("p_cont_list.reserved")?;
        r.expect("p_cont_list.reserved", u32::from(reserved), 0)?;
        let reserved2 = r.u16("p_cont_list.reserved2")?;
        r.expect("p_cont_list.reserved2", u32::from(reserved2), 0)?;
        let mut contexts = Vec::new();
        for _ in 0..n {
            let context_id = r.u16("p_cont_id")?;
            let n_transfer = r.u8("n_transfer_syn")?;
            let reserved = r.u8("p_cont_elem.reserved")?;
            r.expect("p_cont_elem.reserved", u32::from(reserved), 0)?;
            let abstract_syntax = SyntaxId::read(r, "abstract_syntax")?;
            let mut transfer_syntaxes = Vec::new();
            for _ in 0..n_transfer {
                transfer_syntaxes.push(SyntaxId::read(r, "transfer_syntaxes")?);
            }
            contexts.push(ContextElem {
                context_id,
                abstract_syntax,
                transfer_syntaxes,
            });
        }
        Ok(Self {
            max_xmit_frag,
            max_recv_frag,
            assoc_group_id,
            contexts,
            trailing: r.rest(),
        })
    }

    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.max_xmit_frag.to_le_bytes());
        out.extend_from_slice(&self.max_recv_frag.to_le_bytes());
        out.extend_from_slice(&self.assoc_group_id.to_le_bytes());
        out.extend_from_slice(&[count_u8(self.contexts.len()), 0, 0, 0]);
        for c in &self.contexts {
            out.extend_from_slice(&c.context_id.to_le_bytes());
            out.extend_from_slice(&[count_u8(c.transfer_syntaxes.len()), 0]);
            c.abstract_syntax.write(out);
            for t in &c.transfer_syntaxes {
                t.write(out);
            }
        }
        out.extend_from_slice(self.trailing);
    }
}

impl<'a> BindAck<'a> {
    fn read(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
        let max_xmit_frag = r.u16("max_xmit_frag")?;
        let max_recv_frag = r.u16("max_recv_frag")?;
        let assoc_group_id = r.u32("assoc_group_id")?;
        let sec_len = usize::from(r.u16("sec_addr.length")?);
        let sec_addr = r.take(sec_len, "sec_addr")?;
        // Aligned to 4 from the start of the PDU; the body starts at 16.
        let pad = (HEADER_LEN + r.pos()).wrapping_neg() & 3;
        let sec_addr_pad = r.take(pad, "sec_addr padding")?;
        let n = r.u8("n_results")?;
        let reserved = r.u8("p_result_list.reserved")?;
        r.expect("p_result_list.reserved", u32::from(reserved), 0)?;
        let reserved2 = r.u16("p_result_list.reserved2")?;
        r.expect("p_result_list.reserved2", u32::from(reserved2), 0)?;
        let mut results = Vec::new();
        for _ in 0..n {
            results.push(ContextResult {
                result: r.u16("result")?,
                reason: r.u16("reason")?,
                transfer_syntax: SyntaxId::read(r, "transfer_syntax")?,
            });
        }
        Ok(Self {
            max_xmit_frag,
            max_recv_frag,
            assoc_group_id,
            sec_addr,
            sec_addr_pad,
            results,
            trailing: r.rest(),
        })
    }

    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.max_xmit_frag.to_le_bytes());
        out.extend_from_slice(&self.max_recv_frag.to_le_bytes());
        out.extend_from_slice(&self.assoc_group_id.to_le_bytes());
        let len = u16::try_from(self.sec_addr.len()).expect("sec_addr over 65535 bytes");
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(self.sec_addr);
        let pad = out.len().wrapping_neg() & 3;
        let mut given = self.sec_addr_pad.iter().copied();
        for _ in 0..pad {
            out.push(given.next().unwrap_or(0));
        }
        out.extend_from_slice(&[count_u8(self.results.len()), 0, 0, 0]);
        for res in &self.results {
            out.extend_from_slice(&res.result.to_le_bytes());
            out.extend_from_slice(&res.reason.to_le_bytes());
            res.transfer_syntax.write(out);
        }
        out.extend_from_slice(self.trailing);
    }
}

fn count_u8(n: usize) -> u8 {
    u8::try_from(n).expect("more than 255 entries in a PDU list")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bind() -> Pdu<'static> {
        Pdu {
            minor_version: 0,
            flags: PFC_FIRST_FRAG | PFC_LAST_FRAG,
            drep: DREP_LE,
            call_id: 1,
            body: Body::Bind(Bind {
                max_xmit_frag: 4280,
                max_recv_frag: 4280,
                assoc_group_id: 0,
                contexts: vec![ContextElem {
                    context_id: 0,
                    abstract_syntax: super::super::epm::EPM_SYNTAX,
                    transfer_syntaxes: vec![NDR_SYNTAX],
                }],
                trailing: &[],
            }),
            auth: Some(AuthVerifier {
                auth_type: 0x44,
                auth_level: 6,
                pad_length: 0,
                reserved: 0,
                context_id: 1,
                value: b"abcd",
            }),
        }
    }

    #[test]
    fn bind_round_trip() {
        let p = bind();
        let bytes = p.encode();
        assert_eq!(bytes.len(), 16 + 12 + 44 + 8 + 4);
        assert_eq!(frame_length(&bytes[..16], 5840).unwrap(), bytes.len());
        let back = Pdu::decode(&bytes).unwrap();
        assert_eq!(back, p);
        assert_eq!(back.encode(), bytes);
    }

    #[test]
    fn every_truncation_is_an_error() {
        let bytes = bind().encode();
        for n in 0..bytes.len() {
            assert!(Pdu::decode(&bytes[..n]).is_err(), "{n}");
        }
        // frag_length that lies about the length.
        let mut b = bytes.clone();
        b[8] = b[8].wrapping_add(1);
        assert!(Pdu::decode(&b).is_err());
        // auth_length larger than the PDU.
        let mut b = bytes.clone();
        b[10] = 0xff;
        assert!(Pdu::decode(&b).is_err());
        // big-endian data representation
        let mut b = bytes;
        b[4] = 0;
        assert!(Pdu::decode(&b).is_err());
        assert!(frame_length(&[5, 0, 0, 0, 0x10, 0, 0, 0, 8, 0], 100).is_err());
        assert!(frame_length(&[5, 0, 0, 0, 0x10, 0, 0, 0, 0xff, 0xff], 100).is_err());
    }

    /// Found by the netlogon_pdu fuzz target: a bind whose reserved2 byte was not zero
    /// decoded, then encoded with zeros there. Reserved bytes other than zero are refused.
    #[test]
    fn nonzero_reserved_bytes_are_refused() {
        let mut bind = vec![5, 0, 11, 3, 16, 0, 0, 0, 72, 0, 0, 0, 1, 0, 0, 0];
        bind.extend_from_slice(&[208, 22, 208, 22, 0, 4, 0, 0, 0, 0, 0, 32]);
        bind.extend_from_slice(&[5, 13, 2, 0, 8, 131, 175, 225, 31, 201, 8, 93, 164, 17, 145]);
        bind.extend_from_slice(&[0, 43, 20, 160, 250, 3, 0, 0, 0, 4, 93, 136, 53, 130, 136]);
        bind.extend_from_slice(&[226, 17, 159, 232, 8, 0, 43, 16, 72, 96, 2, 0, 0, 0]);
        assert_eq!(bind.len(), 72);
        let err = Pdu::decode(&bind).unwrap_err();
        assert_eq!((err.field, err.offset), ("p_cont_list.reserved2", 28));
        bind[27] = 0;
        let pdu = Pdu::decode(&bind).expect("zero reserved bytes decode");
        assert_eq!(pdu.encode(), bind);
    }
}
