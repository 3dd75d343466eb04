//! The server's CHALLENGE_MESSAGE (MS-NLMP §2.2.1.2, built as §3.2.5.1.1 says), encoded once
//! per [`ServerConfig`] and per kind of answer, then patched per handshake: only
//! NegotiateFlags, ServerChallenge and the MsvAvTimestamp value change between two
//! CHALLENGEs of one server.

use core::ops::Range;
use std::sync::OnceLock;
use std::time::SystemTime;

use super::ServerConfig;
use crate::filetime;
use crate::wire::{
    self, AvId, AvPair, ChallengeMessage, NegotiateFlags as F, TargetInfo, TargetInfoBuilder,
    Version,
};

/// Encodes the CHALLENGE for `flags` from the configuration, every field from scratch
/// (MS-NLMP §3.2.5.1.1): TargetName is the NetBIOS domain, TargetInfo the NetBIOS and (when
/// set) DNS names and, when the policy says so, MsvAvTimestamp; VERSION when `flags` has
/// NTLMSSP_NEGOTIATE_VERSION. [`Template`] reproduces these bytes exactly.
pub(super) fn encode(
    config: &ServerConfig,
    flags: F,
    server_challenge: [u8; 8],
    now: SystemTime,
) -> Vec<u8> {
    let c = config;
    let unicode = flags.contains(F::NEGOTIATE_UNICODE);
    let names_len = [&c.nb_domain, &c.nb_computer, &c.dns_domain, &c.dns_computer]
        .iter()
        .map(|n| 4 + 2 * n.len())
        .sum::<usize>();
    let mut info = TargetInfoBuilder::with_capacity(names_len + 12 + 4);
    info.set_str(AvId::NbDomainName, &c.nb_domain);
    info.set_str(AvId::NbComputerName, &c.nb_computer);
    if !c.dns_domain.is_empty() {
        info.set_str(AvId::DnsDomainName, &c.dns_domain);
    }
    if !c.dns_computer.is_empty() {
        info.set_str(AvId::DnsComputerName, &c.dns_computer);
    }
    if c.policy.send_timestamp {
        info.set(AvPair::Timestamp(filetime::from_system_time(now)));
    }
    let info = info.into_wire();
    let mut target_name = Vec::with_capacity(2 * c.nb_domain.len());
    wire::string_into(&c.nb_domain, unicode, &mut target_name);
    let mut out = ChallengeMessage::new(flags, server_challenge);
    out.target_name = wire::WireString::new(unicode, &target_name);
    out.target_info = TargetInfo::decode(&info).ok();
    out.version = if flags.contains(F::NEGOTIATE_VERSION) {
        c.version
    } else {
        None
    };
    out.encode()
}

/// Where a CHALLENGE's TargetInfo lies (TargetInfoFields at offset 40, MS-NLMP §2.2.1.2);
/// empty when there is none or the fields do not fit the message.
pub(super) fn target_info_range(message: &[u8]) -> Range<usize> {
    let len = message
        .get(40..42)
        .and_then(|b| b.try_into().ok())
        .map_or(0, |b| usize::from(u16::from_le_bytes(b)));
    let offset = message
        .get(44..48)
        .and_then(|b| b.try_into().ok())
        .and_then(|b| usize::try_from(u32::from_le_bytes(b)).ok())
        .unwrap_or(0);
    match offset.checked_add(len) {
        Some(end) if len > 0 && end <= message.len() => offset..end,
        _ => 0..0,
    }
}

/// What a template was built from; a configuration changed since (its fields are public)
/// no longer matches, and its CHALLENGEs are encoded from scratch.
#[derive(PartialEq, Eq)]
struct Inputs {
    nb_domain: String,
    nb_computer: String,
    dns_domain: String,
    dns_computer: String,
    version: Option<Version>,
    send_timestamp: bool,
}

impl Inputs {
    fn of(c: &ServerConfig) -> Self {
        Self {
            nb_domain: c.nb_domain.clone(),
            nb_computer: c.nb_computer.clone(),
            dns_domain: c.dns_domain.clone(),
            dns_computer: c.dns_computer.clone(),
            version: c.version,
            send_timestamp: c.policy.send_timestamp,
        }
    }

    fn matches(&self, c: &ServerConfig) -> bool {
        self.nb_domain == c.nb_domain
            && self.nb_computer == c.nb_computer
            && self.dns_domain == c.dns_domain
            && self.dns_computer == c.dns_computer
            && self.version == c.version
            && self.send_timestamp == c.policy.send_timestamp
    }
}

