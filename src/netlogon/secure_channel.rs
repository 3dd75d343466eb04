//! Setting up the secure channel (MS-NRPC §3.1.4.1, §3.4.5.1): NetrServerReqChallenge,
//! NetrServerAuthenticate3 with the machine account and the AES negotiate flags, the
//! server credential checked; then the schannel bind's NL_AUTH_MESSAGE and message
//! protection from the session key. Sans-IO: each step takes the previous response stub
//! and returns the next request stub.

use core::fmt;

use super::calls::{
    authenticate3_request, req_challenge_request, Authenticate3Response, ReqChallengeResponse,
    WORKSTATION_SECURE_CHANNEL,
};
use super::credential::{ChannelKey, CredentialChain};
use super::schannel::{negotiate_buffer, NlAuthMessage, Schannel};
use crate::error::DecodeError;
use crate::secret::{NtHash, Password};

/// NETLOGON_NEG_SUPPORTS_AES (flag W, MS-NRPC §3.1.4.2).
pub const NEG_SUPPORTS_AES: u32 = 0x0100_0000;
/// NETLOGON_NEG_AUTHENTICATED_RPC (flag Y, "secure RPC"): schannel-protected calls.
pub const NEG_AUTHENTICATED_RPC: u32 = 0x4000_0000;
/// NETLOGON_NEG_STRONG_KEYS (flag O).
pub const NEG_STRONG_KEYS: u32 = 0x0000_4000;
/// The flags offered: every flag of Windows 7 and later up to AES and secure RPC
/// (0x612FFFFF, as Windows members and Samba's winbind send).
pub const DEFAULT_FLAGS: u32 = 0x612f_ffff;
/// The flags the DC must grant: AES and secure RPC. A DC that grants less would need
/// RC4/MD5 (refused by Samba 4.17 and hardened Windows DCs alike, and by us).
pub const REQUIRED_FLAGS: u32 = NEG_SUPPORTS_AES | NEG_AUTHENTICATED_RPC;

/// The verifier's computer account in the domain: `CORP\WEB1$` and its NT hash.
#[derive(Clone)]
pub struct MachineAccount {
    /// NetBIOS domain name (`CORP`).
    pub domain: String,
    /// The account name with its `$` (`WEB1$`).
    pub account: String,
    nt_hash: NtHash,
}

impl fmt::Debug for MachineAccount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MachineAccount")
            .field("domain", &self.domain)
            .field("account", &self.account)
            .finish_non_exhaustive()
    }
}

impl MachineAccount {
    /// `DOMAIN\NAME$` (or `NAME$@domain`) and its password. A name without `$` gets one.
    pub fn new(name: &str, password: &Password) -> Self {
        Self::with_hash(name, crate::crypto::ntowf_v1(password.expose()))
    }

    /// The same from the NT hash of the password.
    pub fn with_hash(name: &str, nt_hash: NtHash) -> Self {
        let (domain, account) = crate::names::split_user(name);
        let mut account = account.to_string();
        if !account.ends_with('$') {
            account.push('$');
        }
        Self {
            domain: domain.to_ascii_uppercase(),
            account,
            nt_hash,
        }
    }

    /// The computer name: the account without its `$`.
    pub fn computer(&self) -> &str {
        self.account.strip_suffix('$').unwrap_or(&self.account)
    }
}

/// Why the secure channel could not be set up.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SetupError {
    /// A response stub could not be decoded.
    Decode(DecodeError),
    /// NetrServerReqChallenge returned this status.
    ChallengeRefused(u32),
    /// NetrServerAuthenticate3 returned this status: 0xC0000022 for a wrong machine
    /// password or flags the DC refuses, 0xC000018B for an unknown machine account.
    AuthenticateRefused(u32),
    /// The DC's credential is not the one our session key gives: it does not know the
    /// machine password we have (or is not the DC).
    ServerCredentialMismatch,
    /// The DC granted fewer flags than [`REQUIRED_FLAGS`].
    MissingFlags {
        /// The flags the DC granted.
        granted: u32,
    },
}

