//! The sans-IO client (initiator) context, MS-NLMP §3.1.
//!
//! ```
//! use ntlm::client::{ClientConfig, ClientContext};
//! use ntlm::policy::LmCompatibilityLevel;
//! let config = ClientConfig::new(LmCompatibilityLevel::L3, "DOMAIN", "alice", "Secret1");
//! let mut client = ClientContext::new(config);
//! let negotiate: Vec<u8> = client.negotiate().unwrap();
//! assert_eq!(&negotiate[..8], b"NTLMSSP\0");
//! // send it, read the server's CHALLENGE, then:
//! // let authenticate = client.authenticate(&challenge, std::time::SystemTime::now())?;
//! ```

use core::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use zeroize::Zeroize;

use crate::channel_bindings::ChannelBindings;
use crate::crypto::fill_random;
/// The random source type, re-exported where it has always been named.
pub use crate::crypto::Entropy;
use crate::crypto::{self, ResponseKeyV2, Side};
use crate::error::DecodeError;
use crate::established::Established;
use crate::filetime;
use crate::guard::ReflectionGuard;
/// Re-exported from [`crate::names`], where it now lives.
pub use crate::names::split_user;
use crate::policy::{ClientPolicy, LmCompatibilityLevel, V1LmField};
use crate::secret::{LmHash, NtHash, NtlmV2Hash, Password, SessionKey};
use crate::wire::{
    self, AuthenticateMessage, AvFlags, AvId, AvPair, ChallengeMessage, NegotiateFlags as F,
    NegotiateMessage, TargetInfoBuilder, Version, WireString,
};

/// Who the client logs on as.
#[derive(Clone, Debug)]
pub enum ClientCredentials {
    /// A user and password.
    Password {
        /// NetBIOS or DNS domain; may be empty.
        domain: String,
        /// User name.
        user: String,
        /// The password.
        password: Password,
    },
    /// A user and their NT hash (and LM hash for LM responses, when known).
    Hash {
        /// NetBIOS or DNS domain; may be empty.
        domain: String,
        /// User name.
        user: String,
        /// NTOWFv1.
        nt_hash: NtHash,
        /// LMOWFv1, when known.
        lm_hash: Option<LmHash>,
    },
    /// A user and their NTOWFv2 for this user and domain (cntlm's `PassNTLMv2`; `ntlm hash
    /// --ntlmv2` prints it): enough for NTLMv2 and LMv2 (MS-NLMP §3.3.2), not for LM or
    /// NTLMv1, so only a client at level 3 or above can use it
    /// ([`ClientError::NeedsNtHash`] otherwise). It is bound to the user and domain it was
    /// computed for: the same user with another domain spelling does not log on.
    NtlmV2Hash {
        /// The domain the hash was computed with, sent as is.
        domain: String,
        /// The user the hash was computed with.
        user: String,
        /// HMAC-MD5(NTOWFv1, UPPERCASE(user) ‖ domain).
        ntlmv2_hash: NtlmV2Hash,
    },
    /// Anonymous authentication (MS-NLMP §3.2.5.1.2): empty user, Z(1) LM response.
    Anonymous,
}

/// Everything a client context needs.
#[derive(Clone)]
pub struct ClientConfig {
    /// What to send, from the level.
    pub policy: ClientPolicy,
    /// Who to log on as.
    pub credentials: ClientCredentials,
    /// Workstation name sent in AUTHENTICATE.
    pub workstation: String,
    /// The SPN of the service (e.g. `HTTP/server.example.com`), sent as MsvAvTargetName.
    pub target_name: Option<String>,
    /// Channel bindings of the TLS connection; without them MsvAvChannelBindings is Z(16).
    pub channel_bindings: Option<ChannelBindings>,
    /// The VERSION structure to send; `None` sends none.
    pub version: Option<Version>,
    /// The reflection guard (the process-wide one by default).
    pub reflection_guard: Option<Arc<ReflectionGuard>>,
    /// The random source (client challenge, exported session key); `None` uses
    /// [`crypto::fill_random`] (`rand`'s thread-local ChaCha12, reseeded from the OS).
    pub entropy: Option<Entropy>,
}

