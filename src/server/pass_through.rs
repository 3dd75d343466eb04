//! Pass-through verification (MS-APDS §3.1.5.2): the server context hands the client's
//! responses to a domain controller instead of checking them against its credential store,
//! and finishes the handshake with the DC's answer. Sans-IO: the context yields a
//! [`NetworkLogonRequest`] and takes the caller's [`DcClient::logon`] result back, so a
//! synchronous helper and an async server drive it alike.
//!
//! Behind the `netlogon` feature because the request and validation types live in
//! [`crate::netlogon::passthrough`]; they are plain data (no tokio in them), and this
//! module uses nothing else from that feature: the transport stays with the caller.
//!
//! What stays the server's: the level policy (applied before the DC is asked: a level-5
//! server refuses NTLMv1 without a DC call), reflection, replay, the challenge lifetime,
//! and, with the DC's session key, the MIC, key exchange, channel bindings, target name,
//! timestamp and echoed target info, by the same functions as the local path. What becomes
//! the DC's: the password, the account state and lockout. A pass-through server cannot
//! tell a stale password from a wrong one (that needs the hashes); the
//! [`ServerConfig::store`](super::ServerConfig::store) and
//! [`ServerConfig::lockout`](super::ServerConfig::lockout) are not consulted.
//!
//! [`DcClient::logon`]: crate::netlogon::DcClient::logon

use std::time::SystemTime;

use super::context::{Pending, Screened, State};
use super::verify::{exported_key, NamePair};
use super::{Authenticated, Refusal, ServerContext};
use crate::classify::ResponseKinds;
use crate::crypto::Side;
use crate::established::Established;
use crate::netlogon::{NetworkLogonRequest, PassThroughError, Validation};
use crate::policy::Verify;
use crate::secret::LmHash;
use crate::wire::{AuthenticateMessage, NegotiateFlags as F, NtlmV2Response};

/// What [`ServerContext::begin_pass_through`] decided.
#[derive(Debug)]
#[non_exhaustive]
pub enum PassThroughStep {
    /// Decided without the DC: an anonymous logon the policy accepts.
    Accepted(Box<Authenticated>),
    /// Ask the DC ([`crate::netlogon::DcClient::logon`]) and give its answer to
    /// [`ServerContext::complete_pass_through`].
    AskDc(NetworkLogonRequest),
}

/// A context between its pass-through request and the DC's answer.
pub(super) struct AwaitingDc {
    pending: Pending,
    /// The AUTHENTICATE as received, decoded again when the DC answers.
    authenticate: Vec<u8>,
    flags: F,
    kinds: ResponseKinds,
    verify: Verify,
    replay_key: [u8; 16],
}

impl ServerContext {
    /// Step 2 of a pass-through server: screens the AUTHENTICATE as [`Self::accept`] does
    /// (challenge lifetime, decoding, reflection, the level policy, replay) and, unless
    /// that refuses it, yields the network logon to send to the DC: the server challenge
    /// of the CHALLENGE this context sent and the AUTHENTICATE's responses exactly as
    /// received, its names decoded as `accept` decodes them.
    ///
    /// On [`PassThroughStep::AskDc`], finish with [`Self::complete_pass_through`]; on a
    /// refusal the context is finished.
    pub fn begin_pass_through(
        &mut self,
        authenticate: &[u8],
        now: SystemTime,
    ) -> Result<PassThroughStep, Refusal> {
        let pending = self.take_challenged()?;
        let Screened {
            auth,
            flags,
            kinds,
            verify,
            replay_key,
        } = self.screen(&pending, authenticate, now)?;
        let mut names = NamePair::new();
        let (user, domain) = names.decode(&auth)?;
        if verify == Verify::Anonymous {
            let accepted = self.accept_anonymous(&auth, flags, kinds, domain)?;
            self.state = State::Done;
            return Ok(PassThroughStep::Accepted(Box::new(accepted)));
        }
        // Before the DC is asked: it would count a replay as a bad password.
        if self.seen_before(&replay_key, now) {
            return Err(Refusal::Replay);
        }
        let request = NetworkLogonRequest::new(
            pending.server_challenge,
            auth.lm_challenge_response,
            auth.nt_challenge_response,
            user,
            domain,
            &auth.workstation.to_string_lossy(),
        );
        // NTLMv1-ESS: the DC verifies plain NTLMv1 over the mixed challenge.
        let request = if verify == Verify::Ess {
            request.with_ess_challenge()
        } else {
            request
        };
        self.state = State::AwaitingDc(Box::new(AwaitingDc {
            pending,
            authenticate: authenticate.to_vec(),
            flags,
            kinds,
            verify,
            replay_key,
        }));
        Ok(PassThroughStep::AskDc(request))
    }

