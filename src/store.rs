//! Credential stores: where a server finds the hashes it verifies against.
//!
//! A verifier needs only the NT hash (MS-NLMP §3.3.1 NTOWFv1), optionally the LM hash, and,
//! for the stale-password rule of [`crate::lockout`], the NT hashes of the last two passwords.
//! [`MemoryStore`] ships with readers for the two `NTLM_USER_FILE` formats used by pyspnego
//! and gss-ntlmssp:
//!
//! - `DOMAIN:USER:PASSWORD` (the password may itself contain `:`; an empty DOMAIN matches any
//!   domain);
//! - smbpasswd lines `USER:UID:LMHEX:NTHEX:[FLAGS]:LCT-XXXXXXXX:` (32 `X` for a missing hash,
//!   `D` in FLAGS for a disabled account). USER may be `DOMAIN\user` or `user@DOMAIN`, as
//!   pyspnego writes it; a bare name matches any domain.
//!
//! Blank lines and lines starting with `#` are skipped.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use zeroize::{Zeroize, Zeroizing};

use crate::crypto::{
    lmowf_v1, ntowf_v1, windows_eq_ignore_case, windows_uppercase, windows_uppercase_into,
};
use crate::secret::{LmHash, NtHash};

/// What a store knows of one account.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct UserRecord {
    /// The account name as stored (its case is what the server reports).
    pub user: String,
    /// The account's domain; empty matches any domain the client names.
    pub domain: String,
    /// NTOWFv1 of the current password.
    pub nt_hash: NtHash,
    /// LMOWFv1 of the current password, when known (none when it has no LM hash: over 14
    /// characters, or a character outside the OEM code page).
    pub lm_hash: Option<LmHash>,
    /// NT hashes of previous passwords, newest first, at most two (Active Directory's
    /// password history as used by the bad-password-count rule). Only NT hashes are kept: a
    /// client that sends the LM response alone with an old password is counted as a bad
    /// password.
    pub previous_nt_hashes: Vec<NtHash>,
    /// A disabled account never logs on.
    pub disabled: bool,
}

impl UserRecord {
    /// A record from a password: NT hash, and LM hash when the password has one (at most 14
    /// characters, all in the OEM code page: [`lmowf_v1`]), as Windows stores it.
    pub fn from_password(domain: &str, user: &str, password: &str) -> Self {
        Self {
            user: user.to_string(),
            domain: domain.to_string(),
            nt_hash: ntowf_v1(password),
            lm_hash: lmowf_v1(password),
            previous_nt_hashes: Vec::new(),
            disabled: false,
        }
    }

    /// A record from the hashes a directory stores: NTOWFv1 and, when kept, LMOWFv1; no
    /// password history, enabled.
    pub fn from_hashes(domain: &str, user: &str, nt_hash: NtHash, lm_hash: Option<LmHash>) -> Self {
        Self {
            user: user.to_string(),
            domain: domain.to_string(),
            nt_hash,
            lm_hash,
            previous_nt_hashes: Vec::new(),
            disabled: false,
        }
    }
}

/// Looks users up for a server. Implement it over your directory or database.
pub trait CredentialStore: Send + Sync {
    /// The record of `user` (compared case-insensitively) in `domain` (as the client sent
    /// it; may be empty). `None` when there is no such user.
    fn lookup(&self, user: &str, domain: &str) -> Option<Cow<'_, UserRecord>>;
}

/// An in-memory credential store, keyed by the uppercased user name.
///
/// ```
/// use ntlm::store::{CredentialStore, MemoryStore};
/// let mut store = MemoryStore::new();
/// store.add_password("DOMAIN", "Alice", "Secret1");
/// assert!(store.lookup("ALICE", "domain").is_some());
/// store.change_password("DOMAIN", "alice", "Secret2");
/// assert_eq!(store.lookup("alice", "DOMAIN").unwrap().previous_nt_hashes.len(), 1);
/// ```
#[derive(Clone, Debug, Default)]
pub struct MemoryStore {
    users: HashMap<String, Vec<UserRecord>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds or replaces a record.
    pub fn insert(&mut self, record: UserRecord) {
        let key = windows_uppercase(&record.user);
        let list = self.users.entry(key).or_default();
        list.retain(|r| !windows_eq_ignore_case(&r.domain, &record.domain));
        list.push(record);
    }

    /// Adds a user with a password.
    pub fn add_password(&mut self, domain: &str, user: &str, password: &str) {
        self.insert(UserRecord::from_password(domain, user, password));
    }

    /// Changes a user's password, keeping the old NT hash in the history (two at most). The
    /// user is created when it does not exist.
    pub fn change_password(&mut self, domain: &str, user: &str, new_password: &str) {
        let mut record = UserRecord::from_password(domain, user, new_password);
        if let Some(old) = self.lookup(user, domain) {
            let old = old.into_owned();
            record.user = old.user;
            record.domain = old.domain;
            record.previous_nt_hashes.push(old.nt_hash);
            record
                .previous_nt_hashes
                .extend(old.previous_nt_hashes.into_iter().take(1));
        }
        self.insert(record);
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.users.values().map(Vec::len).sum()
    }