/// One encoded CHALLENGE, and where its MsvAvTimestamp value is (`None`: not sent).
struct Variant {
    bytes: Vec<u8>,
    timestamp_at: Option<usize>,
}

/// The four CHALLENGEs a configuration can send, by (UNICODE or OEM, VERSION or not), with
/// zero flags, challenge and timestamp.
struct Template {
    inputs: Inputs,
    variants: [Option<Variant>; 4],
}

fn index(flags: F) -> usize {
    usize::from(flags.contains(F::NEGOTIATE_UNICODE)) * 2
        + usize::from(flags.contains(F::NEGOTIATE_VERSION))
}

impl Template {
    fn new(config: &ServerConfig) -> Self {
        let variants = [F::NEGOTIATE_OEM, F::NEGOTIATE_UNICODE].map(|charset| {
            [F::EMPTY, F::NEGOTIATE_VERSION].map(|version| {
                let bytes = encode(config, charset | version, [0; 8], SystemTime::UNIX_EPOCH);
                let info = target_info_range(&bytes);
                // The builder puts MsvAvTimestamp last, just before MsvAvEOL.
                let timestamp_at = info.end.checked_sub(12);
                let pair_header = timestamp_at
                    .and_then(|at| bytes.get(at.checked_sub(4)?..at))
                    .is_some_and(|h| h == [AvId::Timestamp as u8, 0, 8, 0]);
                match (config.policy.send_timestamp, pair_header) {
                    (false, _) => Some(Variant {
                        bytes,
                        timestamp_at: None,
                    }),
                    (true, true) => Some(Variant {
                        bytes,
                        timestamp_at,
                    }),
                    // No timestamp where the builder puts it: encoded each time.
                    (true, false) => None,
                }
            })
        });
        let [[oem, oem_v], [uni, uni_v]] = variants;
        Self {
            inputs: Inputs::of(config),
            variants: [oem, oem_v, uni, uni_v],
        }
    }
}

/// The CHALLENGE template of one [`ServerConfig`], built at its first CHALLENGE (by then the
/// configuration is shared in an `Arc`).
#[derive(Default)]
pub(super) struct ChallengeCache(OnceLock<Template>);