impl fmt::Display for SetupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Decode(e) => write!(f, "malformed response: {e}"),
            Self::ChallengeRefused(s) => write!(f, "NetrServerReqChallenge refused: NTSTATUS {s:#010x}"),
            Self::AuthenticateRefused(0xC000_0022) => f.write_str(
                "NetrServerAuthenticate3 refused: NTSTATUS 0xc0000022 (access denied: wrong machine password, or the DC refuses the flags)",
            ),
            Self::AuthenticateRefused(0xC000_018B) => f.write_str(
                "NetrServerAuthenticate3 refused: NTSTATUS 0xc000018b (no such machine account)",
            ),
            Self::AuthenticateRefused(s) => write!(f, "NetrServerAuthenticate3 refused: NTSTATUS {s:#010x}"),
            Self::ServerCredentialMismatch => {
                f.write_str("the DC's server credential does not match: machine password mismatch")
            }
            Self::MissingFlags { granted } => write!(
                f,
                "the DC granted negotiate flags {granted:#010x}, without AES ({NEG_SUPPORTS_AES:#010x}) and secure RPC ({NEG_AUTHENTICATED_RPC:#010x})"
            ),
        }
    }
}

impl std::error::Error for SetupError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Decode(e) => Some(e),
            _ => None,
        }
    }
}

impl From<DecodeError> for SetupError {
    fn from(e: DecodeError) -> Self {
        Self::Decode(e)
    }
}

/// The setup of one secure channel with one DC.
#[derive(Debug)]
pub struct ChannelSetup {
    machine: MachineAccount,
    primary: String,
    client_challenge: [u8; 8],
    offered: u32,
    state: Option<(ChannelKey, [u8; 8], [u8; 8])>,
}

impl ChannelSetup {
    /// Starts a setup with the DC named `dc_name` (`\\` is prepended), offering `flags`.
    pub fn new(machine: MachineAccount, dc_name: &str, flags: u32) -> Self {
        Self::with_challenge(machine, dc_name, flags, crate::crypto::random_bytes::<8>())
    }

    /// [`ChannelSetup::new`] with a given client challenge (tests).
    pub fn with_challenge(
        machine: MachineAccount,
        dc_name: &str,
        flags: u32,
        client_challenge: [u8; 8],
    ) -> Self {
        Self {
            machine,
            primary: format!("\\\\{dc_name}"),
            client_challenge,
            offered: flags,
            state: None,
        }
    }

    /// The NetrServerReqChallenge request stub.
    pub fn req_challenge(&self) -> Vec<u8> {
        req_challenge_request(
            &self.primary,
            self.machine.computer(),
            &self.client_challenge,
        )
    }

    /// Takes the NetrServerReqChallenge response and returns the NetrServerAuthenticate3
    /// request stub.
    pub fn authenticate3(&mut self, response: &[u8]) -> Result<Vec<u8>, SetupError> {
        let r = ReqChallengeResponse::decode(response)?;
        if r.status != 0 {
            return Err(SetupError::ChallengeRefused(r.status));
        }
        let key = ChannelKey::aes(
            &self.machine.nt_hash,
            &self.client_challenge,
            &r.server_challenge,
        );
        let client_credential = key.credential(&self.client_challenge);
        let stub = authenticate3_request(
            &self.primary,
            &self.machine.account,
            WORKSTATION_SECURE_CHANNEL,
            self.machine.computer(),
            &client_credential,
            self.offered,
        );
        self.state = Some((key, r.server_challenge, client_credential));
        Ok(stub)
    }

    /// Takes the NetrServerAuthenticate3 response: checks the status, the server
    /// credential and the granted flags.
    pub fn finish(self, response: &[u8]) -> Result<EstablishedChannel, SetupError> {
        let r = Authenticate3Response::decode(response)?;
        if r.status != 0 {
            return Err(SetupError::AuthenticateRefused(r.status));
        }
        let Some((key, server_challenge, client_credential)) = self.state else {
            return Err(SetupError::ServerCredentialMismatch);
        };
        if !key.verify_server_credential(&server_challenge, &r.server_credential) {
            return Err(SetupError::ServerCredentialMismatch);
        }
        if r.negotiate_flags & REQUIRED_FLAGS != REQUIRED_FLAGS {
            return Err(SetupError::MissingFlags {
                granted: r.negotiate_flags,
            });
        }
        Ok(EstablishedChannel {
            key,
            flags: r.negotiate_flags,
            account_rid: r.account_rid,
            chain: CredentialChain::new(client_credential),
            computer: self.machine.computer().to_string(),
            domain: self.machine.domain,
            primary: self.primary,
        })
    }
}