impl fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientConfig")
            .field("policy", &self.policy)
            .field("credentials", &self.credentials)
            .field("workstation", &self.workstation)
            .field("target_name", &self.target_name)
            .field("channel_bindings", &self.channel_bindings)
            .finish_non_exhaustive()
    }
}

impl ClientConfig {
    /// A client at `level` logging on with a password.
    pub fn new(
        level: LmCompatibilityLevel,
        domain: &str,
        user: &str,
        password: impl Into<Password>,
    ) -> Self {
        Self::with_credentials(
            level,
            ClientCredentials::Password {
                domain: domain.to_string(),
                user: user.to_string(),
                password: password.into(),
            },
        )
    }

    /// A client at `level` with any credentials.
    pub fn with_credentials(level: LmCompatibilityLevel, credentials: ClientCredentials) -> Self {
        Self {
            policy: ClientPolicy::from_level(level),
            credentials,
            workstation: String::new(),
            target_name: None,
            channel_bindings: None,
            version: Some(Version::WINDOWS_10),
            reflection_guard: Some(ReflectionGuard::process()),
            entropy: None,
        }
    }

    /// An anonymous client.
    pub fn anonymous(level: LmCompatibilityLevel) -> Self {
        Self::with_credentials(level, ClientCredentials::Anonymous)
    }

    /// Sets the target SPN.
    pub fn target_name(mut self, spn: impl Into<String>) -> Self {
        self.target_name = Some(spn.into());
        self
    }

    /// Sets the channel bindings.
    pub fn channel_bindings(mut self, bindings: ChannelBindings) -> Self {
        self.channel_bindings = Some(bindings);
        self
    }

    /// Sets the workstation name.
    pub fn workstation(mut self, name: impl Into<String>) -> Self {
        self.workstation = name.into();
        self
    }
}

/// A client context used wrongly, or a CHALLENGE it cannot answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientError {
    /// A step called out of order (`negotiate` twice, `authenticate` before `negotiate`, ...).
    OutOfOrder(&'static str),
    /// An earlier error left the context unusable.
    Unusable,
    /// The CHALLENGE could not be decoded.
    Malformed(DecodeError),
    /// The CHALLENGE's challenge was issued by a server in this process (NTLM reflection).
    Reflection,
    /// The server accepts neither Unicode nor OEM strings.
    NoCommonCharset,
    /// The CHALLENGE does not grant flags the policy requires (`ClientPolicy::required`).
    TooWeak {
        /// The required flags that are missing.
        missing: F,
    },
    /// An LM-only client whose password has no LM hash (over 14 characters, or only an NT
    /// hash given).
    NoLmHash,
    /// The credentials are an NTLMv2 hash, and the policy would send LM or NTLMv1, which
    /// need the NT hash.
    NeedsNtHash,
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::OutOfOrder(what) => write!(f, "client context used out of order: {what}"),
            Self::Unusable => f.write_str("client context is unusable after an earlier error"),
            Self::Malformed(e) => write!(f, "malformed CHALLENGE: {e}"),
            Self::Reflection => f.write_str(
                "refused to answer a challenge issued by a server in this process (reflection)",
            ),
            Self::NoCommonCharset => f.write_str("server offered neither Unicode nor OEM"),
            Self::TooWeak { missing } => {
                write!(f, "server does not grant required flags {missing:?}")
            }
            Self::NoLmHash => f.write_str("an LM-only client needs an LM hash, and there is none"),
            Self::NeedsNtHash => f.write_str(
                "an NTLMv2 hash only computes NTLMv2 and LMv2: this level sends LM or NTLMv1",
            ),
        }
    }
}

impl std::error::Error for ClientError {}

