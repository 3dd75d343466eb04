//! Requests and replies of Squid's helper protocols: the commands, the reasons a request
//! is broken ([`RequestError`]), and the reply lines of the verifying helpers
//! ([`ServerReply`]: `TT`, `AF`, `NA`, `BH`) and of the client helper ([`ClientReply`]:
//! `YR`, `AF`, `BH`). A reply's [`Display`](fmt::Display) is its line, without the `\n`.

use std::error::Error;
use std::fmt;

use crate::netlogon::NetworkLogonRequest;

use super::line::{base64_decode, base64_encode, one_line, show, Base64Error};

/// A request's command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Command {
    /// `YR`: start a new handshake (a verifier: with the client's first token; the client
    /// helper: without one).
    Yr,
    /// `KK`: the client's next token, for a verifier.
    Kk,
    /// `TT`: the server's token, for the client helper.
    Tt,
}

impl Command {
    /// `YR`, `KK` or `TT`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Yr => "YR",
            Self::Kk => "KK",
            Self::Tt => "TT",
        }
    }

    /// The command named by `word`, if it is one of `expected`.
    pub fn parse(word: &[u8], expected: &[Command]) -> Option<Self> {
        expected
            .iter()
            .copied()
            .find(|c| c.as_str().as_bytes() == word)
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a request line cannot be acted on (the text of a `BH` reply, or of an `NA` for an
/// AUTHENTICATE that is not base64).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RequestError {
    /// The first word is no command of this protocol.
    UnknownCommand {
        /// The word, escaped and cut to 16 characters ([`show`]).
        shown: String,
        /// What the protocol expects, e.g. `YR or KK`.
        expected: &'static str,
    },
    /// The command needs a token and has none.
    MissingToken {
        /// The command.
        command: Command,
        /// What was expected, with its article, e.g. `a NEGOTIATE token`.
        what: &'static str,
    },
    /// The command continues a handshake and none is pending.
    NotPending {
        /// The command.
        command: Command,
    },
    /// The token is not base64.
    BadBase64 {
        /// The command.
        command: Command,
        /// The decoder's error.
        source: Base64Error,
    },
}

impl RequestError {
    /// The unknown-command error for the first word of `line`.
    pub fn unknown(word: &[u8], expected: &'static str) -> Self {
        Self::UnknownCommand {
            shown: show(word),
            expected,
        }
    }
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownCommand { shown, expected } => {
                write!(f, "unknown request {shown:?}: expected {expected}")
            }
            Self::MissingToken { command, what } => write!(f, "{command} without {what}"),
            Self::NotPending { command } => {
                write!(f, "{command} without a pending handshake (YR first)")
            }
            Self::BadBase64 { command, source } => write!(f, "{command}: {source}"),
        }
    }
}

impl Error for RequestError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            Self::BadBase64 { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// The token of `command`'s argument: present and base64.
pub fn token(
    command: Command,
    argument: &[u8],
    what: &'static str,
) -> Result<Vec<u8>, RequestError> {
    if argument.is_empty() {
        return Err(RequestError::MissingToken { command, what });
    }
    base64_decode(argument).map_err(|source| RequestError::BadBase64 { command, source })
}

/// A verifying helper's reply (Squid's `squid-2.5-ntlmssp` and `auth_param negotiate`
/// protocols).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ServerReply {
    /// `TT <token>`: the handshake continues with this token to the client.
    Continue(Vec<u8>),
    /// `AF [<token>] <account>`: logged on. The Negotiate protocol carries the final token,
    /// the NTLMSSP one none.
    Accepted {
        /// The final token, for the Negotiate protocol.
        token: Option<Vec<u8>>,
        /// `DOMAIN\user` (or `user`), free of whitespace and control characters.
        account: String,
    },
    /// `NA [<token>] <reason>`: the logon is refused; the Negotiate protocol carries a
    /// SPNEGO reject token.
    Refused {
        /// The reject token, for the Negotiate protocol.
        token: Option<Vec<u8>>,
        /// What Squid may show the client (never whether an account exists).
        reason: String,
    },
    /// `BH <reason>`: the request is broken (Squid takes it for a helper failure).
    Broken(String),
}

impl ServerReply {
    /// `BH` with `error`'s text.
    pub fn broken(error: impl fmt::Display) -> Self {
        Self::Broken(error.to_string())
    }
}

impl From<RequestError> for ServerReply {
    fn from(e: RequestError) -> Self {
        Self::broken(e)
    }
}