    /// Step 3 of a pass-through server: the DC's answer to the request
    /// [`Self::begin_pass_through`] yielded.
    ///
    /// On a [`Validation`], KXKEY is derived from the DC's user session key (and its LM key
    /// for NTLMv1 with LM_KEY), then the MIC, key exchange, channel bindings, target name,
    /// timestamp and replay are checked exactly as [`Self::accept`] checks them; the logon
    /// is the DC's account name and domain. A DC refusal is [`Refusal::DcRefused`] with the
    /// DC's rule; a DC that could not be asked is [`Refusal::DcUnavailable`], never a bad
    /// password. The context is finished either way.
    pub fn complete_pass_through(
        &mut self,
        result: Result<Validation, PassThroughError>,
        now: SystemTime,
    ) -> Result<Authenticated, Refusal> {
        let waiting = match std::mem::replace(&mut self.state, State::Failed) {
            State::AwaitingDc(w) => w,
            _ => return Err(Refusal::OutOfOrder),
        };
        let validation = match result {
            Ok(v) => v,
            Err(PassThroughError::Refused(rule)) => return Err(Refusal::DcRefused(rule)),
            Err(PassThroughError::Unavailable { dc, reason }) => {
                return Err(Refusal::DcUnavailable {
                    dc,
                    reason: reason.to_string(),
                })
            }
        };
        let accepted = self.finish_with_validation(&waiting, validation, now)?;
        self.state = State::Done;
        Ok(accepted)
    }

    fn finish_with_validation(
        &self,
        waiting: &AwaitingDc,
        validation: Validation,
        now: SystemTime,
    ) -> Result<Authenticated, Refusal> {
        let config = &*self.config;
        let pending = &waiting.pending;
        let (flags, verify) = (waiting.flags, waiting.verify);
        let bytes = &waiting.authenticate[..];
        let unicode = pending.flags.contains(F::NEGOTIATE_UNICODE);
        let auth = AuthenticateMessage::decode_as(bytes, unicode).map_err(Refusal::Malformed)?;
        let v2 = match verify {
            Verify::NtlmV2 => Some(
                NtlmV2Response::decode(auth.nt_challenge_response).map_err(Refusal::Malformed)?,
            ),
            _ => None,
        };
        // The DC's LM session key is the first 8 bytes of the LM hash: all that KXKEY with
        // LM_KEY or REQUEST_NON_NT_SESSION_KEY uses of it (MS-NLMP §3.4.5.1).
        let mut lm = [0u8; 16];
        lm[..8].copy_from_slice(&validation.lm_key[..]);
        let lm_hash = LmHash::from_bytes(lm);
        zeroize::Zeroize::zeroize(&mut lm);
        let exported = exported_key(
            flags,
            verify,
            validation.user_session_key.clone(),
            Some(&lm_hash),
            &auth,
            &pending.server_challenge,
        )?;
        let mic_verified =
            self.check_integrity(pending, &auth, bytes, v2.as_ref(), verify, &exported, now)?;
        if let Some(cache) = &config.replay {
            // Remembered by another context while the DC was asked: the same response on
            // two connections at once.
            if !cache.remember(waiting.replay_key, now) {
                return Err(Refusal::Replay);
            }
        }
        Ok(Authenticated {
            user: validation.account,
            domain: validation.domain,
            workstation: auth.workstation.to_string_lossy(),
            responses: waiting.kinds,
            verified: verify,
            mic_verified,
            established: Established::new(flags, exported, Side::Server, false),
            audit: config.policy.audit(&waiting.kinds),
        })
    }
}

/// The answer a DC gives for `request` when the user's password is `password` (tests of
/// the sans-IO pass-through, here and in SPNEGO and HTTP): the NTLMv2 session base key over
/// the request's NTProofStr (MS-NLMP §3.3.2), or NTLMv1's MD4 of the NT hash (§3.3.1), and
/// the LM hash's first 8 bytes; the account as the DC spells it, `Alice`.
#[cfg(test)]
pub(crate) fn validation_for(request: &NetworkLogonRequest, password: &str) -> Validation {
    use crate::crypto;
    let nt = crypto::ntowf_v1(password);
    let user_session_key = match request.nt_response.get(..16) {
        Some(proof) if request.nt_response.len() > 24 => {
            let key = crypto::ntowf_v2(&nt, &request.user, &request.domain);
            let proof: [u8; 16] = proof.try_into().expect("16 bytes");
            crypto::ntlm_v2_session_base_key(&key, &proof)
        }
        _ => crypto::ntlm_v1_session_base_key(&nt),
    };
    let mut lm_key = zeroize::Zeroizing::new([0u8; 8]);
    if let Some(lm) = crypto::lmowf_v1(password) {
        lm_key.copy_from_slice(&lm.as_bytes()[..8]);
    }
    Validation {
        user_session_key,
        lm_key,
        account: "Alice".into(),
        domain: "CORP".into(),
        logon_server: "DC1".into(),
        user_rid: 1103,
        primary_group_rid: 513,
        groups: Vec::new(),
        domain_sid: None,
        user_flags: 0,
        bad_password_count: 0,
    }
}