enum State {
    Start,
    SentNegotiate(Vec<u8>),
    Done(Box<Established>),
    Failed,
}

/// The client side of one NTLM handshake.
pub struct ClientContext {
    config: ClientConfig,
    state: State,
}

impl fmt::Debug for ClientContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.state {
            State::Start => "start",
            State::SentNegotiate(_) => "sent NEGOTIATE",
            State::Done(_) => "done",
            State::Failed => "failed",
        };
        f.debug_struct("ClientContext")
            .field("config", &self.config)
            .field("state", &state)
            .finish()
    }
}

impl ClientContext {
    /// A new context.
    pub fn new(config: ClientConfig) -> Self {
        Self {
            config,
            state: State::Start,
        }
    }

    /// The flags this client asks for in NEGOTIATE (MS-NLMP §3.1.5.1.1).
    pub fn requested_flags(&self) -> F {
        let p = &self.config.policy;
        let mut f = F::NEGOTIATE_UNICODE
            | F::NEGOTIATE_OEM
            | F::REQUEST_TARGET
            | F::NEGOTIATE_NTLM
            | F::NEGOTIATE_ALWAYS_SIGN;
        f.set(
            F::NEGOTIATE_EXTENDED_SESSIONSECURITY,
            p.request_ess || p.ntlmv2,
        );
        f.set(F::NEGOTIATE_SIGN, p.sign);
        f.set(F::NEGOTIATE_SEAL, p.seal);
        f.set(F::NEGOTIATE_128, p.request_128);
        f.set(F::NEGOTIATE_56, p.request_56);
        f.set(F::NEGOTIATE_KEY_EXCH, p.key_exchange);
        f.set(F::NEGOTIATE_VERSION, self.config.version.is_some());
        if matches!(self.config.credentials, ClientCredentials::Anonymous) {
            f.insert(F::ANONYMOUS);
        }
        f
    }

    /// Step 1: the NEGOTIATE message.
    pub fn negotiate(&mut self) -> Result<Vec<u8>, ClientError> {
        match self.state {
            State::Start => {}
            State::Failed => return Err(ClientError::Unusable),
            _ => return Err(self.fail(ClientError::OutOfOrder("negotiate called twice"))),
        }
        let mut message = NegotiateMessage::new(self.requested_flags());
        message.version = self.config.version;
        let bytes = message.encode();
        self.state = State::SentNegotiate(bytes.clone());
        Ok(bytes)
    }

    /// Step 2: answers the server's CHALLENGE with an AUTHENTICATE message. `now` is used
    /// for the NTLMv2 timestamp when the server sends none.
    pub fn authenticate(
        &mut self,
        challenge: &[u8],
        now: SystemTime,
    ) -> Result<Vec<u8>, ClientError> {
        let negotiate = match std::mem::replace(&mut self.state, State::Failed) {
            State::SentNegotiate(bytes) => bytes,
            State::Failed => return Err(ClientError::Unusable),
            _ => {
                return Err(ClientError::OutOfOrder(
                    "authenticate called before negotiate or after the handshake",
                ))
            }
        };
        let (bytes, established) = self.build_authenticate(&negotiate, challenge, now)?;
        self.state = State::Done(Box::new(established));
        Ok(bytes)
    }

    /// True once `authenticate` succeeded.
    pub fn is_complete(&self) -> bool {
        matches!(self.state, State::Done(_))
    }

    /// The result of the handshake (negotiated flags, exported session key, session
    /// security); `None` before `authenticate` succeeded.
    pub fn established(&self) -> Option<&Established> {
        match &self.state {
            State::Done(e) => Some(e),
            _ => None,
        }
    }

    /// Takes the result out of a completed context.
    pub fn into_established(self) -> Option<Established> {
        match self.state {
            State::Done(e) => Some(*e),
            _ => None,
        }
    }

    fn fail(&mut self, error: ClientError) -> ClientError {
        self.state = State::Failed;
        error
    }

