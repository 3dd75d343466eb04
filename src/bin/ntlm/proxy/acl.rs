//! Who may use the proxy (`--allow CIDR`, loopback by default) and which hosts go direct
//! (`--no-proxy PATTERN`). Both are data; [`Allow::permits`] and [`NoProxy::matches`] are
//! the only places that decide.

use std::net::IpAddr;

/// An address block, `10.0.0.0/8` or `::1/128` (a bare address is a /32 or /128).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    net: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Parses `ADDR[/PREFIX]`.
    pub fn parse(s: &str) -> Result<Self, String> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let net: IpAddr = addr
            .parse()
            .map_err(|_| format!("{s:?} is not an address or ADDR/PREFIX block"))?;
        let max = if net.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("{s:?}: the prefix must be 0..={max}"))?,
            None => max,
        };
        Ok(Self { net, prefix })
    }

    /// True when `ip` is in the block (an IPv4-mapped IPv6 address counts as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.net, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// The clients allowed to connect: loopback only unless `--allow` lists blocks.
#[derive(Clone, Debug, Default)]
pub struct Allow(Vec<Cidr>);

impl Allow {
    /// The blocks given with `--allow`; none means loopback only.
    pub fn new(blocks: Vec<Cidr>) -> Self {
        Self(blocks)
    }

    /// True when a client at `ip` may use the proxy.
    pub fn permits(&self, ip: IpAddr) -> bool {
        if self.0.is_empty() {
            return ip.to_canonical().is_loopback();
        }
        self.0.iter().any(|c| c.contains(ip))
    }
}

#[derive(Clone, Debug)]
enum Pattern {
    /// `*`: every host.
    All,
    /// `example.com`: the host and its subdomains; `.example.com` / `*.example.com`: only
    /// subdomains.
    Domain { name: String, subdomains_only: bool },
    /// An address block; matches hosts written as addresses.
    Block(Cidr),
}

/// Hosts reached directly, not through the upstream (`--no-proxy`), as curl's `NO_PROXY`.
#[derive(Clone, Debug, Default)]
pub struct NoProxy(Vec<Pattern>);

impl NoProxy {
    /// Parses the patterns.
    pub fn parse(patterns: &[String]) -> Result<Self, String> {
        let mut out = Vec::new();
        for p in patterns {
            for p in p.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                let pattern = if p == "*" {
                    Pattern::All
                } else if let Ok(block) = Cidr::parse(p) {
                    Pattern::Block(block)
                } else {
                    let (name, subdomains_only) = match p.strip_prefix("*.") {
                        Some(rest) => (rest, true),
                        None => match p.strip_prefix('.') {
                            Some(rest) => (rest, true),
                            None => (p, false),
                        },
                    };
                    if name.is_empty() || name.contains(['*', '/', ' ']) {
                        return Err(format!("--no-proxy: bad pattern {p:?}"));
                    }
                    Pattern::Domain {
                        name: name.to_ascii_lowercase(),
                        subdomains_only,
                    }
                };
                out.push(pattern);
            }
        }
        Ok(Self(out))
    }

    /// True when requests to `host` go direct.
    pub fn matches(&self, host: &str) -> bool {
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .trim_end_matches('.')
            .to_ascii_lowercase();
        let ip: Option<IpAddr> = host.parse().ok();
        self.0.iter().any(|p| match p {
            Pattern::All => true,
            Pattern::Block(b) => ip.is_some_and(|ip| b.contains(ip)),
            Pattern::Domain {
                name,
                subdomains_only,
            } => {
                let sub = host.len() > name.len()
                    && host.ends_with(name.as_str())
                    && host.as_bytes().get(host.len() - name.len() - 1) == Some(&b'.');
                sub || (!subdomains_only && host == *name)
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks() {
        let c = Cidr::parse("127.0.0.1/32").unwrap();
        assert!(c.contains("127.0.0.1".parse().unwrap()));
        assert!(!c.contains("127.0.0.2".parse().unwrap()));
        assert!(c.contains("::ffff:127.0.0.1".parse().unwrap()));
        let any = Cidr::parse("0.0.0.0/0").unwrap();
        assert!(any.contains("10.1.2.3".parse().unwrap()));
        assert!(!any.contains("::1".parse().unwrap()));
        assert!(Cidr::parse("10.0.0.0/33").is_err());
        assert!(Cidr::parse("nope").is_err());
        assert!(Cidr::parse("fe80::/10")
            .unwrap()
            .contains("fe80::1".parse().unwrap()));
    }

    #[test]
    fn allow_defaults_to_loopback() {
        let a = Allow::default();
        assert!(a.permits("127.0.0.2".parse().unwrap()));
        assert!(a.permits("::1".parse().unwrap()));
        assert!(!a.permits("10.0.0.1".parse().unwrap()));
        let a = Allow::new(vec![Cidr::parse("127.0.0.1").unwrap()]);
        assert!(!a.permits("127.0.0.2".parse().unwrap()));
    }

    #[test]
    fn no_proxy() {
        let n = NoProxy::parse(&[
            "example.com,.internal".into(),
            "10.0.0.0/8".into(),
            "*.corp".into(),
        ])
        .unwrap();
        assert!(n.matches("example.com"));
        assert!(n.matches("www.Example.com."));
        assert!(!n.matches("badexample.com"));
        assert!(n.matches("a.internal"));
        assert!(!n.matches("internal"));
        assert!(n.matches("10.9.8.7"));
        assert!(!n.matches("11.0.0.1"));
        assert!(n.matches("x.corp") && !n.matches("corp"));
        assert!(NoProxy::parse(&["*".into()]).unwrap().matches("anything"));
        assert!(NoProxy::parse(&["a*b".into()]).is_err());
    }
}
