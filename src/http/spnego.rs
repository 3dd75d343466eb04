//! SPNEGO (RFC 4178, MS-SPNG) around NTLM: the tokens, and sans-IO initiator and acceptor
//! contexts that drive a [`ClientContext`](crate::client::ClientContext) or
//! [`ServerContext`](crate::server::ServerContext) inside them.
//!
//! # Tokens
//!
//! The first token of the initiator is a GSS-API `InitialContextToken` (RFC 2743 §3.1):
//! `[APPLICATION 0] { thisMech 1.3.6.1.5.5.2, NegotiationToken }`; every later token is a bare
//! `NegotiationToken` (`[1] NegTokenResp`). [`NegotiationToken::decode`] accepts both forms
//! (and Microsoft's `NegTokenInit2`, whose `negHints` take tag 3 and move `mechListMIC` to
//! tag 4). The ASN.1 is done by RustCrypto's `der` crate; decoding never panics and every
//! error says which part of which token was wrong.
//!
//! # mechListMIC
//!
//! The `mechListMIC` protects the list of mechanisms against downgrade: it is the NTLM
//! signature (MS-NLMP §3.4.4, `GSS_GetMIC`) of the DER encoding of the `MechTypeList` the
//! initiator sent, made with the established context (MS-SPNG §3.1.5.1). The rules here
//! follow pyspnego (`spnego/_negotiate.py` `_step_spnego_mic`, `spnego/_ntlm.py`), which
//! interoperates with Windows:
//!
//! - Each mechListMIC is made with a *fresh* RC4 state: pyspnego resets the handle after
//!   signing or verifying it (`_reset_ntlm_crypto_state`). With extended session security each
//!   direction uses sequence number 0. Without it (one shared NTLMv1 counter) the initiator's
//!   MIC has sequence number 0 and the acceptor's has 1.
//! - The initiator sends a mechListMIC with the AUTHENTICATE when `NTLMSSP_NEGOTIATE_SIGN`
//!   was negotiated (integrity is what makes the MIC mean anything; pyspnego's initiator
//!   always asks NTLM for the MIC and signs, Windows signs when the mechanism offers
//!   integrity), or when the acceptor answered `request-mic`.
//! - The acceptor verifies a mechListMIC whenever one is sent (a wrong one refuses the
//!   logon), *requires* one when the NTLM AUTHENTICATE carried a verified MIC together with
//!   `NEGOTIATE_SIGN`, or when it sent `request-mic` (NTLM was not the initiator's first
//!   choice), and answers with its own mechListMIC whenever it received one.
//! - The initiator verifies the acceptor's final mechListMIC when it comes; a server that
//!   sends no final token (many HTTP servers send none with the 200) is not held to it.
//!
//! pyspnego derives the exported session key from `KEY_EXCH` only when `SIGN` or `SEAL`
//! was negotiated too (`spnego/_ntlm.py`); this crate's clients always ask for both, so the
//! two agree.
//!
//! # Pass-through
//!
//! With the `netlogon` feature the acceptor can hand the NTLM AUTHENTICATE to a domain
//! controller: `SpnegoServer::step_pass_through` yields the network logon, and
//! `SpnegoServer::complete_pass_through` finishes with the DC's answer, the mechListMIC
//! checked and made with the session key derived from the DC's.
//!
//! # Layout
//!
//! `token` (the DER types, encode/decode), `mechanism` ([`Mechanism`], the OIDs), `mic`
//! (the mechListMIC through the established session), `client` ([`SpnegoClient`]) and
//! `server` ([`SpnegoServer`], with its pass-through).

mod client;
mod mechanism;
mod mic;
mod server;
mod token;

pub use client::{SpnegoClient, SpnegoClientError};
pub use mechanism::Mechanism;
pub use mic::{mech_list_mic, verify_mech_list_mic};
#[cfg(feature = "netlogon")]
pub use server::SpnegoPassThroughStep;
pub use server::{SpnegoRefusal, SpnegoServer, SpnegoStep};
pub use token::{
    mech_label, mech_name, mech_type_list_der, NegState, NegTokenInit, NegTokenResp,
    NegotiationToken, SpnegoError, KERBEROS_OID, MS_KERBEROS_OID, NTLMSSP_SIGNATURE, NTLM_OID,
    SPNEGO_OID,
};
