//! User names as people type them: `DOMAIN\user` (down-level logon name) or `user@domain`
//! (user principal name), split into the DomainName and UserName fields of an AUTHENTICATE
//! (MS-NLMP §2.2.1.3). Used by the client, the credential store, the NETLOGON secure channel
//! and the command line alike, so it belongs to none of them.

/// Splits `DOMAIN\user` or `user@domain` into (domain, user); a bare name has an empty domain.
/// A backslash wins over an `@` (`CORP\a@b` is user `a@b` of `CORP`); of several `@` the last
/// one splits (`a@b@corp` is user `a@b` of `corp`).
///
/// ```
/// use ntlm::names::split_user;
/// assert_eq!(split_user("CORP\\alice"), ("CORP", "alice"));
/// assert_eq!(split_user("alice@corp.example"), ("corp.example", "alice"));
/// assert_eq!(split_user("alice"), ("", "alice"));
/// assert_eq!(split_user("CORP\\a@b"), ("CORP", "a@b"));
/// assert_eq!(split_user("a@b@corp"), ("corp", "a@b"));
/// ```
pub fn split_user(name: &str) -> (&str, &str) {
    if let Some((domain, user)) = name.split_once('\\') {
        (domain, user)
    } else if let Some((user, domain)) = name.rsplit_once('@') {
        (domain, user)
    } else {
        ("", name)
    }
}
