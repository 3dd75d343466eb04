//! What a completed handshake leaves behind on either side: the negotiated flags, the
//! exported session key (MS-NLMP §3.1.5.1.2, §3.2.5.1.2) and the session security state.
//!
//! The signing and sealing keys and their RC4 states are derived on first use: HTTP
//! authentication never signs or seals, so a handshake that only authenticates a connection
//! skips SIGNKEY, SEALKEY and both RC4 key schedules. The exported session key is there at once.

use core::fmt;

use crate::crypto::{SessionSecurity, Side};
use crate::secret::SessionKey;
use crate::wire::NegotiateFlags;

/// The outcome of a handshake both sides share.
pub struct Established {
    flags: NegotiateFlags,
    exported_session_key: SessionKey,
    anonymous: bool,
    side: Side,
    /// Built by the first call that signs, seals or takes it out. Boxed: the RC4 states and
    /// HMAC keys take about a kilobyte, which every move of an `Established` (and of the
    /// server's `Authenticated` holding it) would otherwise copy, used or not; one allocation
    /// when sign/seal is first used, none for HTTP authentication.
    security: Option<Box<SessionSecurity>>,
}

impl Established {
    /// The outcome for `side` from the negotiated flags and the exported session key. The
    /// session security (MS-NLMP §3.4.5.2, §3.4.5.3) is built when first used.
    pub fn new(
        flags: NegotiateFlags,
        exported_session_key: SessionKey,
        side: Side,
        anonymous: bool,
    ) -> Self {
        Self {
            flags,
            exported_session_key,
            anonymous,
            side,
            security: None,
        }
    }

    /// The flags of the AUTHENTICATE message, as both sides use them.
    pub fn flags(&self) -> NegotiateFlags {
        self.flags
    }

    /// The ExportedSessionKey (for GSS-API `inquire_sec_context`, SPNEGO mechListMIC, SMB).
    pub fn exported_session_key(&self) -> &SessionKey {
        &self.exported_session_key
    }

    /// True for an anonymous logon.
    pub fn is_anonymous(&self) -> bool {
        self.anonymous
    }

    /// Signing and sealing for this side; the keys are derived on the first call.
    pub fn security(&mut self) -> &mut SessionSecurity {
        let Self {
            flags,
            exported_session_key,
            side,
            security,
            ..
        } = self;
        security.get_or_insert_with(|| {
            Box::new(SessionSecurity::new(*flags, exported_session_key, *side))
        })
    }

    /// `GSS_GetMIC` of `message` by `signer` on a *fresh* session security state (RC4
    /// restarted, MS-NLMP §3.4.4) at sequence number `seq_num`, leaving this context's own
    /// state untouched: SPNEGO's mechListMIC (MS-SPNG §3.1.5.1), which pyspnego and Windows
    /// make on a reset handle.
    #[cfg_attr(not(feature = "http"), allow(dead_code))] // SPNEGO's mechListMIC
    pub(crate) fn sign_fresh(&self, signer: Side, seq_num: u32, message: &[u8]) -> [u8; 16] {
        SessionSecurity::new(self.flags, &self.exported_session_key, signer)
            .sign_at(seq_num, message)
    }

    /// Takes the session security out (derived now if it was not used yet).
    pub fn into_security(self) -> SessionSecurity {
        match self.security {
            Some(security) => *security,
            None => SessionSecurity::new(self.flags, &self.exported_session_key, self.side),
        }
    }
}

impl fmt::Debug for Established {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Established")
            .field("flags", &self.flags)
            .field("exported_session_key", &self.exported_session_key)
            .field("anonymous", &self.anonymous)
            .finish_non_exhaustive()
    }
}