    /// True when the store has no record.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Reads an `NTLM_USER_FILE` (either format, line by line, mixed is allowed).
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref();
        // The file holds passwords: its text is wiped when dropped, error or not.
        let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| StoreError {
            path: path.to_path_buf(),
            line: 0,
            message: format!("cannot read: {e}"),
            io: Some(e),
        })?);
        Self::parse(&text, path)
    }

    /// Parses the text of a user file; `path` is only used in errors.
    pub fn parse(text: &str, path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let mut store = Self::new();
        for (index, raw) in text.lines().enumerate() {
            let line = raw.trim_end_matches('\r');
            if line.trim().is_empty() || line.trim_start().starts_with('#') {
                continue;
            }
            let record = parse_line(line).map_err(|message| StoreError {
                path: path.as_ref().to_path_buf(),
                line: index + 1,
                message,
                io: None,
            })?;
            store.insert(record);
        }
        Ok(store)
    }
}

impl CredentialStore for MemoryStore {
    /// No allocation for user names up to 128 bytes of UTF-8 (every realistic one; a longer
    /// name is uppercased on the heap). The buffer is short so that each lookup does not
    /// zero a kilobyte of stack.
    fn lookup(&self, user: &str, domain: &str) -> Option<Cow<'_, UserRecord>> {
        let mut buf = [0u8; 128];
        let list = match windows_uppercase_into(user, &mut buf) {
            Some(key) => self.users.get(key),
            None => self.users.get(&windows_uppercase(user)),
        }?;
        let exact = list
            .iter()
            .find(|r| windows_eq_ignore_case(&r.domain, domain));
        let any = || list.iter().find(|r| r.domain.is_empty());
        // A client that names no domain still finds a user who exists in one domain only.
        let only = || match list.as_slice() {
            [single] if domain.is_empty() => Some(single),
            _ => None,
        };
        exact.or_else(any).or_else(only).map(Cow::Borrowed)
    }
}

impl<S: CredentialStore + ?Sized> CredentialStore for std::sync::Arc<S> {
    fn lookup(&self, user: &str, domain: &str) -> Option<Cow<'_, UserRecord>> {
        (**self).lookup(user, domain)
    }
}

fn parse_line(line: &str) -> Result<UserRecord, String> {
    let fields: Vec<&str> = line.split(':').collect();
    // smbpasswd: a numeric UID and bracketed account flags; anything else with two colons is
    // DOMAIN:USER:PASSWORD (whose password may contain colons).
    let looks_smbpasswd = fields.len() >= 6
        && !fields[1].is_empty()
        && fields[1].bytes().all(|b| b.is_ascii_digit())
        && fields[4].starts_with('[');
    if looks_smbpasswd {
        return parse_smbpasswd(&fields);
    }
    let mut parts = line.splitn(3, ':');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(domain), Some(user), Some(password)) if !user.is_empty() => {
            Ok(UserRecord::from_password(domain, user, password))
        }
        (Some(_), Some(""), Some(_)) => Err("empty user name".into()),
        _ => Err("expected DOMAIN:USER:PASSWORD or USER:UID:LMHEX:NTHEX:FLAGS:LCT".into()),
    }
}

fn parse_smbpasswd(fields: &[&str]) -> Result<UserRecord, String> {
    // pyspnego's user files name the account `DOMAIN\user` (or `user@DOMAIN`) in the first
    // field; Samba's own smbpasswd has the bare name, valid in any domain.
    let (domain, user) = crate::names::split_user(fields[0]);
    if user.is_empty() {
        return Err("empty user name".into());
    }
    fields[1]
        .parse::<u32>()
        .map_err(|_| format!("UID {:?} is not a number", fields[1]))?;
    let lm = parse_hash(fields[2]).map_err(|e| format!("LM hash: {e}"))?;
    let nt = parse_hash(fields[3])
        .map_err(|e| format!("NT hash: {e}"))?
        .ok_or("NT hash is missing (XXXX...); this account cannot use NTLM")?;
    let flags = fields[4];
    if !(flags.starts_with('[') && flags.ends_with(']')) {
        return Err(format!("account flags {flags:?} are not [..]"));
    }
    Ok(UserRecord {
        user: user.to_string(),
        domain: domain.to_string(),
        nt_hash: NtHash::from_bytes(nt),
        lm_hash: lm.map(LmHash::from_bytes),
        previous_nt_hashes: Vec::new(),
        disabled: flags.contains('D'),
    })
}