/// An authenticated secure channel: session key and what the DC granted.
#[derive(Debug)]
pub struct EstablishedChannel {
    key: ChannelKey,
    /// The negotiate flags the DC granted.
    pub flags: u32,
    /// The machine account's RID.
    pub account_rid: u32,
    /// The credential chain, for calls that take an authenticator.
    pub chain: CredentialChain,
    domain: String,
    computer: String,
    primary: String,
}

impl EstablishedChannel {
    /// The NL_AUTH_MESSAGE negotiate request of the schannel bind (MS-NRPC §3.3.4.1).
    pub fn nl_auth_request(&self) -> Vec<u8> {
        NlAuthMessage {
            message_type: 0,
            flags: 0x3,
            buffer: &negotiate_buffer(&self.domain, &self.computer),
        }
        .encode()
    }

    /// Checks the bind_ack's NL_AUTH_MESSAGE: a negotiate response (type 1).
    pub fn check_nl_auth_response(value: &[u8]) -> bool {
        NlAuthMessage::decode(value, 0).is_ok_and(|m| m.message_type == 1)
    }

    /// Client-side message protection for the schannel-bound connection.
    pub fn schannel(&self) -> Schannel {
        Schannel::new(self.key.clone(), true)
    }

    /// The session key (tests comparing with a peer). Keep the borrow short.
    pub fn key(&self) -> &ChannelKey {
        &self.key
    }

    /// Our computer name.
    pub fn computer(&self) -> &str {
        &self.computer
    }

    /// `\\DC` as sent in PrimaryName / LogonServer.
    pub fn logon_server(&self) -> &str {
        &self.primary
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netlogon::calls::{Authenticate3Response, ReqChallengeResponse};

    fn machine() -> MachineAccount {
        MachineAccount::new("corp\\WEB1", &Password::new("Machine-Pass-1"))
    }

    #[test]
    fn machine_account_names() {
        let m = machine();
        assert_eq!(
            (m.domain.as_str(), m.account.as_str(), m.computer()),
            ("CORP", "WEB1$", "WEB1")
        );
        assert!(!format!("{m:?}").contains("hash"));
    }

    /// Plays the DC's side with the same password: the setup succeeds; with another
    /// password the server credential does not match.
    #[test]
    fn setup_against_a_simulated_dc() {
        for (dc_password, ok) in [("Machine-Pass-1", true), ("other", false)] {
            let mut setup = ChannelSetup::with_challenge(machine(), "DC", DEFAULT_FLAGS, [1; 8]);
            let _ = setup.req_challenge();
            let server_challenge = [2; 8];
            let auth3 = setup
                .authenticate3(
                    &ReqChallengeResponse {
                        server_challenge,
                        status: 0,
                    }
                    .encode(),
                )
                .unwrap();
            let dc_key = ChannelKey::aes(
                &crate::crypto::ntowf_v1(dc_password),
                &[1; 8],
                &server_challenge,
            );
            // The stub carries the client credential the DC expects only with its password.
            let expected = dc_key.credential(&[1; 8]);
            assert_eq!(auth3.windows(8).any(|w| w == expected), ok);
            let resp = Authenticate3Response {
                server_credential: dc_key.credential(&server_challenge),
                negotiate_flags: DEFAULT_FLAGS,
                account_rid: 1000,
                status: 0,
            };
            let result = setup.finish(&resp.encode());
            assert_eq!(result.is_ok(), ok, "{result:?}");
        }
        let mut setup = ChannelSetup::with_challenge(machine(), "DC", DEFAULT_FLAGS, [1; 8]);
        setup
            .authenticate3(
                &ReqChallengeResponse {
                    server_challenge: [2; 8],
                    status: 0,
                }
                .encode(),
            )
            .unwrap();
        let resp = Authenticate3Response {
            server_credential: [0; 8],
            negotiate_flags: 0,
            account_rid: 0,
            status: 0xC000_0022,
        };
        assert_eq!(
            setup.finish(&resp.encode()).unwrap_err(),
            SetupError::AuthenticateRefused(0xC000_0022)
        );
    }
}
