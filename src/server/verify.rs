//! The cryptographic verification of one response (MS-NLMP §3.3): the password against the
//! current and previous hashes with constant work per refusal, the session key, the echoed
//! target info and the replay key.

use subtle::ConstantTimeEq;

use super::Refusal;
use crate::crypto::{self, ResponseKeyV2};
use crate::policy::{ServerPolicy, Verify};
use crate::secret::{NtHash, SessionKey};
use crate::wire::{AuthenticateMessage, AvId, NegotiateFlags as F, NtlmV2Response, TargetInfo};

/// KXKEY from the session base key (MS-NLMP §3.4.5.1; `lm_hash` for NTLMv1 with LM_KEY
/// or REQUEST_NON_NT_SESSION_KEY, whose first 8 bytes are all it uses), then the exported
/// session key: decrypted from EncryptedRandomSessionKey under KEY_EXCH (§3.2.5.1.2).
pub(super) fn exported_key(
    flags: F,
    verify: Verify,
    session_base_key: SessionKey,
    lm_hash: Option<&crate::secret::LmHash>,
    auth: &AuthenticateMessage<'_>,
    server_challenge: &[u8; 8],
) -> Result<SessionKey, Refusal> {
    let key_exchange_key = match verify {
        Verify::NtlmV2 | Verify::LmV2Only => crypto::kxkey_v2(&session_base_key),
        _ => crypto::kxkey_v1(
            flags,
            &session_base_key,
            lm_hash,
            auth.lm_challenge_response,
            server_challenge,
        )
        .unwrap_or(session_base_key),
    };
    if flags.contains(F::NEGOTIATE_KEY_EXCH) {
        let encrypted: &[u8; 16] = auth
            .encrypted_random_session_key
            .try_into()
            .map_err(|_| Refusal::KeyExchange)?;
        Ok(crypto::rc4_session_key(&key_exchange_key, encrypted))
    } else {
        Ok(key_exchange_key)
    }
}

/// The pairs of the CHALLENGE's TargetInfo (`sent`, MsvAvEOL included; empty when none was
/// sent) must come back unchanged in the client's list, MsvAvFlags excepted (MS-NLMP
/// §3.1.5.1.2: the client adds pairs, it does not alter the server's).
pub(super) fn check_echo(sent: &[u8], echoed: &TargetInfo<'_>) -> Result<(), Refusal> {
    if sent.is_empty() {
        return Ok(());
    }
    // Clients (Windows, Samba, ours) keep the server's pairs first and in order: the byte
    // prefix proves every pair equal. `sent` is the server's own list and holds no MsvAvFlags.
    let body = sent.get(..sent.len().saturating_sub(4)).unwrap_or(&[]);
    if echoed.as_bytes().starts_with(body) {
        return Ok(());
    }
    let sent = TargetInfo::decode(sent).map_err(Refusal::Malformed)?;
    for pair in sent.iter() {
        let id = pair.id();
        if id == AvId::Flags as u16 {
            continue;
        }
        if echoed.iter().find(|p| p.id() == id) != Some(pair) {
            return Err(Refusal::TargetInfoMismatch { av_id: id });
        }
    }
    Ok(())
}

/// 16 bytes identifying a response for the replay cache: the NTProofStr for NTLMv2, the
/// start of the NTLMv1 response, or of the LM field when that is all there is. All are
/// keyed MACs of the server challenge, so a peer cannot choose them.
pub(super) fn replay_key(auth: &AuthenticateMessage<'_>) -> [u8; 16] {
    let source = if auth.nt_challenge_response.is_empty() {
        auth.lm_challenge_response
    } else {
        auth.nt_challenge_response
    };
    let mut key = [0u8; 16];
    for (k, b) in key.iter_mut().zip(source) {
        *k = *b;
    }
    key
}

/// Bytes for a decoded name: [`crate::wire::MAX_NAME_LEN`] bytes of UTF-16 are at most 768
/// bytes of UTF-8.
pub(super) const NAME_BUF: usize = 1024;

/// Bytes of a name kept on the stack: user, domain and workstation names are far shorter in
/// practice (Windows: 20-character accounts, 15-character NetBIOS names, 255-byte UPNs at
/// most).
const SHORT_NAME: usize = 128;

/// Room for one decoded or uppercased name: a short stack buffer, zeroed up front (not
/// [`NAME_BUF`] bytes per name on every logon), and a heap buffer of [`NAME_BUF`] bytes
/// allocated only for a longer name. Either way a name up to [`NAME_BUF`] bytes of UTF-8 is
/// accepted, as before.
pub(super) struct NameScratch {
    short: [u8; SHORT_NAME],
    long: Vec<u8>,
}

