//! The server side of one handshake (MS-NLMP §3.2.5): [`ServerContext`] answers a NEGOTIATE
//! with a CHALLENGE and accepts or refuses the AUTHENTICATE, yielding [`Authenticated`].

use core::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::verify::{
    check_echo, check_response, ct_eq_16, exported_key, replay_key, verify_password, Mismatch,
    NamePair, PasswordRefusal,
};
use super::{challenge, ChannelBindingFailure, MicFailure, Refusal, ServerConfig, ServerError};
use crate::channel_bindings::ChannelBindings;
use crate::classify::{classify_fields, ResponseKinds};
use crate::crypto::{self, windows_uppercase, Side};
use crate::established::Established;
use crate::filetime;
use crate::policy::{ChannelBindingPolicy, PolicyRefusal, RefusedKind, Verify};
use crate::secret::{NtHash, SessionKey};
use crate::store::CredentialStore;
use crate::wire::{
    AuthenticateMessage, AvFlags, NegotiateFlags as F, NegotiateMessage, NtlmV2Response,
};

/// A successful logon.
#[derive(Debug)]
#[non_exhaustive]
pub struct Authenticated {
    /// The account name as stored (empty for anonymous).
    pub user: String,
    /// The stored account's domain, or this server's NetBIOS domain for an account stored
    /// without one (an anonymous logon: the domain the client named). Not what the client
    /// claimed: NTLMv1 does not bind the domain name.
    pub domain: String,
    /// The workstation the client named (unprotected without a MIC).
    pub workstation: String,
    /// What the client sent.
    pub responses: ResponseKinds,
    /// Which response was verified.
    pub verified: Verify,
    /// True when a MIC was present and verified.
    pub mic_verified: bool,
    /// Flags, exported session key and session security.
    pub established: Established,
    /// Audit mode: the rule that would have refused this logon at the policy's
    /// [`audit_level`](crate::policy::ServerPolicy::audit_level)
    /// ([`ServerPolicy::audit`](crate::policy::ServerPolicy::audit)); `None` when that
    /// level accepts it too, or without an audit level. The logon is accepted either way.
    pub audit: Option<PolicyRefusal>,
}

pub(super) struct Pending {
    /// The NEGOTIATE then the CHALLENGE, as the MIC covers them (MS-NLMP §3.1.5.1.2).
    pub(super) transcript: Vec<u8>,
    /// Where the CHALLENGE starts in `transcript`.
    pub(super) negotiate_len: usize,
    /// Where the TargetInfo sent in the CHALLENGE (MsvAvEOL included) lies in
    /// `transcript`, for the echo check; empty when none was sent.
    pub(super) target_info: core::ops::Range<usize>,
    pub(super) server_challenge: [u8; 8],
    pub(super) flags: F,
    pub(super) issued: SystemTime,
}

impl Pending {
    fn negotiate(&self) -> &[u8] {
        self.transcript.get(..self.negotiate_len).unwrap_or(&[])
    }

    fn challenge(&self) -> &[u8] {
        self.transcript.get(self.negotiate_len..).unwrap_or(&[])
    }

    fn target_info(&self) -> &[u8] {
        self.transcript.get(self.target_info.clone()).unwrap_or(&[])
    }
}

pub(super) enum State {
    Start,
    Challenged(Pending),
    /// Pass-through: the request went to the DC; its answer is awaited.
    #[cfg(feature = "netlogon")]
    AwaitingDc(Box<super::pass_through::AwaitingDc>),
    Done,
    Failed,
}

/// The server side of one NTLM handshake.
pub struct ServerContext {
    pub(super) config: Arc<ServerConfig>,
    pub(super) state: State,
    expected_bindings: Option<[u8; 16]>,
}

impl fmt::Debug for ServerContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.state {
            State::Start => "start",
            State::Challenged(_) => "sent CHALLENGE",
            #[cfg(feature = "netlogon")]
            State::AwaitingDc(_) => "awaiting the DC",
            State::Done => "done",
            State::Failed => "failed",
        };
        f.debug_struct("ServerContext")
            .field("state", &state)
            .finish_non_exhaustive()
    }
}

