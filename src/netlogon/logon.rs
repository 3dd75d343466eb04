//! NetrLogonSamLogonEx (opnum 39, MS-NRPC §3.5.4.5.1) with NETLOGON_NETWORK_INFO
//! (§2.2.1.4.12) and the NETLOGON_VALIDATION_SAM_INFO answer (§2.2.1.4.11, level 2).
//!
//! The Ex form needs no authenticator: the schannel protection of the connection
//! authenticates the call (§3.5.4.5.1), so calls on one channel need no credential chain.

use super::ndr::{
    self, read_counted_body, read_counted_header, read_pointer, CountedHeader, NdrWriter,
};
use super::reader::Reader;
use crate::error::{DecodeError, DecodeErrorKind};

/// NetrLogonSamLogonEx's opnum.
pub const OPNUM_SAM_LOGON_EX: u16 = 39;
/// `NetlogonNetworkTransitiveInformation` (MS-NRPC §2.2.1.4.16): a network logon a server
/// passes through, which the DC may forward to a trusted domain.
pub const LOGON_NETWORK_TRANSITIVE: u16 = 6;
/// `NetlogonValidationSamInfo` (level 2).
pub const VALIDATION_SAM_INFO: u16 = 2;

/// ParameterControl bits (MS-APDS §2.2.1 MSV1_0 flags) a server sets for a network logon.
pub mod parameter_control {
    /// MSV1_0_ALLOW_SERVER_TRUST_ACCOUNT: a server's machine account may log on.
    pub const ALLOW_SERVER_TRUST_ACCOUNT: u32 = 0x0000_0020;
    /// MSV1_0_ALLOW_WORKSTATION_TRUST_ACCOUNT: a workstation's machine account may log on.
    pub const ALLOW_WORKSTATION_TRUST_ACCOUNT: u32 = 0x0000_0800;
    /// MSV1_0_DONT_TRY_GUEST_ACCOUNT.
    pub const DONT_TRY_GUEST_ACCOUNT: u32 = 0x0000_0010;
    /// MSV1_0_RETURN_PASSWORD_EXPIRY.
    pub const RETURN_PASSWORD_EXPIRY: u32 = 0x0000_0040;
    /// What Samba's winbind sends for `ntlm_auth` and what this module sends by default:
    /// machine accounts may log on, as through Windows' NTLM security package.
    pub const DEFAULT: u32 = ALLOW_SERVER_TRUST_ACCOUNT | ALLOW_WORKSTATION_TRUST_ACCOUNT;
}

/// The largest LM or NT response passed to a DC (an NTLMv2 response with a large
/// AV pair list stays far below).
pub const MAX_RESPONSE_LEN: usize = 4096;
/// The largest user, domain or workstation name passed (characters).
pub const MAX_NAME_LEN: usize = 256;

/// A network logon to verify (NETLOGON_NETWORK_INFO): the server's challenge and the
/// client's responses exactly as received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetworkInfo<'a> {
    /// LogonDomainName as the client sent it.
    pub domain: &'a str,
    /// ParameterControl ([`parameter_control`]).
    pub parameter_control: u32,
    /// The Reserved / LogonId field (0 from a server).
    pub logon_id: u64,
    /// UserName as the client sent it.
    pub user: &'a str,
    /// Workstation as the client sent it.
    pub workstation: &'a str,
    /// The server challenge of the CHALLENGE message.
    pub challenge: [u8; 8],
    /// NtChallengeResponse.
    pub nt_response: &'a [u8],
    /// LmChallengeResponse.
    pub lm_response: &'a [u8],
}

/// Why a logon request cannot be encoded.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RequestError {
    /// A name is longer than [`MAX_NAME_LEN`].
    NameTooLong(&'static str),
    /// A response is longer than [`MAX_RESPONSE_LEN`].
    ResponseTooLong(&'static str),
}

impl core::fmt::Display for RequestError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::NameTooLong(n) => write!(f, "{n} longer than {MAX_NAME_LEN} characters"),
            Self::ResponseTooLong(n) => write!(f, "{n} longer than {MAX_RESPONSE_LEN} bytes"),
        }
    }
}

impl std::error::Error for RequestError {}

