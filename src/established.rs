//! What a completed handshake leaves behind on either side: the negotiated flags, the
//! exported session key (MS-NLMP §3.1.5.1.2, §3.2.5.1.2) and the session security state.

use core::fmt;

use crate::crypto::{SessionSecurity, Side};
use crate::secret::SessionKey;
use crate::wire::NegotiateFlags;

/// The outcome of a handshake both sides share.
pub struct Established {
    flags: NegotiateFlags,
    exported_session_key: SessionKey,
    anonymous: bool,
    security: SessionSecurity,
}

impl Established {
    /// Builds the session security for `side` from the negotiated flags and the exported
    /// session key (MS-NLMP §3.4.5.2, §3.4.5.3).
    pub fn new(
        flags: NegotiateFlags,
        exported_session_key: SessionKey,
        side: Side,
        anonymous: bool,
    ) -> Self {
        let security = SessionSecurity::new(flags, &exported_session_key, side);
        Self {
            flags,
            exported_session_key,
            anonymous,
            security,
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

    /// Signing and sealing for this side.
    pub fn security(&mut self) -> &mut SessionSecurity {
        &mut self.security
    }

    /// Takes the session security out.
    pub fn into_security(self) -> SessionSecurity {
        self.security
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
