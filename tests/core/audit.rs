//! Audit mode end to end (sans-IO): a logon accepted at the configured level that the audit
//! level would refuse is accepted, reported on `Authenticated::audit`, and counted.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use ntlm::client::{ClientConfig, ClientContext};
use ntlm::guard::ReflectionGuard;
use ntlm::metrics::Metrics;
use ntlm::policy::{LmCompatibilityLevel as L, RefusedKind, ServerPolicy, Verify};
use ntlm::server::{Authenticated, Refusal, ServerConfig, ServerContext};
use ntlm::store::MemoryStore;

fn guard() -> Option<Arc<ReflectionGuard>> {
    Some(Arc::new(ReflectionGuard::new(Duration::from_secs(60))))
}

fn logon(policy: ServerPolicy, client_level: L, password: &str) -> Result<Authenticated, Refusal> {
    let mut users = MemoryStore::new();
    users.add_password("CORP", "alice", "Secret1");
    let mut config = ServerConfig::new(policy, users);
    config.reflection_guard = guard();
    let mut server = ServerContext::new(Arc::new(config));
    let mut client_config = ClientConfig::new(client_level, "CORP", "alice", password);
    client_config.reflection_guard = guard();
    let mut client = ClientContext::new(client_config);
    let now = SystemTime::now();
    let challenge = server.challenge(&client.negotiate().unwrap(), now).unwrap();
    server.accept(&client.authenticate(&challenge, now).unwrap(), now)
}

#[test]
fn ntlmv1_at_level_2_with_audit_level_5_is_accepted_and_reported() {
    let metrics = Metrics::new();
    // Without ESS a level-2 client sends plain NTLMv1.
    let mut policy = ServerPolicy::domain_controller(L::L2);
    policy.offer_ess = false;
    policy.audit_level = Some(L::L5);
    let accepted = logon(policy.clone(), L::L2, "Secret1").expect("level 2 accepts NTLMv1");
    assert_eq!(accepted.verified, Verify::NtlmV1);
    let finding = accepted.audit.expect("level 5 would refuse NTLMv1");
    assert_eq!(finding.refused, RefusedKind::NtlmV1);
    assert_eq!(finding.level, L::L5);
    assert_eq!(finding.to_string(), "NTLMv1 refused by server level 5");
    metrics.record_accepted(accepted.verified, accepted.audit.as_ref());

    // The same policy without audit: accepted, nothing reported.
    let mut quiet = policy.clone();
    quiet.audit_level = None;
    let plain = logon(quiet, L::L2, "Secret1").unwrap();
    assert_eq!(plain.audit, None);
    metrics.record_accepted(plain.verified, plain.audit.as_ref());

    // NTLMv2 passes the audit level.
    let v2 = logon(policy.clone(), L::L3, "Secret1").unwrap();
    assert_eq!((v2.verified, v2.audit), (Verify::NtlmV2, None));
    metrics.record_accepted(v2.verified, v2.audit.as_ref());

    // With ESS offered the finding names NTLMv1-ESS.
    policy.offer_ess = true;
    let ess = logon(policy.clone(), L::L2, "Secret1").unwrap();
    assert_eq!(ess.audit.map(|f| f.refused), Some(RefusedKind::Ess));
    metrics.record_accepted(ess.verified, ess.audit.as_ref());

    // Audit changes no decision: a wrong password is still refused.
    let refused = logon(policy, L::L2, "wrong").unwrap_err();
    assert!(matches!(refused, Refusal::BadPassword { .. }), "{refused}");
    metrics.record_refusal(&refused);

    let snap = metrics.snapshot();
    assert_eq!(snap.accepted(Verify::NtlmV1), 2);
    assert_eq!(snap.accepted(Verify::NtlmV2), 1);
    assert_eq!(snap.accepted(Verify::Ess), 1);
    assert_eq!(snap.accepted_total(), 4);
    assert_eq!(snap.would_refuse(RefusedKind::NtlmV1), 1);
    assert_eq!(snap.would_refuse(RefusedKind::Ess), 1);
    assert_eq!(snap.would_refuse_total(), 2);
    assert_eq!(snap.refused("bad password"), 1);
    assert_eq!(snap.refused_total(), 1);
}

#[test]
fn the_level_still_refuses_what_it_refuses() {
    // Audit level below the configured one: the configured level decides.
    let mut policy = ServerPolicy::domain_controller(L::L5);
    policy.audit_level = Some(L::L2);
    let refused = logon(policy, L::L2, "Secret1").unwrap_err();
    assert!(matches!(refused, Refusal::Policy(_)), "{refused}");
}
