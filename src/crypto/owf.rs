//! One-way functions of MS-NLMP §3.3.1 (LMOWFv1, NTOWFv1) and §3.3.2 (NTOWFv2), and the
//! Windows uppercase mapping they need.

use crate::crypto::des::des7;
use crate::secret::{LmHash, NtHash, NtlmV2Hash};
use hmac::{digest::Update, Hmac, KeyInit, Mac};
use md4::{Digest, Md4};
use md5::Md5;
use zeroize::Zeroize;

pub(crate) type HmacMd5 = Hmac<Md5>;

/// Uppercases one character as Windows' `RtlUpcaseUnicodeChar` does, for MS-NLMP §3.3.2's
/// `Uppercase(User)` and §3.3.1's `UpperCase(Passwd)`: a 1:1 mapping of a UTF-16 code unit. A character whose Unicode uppercase is more than one character
/// (`ß` -> `SS`, `ŉ`, `ﬁ`, `ΐ`, ...) is left unchanged, and so is every character outside
/// the Basic Multilingual Plane (Windows maps code units, and a surrogate maps to itself).
pub fn windows_upcase_char(c: char) -> char {
    if c.is_ascii() {
        return c.to_ascii_uppercase();
    }
    if u32::from(c) > 0xffff {
        return c;
    }
    let mut up = c.to_uppercase();
    match (up.next(), up.next()) {
        (Some(u), None) if u32::from(u) <= 0xffff => u,
        _ => c,
    }
}

/// Uppercases a string as Windows does for NTOWFv2's `Uppercase(User)` (MS-NLMP §3.3.2)
/// and for case-insensitive account lookup: character by character, 1:1.
///
/// Unlike [`str::to_uppercase`], a character whose Unicode uppercase is several characters
/// stays as it is (`"ß"` stays `"ß"`, not `"SS"`), and characters outside the BMP are not
/// changed (Windows' `RtlUpcaseUnicodeString` maps UTF-16 code units one to one). The
/// result always has as many UTF-16 code units as the input.
///
/// Greek letters with ypogegrammeni (`ᾳ` U+1FB3 ...) have a multi-character full uppercase
/// and are kept unchanged here, although their *simple* Unicode uppercase is a single
/// titlecase letter (`ᾼ`); Windows' own table may differ for such rare characters.
///
/// ```
/// use ntlm::crypto::windows_uppercase;
/// assert_eq!(windows_uppercase("User"), "USER");
/// assert_eq!(windows_uppercase("straße"), "STRAßE");
/// assert_eq!(windows_uppercase("ﬁx"), "ﬁX");
/// assert_eq!(windows_uppercase("élan"), "ÉLAN");
/// assert_eq!(windows_uppercase("𐐨"), "𐐨"); // outside the BMP: unchanged
/// ```
pub fn windows_uppercase(s: &str) -> String {
    s.chars().map(windows_upcase_char).collect()
}

/// Compares two strings as Windows compares account names (the user lookup behind MS-NLMP
/// §3.2.5.1.2): equal after [`windows_uppercase`], without allocating.
///
/// ```
/// use ntlm::crypto::windows_eq_ignore_case;
/// assert!(windows_eq_ignore_case("Alice", "ALICE"));
/// assert!(!windows_eq_ignore_case("straße", "STRASSE"));
/// ```
pub fn windows_eq_ignore_case(a: &str, b: &str) -> bool {
    a.chars()
        .map(windows_upcase_char)
        .eq(b.chars().map(windows_upcase_char))
}

/// [`windows_uppercase`] into a caller's buffer, without allocating (the `Uppercase` of
/// MS-NLMP §3.3.2); `None` when the result does not fit.
///
/// ```
/// let mut buf = [0u8; 64];
/// assert_eq!(ntlm::crypto::windows_uppercase_into("Domain", &mut buf), Some("DOMAIN"));
/// ```
pub fn windows_uppercase_into<'b>(s: &str, buf: &'b mut [u8]) -> Option<&'b str> {
    let mut n = 0;
    for c in s.chars().map(windows_upcase_char) {
        let len = c.len_utf8();
        c.encode_utf8(buf.get_mut(n..n + len)?);
        n += len;
    }
    std::str::from_utf8(buf.get(..n)?).ok()
}

