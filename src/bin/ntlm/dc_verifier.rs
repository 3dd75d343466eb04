//! Pass-through transport shared by the verifying helpers (`squid-helper`,
//! `negotiate-helper`): a [`DcClient`] driven from the synchronous stdin/stdout loop, and
//! the one place a helper's [`HelperStep::AskDc`] becomes the DC's answer (MS-APDS
//! §3.1.5.2, MS-NRPC §3.5.4.5.1 `NetrLogonSamLogonWithFlags`).

use ntlm::helper::{HelperStep, ServerReply};
use ntlm::netlogon::{DcClient, DcConfig, PassThroughError, Unavailable, Validation};

/// Pass-through: a current-thread tokio runtime that drives the [`DcClient`] from the
/// synchronous line loop (Squid drives a stateful helper one request at a time).
pub struct DcVerifier {
    runtime: tokio::runtime::Runtime,
    client: DcClient,
}

impl DcVerifier {
    /// A verifier whose secure channel is set up on the first logon (so that the helper
    /// starts, and answers `BH`, while no DC is reachable).
    pub fn new(config: DcConfig) -> std::io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        Ok(Self {
            runtime,
            client: DcClient::new(config),
        })
    }
}

/// The reply for a helper's `step`: the reply itself, or, for [`HelperStep::AskDc`], the
/// helper's `dc_answer` to what `dc` said (unavailable without a transport: never a logon).
pub fn resolve(
    step: HelperStep,
    dc: Option<&DcVerifier>,
    dc_answer: impl FnOnce(Result<Validation, PassThroughError>) -> ServerReply,
) -> ServerReply {
    match step {
        HelperStep::Reply(reply) => reply,
        HelperStep::AskDc(request) => dc_answer(match dc {
            Some(dc) => dc.runtime.block_on(dc.client.logon(&request)),
            None => Err(PassThroughError::Unavailable {
                dc: String::new(),
                reason: Unavailable::NoDc,
            }),
        }),
        _ => ServerReply::broken("unexpected helper step"),
    }
}