impl NameScratch {
    /// Empty scratch; allocates nothing.
    pub(super) fn new() -> Self {
        Self {
            short: [0; SHORT_NAME],
            long: Vec::new(),
        }
    }

    /// `name` as UTF-8 (MS-NLMP §2.2.1.3: UTF-16LE or OEM as negotiated); `None` when it
    /// needs more than [`NAME_BUF`] bytes.
    pub(super) fn decode<'b>(&'b mut self, name: &crate::wire::WireString<'_>) -> Option<&'b str> {
        let Self { short, long } = self;
        if let Some(s) = name.to_str_in(short) {
            return Some(s);
        }
        long.resize(NAME_BUF, 0);
        name.to_str_in(long)
    }

    /// `s` uppercased as Windows does ([`crypto::windows_uppercase_into`]); `None` when it
    /// needs more than [`NAME_BUF`] bytes.
    pub(super) fn uppercase<'b>(&'b mut self, s: &str) -> Option<&'b str> {
        let Self { short, long } = self;
        if let Some(upper) = crypto::windows_uppercase_into(s, short) {
            return Some(upper);
        }
        long.resize(NAME_BUF, 0);
        crypto::windows_uppercase_into(s, long)
    }
}

/// Stack buffers for an AUTHENTICATE's user and domain names, decoded the same way for local
/// verification and pass-through.
pub(super) struct NamePair {
    user: NameScratch,
    domain: NameScratch,
}

impl NamePair {
    /// Empty buffers; allocates nothing.
    pub(super) fn new() -> Self {
        Self {
            user: NameScratch::new(),
            domain: NameScratch::new(),
        }
    }

    /// The user and domain names as UTF-8 (MS-NLMP §2.2.1.3); a name too long to decode is
    /// refused as an unknown user.
    pub(super) fn decode<'b>(
        &'b mut self,
        auth: &crate::wire::AuthenticateMessage<'_>,
    ) -> Result<(&'b str, &'b str), Refusal> {
        let user = self
            .user
            .decode(&auth.user_name)
            .ok_or(Refusal::UnknownUser)?;
        let domain = self
            .domain
            .decode(&auth.domain_name)
            .ok_or(Refusal::UnknownUser)?;
        Ok((user, domain))
    }
}

/// Calls `f` with the domains NTOWFv2 is tried with, until it returns `Some`: as sent,
/// uppercased, and empty (as Windows and Samba try them). `exhaustive` tries every variant
/// even after a match (the first match is returned), so that the work does not tell which
/// matched. No allocation.
pub(super) fn with_domain_variants<T>(
    domain: &str,
    exhaustive: bool,
    mut f: impl FnMut(&str) -> Option<T>,
) -> Option<T> {
    let mut found = f(domain);
    if found.is_some() && !exhaustive {
        // A right password as sent: the accept path needs no other variant.
        return found;
    }
    let mut scratch = NameScratch::new();
    if let Some(upper) = scratch.uppercase(domain) {
        if upper != domain && (found.is_none() || exhaustive) {
            let other = f(upper);
            found = found.or(other);
        }
    }
    if !domain.is_empty() && (found.is_none() || exhaustive) {
        let other = f("");
        found = found.or(other);
    }
    found
}

/// Why a response did not verify against one set of hashes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Mismatch {
    /// Wrong password (or not the hash tried).
    NoMatch,
    /// An LM response alone that is right, but the level refuses LM: a policy refusal, not a
    /// bad password (it must not count towards lockout).
    LmRefused,
    /// The NTProofStr is right and the LMv2 response beside it is not: not a bad password.
    LmV2,
}

/// Why [`verify_password`] refused.
#[derive(Debug)]
pub(super) enum PasswordRefusal {
    /// Refused whatever the password (unknown user, disabled, locked out).
    Blocked(Refusal),
    /// One of the two previous passwords (1 or 2 generations old).
    Stale(usize),
    /// The current password's check said so.
    Mismatch(Mismatch),
}

/// Hashes no password has, drawn at random once per process: the stand-ins that give an
/// unknown user, an account without an LM hash or with fewer than two previous passwords
/// the same work as any other. Being secret, no client can build a response that matches
/// them.
struct StandIns {
    nt: NtHash,
    lm: crate::secret::LmHash,
}