/// A context dropped between its CHALLENGE and its AUTHENTICATE (a closed connection, a
/// new NEGOTIATE replacing it, a flood that never answers) gives its challenge back to the
/// reflection guard, so abandoned handshakes do not fill it.
impl Drop for ServerContext {
    fn drop(&mut self) {
        self.release_challenge();
    }
}

impl ServerContext {
    /// A context for one handshake (one per connection for HTTP).
    pub fn new(config: Arc<ServerConfig>) -> Self {
        Self {
            config,
            state: State::Start,
            expected_bindings: None,
        }
    }

    /// Gives an outstanding challenge back to the reflection guard.
    fn release_challenge(&self) {
        if let (State::Challenged(pending), Some(guard)) =
            (&self.state, &self.config.reflection_guard)
        {
            guard.server_finished(&pending.server_challenge);
        }
    }

    /// The channel bindings of the connection this handshake runs on.
    pub fn set_channel_bindings(&mut self, bindings: &ChannelBindings) {
        self.expected_bindings = Some(bindings.md5());
    }

    /// The CHALLENGE flags for a client's NEGOTIATE flags (MS-NLMP §3.2.5.1.1).
    pub fn challenge_flags(&self, requested: F) -> F {
        let policy = &self.config.policy;
        let mut f = F::NEGOTIATE_NTLM | F::NEGOTIATE_TARGET_INFO | F::TARGET_TYPE_DOMAIN;
        if requested.contains(F::NEGOTIATE_UNICODE) {
            f.insert(F::NEGOTIATE_UNICODE);
        } else {
            f.insert(F::NEGOTIATE_OEM);
        }
        if requested.contains(F::REQUEST_TARGET) {
            f.insert(F::REQUEST_TARGET);
        }
        let echoed = F::NEGOTIATE_SIGN
            | F::NEGOTIATE_SEAL
            | F::NEGOTIATE_ALWAYS_SIGN
            | F::NEGOTIATE_128
            | F::NEGOTIATE_56
            | F::NEGOTIATE_KEY_EXCH;
        f |= requested & echoed;
        if policy.offer_ess && requested.contains(F::NEGOTIATE_EXTENDED_SESSIONSECURITY) {
            f.insert(F::NEGOTIATE_EXTENDED_SESSIONSECURITY);
        }
        if self.config.version.is_some() && requested.contains(F::NEGOTIATE_VERSION) {
            f.insert(F::NEGOTIATE_VERSION);
        }
        f
    }

    /// Step 1: answers a NEGOTIATE with a CHALLENGE.
    pub fn challenge(&mut self, negotiate: &[u8], now: SystemTime) -> Result<Vec<u8>, ServerError> {
        if !matches!(self.state, State::Start) {
            self.release_challenge();
            self.state = State::Failed;
            return Err(ServerError::OutOfOrder(
                "challenge called twice or after accept",
            ));
        }
        let message = match NegotiateMessage::decode(negotiate) {
            Ok(m) => m,
            Err(e) => {
                self.state = State::Failed;
                return Err(ServerError::Malformed(e));
            }
        };
        let flags = self.challenge_flags(message.flags);
        let mut server_challenge = [0u8; 8];
        crypto::fill_from(self.config.entropy.as_ref(), &mut server_challenge);
        let c = &self.config;
        // The fixed parts (names, TargetInfo, VERSION) were encoded once for this
        // configuration (MS-NLMP §3.2.5.1.1); the flags, challenge and timestamp go in here.
        let bytes = c.challenge_cache.message(c, flags, server_challenge, now);
        if let Some(guard) = &c.reflection_guard {
            if !guard.server_issued(server_challenge, now, c.policy.challenge_lifetime) {
                self.state = State::Failed;
                return Err(ServerError::DuplicateChallenge);
            }
        }
        let info = challenge::target_info_range(&bytes);
        let negotiate_len = negotiate.len();
        let mut transcript = Vec::with_capacity(negotiate_len + bytes.len());
        transcript.extend_from_slice(negotiate);
        transcript.extend_from_slice(&bytes);
        self.state = State::Challenged(Pending {
            transcript,
            negotiate_len,
            target_info: info.start + negotiate_len..info.end + negotiate_len,
            server_challenge,
            flags,
            issued: now,
        });
        Ok(bytes)
    }