/// Feeds the UTF-16LE encoding of `units` to `sink` in 64-byte chunks, without allocating.
/// The stack buffer is zeroized afterwards (it holds password material).
fn feed_utf16le(units: impl Iterator<Item = u16>, mut sink: impl FnMut(&[u8])) {
    let mut buf = [0u8; 64];
    let mut n = 0;
    for u in units {
        buf[n..n + 2].copy_from_slice(&u.to_le_bytes());
        n += 2;
        if n == buf.len() {
            sink(&buf);
            n = 0;
        }
    }
    if n > 0 {
        sink(&buf[..n]);
    }
    buf.zeroize();
}

/// LMOWFv1 (MS-NLMP §3.3.1):
/// `DES(UpperCase(Passwd)[0..6], "KGS!@#$%") ‖ DES(UpperCase(Passwd)[7..13], "KGS!@#$%")`,
/// or `None` where Windows and Samba have no LM hash.
///
/// As Samba's `E_deshash` computes it with its default `dos charset`, and Windows
/// (`RtlUpcaseUnicodeStringToOemString`) on a host whose OEM code page is CP850 (Western
/// European): the password is uppercased 1:1 ([`windows_upcase_char`]: `ß` stays `ß`),
/// encoded in CP850 and zero-padded to 14 bytes. A password with a character CP850 lacks,
/// or longer than 14 bytes, has no LM hash: `None`. A client then sends a copy of its
/// NTLMv1 response in the LM field, as Samba does, and a store keeps no LM hash. Hosts with
/// another OEM code page (US-English Windows: CP437, which differs in 47 of the 128 upper
/// bytes and has Greek letters) hash non-ASCII passwords differently; ASCII passwords hash
/// alike everywhere. Checked against LM responses of Samba 4.17's `ntlm_auth`
/// (`test-vectors/extra-hashes.toml`). The LM hash is weak and only used by legacy peers.
///
/// ```
/// let lm = ntlm::crypto::lmowf_v1("Password").unwrap();
/// assert_eq!(lm.as_bytes(), &0xe52cac67419a9a224a3b108f3fa6cb6du128.to_be_bytes());
/// assert!(ntlm::crypto::lmowf_v1("Password12345678").is_none()); // over 14 characters
/// assert!(ntlm::crypto::lmowf_v1("Ωmega").is_none()); // not in CP850
/// ```
pub fn lmowf_v1(password: &str) -> Option<LmHash> {
    const MAGIC: &[u8; 8] = b"KGS!@#$%";
    let mut buf = [0u8; 14];
    let mut n = 0;
    let mut representable = true;
    for c in password.chars() {
        match (super::cp850_byte(windows_upcase_char(c)), buf.get_mut(n)) {
            (Some(b), Some(slot)) => {
                *slot = b;
                n += 1;
            }
            _ => {
                representable = false;
                break;
            }
        }
    }
    let hash = representable.then(|| {
        let (first, second) = buf.split_at(7);
        let mut out = [0u8; 16];
        let (a, b) = out.split_at_mut(8);
        for (half, key) in [(a, first), (b, second)] {
            let mut block = des7(key.try_into().unwrap_or(&[0; 7]), MAGIC);
            half.copy_from_slice(&block);
            block.zeroize();
        }
        let hash = LmHash::from_bytes(out);
        out.zeroize();
        hash
    });
    buf.zeroize();
    hash
}

