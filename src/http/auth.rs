//! Sans-IO HTTP authentication with `NTLM` and `Negotiate` (NTLM inside SPNEGO).
//!
//! Both schemes authenticate a *connection*: NEGOTIATE, CHALLENGE and AUTHENTICATE must
//! travel on one kept-alive connection, and the server then serves every later request on
//! it without asking again (this is how IIS and http.sys behave).
//!
//! [`ClientAuth`] is fed each response (status, challenge headers, whether the connection
//! stays open) and answers with the next `Authorization` value or how it ended.
//! [`ServerAuth`] is fed each request's `Authorization` values and answers with what to do;
//! with the `netlogon` feature it can let a domain controller verify the logon, under `NTLM`
//! and `Negotiate` alike (`ServerAuth::on_request_pass_through`, `ServerAuth::on_dc_answer`).
//! The client lives in `auth/client.rs`, the server in `auth/server.rs`; the [`Scheme`] and
//! [`Target`] they share, here.
//!
//! ```
//! use std::{sync::Arc, time::{Duration, SystemTime}};
//! use ntlm::client::ClientConfig;
//! use ntlm::guard::ReflectionGuard;
//! use ntlm::http::auth::*;
//! use ntlm::policy::{LmCompatibilityLevel as L, ServerPolicy};
//! use ntlm::server::ServerConfig;
//! use ntlm::store::MemoryStore;
//!
//! let guard = || Some(Arc::new(ReflectionGuard::new(Duration::from_secs(60))));
//! let mut users = MemoryStore::new();
//! users.add_password("CORP", "alice", "Secret1");
//! let mut server_config = ServerConfig::new(ServerPolicy::domain_controller(L::L5), users);
//! server_config.reflection_guard = guard();
//! let mut server = ServerAuth::new(Arc::new(server_config), ServerAuthOptions::default());
//! let mut client_config = ClientConfig::new(L::L3, "CORP", "alice", "Secret1");
//! client_config.reflection_guard = guard();
//! let mut client = ClientAuth::new(client_config, ClientAuthOptions::default());
//! let now = SystemTime::now();
//!
//! let mut authorization: Vec<String> = Vec::new();
//! loop {
//!     match server.on_request(&authorization, now) {
//!         ServerDecision::Serve { principal, .. } => { assert_eq!(principal.qualified(), "CORP\\alice"); break; }
//!         ServerDecision::Challenge { status, headers, .. } => {
//!             let values: Vec<String> = headers.into_iter().map(|(_, v)| v).collect();
//!             match client.on_response(status, &values, true, now).unwrap() {
//!                 ClientStep::Authorize { value, .. } => authorization = vec![value],
//!                 ClientStep::Done(_) => unreachable!(),
//!             }
//!         }
//!     }
//! }
//! ```

use core::fmt;

mod client;
mod server;

pub use client::{
    ClientAuth, ClientAuthError, ClientAuthOptions, ClientStep, Completed, HandshakeStep,
};
#[cfg(feature = "netlogon")]
pub use server::PassThroughDecision;
pub use server::{Principal, ServerAuth, ServerAuthOptions, ServerAuthRefusal, ServerDecision};

/// An HTTP authentication scheme this crate speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Scheme {
    /// `Negotiate` (RFC 4559): NTLM inside SPNEGO.
    Negotiate,
    /// `NTLM`: raw NTLM messages.
    Ntlm,
}

impl Scheme {
    /// The scheme's name in headers.
    pub fn name(self) -> &'static str {
        match self {
            Self::Negotiate => "Negotiate",
            Self::Ntlm => "NTLM",
        }
    }

    pub(super) fn parse(name: &str) -> Option<Self> {
        if name.eq_ignore_ascii_case("negotiate") {
            Some(Self::Negotiate)
        } else if name.eq_ignore_ascii_case("ntlm") {
            Some(Self::Ntlm)
        } else {
            None
        }
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Who is authenticating the client: the origin server or a proxy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Target {
    /// 401, `WWW-Authenticate`, `Authorization`.
    #[default]
    Server,
    /// 407, `Proxy-Authenticate`, `Proxy-Authorization`.
    Proxy,
}

impl Target {
    /// The status that asks for authentication.
    pub fn status(self) -> u16 {
        match self {
            Self::Server => 401,
            Self::Proxy => 407,
        }
    }

    /// The header carrying challenges.
    pub fn challenge_header(self) -> &'static str {
        match self {
            Self::Server => "WWW-Authenticate",
            Self::Proxy => "Proxy-Authenticate",
        }
    }

    /// The header carrying credentials.
    pub fn authorization_header(self) -> &'static str {
        match self {
            Self::Server => "Authorization",
            Self::Proxy => "Proxy-Authorization",
        }
    }
}