    /// Ends the challenged state for an AUTHENTICATE (the context is failed until it
    /// succeeds) and tells the reflection guard this server is done with its challenge.
    pub(super) fn take_challenged(&mut self) -> Result<Pending, Refusal> {
        let pending = match std::mem::replace(&mut self.state, State::Failed) {
            State::Challenged(p) => p,
            _ => return Err(Refusal::OutOfOrder),
        };
        if let Some(guard) = &self.config.reflection_guard {
            guard.server_finished(&pending.server_challenge);
        }
        Ok(pending)
    }

    /// Step 2: verifies the AUTHENTICATE. The context is finished either way.
    pub fn accept(
        &mut self,
        authenticate: &[u8],
        now: SystemTime,
    ) -> Result<Authenticated, Refusal> {
        let pending = self.take_challenged()?;
        let result = self.verify(&pending, authenticate, now);
        if result.is_ok() {
            self.state = State::Done;
        }
        result
    }

    fn verify(
        &self,
        pending: &Pending,
        bytes: &[u8],
        now: SystemTime,
    ) -> Result<Authenticated, Refusal> {
        let config = &*self.config;
        let policy = &config.policy;
        let Screened {
            auth,
            flags,
            kinds,
            verify,
            replay_key,
        } = self.screen(pending, bytes, now)?;
        // Names decoded into short stack buffers: verification allocates only its result.
        let mut names = NamePair::new();
        let (user, domain) = names.decode(&auth)?;
        if verify == Verify::Anonymous {
            return self.accept_anonymous(&auth, flags, kinds, domain);
        }

        let v2 = match verify {
            Verify::NtlmV2 => Some(
                NtlmV2Response::decode(auth.nt_challenge_response).map_err(Refusal::Malformed)?,
            ),
            _ => None,
        };
        // Account state and password are decided with the same cryptographic work for every
        // refusal of a given response shape (MS-NLMP leaves this to the implementation):
        // an unknown user is checked against stand-in hashes, a missing LM hash or history
        // slot gets a stand-in too, and a disabled or locked-out account is verified in
        // full before it is refused. See `verify_password`.
        let record = config.store.lookup(user, domain);
        // The lockout counter belongs to the stored account, never to what the client named:
        // a record without a domain matches any domain, and each would otherwise count apart.
        // An unknown user's key (the names it sent) is built and checked the same way, for
        // the same work; no failure is ever recorded for it.
        let account = config.lockout.as_ref().map(|_| {
            let (d, u) = record
                .as_ref()
                .map_or((domain, user), |r| (r.domain.as_str(), r.user.as_str()));
            format!("{}\\{}", windows_uppercase(d), windows_uppercase(u))
        });
        // What refuses the logon whatever the password; applied after the cryptography.
        let locked = match (&config.lockout, &account) {
            (Some(lockout), Some(account)) => lockout.check(account, now).err(),
            _ => None,
        };
        let blocked = match (&record, locked) {
            (None, _) => Some(Refusal::UnknownUser),
            (Some(r), _) if r.disabled => Some(Refusal::AccountDisabled),
            (Some(_), Some(l)) => Some(Refusal::LockedOut { until: l.until }),
            (Some(_), None) => None,
        };
        let check = |nt: &NtHash, lm: Option<&crate::secret::LmHash>, exhaustive: bool| {
            check_response(
                verify,
                &auth,
                v2.as_ref(),
                nt,
                lm,
                user,
                domain,
                &pending.server_challenge,
                policy,
                exhaustive,
            )
        };
        let found = verify_password(record.as_deref(), blocked, check);
        let (record, (session_base_key, verify)) = match (record, found) {
            (Some(record), Ok(found)) => (record, found),
            // A response accepted before, sent again on another connection (so for another
            // challenge): a replay, refused as one before a bad password is counted.
            (_, Err(_)) if self.seen_before(&replay_key, now) => return Err(Refusal::Replay),
            (_, Err(PasswordRefusal::Blocked(refusal))) => return Err(refusal),
            (_, Err(PasswordRefusal::Stale(generations_old))) => {
                return Err(Refusal::StaleCredentials { generations_old })
            }
            (_, Err(PasswordRefusal::Mismatch(Mismatch::LmRefused))) => {
                return Err(Refusal::Policy(PolicyRefusal {
                    refused: RefusedKind::Lm,
                    level: policy.level,
                    preset: policy.preset,
                }))
            }
            (_, Err(PasswordRefusal::Mismatch(Mismatch::LmV2))) => {
                return Err(Refusal::LmV2Mismatch)
            }
            (Some(_), Err(PasswordRefusal::Mismatch(Mismatch::NoMatch))) => {
                let failures = match (&config.lockout, &account) {
                    (Some(lockout), Some(account)) => lockout.record_failure(account, now),
                    _ => 0,
                };
                return Err(Refusal::BadPassword { failures });
            }
            // `verify_password` blocks every logon without a record.
            (None, _) => return Err(Refusal::UnknownUser),
        };

        // The password is right; now the integrity rules, which only a verified blob can tell.
        let integrity = || {
            let exported = exported_key(
                flags,
                verify,
                session_base_key,
                record.lm_hash.as_ref(),
                &auth,
                &pending.server_challenge,
            )?;
            let mic_verified =
                self.check_integrity(pending, &auth, bytes, v2.as_ref(), verify, &exported, now)?;
            Ok((exported, mic_verified))
        };
        // A replay that gets this far answered the same challenge (a repeated one): refused
        // as a replay whichever rule it also breaks.
        let (exported, mic_verified) = integrity().map_err(|refusal| {
            if self.seen_before(&replay_key, now) {
                Refusal::Replay
            } else {
                refusal
            }
        })?;
        if let Some(cache) = &config.replay {
            // Checked and remembered in one step: of two contexts verifying the same
            // response at once (a replay racing the original), only the first accepts it.
            if !cache.remember(replay_key, now) {
                return Err(Refusal::Replay);
            }
        }
        if let (Some(lockout), Some(account)) = (&config.lockout, &account) {
            // Refused if a concurrent attempt locked the account while this one verified.
            lockout
                .record_success(account, now)
                .map_err(|l| Refusal::LockedOut { until: l.until })?;
        }
        Ok(Authenticated {
            user: record.user.clone(),
            // The stored account's domain; an account stored without one belongs to this
            // server's domain. What the client claimed is not reported: NTLMv1 does not
            // bind it.
            domain: if record.domain.is_empty() {
                config.nb_domain.clone()
            } else {
                record.domain.clone()
            },
            workstation: auth.workstation.to_string_lossy(),
            responses: kinds,
            verified: verify,
            mic_verified,
            established: Established::new(flags, exported, Side::Server, false),
            audit: policy.audit(&kinds),
        })
    }

