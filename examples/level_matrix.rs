//! Every client LmCompatibilityLevel (0–5) against every server level (0–5), with and
//! without extended session security offered by the server: real handshakes through the
//! sans-IO contexts, and what the server decided and why.
//!
//! ```text
//! cargo run --example level_matrix
//! ```

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use ntlm::classify::classify;
use ntlm::client::{ClientConfig, ClientContext};
use ntlm::guard::ReflectionGuard;
use ntlm::policy::{LmCompatibilityLevel, ServerPolicy, ServerPreset};
use ntlm::server::{ServerConfig, ServerContext};
use ntlm::store::MemoryStore;
use ntlm::wire::AuthenticateMessage;

struct Cell {
    sent: String,
    outcome: Result<String, String>,
}

/// A client row: a level, optionally as a legacy LM-only client.
#[derive(Clone, Copy)]
struct Row {
    level: LmCompatibilityLevel,
    lm_only: bool,
}

fn handshake(row: Row, policy: ServerPolicy) -> Cell {
    let mut users = MemoryStore::new();
    users.add_password("CORP", "alice", "Secret1");
    let mut config = ServerConfig::new(policy, users);
    // Client and server play two machines here: each has its own reflection guard.
    config.reflection_guard = Some(Arc::new(ReflectionGuard::new(Duration::from_secs(60))));
    let mut server = ServerContext::new(Arc::new(config));
    let mut client_config = ClientConfig::new(row.level, "CORP", "alice", "Secret1");
    client_config.policy.send_nt_response = !row.lm_only;
    client_config.reflection_guard = Some(Arc::new(ReflectionGuard::new(Duration::from_secs(60))));
    let mut client = ClientContext::new(client_config);

    let now = SystemTime::now();
    let negotiate = client.negotiate().expect("negotiate");
    let challenge = server.challenge(&negotiate, now).expect("challenge");
    let authenticate = client.authenticate(&challenge, now).expect("authenticate");

    let message = AuthenticateMessage::decode(&authenticate).expect("our own AUTHENTICATE");
    let kinds = classify(&message);
    let sent = format!(
        "{} / {}{}",
        kinds.lm,
        kinds.nt,
        if message.mic.is_some() { ", MIC" } else { "" }
    );
    let outcome = match server.accept(&authenticate, now) {
        Ok(logon) => Ok(format!("{:?}", logon.verified)),
        Err(refusal) => Err(refusal.to_string()),
    };
    Cell { sent, outcome }
}

fn table(title: &str, preset: ServerPreset, offer_ess: bool) {
    println!("\n{title}");
    print!("  {:<10}{:<30}", "client", "sends (LM field / NT field)");
    for s in LmCompatibilityLevel::ALL {
        print!("{:<9}", format!("srv L{s}"));
    }
    println!();
    let mut refusals = Vec::new();
    let mut differs = Vec::new();
    let rows = LmCompatibilityLevel::ALL
        .into_iter()
        .map(|level| Row {
            level,
            lm_only: false,
        })
        .chain([Row {
            level: LmCompatibilityLevel::L0,
            lm_only: true,
        }]);
    for row in rows {
        let c = row.level;
        let name = if row.lm_only {
            format!("L{c} legacy")
        } else {
            format!("L{c}")
        };
        let cells: Vec<(LmCompatibilityLevel, Cell)> = LmCompatibilityLevel::ALL
            .into_iter()
            .map(|s| {
                let mut policy = ServerPolicy::new(preset, s);
                policy.offer_ess &= offer_ess;
                (s, handshake(row, policy))
            })
            .collect();
        // What the client sent depends on the CHALLENGE (ESS offered or not, a timestamp):
        // the column shows what it sent to most servers, and a `*` marks a cell where it
        // sent something else, named under the table.
        let sent = most_common(cells.iter().map(|(_, cell)| cell.sent.as_str()));
        let mut line = String::new();
        for (s, cell) in &cells {
            let mark = if cell.sent == sent { "" } else { "*" };
            let text = match &cell.outcome {
                Ok(how) => format!("ok {}{mark}", short(how)),
                Err(why) => {
                    refusals.push(format!("client {name} -> server L{s}: {why}"));
                    format!("REFUSED{mark}")
                }
            };
            line.push_str(&format!("{text:<9}"));
            if !mark.is_empty() {
                differs.push(format!("* client {name} -> server L{s} sent {}", cell.sent));
            }
        }
        println!("  {:<10}{:<30}{}", name, sent, line);
    }
    for d in differs {
        println!("    {d}");
    }
    for r in refusals {
        println!("    {r}");
    }
}

/// The value that occurs most often (the first of equals).
fn most_common<'a>(values: impl Iterator<Item = &'a str> + Clone) -> String {
    let mut best = ("", 0);
    for v in values.clone() {
        let n = values.clone().filter(|w| *w == v).count();
        if n > best.1 {
            best = (v, n);
        }
    }
    best.0.to_string()
}

fn short(verified: &str) -> &str {
    match verified {
        "NtlmV2" => "v2",
        "Ess" => "ESS",
        "NtlmV1" => "v1",
        "LmOnly" => "LM",
        "LmV2Only" => "LMv2",
        other => other,
    }
}

fn main() {
    println!("ntlm level matrix: real handshakes, client CORP\\alice with the right password.");
    println!("Cells: ok <response verified> or REFUSED (the rule is listed under each table).");
    table(
        "Domain-controller policy, server offers extended session security (ESS):",
        ServerPreset::DomainController,
        true,
    );
    table(
        "Domain-controller policy, server withholds ESS:",
        ServerPreset::DomainController,
        false,
    );
    table(
        "Symmetric policy (accepts only what a client at its own level sends), ESS offered:",
        ServerPreset::Symmetric,
        true,
    );
    println!(
        "\nLM field kinds: LM = DESL(LM hash), NT copy = copy of the NTLMv1 response (level 2),"
    );
    println!(
        "CC+Z(16) = client challenge under ESS, Z(24) = NTLMv2 with a server timestamp (MIC sent)."
    );
}
