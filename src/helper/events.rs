//! The `tracing` events of the verifying helpers: one per decision, with the user, domain,
//! workstation, response kind and rule as fields, never a secret (the claimed names of a
//! refused logon come from the AUTHENTICATE, unverified).

use crate::http::claims::Claimed;
use crate::metrics::Metrics;
use crate::policy::PolicyRefusal;
use crate::server::Authenticated;
use crate::wire::AuthenticateMessage;

/// `"DOMAIN\\user"` as the log shows it: quoted and escaped, so a name cannot forge a line.
pub(super) fn quoted(domain: &str, user: &str) -> String {
    format!("{:?}", format!("{domain}\\{user}"))
}

/// The names an AUTHENTICATE claims: read as its flags say, else as OEM (as a server that
/// negotiated OEM reads them); `None` when it does not decode.
pub(super) fn claimed_ntlm(authenticate: &[u8]) -> Option<Claimed> {
    if let Some(c) = Claimed::from_token(authenticate) {
        return Some(c);
    }
    let m = AuthenticateMessage::decode_as(authenticate, false).ok()?;
    Some(Claimed {
        domain: m.domain_name.to_string_lossy(),
        user: m.user_name.to_string_lossy(),
        workstation: m.workstation.to_string_lossy(),
    })
}

/// A logon accepted (and, under an audit level that would refuse it, the audit finding),
/// counted in `metrics`.
pub(super) fn accepted(logon: &Authenticated, metrics: &Metrics) {
    tracing::info!(
        user = %logon.user,
        domain = %logon.domain,
        workstation = %logon.workstation,
        kind = ?logon.verified,
        mic = logon.mic_verified,
        "logon accepted"
    );
    if let Some(finding) = &logon.audit {
        tracing::warn!(
            user = %logon.user,
            domain = %logon.domain,
            workstation = %logon.workstation,
            kind = ?logon.verified,
            audit_level = %finding.level,
            rule = %finding,
            "audit: logon accepted that the audit level would refuse"
        );
    }
    metrics.record_accepted(logon.verified, logon.audit.as_ref());
}

/// A logon the verifier accepted that the helper refuses: Squid splits the `AF` line on
/// whitespace, so a name with spaces or controls could make it read another user's name.
pub(super) fn unsafe_account(logon: &Authenticated, metrics: &Metrics) {
    tracing::warn!(
        user = %logon.user.escape_debug(),
        domain = %logon.domain.escape_debug(),
        workstation = %logon.workstation.escape_debug(),
        kind = ?logon.verified,
        rule = "account name",
        "logon refused {}: whitespace or control characters in the account name",
        quoted(&logon.domain, &logon.user)
    );
    metrics.record_refused("other", None);
}

/// A logon refused by `rule` (one of [`crate::metrics::RULES`]), counted in `metrics`;
/// `claimed` is `None` for a token that is no decodable AUTHENTICATE.
pub(super) fn refused(
    claimed: Option<&Claimed>,
    rule: &'static str,
    policy: Option<&PolicyRefusal>,
    reason: &dyn std::fmt::Display,
    metrics: &Metrics,
) {
    let kind = policy.map_or_else(String::new, |p| p.refused.to_string());
    let who = claimed.map_or_else(
        || "(no names: not an AUTHENTICATE)".into(),
        |c| quoted(&c.domain, &c.user),
    );
    let claimed = claimed.cloned().unwrap_or_default();
    tracing::warn!(
        user = %claimed.user.escape_debug(),
        domain = %claimed.domain.escape_debug(),
        workstation = %claimed.workstation.escape_debug(),
        kind = %kind,
        rule,
        "logon refused {who}: {reason}"
    );
    metrics.record_refused(rule, policy);
}

/// `DOMAIN\user` for Squid's `AF`, or `None` when it holds whitespace or a control
/// character.
pub(super) fn account(logon: &Authenticated) -> Option<String> {
    let account = if logon.domain.is_empty() {
        logon.user.clone()
    } else {
        format!("{}\\{}", logon.domain, logon.user)
    };
    (!account.chars().any(|c| c.is_whitespace() || c.is_control())).then_some(account)
}
