//! The helpers' stdin/stdout side: the line loop of [`ntlm::helper::serve`] on the
//! process's standard streams, their `tracing` output, and the closing counters.

use std::io;
use std::process::ExitCode;

use ntlm::metrics::MetricsSnapshot;

/// Runs [`ntlm::helper::serve`] on the process's stdin and stdout and turns the outcome
/// into the exit status: success at end of input, failure (with a message naming
/// `command`) on an I/O error.
pub fn serve_stdio(command: &str, handle: impl FnMut(&[u8]) -> String) -> ExitCode {
    match ntlm::helper::serve(io::stdin().lock(), io::stdout().lock(), handle) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ntlm {command}: I/O error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Sends the helpers' `tracing` events (INFO and above) to stderr, which Squid writes to
/// its cache.log; stdout stays the protocol's.
pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_writer(io::stderr)
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .try_init();
}

/// Logs a helper's decision counters at end of input.
pub fn log_counters(command: &str, s: &MetricsSnapshot) {
    tracing::info!(
        accepted = s.accepted_total(),
        refused = s.refused_total(),
        audit_would_refuse = s.would_refuse_total(),
        detail = %counters(s),
        "{command}: end of input"
    );
}

/// The non-zero counters of a snapshot, on one line.
fn counters(s: &MetricsSnapshot) -> String {
    let accepted = s
        .accepted_by_kind
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(k, n)| format!("accepted {k:?}={n}"));
    let refused = s
        .refused_by_rule
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(r, n)| format!("refused {r}={n}"));
    let audit = s
        .audit_would_refuse
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(k, n)| format!("audit would refuse {k}={n}"));
    accepted
        .chain(refused)
        .chain(audit)
        .collect::<Vec<_>>()
        .join("; ")
}