/// The request stub of NetrLogonSamLogonEx: LogonServer (`\\DC`), ComputerName (ours),
/// LogonLevel [`LOGON_NETWORK_TRANSITIVE`], the network information, ValidationLevel
/// [`VALIDATION_SAM_INFO`], ExtraFlags 0.
pub fn sam_logon_ex_request(
    logon_server: &str,
    computer: &str,
    info: &NetworkInfo<'_>,
) -> Result<Vec<u8>, RequestError> {
    let names = [
        ("domain", info.domain),
        ("user", info.user),
        ("workstation", info.workstation),
    ];
    for (n, v) in names {
        if v.chars().count() > MAX_NAME_LEN {
            return Err(RequestError::NameTooLong(n));
        }
    }
    for (n, v) in [
        ("NtChallengeResponse", info.nt_response),
        ("LmChallengeResponse", info.lm_response),
    ] {
        if v.len() > MAX_RESPONSE_LEN {
            return Err(RequestError::ResponseTooLong(n));
        }
    }
    let domain = crate::wire::utf16le(info.domain);
    let user = crate::wire::utf16le(info.user);
    let workstation = crate::wire::utf16le(info.workstation);
    let mut w = NdrWriter::new();
    w.referent();
    w.wstring(logon_server);
    w.align(4);
    w.referent();
    w.wstring(computer);
    w.u16(LOGON_NETWORK_TRANSITIVE);
    // LogonInformation: the union's tag, then its arm, a pointer to NETLOGON_NETWORK_INFO.
    w.u16(LOGON_NETWORK_TRANSITIVE);
    w.align(4);
    w.referent();
    w.unicode_string_header(&domain);
    w.u32(info.parameter_control);
    w.u32(info.logon_id as u32);
    w.u32((info.logon_id >> 32) as u32);
    w.unicode_string_header(&user);
    w.unicode_string_header(&workstation);
    w.bytes(&info.challenge);
    w.byte_string_header(info.nt_response);
    w.byte_string_header(info.lm_response);
    // Each deferred body aligns itself (its first count is a u32) and is absent, with no
    // padding, when its pointer is null: an empty LmChallengeResponse after an
    // NtChallengeResponse of 4n+2 bytes leaves ValidationLevel at 4n+2 (NDR, C706 §14.2.2).
    w.unicode_string_body(&domain);
    w.unicode_string_body(&user);
    w.unicode_string_body(&workstation);
    w.byte_string_body(info.nt_response);
    w.byte_string_body(info.lm_response);
    w.u16(VALIDATION_SAM_INFO);
    w.u32(0); // ExtraFlags
    Ok(w.buf)
}

/// An RPC_SID (MS-DTYP §2.4.2.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sid {
    /// Revision (1).
    pub revision: u8,
    /// IdentifierAuthority (big-endian 48-bit).
    pub authority: [u8; 6],
    /// SubAuthority values.
    pub sub_authorities: Vec<u32>,
}

impl core::fmt::Display for Sid {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let mut a = [0u8; 8];
        a[2..].copy_from_slice(&self.authority);
        write!(f, "S-{}-{}", self.revision, u64::from_be_bytes(a))?;
        self.sub_authorities
            .iter()
            .try_for_each(|s| write!(f, "-{s}"))
    }
}

/// The most sub-authorities in a SID (MS-DTYP §2.4.2).
const MAX_SUB_AUTHORITIES: usize = 15;
/// The most group memberships accepted in one validation.
pub const MAX_GROUPS: usize = 4096;

/// A GROUP_MEMBERSHIP of the validation's GroupIds (MS-NRPC, MS-PAC): RID and attributes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GroupMembership {
    /// RelativeId in the logon domain.
    pub rid: u32,
    /// Attributes (SE_GROUP_*).
    pub attributes: u32,
}

/// NETLOGON_VALIDATION_SAM_INFO (MS-NRPC §2.2.1.4.11) as received; strings are UTF-16LE.
#[derive(Clone, PartialEq, Eq)]
pub struct SamInfo<'a> {
    /// LogonTime, LogoffTime, KickOffTime, PasswordLastSet, PasswordCanChange,
    /// PasswordMustChange (FILETIME).
    pub times: [u64; 6],
    /// EffectiveName, FullName, LogonScript, ProfilePath, HomeDirectory,
    /// HomeDirectoryDrive.
    pub strings: [&'a [u8]; 6],
    /// LogonCount.
    pub logon_count: u16,
    /// BadPasswordCount.
    pub bad_password_count: u16,
    /// UserId (RID).
    pub user_id: u32,
    /// PrimaryGroupId (RID).
    pub primary_group_id: u32,
    /// GroupIds.
    pub groups: Vec<GroupMembership>,
    /// UserFlags (LOGON_EXTRA_SIDS, LOGON_NTLMV2_ENABLED, ...).
    pub user_flags: u32,
    /// UserSessionKey: the session base key of the response (MS-NLMP §3.3).
    pub user_session_key: [u8; 16],
    /// LogonServer.
    pub logon_server: &'a [u8],
    /// LogonDomainName.
    pub logon_domain: &'a [u8],
    /// LogonDomainId.
    pub domain_sid: Option<Sid>,
    /// ExpansionRoom: the LM session key in its first 8 bytes, then UserAccountControl.
    pub expansion: [u8; 40],
}