/// NTOWFv1 (MS-NLMP §3.3.1): `MD4(UNICODE(Passwd))`, UNICODE being UTF-16LE. Characters
/// outside the BMP are encoded as surrogate pairs. No allocation: the UTF-16 units are fed
/// to MD4 in chunks.
///
/// ```
/// let nt = ntlm::crypto::ntowf_v1("Password");
/// assert_eq!(nt.as_bytes(), &0xa4f49c406510bdcab6824ee7c30fd852u128.to_be_bytes());
/// ```
pub fn ntowf_v1(password: &str) -> NtHash {
    let mut md4 = Md4::new();
    feed_utf16le(password.encode_utf16(), |b| Digest::update(&mut md4, b));
    NtHash::from_bytes(md4.finalize().into())
}

/// NTOWFv2 / LMOWFv2 (MS-NLMP §3.3.2):
/// `HMAC_MD5(NTOWFv1(Passwd), UNICODE(ConcatenationOf(Uppercase(User), UserDom)))`.
///
/// `Uppercase` is [`windows_uppercase`] (1:1, `ß` unchanged); the domain is used as given,
/// not uppercased. Taking the NT hash rather than the password allows pass-the-hash clients
/// and servers that store only NT hashes. No allocation.
///
/// ```
/// use ntlm::crypto::{ntowf_v1, ntowf_v2};
/// let key = ntowf_v2(&ntowf_v1("Password"), "User", "Domain");
/// assert_eq!(key.as_bytes(), &0x0c868a403bfd7a93a3001ef22ef02e3fu128.to_be_bytes());
/// ```
pub fn ntowf_v2(nt: &NtHash, user: &str, domain: &str) -> NtlmV2Hash {
    NtowfV2User::new(nt, user).into_domain(domain)
}

/// NTOWFv2 (MS-NLMP §3.3.2) of one NT hash and user for several domains: the HMAC key
/// schedule and the uppercased user are computed once, and each domain continues from a
/// copy of that state (a server tries the domain as sent, uppercased and empty). The same
/// keys as [`ntowf_v2`]; no allocation.
///
/// ```
/// use ntlm::crypto::{ntowf_v1, ntowf_v2, NtowfV2User};
/// let nt = ntowf_v1("Password");
/// let user = NtowfV2User::new(&nt, "User");
/// assert_eq!(user.domain("Domain").as_bytes(), ntowf_v2(&nt, "User", "Domain").as_bytes());
/// assert_eq!(user.domain("").as_bytes(), ntowf_v2(&nt, "User", "").as_bytes());
/// ```
#[derive(Clone)]
pub struct NtowfV2User {
    mac: HmacMd5,
}

impl NtowfV2User {
    /// The HMAC keyed with `nt`, fed `UNICODE(Uppercase(user))` (MS-NLMP §3.3.2).
    pub fn new(nt: &NtHash, user: &str) -> Self {
        let mut mac = <HmacMd5 as KeyInit>::new_from_slice(nt.as_bytes()).expect("any key length");
        let units = user.chars().map(windows_upcase_char).flat_map(|c| {
            let mut b = [0u16; 2];
            let n = c.encode_utf16(&mut b).len();
            b.into_iter().take(n)
        });
        feed_utf16le(units, |b| Update::update(&mut mac, b));
        Self { mac }
    }

    /// NTOWFv2 with `domain` as UserDom, used as given (MS-NLMP §3.3.2).
    pub fn domain(&self, domain: &str) -> NtlmV2Hash {
        self.clone().into_domain(domain)
    }

    /// [`domain`](Self::domain), consuming the state (MS-NLMP §3.3.2).
    pub fn into_domain(mut self, domain: &str) -> NtlmV2Hash {
        feed_utf16le(domain.encode_utf16(), |b| Update::update(&mut self.mac, b));
        NtlmV2Hash::from_bytes(self.mac.finalize().into_bytes().into())
    }
}

impl core::fmt::Debug for NtowfV2User {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("NtowfV2User(<redacted>)")
    }
}