impl ChallengeCache {
    /// The CHALLENGE for `flags`, `server_challenge` and `now`: the template's bytes with
    /// those patched in, or [`encode`]'s when the configuration changed since the template
    /// was built. The same bytes either way.
    pub(super) fn message(
        &self,
        config: &ServerConfig,
        flags: F,
        server_challenge: [u8; 8],
        now: SystemTime,
    ) -> Vec<u8> {
        let template = self.0.get_or_init(|| Template::new(config));
        let variant = template
            .variants
            .get(index(flags))
            .and_then(Option::as_ref)
            .filter(|_| template.inputs.matches(config));
        let Some(variant) = variant else {
            return encode(config, flags, server_challenge, now);
        };
        let mut bytes = variant.bytes.clone();
        let patches: [(usize, &[u8]); 3] = [
            (20, &flags.bits().to_le_bytes()),
            (24, &server_challenge),
            (
                variant.timestamp_at.unwrap_or(bytes.len()),
                &filetime::from_system_time(now).to_le_bytes()[..],
            ),
        ];
        for (at, value) in patches {
            if let Some(field) = at
                .checked_add(value.len())
                .and_then(|end| bytes.get_mut(at..end))
            {
                field.copy_from_slice(value);
            }
        }
        bytes
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::policy::{LmCompatibilityLevel, ServerPolicy};
    use crate::store::MemoryStore;

    fn config(dns: bool, timestamp: bool, version: Option<Version>) -> ServerConfig {
        let level = LmCompatibilityLevel::new(3).unwrap();
        let mut c = ServerConfig::new(ServerPolicy::domain_controller(level), MemoryStore::new());
        c.nb_domain = "CORP".into();
        c.nb_computer = "WEB1".into();
        if dns {
            c.dns_domain = "corp.example.com".into();
            c.dns_computer = "web1.corp.example.com".into();
        } else {
            c.dns_domain.clear();
            c.dns_computer.clear();
        }
        c.policy.send_timestamp = timestamp;
        c.version = version;
        c
    }

    /// Flag sets the server answers with: OEM or UNICODE, with or without VERSION, and
    /// the other bits a CHALLENGE carries.
    fn flag_sets() -> Vec<F> {
        let base = F::NEGOTIATE_NTLM | F::NEGOTIATE_TARGET_INFO | F::TARGET_TYPE_DOMAIN;
        let extra = F::NEGOTIATE_SIGN
            | F::NEGOTIATE_SEAL
            | F::NEGOTIATE_KEY_EXCH
            | F::NEGOTIATE_128
            | F::NEGOTIATE_EXTENDED_SESSIONSECURITY
            | F::REQUEST_TARGET;
        let mut sets = Vec::new();
        for charset in [F::NEGOTIATE_OEM, F::NEGOTIATE_UNICODE] {
            for version in [F::EMPTY, F::NEGOTIATE_VERSION] {
                for more in [F::EMPTY, extra] {
                    sets.push(base | charset | version | more);
                }
            }
        }
        sets
    }

    fn times() -> [SystemTime; 3] {
        [
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
            SystemTime::UNIX_EPOCH + Duration::new(1_800_000_123, 456_789_100),
            SystemTime::UNIX_EPOCH,
        ]
    }

    #[test]
    fn template_gives_the_encoders_bytes() {
        let mut checked = 0;
        for dns in [false, true] {
            for timestamp in [false, true] {
                for version in [
                    None,
                    Some(Version::WINDOWS_10),
                    Some(Version::WINDOWS_VISTA),
                ] {
                    let c = config(dns, timestamp, version);
                    for flags in flag_sets() {
                        for (i, now) in times().into_iter().enumerate() {
                            let sc = [
                                u8::try_from(i).unwrap(),
                                0x23,
                                0x45,
                                0x67,
                                0x89,
                                0xab,
                                0xcd,
                                0xef,
                            ];
                            let patched = c.challenge_cache.message(&c, flags, sc, now);
                            let fresh = encode(&c, flags, sc, now);
                            assert_eq!(
                                patched, fresh,
                                "dns {dns} ts {timestamp} {version:?} {flags:?}"
                            );
                            // And it decodes to what was asked for.
                            let m = ChallengeMessage::decode(&patched).unwrap();
                            assert_eq!((m.flags, m.server_challenge), (flags, sc));
                            let info = m.target_info.unwrap();
                            let ts = info.iter().find_map(|p| match p {
                                AvPair::Timestamp(t) => Some(t),
                                _ => None,
                            });
                            assert_eq!(ts, timestamp.then(|| filetime::from_system_time(now)));
                            checked += 1;
                        }
                    }
                }
            }
        }
        assert_eq!(checked, 2 * 2 * 3 * 8 * 3);
    }

    #[test]
    fn a_config_changed_after_the_template_is_encoded_afresh() {
        let mut c = config(true, true, Some(Version::WINDOWS_10));
        let flags = F::NEGOTIATE_NTLM | F::NEGOTIATE_UNICODE | F::NEGOTIATE_VERSION;
        let now = times()[0];
        let before = c.challenge_cache.message(&c, flags, [1; 8], now);
        assert_eq!(before, encode(&c, flags, [1; 8], now));
        c.nb_domain = "OTHER".into();
        c.dns_computer = "elsewhere.example.com".into();
        c.version = None;
        c.policy.send_timestamp = false;
        let after = c.challenge_cache.message(&c, flags, [1; 8], now);
        assert_eq!(after, encode(&c, flags, [1; 8], now));
        assert_ne!(after, before);
    }

    #[test]
    fn long_names_give_the_encoders_bytes() {
        let mut c = config(true, true, None);
        c.dns_computer = "h".repeat(2100);
        let flags = F::NEGOTIATE_NTLM | F::NEGOTIATE_UNICODE;
        let now = times()[1];
        let bytes = c.challenge_cache.message(&c, flags, [7; 8], now);
        assert_eq!(bytes, encode(&c, flags, [7; 8], now));
        assert_eq!(
            target_info_range(&bytes).len(),
            (4 + 2 * 4) * 2 + 4 + 2 * 16 + 4 + 2 * 2100 + 12 + 4
        );
    }

    #[test]
    fn target_info_range_never_leaves_the_message() {
        let c = config(true, true, None);
        let bytes = encode(&c, F::NEGOTIATE_UNICODE, [0; 8], times()[0]);
        let range = target_info_range(&bytes);
        assert!(!range.is_empty() && range.end == bytes.len());
        assert_eq!(target_info_range(&bytes[..range.end - 1]), 0..0);
        assert_eq!(target_info_range(&bytes[..44]), 0..0);
        assert_eq!(target_info_range(&[]), 0..0);
    }
}
