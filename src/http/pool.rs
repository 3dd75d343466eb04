//! A pool of authenticated HTTP connections (feature `hyper`), keyed by where they go (the
//! origin, and the proxy they go through) and by the credentials that logged them on.
//!
//! NTLM and Negotiate authenticate a connection, not a request (MS-NLMP §3.1 over HTTP), so
//! a connection kept after its handshake serves later requests without a new logon. The
//! pool hands out such a connection when it has one for the same key; a connection the peer
//! has closed is dropped and replaced by a new one (a new handshake). A logon the peer
//! refused is remembered for the key: later requests get the same refusal without sending
//! the password again, until [`ClientPool::forget_refusal`] (so a stale password cannot lock
//! the account by itself).
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use ntlm::client::ClientConfig;
//! use ntlm::http::hyper_client::ClientOptions;
//! use ntlm::http::pool::ClientPool;
//! use ntlm::policy::LmCompatibilityLevel;
//! let mut options = ClientOptions::new(ClientConfig::new(LmCompatibilityLevel::L3, "CORP", "alice", "Secret1"));
//! // HTTPS through a proxy that asks for NTLM: CONNECT, TLS, then the origin's own logon.
//! options.proxy = Some("http://proxy.corp.example:8080".into());
//! let pool = ClientPool::default();
//! for _ in 0..3 {
//!     // One proxy logon and one origin logon in all: later requests reuse the connection.
//!     let response = pool.get("https://intranet.corp.example/reports", &options).await?;
//!     println!("{}", response.status);
//! }
//! # Ok(()) }
//! ```

use std::collections::HashMap;
use std::sync::Mutex;

use hmac::{KeyInit, Mac};
use sha2::Sha256;

use crate::client::ClientCredentials;

use super::auth::{ClientAuthError, HandshakeStep};
use super::hyper_client::{AuthClient, ClientOptions, HttpClientError, HttpResponse};

/// Which connections may serve a request: same origin, same proxy, same credentials.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PoolKey {
    /// `scheme://authority` of the origin.
    pub origin: String,
    /// The proxy, if any.
    pub proxy: Option<String>,
    /// `DOMAIN\user` (empty for anonymous).
    pub account: String,
    /// The client level.
    pub level: u8,
    /// HMAC-SHA256 of the secret under the pool's random key: tells credentials apart without
    /// keeping a reusable copy of them.
    fingerprint: [u8; 32],
}

/// Authenticated connections for reuse.
pub struct ClientPool {
    idle: Mutex<HashMap<PoolKey, Vec<AuthClient>>>,
    refused: Mutex<HashMap<PoolKey, (bool, ClientAuthError)>>,
    key: zeroize::Zeroizing<[u8; 32]>,
    max_idle: usize,
}

impl core::fmt::Debug for ClientPool {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ClientPool")
            .field("max_idle", &self.max_idle)
            .finish_non_exhaustive()
    }
}

