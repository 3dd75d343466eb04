//! The mechListMIC (MS-SPNG §3.1.5.1): the NTLM signature of the `MechTypeList` DER.

use crate::crypto::{seal_key, sign_key, signature_ess, signature_v1, Rc4, Side};
use crate::established::Established;
use crate::wire::NegotiateFlags as F;

/// The mechListMIC `signer` makes over `mech_types` (see the [module docs](super) for the
/// fresh RC4 state and sequence numbers).
pub fn mech_list_mic(established: &Established, signer: Side, mech_types: &[u8]) -> [u8; 16] {
    let flags = established.flags();
    let key = established.exported_session_key();
    let mut handle = Rc4::new(seal_key(flags, key, signer).as_bytes());
    // A signing key exists exactly when ESS is negotiated (MS-NLMP §3.4.5.2): the ESS
    // signature then, the NTLMv1 one otherwise. No case is left without a MIC.
    match sign_key(flags, key, signer) {
        Some(sign) => {
            let handle = flags.contains(F::NEGOTIATE_KEY_EXCH).then_some(&mut handle);
            signature_ess(&sign, handle, 0, mech_types)
        }
        None => {
            let seq = match signer {
                Side::Client => 0,
                Side::Server => 1,
            };
            signature_v1(&mut handle, seq, mech_types)
        }
    }
}

/// Checks a mechListMIC made by `signer`; without ESS the RandomPad may be zero or not.
pub fn verify_mech_list_mic(
    established: &Established,
    signer: Side,
    mech_types: &[u8],
    mic: &[u8],
) -> bool {
    use subtle::ConstantTimeEq;
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