    fn random(&self, out: &mut [u8]) {
        match &self.config.entropy {
            Some(entropy) => entropy(out),
            None => fill_random(out),
        }
    }

    fn build_authenticate(
        &self,
        negotiate: &[u8],
        challenge_bytes: &[u8],
        now: SystemTime,
    ) -> Result<(Vec<u8>, Established), ClientError> {
        let challenge =
            ChallengeMessage::decode(challenge_bytes).map_err(ClientError::Malformed)?;
        let server_challenge = challenge.server_challenge;
        if let Some(guard) = &self.config.reflection_guard {
            if !guard.client_may_answer(&server_challenge, now) {
                return Err(ClientError::Reflection);
            }
            guard.client_answered(server_challenge, now);
        }
        let policy = &self.config.policy;
        let flags = negotiated_flags(self.requested_flags(), challenge.flags)?;
        let missing = policy.required & !flags;
        if missing != F::EMPTY {
            return Err(ClientError::TooWeak { missing });
        }
        let unicode = flags.contains(F::NEGOTIATE_UNICODE);

        let mut client_challenge = [0u8; 8];
        self.random(&mut client_challenge);

        let anonymous = matches!(self.config.credentials, ClientCredentials::Anonymous);
        let (domain, user) = match &self.config.credentials {
            ClientCredentials::Password { domain, user, .. }
            | ClientCredentials::Hash { domain, user, .. }
            | ClientCredentials::NtlmV2Hash { domain, user, .. } => {
                (domain.as_str(), user.as_str())
            }
            ClientCredentials::Anonymous => ("", ""),
        };

        let mut mic_wanted = false;
        // The LM field is 24 bytes (Z(1) for anonymous); the NT field 24 bytes for NTLMv1,
        // NTProofStr ‖ blob for NTLMv2 (built in one buffer), or empty.
        let mut lm_field = [0u8; 24];
        let mut lm_len = 24;
        let mut nt_v1 = [0u8; 24];
        let mut nt_v2: Vec<u8> = Vec::new();
        let mut nt_kind = NtField::None;
        let key_exchange_key: SessionKey;
        if anonymous {
            lm_len = 1;
            key_exchange_key = SessionKey::from_bytes([0; 16]);
        } else {
            // The LM hash (two DES operations) only where an LM response needs it.
            let need_lm = !policy.ntlmv2
                && (policy.v1_lm_field == V1LmField::LmResponse || !policy.send_nt_response);
            if !policy.ntlmv2
                && matches!(
                    self.config.credentials,
                    ClientCredentials::NtlmV2Hash { .. }
                )
            {
                return Err(ClientError::NeedsNtHash);
            }
            let (nt_hash, lm_hash) = self.hashes(need_lm);
            if policy.ntlmv2 {
                let empty = wire::TargetInfo::empty();
                let server_info = challenge.target_info.as_ref().unwrap_or(&empty);
                // Room for MsvAvFlags, MsvAvChannelBindings and MsvAvTargetName (at most two
                // UTF-16 bytes per UTF-8 byte): the pairs are added without growing the buffer.
                let spn_len = self
                    .config
                    .target_name
                    .as_ref()
                    .map_or(0, |s| 4 + 2 * s.len());
                let mut info =
                    TargetInfoBuilder::from_target_info_with_room(server_info, 8 + 20 + spn_len);
                let server_time = server_info.timestamp();
                let time = server_time.unwrap_or_else(|| filetime::from_system_time(now));
                if server_time.is_some() && policy.mic_with_timestamp && policy.send_nt_response {
                    let old = server_info.flags().map_or(0, |f| f.bits());
                    info.set(AvPair::Flags(AvFlags::from_bits(
                        old | AvFlags::MIC_PRESENT.bits(),
                    )));
                    mic_wanted = true;
                }
                let cb = self
                    .config
                    .channel_bindings
                    .as_ref()
                    .map_or([0u8; 16], ChannelBindings::md5);
                info.set(AvPair::ChannelBindings(cb));
                if let Some(spn) = &self.config.target_name {
                    info.set_str(AvId::TargetName, spn);
                }
                // One HMAC key schedule for NTProofStr, LMv2 and the SessionBaseKey.
                let key = match &self.config.credentials {
                    ClientCredentials::NtlmV2Hash { ntlmv2_hash, .. } => {
                        ResponseKeyV2::new(ntlmv2_hash)
                    }
                    _ => ResponseKeyV2::new(&crypto::ntowf_v2(&nt_hash, user, domain)),
                };
                // LMv2 is sent when there is no server timestamp (else Z(24)), and alone when
                // the policy sends no NT response (MS-NLMP §3.1.5.1.2).
                let lmv2_wanted =
                    !policy.send_nt_response || (server_time.is_none() && policy.lmv2);
                if lmv2_wanted {
                    lm_field = key.lm_v2_response(&server_challenge, &client_challenge);
                }
                let base = if policy.send_nt_response {
                    // NtChallengeResponse = NTProofStr ‖ temp (MS-NLMP §3.3.2), in one buffer.
                    nt_v2 = Vec::with_capacity(16 + crypto::ntlm_v2_blob_len(info.encoded_len()));
                    nt_v2.extend_from_slice(&[0; 16]);
                    crypto::ntlm_v2_blob_into(&mut nt_v2, time, &client_challenge, |out| {
                        info.encode_into(out)
                    });
                    let proof = key.nt_proof_str(&server_challenge, nt_v2.get(16..).unwrap_or(&[]));
                    if let Some(head) = nt_v2.get_mut(..16) {
                        head.copy_from_slice(&proof);
                    }
                    nt_kind = NtField::V2;
                    key.session_base_key(&proof)
                } else {
                    // LMv2 alone: the session key is keyed by its proof (as Samba does).
                    let mut lm_proof = [0u8; 16];
                    lm_proof.copy_from_slice(&lm_field[..16]);
                    key.session_base_key(&lm_proof)
                };
                key_exchange_key = crypto::kxkey_v2(&base);
            } else {
                let base = crypto::ntlm_v1_session_base_key(&nt_hash);
                if !policy.send_nt_response {
                    let lm = lm_hash.as_ref().ok_or(ClientError::NoLmHash)?;
                    lm_field = crypto::lm_v1_response(lm, &server_challenge);
                } else if flags.contains(F::NEGOTIATE_EXTENDED_SESSIONSECURITY) {
                    lm_field = crypto::ess_lm_response(&client_challenge);
                    nt_v1 = crypto::ess_nt_response(&nt_hash, &server_challenge, &client_challenge);
                    nt_kind = NtField::V1;
                } else {
                    nt_v1 = crypto::ntlm_v1_response(&nt_hash, &server_challenge);
                    nt_kind = NtField::V1;
                    lm_field = match (policy.v1_lm_field, &lm_hash) {
                        (V1LmField::LmResponse, Some(lm)) => {
                            crypto::lm_v1_response(lm, &server_challenge)
                        }
                        _ => nt_v1,
                    };
                }
                key_exchange_key =
                    crypto::kxkey_v1(flags, &base, lm_hash.as_ref(), &lm_field, &server_challenge)
                        .unwrap_or(base);
            }
        }
        let lm_response = &lm_field[..lm_len];
        let nt_response: &[u8] = match nt_kind {
            NtField::None => &[],
            NtField::V1 => &nt_v1,
            NtField::V2 => &nt_v2,
        };

        let (exported, encrypted_key) = if flags.contains(F::NEGOTIATE_KEY_EXCH) && !anonymous {
            let mut random_key = [0u8; 16];
            self.random(&mut random_key);
            let exported = SessionKey::from_bytes(random_key);
            let encrypted = crypto::rc4_session_key(&key_exchange_key, &random_key);
            random_key.zeroize();
            (exported, Some(*encrypted.as_bytes()))
        } else {
            (key_exchange_key, None)
        };

        // Domain, user and workstation encoded into one buffer.
        let mut names =
            Vec::with_capacity(2 * (domain.len() + user.len() + self.config.workstation.len()));
        let domain_end = encode_string_into(domain, unicode, &mut names);
        let user_end = encode_string_into(user, unicode, &mut names);
        encode_string_into(&self.config.workstation, unicode, &mut names);
        let (domain_bytes, rest) = names.split_at(domain_end);
        let (user_bytes, workstation_bytes) = rest.split_at(user_end - domain_end);
        let mut message = AuthenticateMessage::new(flags);
        message.lm_challenge_response = lm_response;
        message.nt_challenge_response = nt_response;
        message.domain_name = WireString::new(unicode, domain_bytes);
        message.user_name = WireString::new(unicode, user_bytes);
        message.workstation = WireString::new(unicode, workstation_bytes);
        message.encrypted_random_session_key = encrypted_key.as_ref().map_or(&[], |k| &k[..]);
        message.version = if flags.contains(F::NEGOTIATE_VERSION) {
            self.config.version
        } else {
            None
        };
        if mic_wanted {
            message.mic = Some([0; 16]);
        }
        let mut bytes = message.encode();
        if let Some(offset) = message.mic_offset().filter(|_| mic_wanted) {
            let mic = crypto::mic(&exported, negotiate, challenge_bytes, &bytes, offset);
            if let Some(field) = bytes.get_mut(offset..offset + 16) {
                field.copy_from_slice(&mic);
            }
        }
        let established = Established::new(flags, exported, Side::Client, anonymous);
        Ok((bytes, established))
    }