impl Default for ClientPool {
    fn default() -> Self {
        Self::new(8)
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// True for a logon the peer refused (not a protocol or transport failure).
fn is_refusal(e: &ClientAuthError) -> bool {
    matches!(
        e,
        ClientAuthError::Refused {
            step: HandshakeStep::Authenticate,
            ..
        }
    )
}

impl ClientPool {
    /// A pool keeping at most `max_idle` idle connections per key.
    pub fn new(max_idle: usize) -> Self {
        let mut key = zeroize::Zeroizing::new([0u8; 32]);
        rand::fill(&mut key[..]);
        Self {
            idle: Mutex::default(),
            refused: Mutex::default(),
            key,
            max_idle,
        }
    }

    /// The key of a request to `origin` (`scheme://authority`) with `options`.
    pub fn key(&self, origin: &str, options: &ClientOptions) -> PoolKey {
        let mut mac = <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(&self.key[..])
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        let account = match &options.ntlm.credentials {
            ClientCredentials::Password {
                domain,
                user,
                password,
            } => {
                mac.update(b"password\0");
                mac.update(password.expose().as_bytes());
                format!("{domain}\\{user}")
            }
            ClientCredentials::Hash {
                domain,
                user,
                nt_hash,
                ..
            } => {
                mac.update(b"nt-hash\0");
                mac.update(nt_hash.as_bytes());
                format!("{domain}\\{user}")
            }
            ClientCredentials::NtlmV2Hash {
                domain,
                user,
                ntlmv2_hash,
            } => {
                mac.update(b"ntlmv2-hash\0");
                mac.update(ntlmv2_hash.as_bytes());
                format!("{domain}\\{user}")
            }
            ClientCredentials::Anonymous => String::new(),
        };
        mac.update(account.as_bytes());
        PoolKey {
            origin: origin.to_string(),
            proxy: options.proxy.clone(),
            account,
            level: options.ntlm.policy.level.get(),
            fingerprint: mac.finalize().into_bytes().into(),
        }
    }

    /// Idle connections kept for `key`.
    pub fn idle(&self, key: &PoolKey) -> usize {
        lock(&self.idle).get(key).map_or(0, Vec::len)
    }

    /// Lets a refused password be tried again for `key` (after the user changed it).
    pub fn forget_refusal(&self, key: &PoolKey) {
        lock(&self.refused).remove(key);
    }

    fn checkout(&self, key: &PoolKey) -> Option<AuthClient> {
        let mut idle = lock(&self.idle);
        let list = idle.get_mut(key)?;
        while let Some(client) = list.pop() {
            if !client.is_closed() {
                return Some(client);
            }
        }
        None
    }

    fn checkin(&self, key: PoolKey, client: AuthClient) {
        if client.is_closed() {
            return;
        }
        let mut idle = lock(&self.idle);
        let list = idle.entry(key).or_default();
        if list.len() < self.max_idle {
            list.push(client);
        }
    }

    /// GETs `url` with `options`, on a pooled connection for the same origin, proxy and
    /// credentials when there is one (no new handshake), else on a new one. A pooled
    /// connection that fails before answering is replaced once by a new connection.
    pub async fn get(
        &self,
        url: &str,
        options: &ClientOptions,
    ) -> Result<HttpResponse, HttpClientError> {
        let uri: ::hyper::Uri = url
            .parse()
            .map_err(|e| HttpClientError::Url(format!("{e}")))?;
        let (Some(scheme), Some(authority)) = (uri.scheme_str(), uri.authority()) else {
            return Err(HttpClientError::Url(
                "an absolute http:// or https:// URL".into(),
            ));
        };
        let origin = format!("{scheme}://{authority}");
        let path = uri.path_and_query().map_or("/", |p| p.as_str()).to_string();
        let key = self.key(&origin, options);
        if let Some((proxy, e)) = lock(&self.refused).get(&key).cloned() {
            return Err(if proxy {
                HttpClientError::Proxy(e)
            } else {
                HttpClientError::Server(e)
            });
        }
        if let Some(mut client) = self.checkout(&key) {
            match client.get(&path).await {
                Ok(r) => {
                    self.checkin(key, client);
                    return Ok(r);
                }
                // The peer closed the pooled connection: a new one below.
                Err(e) if e.is_transport() && client.is_closed() => {}
                Err(e) => return Err(self.remember(&key, e)),
            }
        }
        let mut client = AuthClient::connect(&origin, options.clone())
            .await
            .map_err(|e| self.remember(&key, e))?;
        let response = client
            .get(&path)
            .await
            .map_err(|e| self.remember(&key, e))?;
        self.checkin(key, client);
        Ok(response)
    }

    fn remember(&self, key: &PoolKey, e: HttpClientError) -> HttpClientError {
        match &e {
            HttpClientError::Proxy(a) if is_refusal(a) => {
                lock(&self.refused).insert(key.clone(), (true, a.clone()));
            }
            HttpClientError::Server(a) if is_refusal(a) => {
                lock(&self.refused).insert(key.clone(), (false, a.clone()));
            }
            _ => {}
        }
        e
    }
}
