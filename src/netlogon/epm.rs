//! The endpoint mapper's `ept_map` (C706 appendix O, MS-RPCE §2.2.1.2.5 and §3.1.1.5.2.1)
//! over ncacn_ip_tcp port 135: which TCP port serves an interface.
//!
//! A protocol tower (C706 appendix L) is a floor count and floors, each a left-hand side
//! (protocol identifier and data) and a right-hand side (address data). The map tower
//! this module sends names the interface, NDR, connection-oriented RPC, TCP port 0 and IP
//! 0.0.0.0; the DC answers with towers whose TCP floor holds the port.

use super::ndr::{self, NdrWriter};
use super::pdu::{SyntaxId, Uuid, NDR_SYNTAX};
use super::reader::Reader;
use crate::error::{DecodeError, DecodeErrorKind};

/// The endpoint mapper interface, e1af8308-5d1f-11c9-91a4-08002b14a0fa v3.0.
pub const EPM_SYNTAX: SyntaxId = SyntaxId {
    uuid: Uuid::from_fields(
        0xe1af_8308,
        0x5d1f,
        0x11c9,
        [0x91, 0xa4, 0x08, 0x00, 0x2b, 0x14, 0xa0, 0xfa],
    ),
    major: 3,
    minor: 0,
};

/// `ept_map`'s opnum.
pub const OPNUM_EPT_MAP: u16 = 3;

/// The most towers asked for and accepted in one answer.
pub const MAX_TOWERS: u32 = 4;

const PROTO_UUID: u8 = 0x0d;
const PROTO_RPC_CO: u8 = 0x0b;
const PROTO_TCP: u8 = 0x07;
const PROTO_IP: u8 = 0x09;

/// One floor of a tower.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Floor<'a> {
    /// Left-hand side: protocol identifier and its data.
    pub lhs: &'a [u8],
    /// Right-hand side: related or address data.
    pub rhs: &'a [u8],
}

/// A protocol tower (C706 appendix L).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tower<'a> {
    /// The floors, in order.
    pub floors: Vec<Floor<'a>>,
}

impl<'a> Tower<'a> {
    /// Decodes `tower_octet_string`.
    pub fn decode(bytes: &'a [u8], base: usize) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes, base);
        let n = r.u16("floor_count")?;
        let mut floors = Vec::new();
        for _ in 0..n {
            let l = usize::from(r.u16("lhs_length")?);
            let lhs = r.take(l, "lhs")?;
            let l = usize::from(r.u16("rhs_length")?);
            let rhs = r.take(l, "rhs")?;
            floors.push(Floor { lhs, rhs });
        }
        r.finish("tower")?;
        Ok(Self { floors })
    }

    /// Encodes `tower_octet_string`, the exact inverse of [`Tower::decode`].
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&ndr::len_u16(self.floors.len()).to_le_bytes());
        for f in &self.floors {
            out.extend_from_slice(&ndr::len_u16(f.lhs.len()).to_le_bytes());
            out.extend_from_slice(f.lhs);
            out.extend_from_slice(&ndr::len_u16(f.rhs.len()).to_le_bytes());
            out.extend_from_slice(f.rhs);
        }
        out
    }

    /// The TCP port of an ncacn_ip_tcp tower for `interface` over NDR, if this is one.
    pub fn tcp_port(&self, interface: &SyntaxId) -> Option<u16> {
        let [iface, syntax, rpc, tcp, ..] = self.floors.as_slice() else {
            return None;
        };
        let matches_syntax = |f: &Floor<'_>, s: &SyntaxId| {
            let mut lhs = vec![PROTO_UUID];
            lhs.extend_from_slice(&s.uuid.0);
            lhs.extend_from_slice(&s.major.to_le_bytes());
            f.lhs == lhs.as_slice()
        };
        if !matches_syntax(iface, interface)
            || !matches_syntax(syntax, &NDR_SYNTAX)
            || rpc.lhs != [PROTO_RPC_CO]
            || tcp.lhs != [PROTO_TCP]
        {
            return None;
        }
        let port: [u8; 2] = tcp.rhs.try_into().ok()?;
        Some(u16::from_be_bytes(port))
    }
}

/// The map tower that asks for `interface` over ncacn_ip_tcp.
pub fn map_tower(interface: &SyntaxId) -> Vec<u8> {
    let syntax_lhs = |s: &SyntaxId| {
        let mut lhs = vec![PROTO_UUID];
        lhs.extend_from_slice(&s.uuid.0);
        lhs.extend_from_slice(&s.major.to_le_bytes());
        lhs
    };
    let (l1, r1) = (syntax_lhs(interface), interface.minor.to_le_bytes());
    let (l2, r2) = (syntax_lhs(&NDR_SYNTAX), NDR_SYNTAX.minor.to_le_bytes());
    Tower {
        floors: vec![
            Floor { lhs: &l1, rhs: &r1 },
            Floor { lhs: &l2, rhs: &r2 },
            Floor {
                lhs: &[PROTO_RPC_CO],
                rhs: &[0, 0],
            },
            Floor {
                lhs: &[PROTO_TCP],
                rhs: &[0, 0],
            },
            Floor {
                lhs: &[PROTO_IP],
                rhs: &[0, 0, 0, 0],
            },
        ],
    }
    .encode()
}