fn parse_hash(s: &str) -> Result<Option<[u8; 16]>, String> {
    if s.len() != 32 {
        return Err(format!("{} characters, not 32 hex digits", s.len()));
    }
    if s.bytes().all(|b| b == b'X' || b == b'*') {
        return Ok(None);
    }
    let mut out = [0u8; 16];
    for (i, byte) in out.iter_mut().enumerate() {
        // The error names the position, never the digits: they are part of a hash.
        let bad = || format!("not 32 hex digits (characters {}-{})", 2 * i + 1, 2 * i + 2);
        let pair = s.get(2 * i..2 * i + 2).ok_or_else(bad)?;
        match u8::from_str_radix(pair, 16) {
            Ok(b) if pair.bytes().all(|c| c.is_ascii_hexdigit()) => *byte = b,
            _ => {
                out.zeroize();
                return Err(bad());
            }
        }
    }
    Ok(Some(out))
}

/// A user file that could not be read or parsed.
#[derive(Debug)]
#[non_exhaustive]
pub struct StoreError {
    /// The file.
    pub path: PathBuf,
    /// 1-based line number; 0 when the file itself could not be read.
    pub line: usize,
    /// What was wrong (never contains the password).
    pub message: String,
    /// Why the file could not be read (`line` is 0 then).
    pub io: Option<std::io::Error>,
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.path.display(), self.message)
        } else {
            write!(f, "{}:{}: {}", self.path.display(), self.line, self.message)
        }
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.io.as_ref().map(|e| e as _)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use subtle::ConstantTimeEq;

    #[test]
    fn both_formats_and_comments() {
        let text = "# users\n\
                    DOMAIN:User:Pass:word\n\
                    :anyone:pw\n\
                    bob:1000:XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX:a4f49c406510bdcab6824ee7c30fd852:[U          ]:LCT-00000000:\n\
                    \n\
                    eve:1001:e52cac67419a9a224a3b108f3fa6cb6d:a4f49c406510bdcab6824ee7c30fd852:[DU         ]:LCT-00000000:\n";
        let store = MemoryStore::parse(text, "users").unwrap();
        assert_eq!(store.len(), 4);
        let user = store.lookup("USER", "domain").unwrap();
        assert!(bool::from(user.nt_hash.ct_eq(&ntowf_v1("Pass:word"))));
        assert!(store.lookup("user", "OTHER").is_none());
        assert!(store.lookup("Anyone", "WHATEVER").is_some());
        let bob = store.lookup("BOB", "").unwrap();
        assert!(bool::from(bob.nt_hash.ct_eq(&ntowf_v1("Password"))));
        assert!(bob.lm_hash.is_none() && !bob.disabled);
        let eve = store.lookup("eve", "X").unwrap();
        assert!(eve.disabled && eve.lm_hash.is_some());
    }

    #[test]
    fn smbpasswd_names_may_carry_a_domain() {
        // The form of pyspnego's documentation and test files.
        let text = "TESTDOM\\testuser:1000:XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX:a4f49c406510bdcab6824ee7c30fd852:[U          ]:LCT-00000000:\n\
                    carol@REALM:1001:XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX:a4f49c406510bdcab6824ee7c30fd852:[U          ]:LCT-00000000:\n";
        let store = MemoryStore::parse(text, "users").unwrap();
        let user = store.lookup("TestUser", "testdom").unwrap();
        assert_eq!(
            (user.domain.as_str(), user.user.as_str()),
            ("TESTDOM", "testuser")
        );
        assert!(store.lookup("testuser", "OTHERDOM").is_none());
        assert!(store.lookup("TESTDOM\\testuser", "").is_none());
        let carol = store.lookup("carol", "realm").unwrap();
        assert_eq!(carol.domain, "REALM");
        let err = MemoryStore::parse(
            "DOM\\:1000:XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX:a4f49c406510bdcab6824ee7c30fd852:[U]:LCT-0:",
            "f",
        )
        .unwrap_err();
        assert!(err.message.contains("empty user"), "{err}");
    }

    #[test]
    fn malformed_lines_name_file_and_line() {
        let err = MemoryStore::parse("D:u:p\nnonsense\n", "/etc/ntlm/users").unwrap_err();
        assert_eq!(err.line, 2);
        assert!(err.to_string().starts_with("/etc/ntlm/users:2: expected"));
        let bad_hex =
            "bob:1:XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX:a4f49c406510bdcab6824ee7c30fd8zz:[U]:LCT-0:";
        let err = MemoryStore::parse(bad_hex, "f").unwrap_err();
        assert_eq!(err.line, 1);
        let err = MemoryStore::parse("D::pw", "f").unwrap_err();
        assert!(err.message.contains("empty user"), "{err}");
        let err = MemoryStore::from_file("/nonexistent/users").unwrap_err();
        assert_eq!(err.line, 0);
    }

    #[test]
    fn password_history_keeps_two() {
        let mut s = MemoryStore::new();
        s.add_password("D", "u", "one");
        s.change_password("D", "u", "two");
        s.change_password("D", "u", "three");
        s.change_password("D", "u", "four");
        let r = s.lookup("u", "d").unwrap();
        assert_eq!(r.previous_nt_hashes.len(), 2);
        assert!(bool::from(
            r.previous_nt_hashes[0].ct_eq(&ntowf_v1("three"))
        ));
        assert!(bool::from(r.previous_nt_hashes[1].ct_eq(&ntowf_v1("two"))));
    }
}