impl core::fmt::Debug for SamInfo<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SamInfo")
            .field("effective_name", &ndr::utf16_lossy(self.strings[0]))
            .field("user_id", &self.user_id)
            .field("logon_domain", &ndr::utf16_lossy(self.logon_domain))
            .field(
                "domain_sid",
                &self.domain_sid.as_ref().map(ToString::to_string),
            )
            .finish_non_exhaustive()
    }
}

const STRING_NAMES: [&str; 6] = [
    "EffectiveName",
    "FullName",
    "LogonScript",
    "ProfilePath",
    "HomeDirectory",
    "HomeDirectoryDrive",
];

impl<'a> SamInfo<'a> {
    fn read(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
        r.align(4, "NETLOGON_VALIDATION_SAM_INFO")?;
        let mut times = [0u64; 6];
        for t in &mut times {
            let low = r.u32("OLD_LARGE_INTEGER")?;
            let high = r.u32("OLD_LARGE_INTEGER")?;
            *t = u64::from(low) | (u64::from(high) << 32);
        }
        let mut headers = [CountedHeader {
            len: 0,
            max: 0,
            present: false,
        }; 6];
        for (h, name) in headers.iter_mut().zip(STRING_NAMES) {
            *h = read_counted_header(r, name)?;
        }
        let logon_count = r.u16("LogonCount")?;
        let bad_password_count = r.u16("BadPasswordCount")?;
        let user_id = r.u32("UserId")?;
        let primary_group_id = r.u32("PrimaryGroupId")?;
        let group_count = r.len32("GroupCount")?;
        let groups_present = read_pointer(r, "GroupIds")?;
        let user_flags = r.u32("UserFlags")?;
        let user_session_key = r.array("UserSessionKey")?;
        let server_h = read_counted_header(r, "LogonServer")?;
        let domain_h = read_counted_header(r, "LogonDomainName")?;
        let sid_present = read_pointer(r, "LogonDomainId")?;
        let expansion = r.array("ExpansionRoom")?;
        let mut strings: [&'a [u8]; 6] = [&[]; 6];
        for ((s, h), name) in strings.iter_mut().zip(headers).zip(STRING_NAMES) {
            *s = read_counted_body(r, h, 2, name)?;
        }
        let mut groups = Vec::new();
        if groups_present {
            r.align(4, "GroupIds")?;
            let max = r.len32("GroupIds.max_count")?;
            if max != group_count || max > MAX_GROUPS {
                return Err(r.error(
                    "GroupIds.max_count",
                    DecodeErrorKind::TooLong {
                        len: max,
                        max: group_count.min(MAX_GROUPS),
                    },
                ));
            }
            for _ in 0..max {
                groups.push(GroupMembership {
                    rid: r.u32("RelativeId")?,
                    attributes: r.u32("Attributes")?,
                });
            }
        } else if group_count != 0 {
            return Err(r.error(
                "GroupIds",
                DecodeErrorKind::UnexpectedValue {
                    found: 0,
                    expected: 1,
                },
            ));
        }
        let logon_server = read_counted_body(r, server_h, 2, "LogonServer")?;
        let logon_domain = read_counted_body(r, domain_h, 2, "LogonDomainName")?;
        let domain_sid = if sid_present {
            r.align(4, "LogonDomainId")?;
            let max = r.len32("LogonDomainId.max_count")?;
            let revision = r.u8("Revision")?;
            let count = usize::from(r.u8("SubAuthorityCount")?);
            if count != max || count > MAX_SUB_AUTHORITIES {
                return Err(r.error(
                    "SubAuthorityCount",
                    DecodeErrorKind::TooLong {
                        len: count,
                        max: MAX_SUB_AUTHORITIES.min(max),
                    },
                ));
            }
            let authority = r.array("IdentifierAuthority")?;
            let mut sub_authorities = Vec::with_capacity(count);
            for _ in 0..count {
                sub_authorities.push(r.u32("SubAuthority")?);
            }
            Some(Sid {
                revision,
                authority,
                sub_authorities,
            })
        } else {
            None
        };
        Ok(Self {
            times,
            strings,
            logon_count,
            bad_password_count,
            user_id,
            primary_group_id,
            groups,
            user_flags,
            user_session_key,
            logon_server,
            logon_domain,
            domain_sid,
            expansion,
        })
    }

    fn write(&self, w: &mut NdrWriter) {
        w.align(4);
        for t in self.times {
            w.u32(t as u32);
            w.u32((t >> 32) as u32);
        }
        for s in self.strings {
            w.unicode_string_header(s);
        }
        w.u16(self.logon_count);
        w.u16(self.bad_password_count);
        w.u32(self.user_id);
        w.u32(self.primary_group_id);
        w.u32(ndr::len_u32(self.groups.len()));
        w.pointer(!self.groups.is_empty());
        w.u32(self.user_flags);
        w.bytes(&self.user_session_key);
        w.unicode_string_header(self.logon_server);
        w.unicode_string_header(self.logon_domain);
        w.pointer(self.domain_sid.is_some());
        w.bytes(&self.expansion);
        // Each present body aligns itself; an absent one writes nothing, padding included
        // (the decoder aligns only before a body that is there).
        for s in self.strings {
            w.unicode_string_body(s);
        }
        if !self.groups.is_empty() {
            w.u32(ndr::len_u32(self.groups.len()));
            for g in &self.groups {
                w.u32(g.rid);
                w.u32(g.attributes);
            }
        }
        w.unicode_string_body(self.logon_server);
        w.unicode_string_body(self.logon_domain);
        if let Some(sid) = &self.domain_sid {
            w.u32(ndr::len_u32(sid.sub_authorities.len()));
            w.u8(sid.revision);
            w.u8(u8::try_from(sid.sub_authorities.len()).unwrap_or(u8::MAX));
            w.bytes(&sid.authority);
            for s in &sid.sub_authorities {
                w.u32(*s);
            }
        }
    }
}

/// NetrLogonSamLogonEx's response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SamLogonExResponse<'a> {
    /// The union tag of ValidationInformation (the level, or 0 on failure).
    pub validation_level: u16,
    /// The validation, present on success at level 2.
    pub validation: Option<SamInfo<'a>>,
    /// Authoritative.
    pub authoritative: u8,
    /// ExtraFlags.
    pub extra_flags: u32,
    /// NTSTATUS of the logon.
    pub status: u32,
}

