//! The names a client *claims* in an AUTHENTICATE (raw NTLM or inside a SPNEGO
//! NegTokenResp), for the log of a refused logon: MS-NLMP §2.2.1.3 UserName, DomainName and
//! Workstation. Unverified by definition (the logon was refused); never a secret.

use crate::wire::AuthenticateMessage;

use super::spnego::{NegotiationToken, NTLMSSP_SIGNATURE};

/// Who an AUTHENTICATE says it is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Claimed {
    /// The DomainName field.
    pub domain: String,
    /// The UserName field.
    pub user: String,
    /// The Workstation field.
    pub workstation: String,
}

impl Claimed {
    /// The names in `token` when it is an AUTHENTICATE, raw or in a SPNEGO NegTokenResp;
    /// `None` for any other token (or an undecodable one).
    pub fn from_token(token: &[u8]) -> Option<Self> {
        if token.starts_with(NTLMSSP_SIGNATURE) {
            return Self::from_authenticate(token);
        }
        match NegotiationToken::decode(token).ok()? {
            NegotiationToken::Resp(resp) => Self::from_authenticate(&resp.response_token?),
            NegotiationToken::Init(_) => None,
        }
    }

    fn from_authenticate(bytes: &[u8]) -> Option<Self> {
        let m = AuthenticateMessage::decode(bytes).ok()?;
        Some(Self {
            domain: m.domain_name.to_string_lossy(),
            user: m.user_name.to_string_lossy(),
            workstation: m.workstation.to_string_lossy(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::{ClientConfig, ClientContext};
    use crate::http::spnego::{NegTokenResp, NegotiationToken};
    use crate::policy::LmCompatibilityLevel;
    use crate::server::{ServerConfig, ServerContext};
    use crate::store::MemoryStore;
    use std::sync::Arc;
    use std::time::SystemTime;

    #[test]
    fn names_from_raw_and_wrapped_authenticate() {
        let level = LmCompatibilityLevel::L3;
        let mut client_config = ClientConfig::new(level, "CORP", "alice", "pw");
        client_config.workstation = "WS1".into();
        client_config.reflection_guard = None;
        let mut client = ClientContext::new(client_config);
        let mut server_config = ServerConfig::new(
            crate::policy::ServerPolicy::domain_controller(level),
            MemoryStore::new(),
        );
        server_config.reflection_guard = None;
        let mut server = ServerContext::new(Arc::new(server_config));
        let now = SystemTime::now();
        let challenge = server.challenge(&client.negotiate().unwrap(), now).unwrap();
        let authenticate = client.authenticate(&challenge, now).unwrap();
        let want = Claimed {
            domain: "CORP".into(),
            user: "alice".into(),
            workstation: "WS1".into(),
        };
        assert_eq!(Claimed::from_token(&authenticate), Some(want.clone()));
        let wrapped = NegotiationToken::Resp(NegTokenResp {
            response_token: Some(authenticate),
            ..NegTokenResp::default()
        })
        .encode()
        .expect("encodes");
        assert_eq!(Claimed::from_token(&wrapped), Some(want));
        assert_eq!(Claimed::from_token(&challenge), None);
        assert_eq!(Claimed::from_token(b"junk"), None);
    }
}
