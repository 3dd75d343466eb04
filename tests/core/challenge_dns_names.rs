//! The CHALLENGE's TargetInfo carries MsvAvDnsDomainName and MsvAvDnsComputerName by
//! default, as Windows and Samba always send them (MS-NLMP §2.2.2.1, §3.2.5.1.1): some
//! clients (an unpatched impacket NTLMv2 client) fail without them.

use std::sync::Arc;
use std::time::SystemTime;

use ntlm::client::{ClientConfig, ClientContext};
use ntlm::guard::ReflectionGuard;
use ntlm::policy::{LmCompatibilityLevel, ServerPolicy};
use ntlm::server::{ServerConfig, ServerContext};
use ntlm::store::MemoryStore;
use ntlm::wire::{AvId, AvPair, ChallengeMessage};

fn challenge_of(config: ServerConfig) -> Vec<u8> {
    let mut config = config;
    config.reflection_guard = Some(Arc::new(ReflectionGuard::new(
        std::time::Duration::from_secs(60),
    )));
    let mut server = ServerContext::new(Arc::new(config));
    let mut cc = ClientConfig::new(LmCompatibilityLevel::L3, "CORP", "alice", "Secret1");
    cc.reflection_guard = Some(Arc::new(ReflectionGuard::new(
        std::time::Duration::from_secs(60),
    )));
    let mut client = ClientContext::new(cc);
    server
        .challenge(&client.negotiate().unwrap(), SystemTime::now())
        .unwrap()
}

fn dns_names(challenge: &[u8]) -> (Option<String>, Option<String>) {
    let c = ChallengeMessage::decode(challenge).unwrap();
    let info = c.target_info.expect("target info");
    let domain = match info.get(AvId::DnsDomainName) {
        Some(AvPair::DnsDomainName(s)) => Some(s.to_string_lossy()),
        _ => None,
    };
    let computer = match info.get(AvId::DnsComputerName) {
        Some(AvPair::DnsComputerName(s)) => Some(s.to_string_lossy()),
        _ => None,
    };
    (domain, computer)
}

fn config() -> ServerConfig {
    let mut store = MemoryStore::new();
    store.add_password("CORP", "alice", "Secret1");
    ServerConfig::new(
        ServerPolicy::domain_controller(LmCompatibilityLevel::L5),
        store,
    )
}

#[test]
fn sent_by_default() {
    let (domain, computer) = dns_names(&challenge_of(config()));
    assert_eq!(domain.as_deref(), Some("domain"));
    let computer = computer.expect("MsvAvDnsComputerName");
    assert!(computer.contains('.'), "{computer:?} is not a DNS name");
    assert_eq!(
        ServerConfig::default_dns_names("DOMAIN", "SERVER"),
        ("domain".to_string(), computer)
    );
}

#[test]
fn configured_names_are_sent_and_empty_ones_are_not() {
    let mut c = config();
    c.dns_domain = "corp.example".into();
    c.dns_computer = "web1.corp.example".into();
    assert_eq!(
        dns_names(&challenge_of(c)),
        (
            Some("corp.example".into()),
            Some("web1.corp.example".into())
        )
    );
    let mut c = config();
    c.dns_domain.clear();
    c.dns_computer.clear();
    assert_eq!(dns_names(&challenge_of(c)), (None, None));
}

#[test]
fn default_names_follow_the_netbios_domain() {
    let (domain, computer) = ServerConfig::default_dns_names("CORP", "WEB1");
    assert_eq!(domain, "corp");
    assert!(
        computer.ends_with(".corp") || computer.contains('.'),
        "{computer}"
    );
    assert_eq!(computer, computer.to_lowercase());
}