impl fmt::Display for ServerReply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let with_token =
            |f: &mut fmt::Formatter<'_>, code: &str, token: &Option<Vec<u8>>| match token {
                Some(t) => write!(f, "{code} {} ", base64_encode(t)),
                None => write!(f, "{code} "),
            };
        match self {
            Self::Continue(t) => write!(f, "TT {}", base64_encode(t)),
            Self::Accepted { token, account } => {
                with_token(f, "AF", token)?;
                f.write_str(&one_line(account))
            }
            Self::Refused { token, reason } => {
                with_token(f, "NA", token)?;
                f.write_str(&one_line(reason))
            }
            Self::Broken(reason) => write!(f, "BH {}", one_line(reason)),
        }
    }
}

/// What a verifying helper's `handle` decided ([`NtlmsspHelper`](super::NtlmsspHelper),
/// [`NegotiateHelper`](super::NegotiateHelper)).
#[derive(Debug)]
#[non_exhaustive]
pub enum HelperStep {
    /// Write this reply line.
    Reply(ServerReply),
    /// Pass-through (MS-APDS §3.1.5.2): ask the DC
    /// ([`DcClient::logon`](crate::netlogon::DcClient::logon)) and give its answer to the
    /// helper's `dc_answer`, whose reply answers this request.
    AskDc(NetworkLogonRequest),
}

/// The client helper's reply (Samba's `ntlmssp-client-1` protocol).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientReply {
    /// `YR <NEGOTIATE>`.
    Negotiate(Vec<u8>),
    /// `AF <AUTHENTICATE>` (as `ntlm_auth` 4.x answers `TT`; curl and Firefox accept it).
    Authenticate(Vec<u8>),
    /// `BH <reason>`.
    Broken(String),
}

impl ClientReply {
    /// `BH` with `error`'s text.
    pub fn broken(error: impl fmt::Display) -> Self {
        Self::Broken(error.to_string())
    }
}

impl From<RequestError> for ClientReply {
    fn from(e: RequestError) -> Self {
        Self::broken(e)
    }
}

impl fmt::Display for ClientReply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Negotiate(t) => write!(f, "YR {}", base64_encode(t)),
            Self::Authenticate(t) => write!(f, "AF {}", base64_encode(t)),
            Self::Broken(reason) => write!(f, "BH {}", one_line(reason)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines() {
        assert_eq!(
            ServerReply::Continue(b"NTL".to_vec()).to_string(),
            "TT TlRM"
        );
        let af = ServerReply::Accepted {
            token: None,
            account: "CORP\\alice".into(),
        };
        assert_eq!(af.to_string(), "AF CORP\\alice");
        let af = ServerReply::Accepted {
            token: Some(b"NTL".to_vec()),
            account: "alice".into(),
        };
        assert_eq!(af.to_string(), "AF TlRM alice");
        let na = ServerReply::Refused {
            token: Some(b"NTL".to_vec()),
            reason: "no\nway".into(),
        };
        assert_eq!(na.to_string(), "NA TlRM no way");
        assert_eq!(ServerReply::broken("x\ry").to_string(), "BH x y");
        assert_eq!(
            ClientReply::Negotiate(b"NTL".to_vec()).to_string(),
            "YR TlRM"
        );
        assert_eq!(
            ClientReply::Authenticate(b"NTL".to_vec()).to_string(),
            "AF TlRM"
        );
    }

    #[test]
    fn request_errors() {
        let e = RequestError::unknown(b"he\nllo", "YR or KK");
        assert_eq!(
            e.to_string(),
            "unknown request \"he\\\\nllo\": expected YR or KK"
        );
        assert_eq!(
            token(Command::Yr, b"", "a NEGOTIATE token")
                .unwrap_err()
                .to_string(),
            "YR without a NEGOTIATE token"
        );
        let bad = token(Command::Kk, b"!!", "a token").unwrap_err();
        assert!(bad.to_string().starts_with("KK: bad base64: "), "{bad}");
        assert!(bad.source().is_some());
        assert_eq!(
            RequestError::NotPending {
                command: Command::Tt
            }
            .to_string(),
            "TT without a pending handshake (YR first)"
        );
        assert_eq!(
            Command::parse(b"KK", &[Command::Yr, Command::Kk]),
            Some(Command::Kk)
        );
        assert_eq!(Command::parse(b"TT", &[Command::Yr, Command::Kk]), None);
    }
}