fn stand_ins() -> &'static StandIns {
    static STAND_INS: std::sync::OnceLock<StandIns> = std::sync::OnceLock::new();
    STAND_INS.get_or_init(|| StandIns {
        nt: NtHash::from_bytes(crypto::random_bytes()),
        lm: crate::secret::LmHash::from_bytes(crypto::random_bytes()),
    })
}

/// Checks the response against the account's current password and, unless it matched on an
/// account that may log on, against its two previous ones; then applies `blocked`.
///
/// Every refusal for one response shape costs the same: the current password (or a
/// stand-in for an unknown user), its LM hash (or a stand-in) and both history slots (a
/// stand-in for an empty one), each tried with every domain variant, whether the user is
/// unknown, disabled, locked out, has a password history or not, and whether the password
/// was right on a blocked account (otherwise timing would tell a guesser the password of a
/// locked-out account). Only a right password on an account that may log on skips the
/// history: a refusal after it (MIC, channel bindings, LMv2 mismatch...) is faster than a
/// wrong password's, but reaching it takes the right password, and every wrong guess
/// before it was counted towards lockout.
pub(super) fn verify_password(
    record: Option<&crate::store::UserRecord>,
    blocked: Option<Refusal>,
    check: impl Fn(
        &NtHash,
        Option<&crate::secret::LmHash>,
        bool,
    ) -> Result<(SessionKey, Verify), Mismatch>,
) -> Result<(SessionKey, Verify), PasswordRefusal> {
    let stand_in = stand_ins();
    let (nt, lm) = match record {
        Some(r) => (&r.nt_hash, r.lm_hash.as_ref()),
        None => (&stand_in.nt, None),
    };
    let history = |i: usize| record.and_then(|r| r.previous_nt_hashes.get(i));
    // Exhaustive (no early exit on a matching domain variant) unless a match ends here.
    let current = check(nt, lm, blocked.is_some());
    if blocked.is_none() && !matches!(current, Err(Mismatch::NoMatch)) {
        return current.map_err(PasswordRefusal::Mismatch);
    }
    // Both slots, always: anything but "no match" (a right NTProofStr beside a wrong LMv2
    // too) is an old password.
    let previous = [0, 1].map(|i| {
        let result = check(history(i).unwrap_or(&stand_in.nt), None, true);
        history(i).is_some() && !matches!(result, Err(Mismatch::NoMatch))
    });
    if let Some(refusal) = blocked {
        return Err(PasswordRefusal::Blocked(refusal));
    }
    match previous.iter().position(|stale| *stale) {
        Some(i) => Err(PasswordRefusal::Stale(i + 1)),
        None => Err(PasswordRefusal::Mismatch(Mismatch::NoMatch)),
    }
}