impl<'a> SamLogonExResponse<'a> {
    /// Decodes the response stub.
    pub fn decode(stub: &'a [u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(stub, 0);
        let validation_level = r.u16("ValidationInformation.level")?;
        r.align(4, "ValidationInformation")?;
        let present = if (1..=7).contains(&validation_level) {
            read_pointer(&mut r, "ValidationInformation")?
        } else {
            false
        };
        let validation = if present {
            r.expect(
                "ValidationInformation.level",
                u32::from(validation_level),
                u32::from(VALIDATION_SAM_INFO),
            )?;
            Some(SamInfo::read(&mut r)?)
        } else {
            None
        };
        let authoritative = r.u8("Authoritative")?;
        r.align(4, "ExtraFlags")?;
        let extra_flags = r.u32("ExtraFlags")?;
        let status = r.u32("status")?;
        r.finish("NetrLogonSamLogonEx response")?;
        Ok(Self {
            validation_level,
            validation,
            authoritative,
            extra_flags,
            status,
        })
    }

    /// Encodes it (tests and fuzzing; a DC is who sends it); it decodes to an equal value,
    /// with referent IDs, MaximumLength and NULL-versus-empty pointers normalized.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = NdrWriter::new();
        w.u16(self.validation_level);
        w.align(4);
        if (1..=7).contains(&self.validation_level) {
            w.pointer(self.validation.is_some());
        }
        if let Some(v) = &self.validation {
            v.write(&mut w);
        }
        w.u8(self.authoritative);
        w.u32(self.extra_flags);
        w.u32(self.status);
        w.buf
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn sample<'a>(name: &'a [u8], domain: &'a [u8]) -> SamInfo<'a> {
        SamInfo {
            times: [1, 2, 3, 4, 5, u64::MAX >> 1],
            strings: [name, b"A\0l\0", &[], &[], &[], &[]],
            logon_count: 3,
            bad_password_count: 0,
            user_id: 1103,
            primary_group_id: 513,
            groups: vec![GroupMembership {
                rid: 513,
                attributes: 7,
            }],
            user_flags: 0x20,
            user_session_key: [0x11; 16],
            logon_server: b"D\0C\0",
            logon_domain: domain,
            domain_sid: Some(Sid {
                revision: 1,
                authority: [0, 0, 0, 0, 0, 5],
                sub_authorities: vec![21, 1, 2, 3],
            }),
            expansion: [0x22; 40],
        }
    }