    fn hashes(&self, need_lm: bool) -> (NtHash, Option<LmHash>) {
        match &self.config.credentials {
            ClientCredentials::Password { password, .. } => {
                let p = password.expose();
                let lm = need_lm.then(|| crypto::lmowf_v1(p)).flatten();
                (crypto::ntowf_v1(p), lm)
            }
            ClientCredentials::Hash {
                nt_hash, lm_hash, ..
            } => (nt_hash.clone(), lm_hash.clone()),
            // Never used: anonymous has no responses, and an NTLMv2 hash is used directly
            // (a policy that needs the NT hash is refused before this).
            ClientCredentials::Anonymous | ClientCredentials::NtlmV2Hash { .. } => {
                (NtHash::from_bytes([0; 16]), None)
            }
        }
    }
}

/// Which NT response the client built.
#[derive(Clone, Copy)]
enum NtField {
    /// None (LM or LMv2 alone, anonymous).
    None,
    /// 24 bytes: NTLMv1 or the ESS response.
    V1,
    /// NTProofStr ‖ blob.
    V2,
}

/// The flags of the AUTHENTICATE: what the client asked for and the server agreed to
/// (MS-NLMP §3.1.5.1.2), plus the server's informational bits.
fn negotiated_flags(requested: F, offered: F) -> Result<F, ClientError> {
    let mut flags = requested & offered;
    if offered.contains(F::NEGOTIATE_UNICODE) {
        flags.insert(F::NEGOTIATE_UNICODE);
        flags.remove(F::NEGOTIATE_OEM);
    } else if offered.contains(F::NEGOTIATE_OEM) {
        flags.insert(F::NEGOTIATE_OEM);
    } else {
        return Err(ClientError::NoCommonCharset);
    }
    flags |= offered & (F::NEGOTIATE_TARGET_INFO | F::TARGET_TYPE_DOMAIN | F::TARGET_TYPE_SERVER);
    flags.insert(F::NEGOTIATE_NTLM);
    Ok(flags)
}

/// Appends `s` as UTF-16LE or as OEM (CP850) bytes and returns the new length of `out`
/// (MS-NLMP §2.2).
fn encode_string_into(s: &str, unicode: bool, out: &mut Vec<u8>) -> usize {
    wire::string_into(s, unicode, out);
    out.len()
}