/// Verifies the response `verify` names against one NT (and LM) hash: the session base key
/// and the response kind that matched (an LM field alone may turn out to be LM or LMv2).
#[allow(clippy::too_many_arguments)]
pub(super) fn check_response(
    verify: Verify,
    auth: &AuthenticateMessage<'_>,
    v2: Option<&NtlmV2Response<'_>>,
    nt_hash: &NtHash,
    lm_hash: Option<&crate::secret::LmHash>,
    user: &str,
    domain: &str,
    server_challenge: &[u8; 8],
    policy: &ServerPolicy,
    exhaustive: bool,
) -> Result<(SessionKey, Verify), Mismatch> {
    let lm_field = auth.lm_challenge_response;
    let nt_field = auth.nt_challenge_response;
    let matched = |ok: bool, key: SessionKey| {
        if ok {
            Ok((key, verify))
        } else {
            Err(Mismatch::NoMatch)
        }
    };
    match verify {
        Verify::NtlmV2 => {
            let response = v2.ok_or(Mismatch::NoMatch)?;
            let check_lmv2 =
                policy.verify_lmv2_with_ntlmv2 && lm_field.len() == 24 && lm_field != [0u8; 24];
            // The NT hash's HMAC key schedule and the uppercased user once for every
            // domain variant.
            let keyed_user = crypto::NtowfV2User::new(nt_hash, user);
            with_domain_variants(domain, exhaustive, |d| {
                let key = ResponseKeyV2::new(&keyed_user.domain(d));
                let proof = key.nt_proof_str(server_challenge, response.blob);
                if !ct_eq_16(&proof, &response.nt_proof_str) {
                    return None;
                }
                if check_lmv2 {
                    let lmv2 =
                        lm_tail(lm_field).map(|cc| key.lm_v2_response(server_challenge, &cc));
                    if !lmv2.is_some_and(|r| bool::from(r.ct_eq(lm_field))) {
                        return Some(Err(Mismatch::LmV2));
                    }
                }
                Some(Ok((key.session_base_key(&proof), verify)))
            })
            .unwrap_or(Err(Mismatch::NoMatch))
        }
        Verify::Ess => {
            let cc = lm_head(lm_field).ok_or(Mismatch::NoMatch)?;
            let expected = crypto::ess_nt_response(nt_hash, server_challenge, &cc);
            matched(
                bool::from(expected.ct_eq(nt_field)),
                crypto::ntlm_v1_session_base_key(nt_hash),
            )
        }
        Verify::NtlmV1 => {
            let expected = crypto::ntlm_v1_response(nt_hash, server_challenge);
            matched(
                bool::from(expected.ct_eq(nt_field)),
                crypto::ntlm_v1_session_base_key(nt_hash),
            )
        }
        Verify::LmV2Only | Verify::LmOnly => {
            if policy.accept_lmv2_only {
                let cc = lm_tail(lm_field).ok_or(Mismatch::NoMatch)?;
                let proof: [u8; 16] = lm_field
                    .get(..16)
                    .and_then(|p| p.try_into().ok())
                    .ok_or(Mismatch::NoMatch)?;
                let keyed_user = crypto::NtowfV2User::new(nt_hash, user);
                let found = with_domain_variants(domain, exhaustive, |d| {
                    let key = ResponseKeyV2::new(&keyed_user.domain(d));
                    let expected = key.lm_v2_response(server_challenge, &cc);
                    bool::from(expected.ct_eq(lm_field)).then(|| key.session_base_key(&proof))
                });
                if let Some(key) = found {
                    return Ok((key, Verify::LmV2Only));
                }
            }
            // Without an LM hash, a stand-in costs the same and matches nothing.
            let expected =
                crypto::lm_v1_response(lm_hash.unwrap_or(&stand_ins().lm), server_challenge);
            if lm_hash.is_none() || !bool::from(expected.ct_eq(lm_field)) {
                return Err(Mismatch::NoMatch);
            }
            if policy.accept_lm {
                Ok((crypto::ntlm_v1_session_base_key(nt_hash), Verify::LmOnly))
            } else {
                Err(Mismatch::LmRefused)
            }
        }
        Verify::Anonymous => Err(Mismatch::NoMatch),
    }
}

/// `a == b` in constant time, for the 16-byte values a logon is decided on (NTProofStr,
/// MIC, channel bindings hash; MS-NLMP §3.3.2, §3.1.5.1.2): the bytes are folded into one
/// 64-bit difference by XOR and OR, which never branch on them, and only that word goes
/// through `subtle`'s constant-time equality: one optimisation barrier instead of one per
/// byte as `subtle`'s slice comparison has.
pub(super) fn ct_eq_16(a: &[u8; 16], b: &[u8; 16]) -> bool {
    let diff = u128::from_le_bytes(*a) ^ u128::from_le_bytes(*b);
    // Both halves kept: the truncating casts take the low and the high 64 bits.
    let folded = (diff as u64) | ((diff >> 64) as u64);
    bool::from(folded.ct_eq(&0))
}

/// The first 8 bytes of the LM field (the client challenge under ESS).
pub(super) fn lm_head(lm_field: &[u8]) -> Option<[u8; 8]> {
    lm_field.get(..8)?.try_into().ok()
}

/// The last 8 bytes of a 24-byte LM field (the LMv2 client challenge).
pub(super) fn lm_tail(lm_field: &[u8]) -> Option<[u8; 8]> {
    lm_field.get(16..24)?.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::ct_eq_16;

    #[test]
    fn ct_eq_16_sees_every_bit_of_both_halves() {
        let a: [u8; 16] = core::array::from_fn(|i| (i as u8).wrapping_mul(37) ^ 0xA5);
        assert!(ct_eq_16(&a, &a));
        assert!(ct_eq_16(&[0; 16], &[0; 16]));
        for byte in 0..16 {
            for bit in 0..8 {
                let mut b = a;
                b[byte] ^= 1 << bit;
                assert!(!ct_eq_16(&a, &b), "byte {byte} bit {bit}");
                assert!(!ct_eq_16(&b, &a), "byte {byte} bit {bit}");
            }
        }
        // A difference in each half at once must not cancel out.
        let mut b = a;
        b[0] ^= 1;
        b[8] ^= 1;
        assert!(!ct_eq_16(&a, &b));
    }
}
