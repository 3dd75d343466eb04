//! The names a client *claims* in an AUTHENTICATE (raw NTLM or inside a SPNEGO
//! NegTokenResp), for the log of a refused logon: MS-NLMP §2.2.1.3 UserName, DomainName and
//! Workstation. Unverified by definition (the logon was refused); never a secret.

use crate::policy::PolicyRefusal;
use crate::wire::AuthenticateMessage;

use super::auth::{Principal, ServerAuthRefusal};
use super::header::parse_credentials;
use super::spnego::{NegotiationToken, SpnegoRefusal, NTLMSSP_SIGNATURE};

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

/// True for a refusal because no DC could be asked (503, not 401).
pub(crate) fn dc_unavailable(refusal: Option<&ServerAuthRefusal>) -> bool {
    #[cfg(feature = "netlogon")]
    if let Some(ServerAuthRefusal::Ntlm(crate::server::Refusal::DcUnavailable { .. })) = refusal {
        return true;
    }
    #[cfg(not(feature = "netlogon"))]
    let _ = refusal;
    false
}

/// The level's refusal inside an HTTP refusal, if that is what it is.
pub(crate) fn policy_refusal(refusal: &ServerAuthRefusal) -> Option<&PolicyRefusal> {
    match refusal {
        ServerAuthRefusal::Ntlm(crate::server::Refusal::Policy(p))
        | ServerAuthRefusal::Spnego(SpnegoRefusal::Ntlm(crate::server::Refusal::Policy(p))) => {
            Some(p)
        }
        _ => None,
    }
}

/// The rule name of an HTTP refusal, one of [`crate::metrics::RULES`].
pub(crate) fn refusal_rule(refusal: &ServerAuthRefusal) -> &'static str {
    match refusal {
        ServerAuthRefusal::Header(_) => "header",
        ServerAuthRefusal::UnsupportedScheme(_) => "unsupported scheme",
        ServerAuthRefusal::UnexpectedMessage(_) => "unexpected message",
        ServerAuthRefusal::Negotiate(_)
        | ServerAuthRefusal::Spnego(SpnegoRefusal::Negotiate(_)) => "negotiate",
        ServerAuthRefusal::Ntlm(r) | ServerAuthRefusal::Spnego(SpnegoRefusal::Ntlm(r)) => r.rule(),
        ServerAuthRefusal::Spnego(_) => "spnego",
    }
}

/// The `logon accepted` event (INFO) of a completed handshake and, when the principal carries
/// an audit finding ([`Principal::audit`]), the audit event (WARN); returns the finding. The
/// fields are those of the `tower` layer's events; no secret is a field.
pub(crate) fn log_accepted(
    peer: &str,
    principal: &Principal,
    handshakes: u64,
) -> Option<PolicyRefusal> {
    let p = principal;
    tracing::info!(
        peer = %peer,
        scheme = %p.scheme,
        user = %p.user,
        domain = %p.domain,
        workstation = %p.workstation,
        kind = ?p.verified,
        mic = p.mic_verified,
        handshakes,
        "logon accepted"
    );
    let audit = p.audit;
    if let Some(finding) = &audit {
        tracing::warn!(
            peer = %peer,
            scheme = %p.scheme,
            user = %p.user,
            domain = %p.domain,
            workstation = %p.workstation,
            kind = ?p.verified,
            audit_level = %finding.level,
            rule = %finding,
            "audit: logon accepted that the audit level would refuse"
        );
    }
    audit
}

/// The `logon refused` event (WARN) with the names the client *claimed* in `values` (its
/// authorization header values, parsed up to `max_header_len`); returns the refusal's rule.
pub(crate) fn log_refused(
    peer: &str,
    refusal: &ServerAuthRefusal,
    values: &[Vec<u8>],
    max_header_len: usize,
) -> &'static str {
    let claimed = values
        .first()
        .and_then(|v| parse_credentials(v, max_header_len).ok())
        .and_then(|c| Claimed::from_token(&c.token))
        .unwrap_or_default();
    let kind = policy_refusal(refusal).map_or_else(String::new, |p| p.refused.to_string());
    let rule = refusal_rule(refusal);
    tracing::warn!(
        peer = %peer,
        user = %claimed.user,
        domain = %claimed.domain,
        workstation = %claimed.workstation,
        kind = %kind,
        rule,
        reason = %refusal,
        "logon refused"
    );
    rule
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
