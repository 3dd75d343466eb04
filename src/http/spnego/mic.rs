//! The mechListMIC (MS-SPNG §3.1.5.1): the NTLM signature of the `MechTypeList` DER, made by
//! the established session ([`Established`]) on a fresh RC4 state.

use subtle::ConstantTimeEq;

use crate::crypto::Side;
use crate::established::Established;
use crate::wire::NegotiateFlags as F;

/// The mechListMIC `signer` makes over `mech_types` (see the [module docs](super) for the
/// fresh RC4 state and sequence numbers): `GSS_GetMIC` of the established session, restarted.
/// With extended session security each direction signs at sequence number 0; without it
/// (one shared NTLMv1 counter) the initiator signs at 0 and the acceptor at 1.
pub fn mech_list_mic(established: &Established, signer: Side, mech_types: &[u8]) -> [u8; 16] {
    let ess = established
        .flags()
        .contains(F::NEGOTIATE_EXTENDED_SESSIONSECURITY);
    let seq_num = match signer {
        Side::Server if !ess => 1,
        _ => 0,
    };
    established.sign_fresh(signer, seq_num, mech_types)
}

/// Checks a mechListMIC made by `signer`; without ESS the RandomPad may be zero or not.
pub fn verify_mech_list_mic(
    established: &Established,
    signer: Side,
    mech_types: &[u8],
    mic: &[u8],
) -> bool {
    let expected = mech_list_mic(established, signer, mech_types);
    if mic.len() != 16 {
        return false;
    }
    if bool::from(expected.ct_eq(mic)) {
        return true;
    }
    // NTLMv1 without ESS: Samba leaves RC4(0) in RandomPad; compare the rest.
    !established
        .flags()
        .contains(F::NEGOTIATE_EXTENDED_SESSIONSECURITY)
        && bool::from(expected[..4].ct_eq(&mic[..4]))
        && bool::from(expected[8..].ct_eq(&mic[8..]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::{seal_key, sign_key, signature_ess, signature_v1, Rc4};
    use crate::secret::SessionKey;

    /// The mechListMIC as MS-NLMP §3.4.4 spells it, from the key-derivation functions: a new
    /// RC4 handle on the signer's seal key, the ESS signature (checksum sealed under
    /// KEY_EXCH) at 0, or the NTLMv1 one at 0 (initiator) or 1 (acceptor).
    fn by_hand(flags: F, key: &SessionKey, signer: Side, message: &[u8]) -> [u8; 16] {
        let mut handle = Rc4::new(seal_key(flags, key, signer).as_bytes());
        match sign_key(flags, key, signer) {
            Some(sign) => {
                let handle = flags.contains(F::NEGOTIATE_KEY_EXCH).then_some(&mut handle);
                signature_ess(&sign, handle, 0, message)
            }
            None => signature_v1(&mut handle, u32::from(signer == Side::Server), message),
        }
    }

    #[test]
    fn session_api_matches_the_specification() {
        let key = SessionKey::from_bytes([0x55; 16]);
        let list = [
            0x30, 0x0c, 0x06, 0x0a, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 2, 2, 10,
        ];
        let ess = F::NEGOTIATE_EXTENDED_SESSIONSECURITY;
        for flags in [
            F::NEGOTIATE_SIGN | F::NEGOTIATE_128,
            F::NEGOTIATE_SIGN | F::NEGOTIATE_56 | F::NEGOTIATE_KEY_EXCH,
            ess | F::NEGOTIATE_SIGN | F::NEGOTIATE_128,
            ess | F::NEGOTIATE_SIGN | F::NEGOTIATE_128 | F::NEGOTIATE_KEY_EXCH,
        ] {
            for signer in [Side::Client, Side::Server] {
                let mut established =
                    Established::new(flags, SessionKey::from_bytes([0x55; 16]), signer, false);
                let mic = mech_list_mic(&established, signer, &list);
                assert_eq!(
                    mic,
                    by_hand(flags, &key, signer, &list),
                    "{flags:?} {signer:?}"
                );
                // The same again: a fresh state each time, the context's own one untouched.
                assert_eq!(mech_list_mic(&established, signer, &list), mic);
                let first_own = established.security().sign(&list);
                let fresh = crate::crypto::SessionSecurity::new(flags, &key, signer).sign(&list);
                assert_eq!(first_own, fresh);
                assert!(verify_mech_list_mic(&established, signer, &list, &mic));
                let mut wrong = mic;
                wrong[15] ^= 1;
                assert!(!verify_mech_list_mic(&established, signer, &list, &wrong));
            }
        }
    }
}
