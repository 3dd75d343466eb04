//! The client behind Samba's `ntlmssp-client-1` helper protocol (as curl, Firefox and
//! libsoup drive `ntlm_auth`): `YR` gets `YR <NEGOTIATE>`, `TT <CHALLENGE>` gets
//! `AF <AUTHENTICATE>` (MS-NLMP §3.1 client), anything else `BH <reason>`.

use std::time::SystemTime;

use crate::client::{ClientConfig, ClientContext};

use super::line::split_request;
use super::reply::{token, ClientReply, Command, RequestError};

/// One `ntlmssp-client-1` helper: the configuration and at most one handshake in progress.
pub struct ClientHelper {
    config: ClientConfig,
    pending: Option<ClientContext>,
}

impl ClientHelper {
    /// A helper with no handshake in progress.
    pub fn new(config: ClientConfig) -> Self {
        Self {
            config,
            pending: None,
        }
    }

    /// The reply to one request line (without its newline).
    pub fn handle(&mut self, line: &[u8], now: SystemTime) -> ClientReply {
        let (command, argument) = split_request(line);
        match Command::parse(command, &[Command::Yr, Command::Tt]) {
            // ntlm_auth restarts on YR whatever follows it; so do we.
            Some(Command::Yr) => {
                let mut context = ClientContext::new(self.config.clone());
                self.pending = None;
                match context.negotiate() {
                    Ok(negotiate) => {
                        self.pending = Some(context);
                        ClientReply::Negotiate(negotiate)
                    }
                    Err(e) => ClientReply::broken(e),
                }
            }
            Some(_) => {
                let Some(mut context) = self.pending.take() else {
                    return RequestError::NotPending {
                        command: Command::Tt,
                    }
                    .into();
                };
                let challenge = match token(Command::Tt, argument, "a CHALLENGE token") {
                    Ok(t) => t,
                    Err(e) => return e.into(),
                };
                match context.authenticate(&challenge, now) {
                    Ok(authenticate) => ClientReply::Authenticate(authenticate),
                    Err(e) => ClientReply::broken(e),
                }
            }
            None => {
                self.pending = None;
                RequestError::unknown(command, "YR or TT").into()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::LmCompatibilityLevel;

    #[test]
    fn negotiates_then_answers_once() {
        let config = ClientConfig::new(LmCompatibilityLevel::L3, "CORP", "alice", "Secret1");
        let mut h = ClientHelper::new(config);
        let now = SystemTime::now();
        let reply = |h: &mut ClientHelper, line: &[u8]| h.handle(line, now).to_string();
        assert_eq!(
            reply(&mut h, b"TT abc"),
            "BH TT without a pending handshake (YR first)"
        );
        assert!(reply(&mut h, b"YR").starts_with("YR TlRMTVNTUAAB"));
        assert_eq!(reply(&mut h, b"TT"), "BH TT without a CHALLENGE token");
        assert!(reply(&mut h, b"YR").starts_with("YR "));
        assert!(reply(&mut h, b"TT !!").starts_with("BH TT: bad base64"));
        assert_eq!(
            reply(&mut h, b"KK x"),
            "BH unknown request \"KK\": expected YR or TT"
        );
    }
}