    /// What is decided before any password is checked (shared by [`Self::accept`] and
    /// pass-through): the challenge's age, the message, the flags the client may use,
    /// reflection and the level policy. Replay is the caller's (see [`Self::seen_before`]).
    pub(super) fn screen<'a>(
        &self,
        pending: &Pending,
        bytes: &'a [u8],
        now: SystemTime,
    ) -> Result<Screened<'a>, Refusal> {
        let config = &*self.config;
        let policy = &config.policy;
        let elapsed = now.duration_since(pending.issued).unwrap_or(Duration::ZERO);
        if elapsed > policy.challenge_lifetime {
            return Err(Refusal::ChallengeExpired);
        }
        // Strings in the encoding the CHALLENGE negotiated, whatever the AUTHENTICATE claims
        // (GNU wget claims UNICODE and sends OEM), as Samba reads them.
        let unicode = pending.flags.contains(F::NEGOTIATE_UNICODE);
        let auth = AuthenticateMessage::decode_as(bytes, unicode).map_err(Refusal::Malformed)?;
        // The client may only use what the CHALLENGE offered. MS-NLMP's earlier 52-byte
        // AUTHENTICATE carries no flags: those the CHALLENGE negotiated apply (as in Samba).
        let flags = if auth.header_len() == 52 {
            pending.flags
        } else {
            auth.flags & pending.flags
        };
        let kinds = classify_fields(
            flags,
            auth.lm_challenge_response,
            auth.nt_challenge_response,
            auth.user_name.is_empty(),
        );
        if let Some(guard) = &config.reflection_guard {
            if guard.answered_locally(&pending.server_challenge, now) {
                return Err(Refusal::Reflection);
            }
        }
        let verify = policy.judge_responses(&kinds).map_err(Refusal::Policy)?;
        let replay_key = replay_key(&auth);
        Ok(Screened {
            auth,
            flags,
            kinds,
            verify,
            replay_key,
        })
    }

    /// True when this server accepted the response with `key` before, within the replay
    /// cache's retention: a replay. Only accepted responses are remembered, so an attacker
    /// who copies a logon onto its own connection first cannot get the real one refused.
    ///
    /// When it is asked: a pass-through server asks before the DC (which would count a
    /// replay as a bad password); a local verification asks only once the password is
    /// refused, since a replay on another connection answers another challenge and cannot
    /// verify. A logon accepted with a repeated challenge is caught when it is remembered.
    /// Either way a replay is refused as one and never counted as a bad password, and an
    /// accepted logon looks the cache up once.
    pub(super) fn seen_before(&self, key: &[u8; 16], now: SystemTime) -> bool {
        self.config
            .replay
            .as_ref()
            .is_some_and(|cache| cache.seen(key, now))
    }

    /// An anonymous logon the policy accepts. It carries no blob: no MIC, channel bindings
    /// or target name, so a policy that requires one refuses it like any other such response.
    pub(super) fn accept_anonymous(
        &self,
        auth: &AuthenticateMessage<'_>,
        flags: F,
        kinds: ResponseKinds,
        domain: &str,
    ) -> Result<Authenticated, Refusal> {
        self.check_rules_without_blob(Verify::Anonymous)?;
        let established =
            Established::new(flags, SessionKey::from_bytes([0; 16]), Side::Server, true);
        Ok(Authenticated {
            user: String::new(),
            domain: domain.to_string(),
            workstation: auth.workstation.to_string_lossy(),
            responses: kinds,
            verified: Verify::Anonymous,
            mic_verified: false,
            established,
            audit: self.config.policy.audit(&kinds),
        })
    }

    /// What a logon whose password is right must still pass, given its exported session key:
    /// the NTLMv2 blob's rules ([`Self::check_v2_rules`]), or for a response without a blob
    /// the policy's refusal of what it cannot show. True when a MIC was verified.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn check_integrity(
        &self,
        pending: &Pending,
        auth: &AuthenticateMessage<'_>,
        bytes: &[u8],
        v2: Option<&NtlmV2Response<'_>>,
        verify: Verify,
        exported: &SessionKey,
        now: SystemTime,
    ) -> Result<bool, Refusal> {
        match v2 {
            Some(response) => self.check_v2_rules(pending, auth, bytes, response, exported, now),
            None => {
                self.check_rules_without_blob(verify)?;
                Ok(false)
            }
        }
    }

    /// MIC, timestamp, echoed AV pairs, channel bindings and target name (MS-NLMP §3.2.5.1.2).
    pub(super) fn check_v2_rules(
        &self,
        pending: &Pending,
        auth: &AuthenticateMessage<'_>,
        bytes: &[u8],
        response: &NtlmV2Response<'_>,
        exported: &SessionKey,
        now: SystemTime,
    ) -> Result<bool, Refusal> {
        let policy = &self.config.policy;
        let pairs = &response.av_pairs;
        let announced = pairs
            .flags()
            .is_some_and(|f| f.contains(AvFlags::MIC_PRESENT));
        let mic_verified = if announced {
            let (offset, mic) = match (auth.mic_offset(), auth.mic) {
                (Some(offset), Some(mic)) if offset.saturating_add(16) <= bytes.len() => {
                    (offset, mic)
                }
                _ => return Err(Refusal::Mic(MicFailure::Missing)),
            };
            let expected = crypto::mic(
                exported,
                pending.negotiate(),
                pending.challenge(),
                bytes,
                offset,
            );
            if !ct_eq_16(&expected, &mic) {
                return Err(Refusal::Mic(MicFailure::Invalid));
            }
            true
        } else if policy.require_mic {
            return Err(Refusal::Mic(MicFailure::Required));
        } else {
            false
        };

        let skew = filetime::distance(response.timestamp, filetime::from_system_time(now));
        if skew > policy.clock_skew {
            return Err(Refusal::Timestamp { skew });
        }

        check_echo(pending.target_info(), pairs)?;

        let sent_bindings = pairs.channel_bindings().filter(|cb| cb != &[0u8; 16]);
        match (
            policy.channel_bindings,
            sent_bindings,
            self.expected_bindings,
        ) {
            (ChannelBindingPolicy::Never, _, _) => {}
            (ChannelBindingPolicy::WhenSupported, None, _) => {}
            (_, Some(sent), Some(expected)) if ct_eq_16(&sent, &expected) => {}
            (_, Some(_), _) => {
                return Err(Refusal::ChannelBindings(ChannelBindingFailure::Mismatch))
            }
            (ChannelBindingPolicy::Required, None, _) => {
                return Err(Refusal::ChannelBindings(ChannelBindingFailure::Missing))
            }
        }

        if !policy.target_names.is_empty() {
            let sent = pairs
                .target_name()
                .map(|n| n.to_string_lossy())
                .filter(|n| !n.is_empty());
            let accepted = |name: &str| {
                policy
                    .target_names
                    .iter()
                    .any(|t| crypto::windows_eq_ignore_case(t, name))
            };
            match sent {
                Some(name) if !accepted(&name) => {
                    return Err(Refusal::TargetName { sent: Some(name) });
                }
                None if policy.require_target_name => {
                    return Err(Refusal::TargetName { sent: None })
                }
                _ => {}
            }
        }
        Ok(mic_verified)
    }

    /// What a response without an NTLMv2 blob (LM, NTLMv1, ESS, LMv2 alone, anonymous) cannot carry:
    /// refused when policy requires it. LMv2 alone is what is left of an NTLMv2 logon whose
    /// NT response was stripped, so it is also refused whenever the server checks target
    /// names or has channel bindings to check: a downgrade must not skip configured checks.
    pub(super) fn check_rules_without_blob(&self, verify: Verify) -> Result<(), Refusal> {
        let policy = &self.config.policy;
        if policy.require_mic {
            return Err(Refusal::Mic(MicFailure::Required));
        }
        let bindings_expected = self.expected_bindings.is_some()
            && policy.channel_bindings != ChannelBindingPolicy::Never;
        if policy.channel_bindings == ChannelBindingPolicy::Required
            || (verify == Verify::LmV2Only && bindings_expected)
        {
            return Err(Refusal::ChannelBindings(ChannelBindingFailure::Missing));
        }
        if !policy.target_names.is_empty()
            && (policy.require_target_name || verify == Verify::LmV2Only)
        {
            return Err(Refusal::TargetName { sent: None });
        }
        Ok(())
    }
}

/// What [`ServerContext::screen`] let through.
pub(super) struct Screened<'a> {
    pub(super) auth: AuthenticateMessage<'a>,
    pub(super) flags: F,
    pub(super) kinds: ResponseKinds,
    pub(super) verify: Verify,
    pub(super) replay_key: [u8; 16],
}