/// The `ept_map` request stub: no object, the map tower for `interface`, a zero
/// context handle, [`MAX_TOWERS`].
pub fn ept_map_request(interface: &SyntaxId) -> Vec<u8> {
    let tower = map_tower(interface);
    let mut w = NdrWriter::new();
    w.u32(0); // obj: NULL
    w.referent(); // map_tower
    let len = ndr::len_u32(tower.len());
    w.u32(len); // conformance of tower_octet_string
    w.u32(len); // tower_length
    w.bytes(&tower);
    w.align(4);
    w.bytes(&[0; 20]); // entry_handle
    w.u32(MAX_TOWERS);
    w.buf
}

/// A decoded `ept_map` response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EptMapResponse<'a> {
    /// The context handle to continue a lookup.
    pub entry_handle: [u8; 20],
    /// The towers returned.
    pub towers: Vec<Tower<'a>>,
    /// The call's status (0 success, 0x16c9a0d6 `EPT_S_NOT_REGISTERED`).
    pub status: u32,
}

impl<'a> EptMapResponse<'a> {
    /// Decodes the response stub.
    pub fn decode(stub: &'a [u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(stub, 0);
        let entry_handle = r.array("entry_handle")?;
        let num = r.u32("num_towers")?;
        let max = r.u32("ITowers.max_count")?;
        let offset = r.u32("ITowers.offset")?;
        r.expect("ITowers.offset", offset, 0)?;
        let actual = r.u32("ITowers.actual_count")?;
        if actual > max || actual != num || actual > MAX_TOWERS {
            return Err(r.error(
                "ITowers.actual_count",
                DecodeErrorKind::UnexpectedValue {
                    found: actual,
                    expected: num.min(MAX_TOWERS),
                },
            ));
        }
        let mut present = Vec::new();
        for _ in 0..actual {
            present.push(ndr::read_pointer(&mut r, "ITowers")?);
        }
        let mut towers = Vec::new();
        for p in present {
            if !p {
                continue;
            }
            r.align(4, "twr_t")?;
            let conformance = r.len32("twr_t.max_count")?;
            let len = r.len32("tower_length")?;
            if conformance != len {
                return Err(r.error(
                    "tower_length",
                    DecodeErrorKind::UnexpectedLength {
                        found: len,
                        allowed: &[],
                    },
                ));
            }
            let base = r.offset();
            let bytes = r.take(len, "tower_octet_string")?;
            towers.push(Tower::decode(bytes, base)?);
        }
        r.align(4, "status")?;
        let status = r.u32("status")?;
        r.finish("ept_map response")?;
        Ok(Self {
            entry_handle,
            towers,
            status,
        })
    }

    /// Encodes the response stub (for tests and fuzzing: a DC is who sends it); it decodes
    /// to an equal value, with referent IDs, MaximumCount and NULL towers normalized.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = NdrWriter::new();
        w.bytes(&self.entry_handle);
        let n = ndr::len_u32(self.towers.len());
        w.u32(n);
        w.u32(n);
        w.u32(0);
        w.u32(n);
        for _ in &self.towers {
            w.referent();
        }
        for t in &self.towers {
            let bytes = t.encode();
            w.align(4);
            w.u32(ndr::len_u32(bytes.len()));
            w.u32(ndr::len_u32(bytes.len()));
            w.bytes(&bytes);
        }
        w.u32(self.status);
        w.buf
    }

    /// The first TCP port offered for `interface`.
    pub fn tcp_port(&self, interface: &SyntaxId) -> Option<u16> {
        self.towers.iter().find_map(|t| t.tcp_port(interface))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netlogon::NETLOGON_SYNTAX;

    #[test]
    fn map_tower_names_netlogon_over_tcp() {
        let t = map_tower(&NETLOGON_SYNTAX);
        let tower = Tower::decode(&t, 0).unwrap();
        assert_eq!(tower.floors.len(), 5);
        assert_eq!(tower.tcp_port(&NETLOGON_SYNTAX), Some(0));
        assert_eq!(tower.encode(), t);
        // 12345678-1234-abcd-ef00-01234567cffb, little-endian first fields.
        assert_eq!(&t[5..9], &[0x78, 0x56, 0x34, 0x12]);
    }

    #[test]
    fn response_round_trip_and_port() {
        let map = map_tower(&NETLOGON_SYNTAX);
        let mut t = Tower::decode(&map, 0).unwrap();
        t.floors[3].rhs = &[0xc0, 0x01];
        let resp = EptMapResponse {
            entry_handle: [0; 20],
            towers: vec![t],
            status: 0,
        };
        let bytes = resp.encode();
        let back = EptMapResponse::decode(&bytes).unwrap();
        assert_eq!(back, resp);
        assert_eq!(back.encode(), bytes);
        assert_eq!(back.tcp_port(&NETLOGON_SYNTAX), Some(49153));
        for n in 0..bytes.len() {
            assert!(EptMapResponse::decode(&bytes[..n]).is_err());
        }
    }
}