    #[test]
    fn response_round_trip_and_truncations() {
        let resp = SamLogonExResponse {
            validation_level: 2,
            validation: Some(sample(b"a\0l\0i\0c\0e\0", b"C\0O\0R\0P\0")),
            authoritative: 1,
            extra_flags: 0,
            status: 0,
        };
        let bytes = resp.encode();
        let back = SamLogonExResponse::decode(&bytes).unwrap();
        assert_eq!(back, resp);
        assert_eq!(back.encode(), bytes);
        assert_eq!(
            back.validation.unwrap().domain_sid.unwrap().to_string(),
            "S-1-5-21-1-2-3"
        );
        for n in 0..bytes.len() {
            assert!(SamLogonExResponse::decode(&bytes[..n]).is_err(), "{n}");
        }
        let failure = SamLogonExResponse {
            validation_level: 0,
            validation: None,
            authoritative: 1,
            extra_flags: 0,
            status: 0xc000_006a,
        };
        let b = failure.encode();
        assert_eq!(b.len(), 16);
        assert_eq!(SamLogonExResponse::decode(&b).unwrap(), failure);
    }

    /// Found by the fuzz smoke in CI: the encoder padded to 4 bytes before every string body,
    /// present or not. With an odd-length last body and an empty LogonDomainName, two bytes of
    /// padding came before Authoritative (a `u8`), which the decoder does not expect; the
    /// re-encoded response decoded with 4 trailing bytes.
    #[test]
    fn absent_string_bodies_write_no_padding() {
        let mut info = sample(b"a\0l\0i\0c\0e\0", &[]);
        info.logon_server = b"a\0l\0i\0c\0e\0";
        info.domain_sid = None;
        info.groups.clear();
        info.strings = [b"a\0", &[], &[], &[], &[], &[]];
        let resp = SamLogonExResponse {
            validation_level: 2,
            validation: Some(info),
            authoritative: 6,
            extra_flags: 1,
            status: 0x1505,
        };
        let bytes = resp.encode();
        let back = SamLogonExResponse::decode(&bytes).unwrap();
        assert_eq!(back, resp);
        assert_eq!(back.encode(), bytes);
        // Authoritative right after "alice" (10 bytes), then 1 byte to align ExtraFlags.
        let tail = [b'e', 0, 6, 0, 1, 0, 0, 0, 0x05, 0x15, 0, 0];
        assert!(bytes.ends_with(&tail), "{bytes:02x?}");
    }

    #[test]
    fn request_refuses_oversized_input() {
        let long = "x".repeat(MAX_NAME_LEN + 1);
        let info = NetworkInfo {
            domain: "CORP",
            parameter_control: parameter_control::DEFAULT,
            logon_id: 0,
            user: &long,
            workstation: "",
            challenge: [0; 8],
            nt_response: &[],
            lm_response: &[],
        };
        assert_eq!(
            sam_logon_ex_request("\\\\DC", "WEB1", &info),
            Err(RequestError::NameTooLong("user"))
        );
    }
    /// An NT response of 4n+2 bytes and no LM response (gss-ntlmssp's NTLMv2): no padding
    /// between the NT bytes and ValidationLevel, which a DC would read as level 0 (Samba
    /// answered STATUS_INVALID_INFO_CLASS).
    #[test]
    fn request_pads_nothing_after_the_last_present_body() {
        for (nt_len, lm_len) in [(158usize, 0usize), (156, 0), (158, 24), (24, 24)] {
            let nt = vec![0xabu8; nt_len];
            let lm = vec![0xcdu8; lm_len];
            let info = NetworkInfo {
                domain: "CORP",
                parameter_control: parameter_control::DEFAULT,
                logon_id: 0,
                user: "alice",
                workstation: "VM",
                challenge: [0; 8],
                nt_response: &nt,
                lm_response: &lm,
            };
            let b = sam_logon_ex_request("\\\\DC", "WEB1", &info).unwrap();
            let last = if lm_len == 0 { &nt } else { &lm };
            // ValidationLevel (u16) right after the last body, then ExtraFlags (u32, aligned).
            let mut after = vec![2u8, 0];
            if last.len() % 4 == 0 {
                after.extend([0, 0]);
            }
            after.extend([0, 0, 0, 0]);
            let (body, rest) = b.split_at(b.len() - after.len());
            assert!(body.ends_with(last), "{nt_len}/{lm_len}");
            assert_eq!(rest, &after[..], "{nt_len}/{lm_len}");
        }
    }
}
