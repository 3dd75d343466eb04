//! The logon gate: how many upstream logons the password may cause.
//!
//! Until a logon has succeeded, one handshake at a time runs (the others wait for its
//! verdict), so a wrong or stale password costs exactly one logon attempt upstream. A refused
//! logon closes the gate for the back-off: every request that would need a new handshake gets
//! the refusal and its reason instead, and the password is not tried again until the back-off
//! has passed (or the proxy restarts with another configuration). Once a logon has succeeded,
//! handshakes run in parallel.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

#[derive(Clone, Debug)]
enum State {
    /// No verdict yet (or the back-off has passed): one probe at a time.
    Unknown,
    /// A logon succeeded.
    Verified,
    /// A logon was refused.
    Refused { until: Instant, reason: String },
}

/// Shared by every connection of one configuration.
#[derive(Debug)]
pub struct Gate {
    state: Mutex<State>,
    probe: std::sync::Arc<AsyncMutex<()>>,
    backoff: Duration,
}

/// Why the gate is closed.
#[derive(Clone, Debug)]
pub struct Closed {
    /// The upstream's refusal.
    pub reason: String,
    /// Until the back-off ends.
    pub retry_in: Duration,
}

/// Permission for one handshake; report its verdict with [`Ticket::verdict`]. Dropped without
/// a verdict (connection failure), the next waiting handshake becomes the probe.
#[derive(Debug)]
pub struct Ticket<'g> {
    gate: &'g Gate,
    _probe: Option<OwnedMutexGuard<()>>,
}

impl Gate {
    /// A gate that stays closed for `backoff` after a refusal.
    pub fn new(backoff: Duration) -> Self {
        Self {
            state: Mutex::new(State::Unknown),
            probe: std::sync::Arc::new(AsyncMutex::new(())),
            backoff,
        }
    }

    fn current(&self, now: Instant) -> Result<bool, Closed> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        match &*state {
            State::Verified => Ok(true),
            State::Refused { until, reason } if now < *until => Err(Closed {
                reason: reason.clone(),
                retry_in: *until - now,
            }),
            State::Refused { .. } => {
                *state = State::Unknown;
                Ok(false)
            }
            State::Unknown => Ok(false),
        }
    }

    /// Waits for permission to run a handshake, or says why the gate is closed.
    pub async fn enter(&self) -> Result<Ticket<'_>, Closed> {
        if self.current(Instant::now())? {
            return Ok(Ticket {
                gate: self,
                _probe: None,
            });
        }
        let guard = self.probe.clone().lock_owned().await;
        // The verdict of the probe we waited for decides.
        if self.current(Instant::now())? {
            return Ok(Ticket {
                gate: self,
                _probe: None,
            });
        }
        Ok(Ticket {
            gate: self,
            _probe: Some(guard),
        })
    }

    /// The refusal in force, if any.
    pub fn closed(&self) -> Option<Closed> {
        self.current(Instant::now()).err()
    }
}

impl Ticket<'_> {
    /// Records the handshake's verdict: `Ok` for a logon accepted, `Err(reason)` for one the
    /// upstream refused.
    pub fn verdict(self, result: Result<(), String>) {
        let mut state = self.gate.state.lock().unwrap_or_else(|p| p.into_inner());
        *state = match result {
            Ok(()) => State::Verified,
            Err(reason) => State::Refused {
                until: Instant::now() + self.gate.backoff,
                reason,
            },
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn one_probe_then_closed() {
        let gate = std::sync::Arc::new(Gate::new(Duration::from_secs(60)));
        let first = gate.enter().await.unwrap();
        // A second handshake waits for the first one's verdict.
        let g2 = gate.clone();
        let waiter =
            tokio::spawn(async move { g2.enter().await.map(|_| ()).map_err(|c| c.reason) });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiter.is_finished());
        first.verdict(Err("wrong password".into()));
        assert_eq!(waiter.await.unwrap(), Err("wrong password".into()));
        assert!(gate.closed().is_some());
    }

    #[tokio::test]
    async fn verified_runs_in_parallel_and_backoff_reopens() {
        let gate = Gate::new(Duration::from_millis(30));
        gate.enter().await.unwrap().verdict(Ok(()));
        let a = gate.enter().await.unwrap();
        let b = gate.enter().await.unwrap();
        b.verdict(Err("changed".into()));
        drop(a);
        assert!(gate.enter().await.is_err());
        tokio::time::sleep(Duration::from_millis(40)).await;
        let probe = gate.enter().await.unwrap();
        assert!(probe._probe.is_some());
        // A probe dropped without a verdict lets the next one through.
        drop(probe);
        assert!(gate.enter().await.unwrap()._probe.is_some());
    }
}
