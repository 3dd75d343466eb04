//! `ntlm proxy`'s configuration from its arguments: upstreams, credentials (from an
//! environment variable or a hash file, never from the command line), limits.

use std::net::SocketAddr;
use std::time::Duration;

use ntlm::client::{ClientConfig, ClientCredentials};
use ntlm::http::auth::Scheme;
use ntlm::names::split_user;
use ntlm::policy::LmCompatibilityLevel;
use ntlm::secret::{LmHash, NtHash, NtlmV2Hash, Password};
use zeroize::Zeroizing;

use super::acl::{Allow, Cidr, NoProxy};

/// Options that may be given more than once.
pub const REPEATED: &[&str] = &["upstream", "no-proxy", "allow"];
/// Options that take one value.
pub const WITH_VALUE: &[&str] = &[
    "listen",
    "user",
    "password-env",
    "hash-file",
    "level",
    "workstation",
    "backoff",
    "timeout",
    "idle-timeout",
    "max-clients",
    "max-upstream",
    "log",
];
/// Boolean options.
pub const BOOLEANS: &[&str] = &["detect", "allow-basic"];

/// One upstream proxy.
#[derive(Clone, Debug)]
pub struct UpstreamAddr {
    /// `host:port` as given.
    pub label: String,
    /// Host to connect to.
    pub host: String,
    /// Port.
    pub port: u16,
}

/// Everything the proxy runs with.
#[derive(Debug)]
pub struct Config {
    /// Where to listen (absent with `--detect`).
    pub listen: Option<SocketAddr>,
    /// Upstreams, in failover order.
    pub upstreams: Vec<UpstreamAddr>,
    /// The client side of the logon (credentials, level, workstation).
    pub ntlm: ClientConfig,
    /// `DOMAIN\user`, for messages.
    pub account: String,
    /// `Proxy-Authorization: Basic ...` for an upstream that offers only Basic, when
    /// `--allow-basic` and a password (not a hash) are given; marked sensitive.
    pub basic: Option<hyper::header::HeaderValue>,
    /// Schemes, most preferred first.
    pub schemes: Vec<Scheme>,
    /// Clients allowed.
    pub allow: Allow,
    /// Hosts reached directly.
    pub no_proxy: NoProxy,
    /// How long a refused password is not tried again.
    pub backoff: Duration,
    /// Bound on connecting, each handshake step, request headers.
    pub timeout: Duration,
    /// A client connection or tunnel with no bytes either way for this long is closed; so is
    /// a pooled upstream connection idle this long.
    pub idle_timeout: Duration,
    /// Client connections served at once.
    pub max_clients: usize,
    /// Connections to each upstream at once (pooled, busy and tunnels).
    pub max_upstream: usize,
    /// `--detect`.
    pub detect: bool,
    /// Log level (error, warn, info, debug, trace).
    pub log: String,
}

fn parse_upstream(s: &str) -> Result<UpstreamAddr, String> {
    let rest = s
        .strip_prefix("http://")
        .ok_or_else(|| format!("--upstream {s:?}: must be http://HOST:PORT"))?;
    let rest = rest.trim_end_matches('/');
    let (host, port) = rest
        .rsplit_once(':')
        .ok_or_else(|| format!("--upstream {s:?}: needs a port"))?;
    let port: u16 = port
        .parse()
        .map_err(|_| format!("--upstream {s:?}: bad port"))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() || rest.contains('/') || rest.contains('@') {
        return Err(format!("--upstream {s:?}: must be http://HOST:PORT"));
    }
    Ok(UpstreamAddr {
        label: rest.to_string(),
        host: host.to_string(),
        port,
    })
}

fn hex16(s: &str) -> Option<Zeroizing<[u8; 16]>> {
    let s = s.as_bytes();
    if s.len() != 32 {
        return None;
    }
    let mut out = Zeroizing::new([0u8; 16]);
    for (i, pair) in s.chunks_exact(2).enumerate() {
        let text = std::str::from_utf8(pair).ok()?;
        *out.get_mut(i)? = u8::from_str_radix(text, 16).ok()?;
    }
    Some(out)
}

/// What a hash file holds.
pub enum HashFile {
    /// The NT hash, and the LM hash when the file has one.
    Nt(NtHash, Option<LmHash>),
    /// NTOWFv2 of the configured user and domain (cntlm's `PassNTLMv2`).
    NtlmV2(NtlmV2Hash),
}

/// Reads a hash file: `NTHEX` as `ntlm hash` prints it, `LMHEX:NTHEX` (`ntlm hash --lm`,
/// 32 `X` for no LM hash) or `ntlmv2:HEX` (`ntlm hash --ntlmv2 --user ...`); `#` comment
/// lines and blank lines are skipped.
pub fn read_hash_file(path: &str) -> Result<HashFile, String> {
    let text = Zeroizing::new(
        std::fs::read_to_string(path).map_err(|e| format!("--hash-file {path}: {e}"))?,
    );
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .ok_or_else(|| format!("--hash-file {path}: no hash in it"))?;
    let bad = || {
        format!("--hash-file {path}: expected 32 hex digits (the NT hash `ntlm hash` prints), LMHEX:NTHEX or ntlmv2:HEX")
    };
    if let Some((kind, v2)) = line.split_once(':') {
        if kind.eq_ignore_ascii_case("ntlmv2") {
            return Ok(HashFile::NtlmV2(NtlmV2Hash::from_bytes(
                *hex16(v2).ok_or_else(bad)?,
            )));
        }
    }
    let (lm, nt) = match line.split_once(':') {
        Some((lm, nt)) => (Some(lm), nt),
        None => (None, line),
    };
    let nt = NtHash::from_bytes(*hex16(nt).ok_or_else(bad)?);
    let lm = match lm {
        None => None,
        Some(x) if x.eq_ignore_ascii_case(&"X".repeat(32)) => None,
        Some(lm) => Some(LmHash::from_bytes(*hex16(lm).ok_or_else(bad)?)),
    };
    Ok(HashFile::Nt(nt, lm))
}

/// `Basic base64(account:password)` (RFC 7617), marked sensitive so hyper never logs it.
fn basic_header(account: &str, password: &str) -> Result<hyper::header::HeaderValue, String> {
    use base64::Engine as _;
    let pair = Zeroizing::new(format!("{account}:{password}"));
    let value = Zeroizing::new(format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair.as_bytes())
    ));
    let mut header = hyper::header::HeaderValue::from_str(&value)
        .map_err(|_| "--allow-basic: the credentials do not fit in a header".to_string())?;
    header.set_sensitive(true);
    Ok(header)
}

fn seconds(parsed: &crate::args::Parsed, name: &str, default: u64) -> Result<Duration, String> {
    match parsed.value(name) {
        None => Ok(Duration::from_secs(default)),
        Some(v) => v
            .parse::<u64>()
            .ok()
            .filter(|n| (1..=86_400).contains(n))
            .map(Duration::from_secs)
            .ok_or_else(|| format!("--{name}: seconds, 1 to 86400")),
    }
}

fn count(parsed: &crate::args::Parsed, name: &str, default: usize) -> Result<usize, String> {
    match parsed.value(name) {
        None => Ok(default),
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=100_000).contains(n))
            .ok_or_else(|| format!("--{name}: a number, 1 to 100000")),
    }
}

/// Builds the configuration from parsed arguments and the repeated options.
pub fn build(
    parsed: &crate::args::Parsed,
    repeated: &std::collections::HashMap<&'static str, Vec<String>>,
) -> Result<Config, String> {
    if let Some(extra) = parsed.positional.first() {
        return Err(format!(
            "unexpected argument {extra:?} (the password is read from --password-env or --hash-file)"
        ));
    }
    let detect = parsed.flag("detect");
    let listen = match parsed.value("listen") {
        Some(l) => Some(
            l.parse::<SocketAddr>()
                .map_err(|_| format!("--listen {l:?}: must be ADDR:PORT"))?,
        ),
        None if detect => None,
        None => return Err("missing required option --listen".into()),
    };
    let get = |n: &str| repeated.get(n).cloned().unwrap_or_default();
    let upstreams = get("upstream")
        .iter()
        .map(|u| parse_upstream(u))
        .collect::<Result<Vec<_>, _>>()?;
    if upstreams.is_empty() {
        return Err("at least one --upstream http://HOST:PORT is required".into());
    }
    let allow = Allow::new(
        get("allow")
            .iter()
            .map(|c| Cidr::parse(c).map_err(|e| format!("--allow: {e}")))
            .collect::<Result<Vec<_>, _>>()?,
    );
    let no_proxy = NoProxy::parse(&get("no-proxy"))?;
    let level: LmCompatibilityLevel = parsed
        .value("level")
        .unwrap_or("3")
        .parse()
        .map_err(|e| format!("--level: {e}"))?;
    let account = parsed.required("user")?.to_string();
    let (domain, user) = split_user(&account);
    let mut basic = None;
    let credentials = match (parsed.value("password-env"), parsed.value("hash-file")) {
        (Some(var), None) => {
            let password = std::env::var(var).map_err(|_| {
                format!("--password-env: environment variable {var} is not set or not UTF-8")
            })?;
            if parsed.flag("allow-basic") {
                basic = Some(basic_header(&account, &password)?);
            }
            ClientCredentials::Password {
                domain: domain.to_string(),
                user: user.to_string(),
                password: Password::new(password),
            }
        }
        (None, Some(path)) => {
            if parsed.flag("allow-basic") {
                return Err("--allow-basic needs the password (--password-env), not a hash".into());
            }
            match read_hash_file(path)? {
                HashFile::Nt(nt_hash, lm_hash) => ClientCredentials::Hash {
                    domain: domain.to_string(),
                    user: user.to_string(),
                    nt_hash,
                    lm_hash,
                },
                HashFile::NtlmV2(_) if level.get() < 3 => {
                    return Err(format!(
                        "--hash-file {path}: an NTLMv2 hash answers only with NTLMv2: use --level 3 or above"
                    ))
                }
                HashFile::NtlmV2(ntlmv2_hash) => ClientCredentials::NtlmV2Hash {
                    domain: domain.to_string(),
                    user: user.to_string(),
                    ntlmv2_hash,
                },
            }
        }
        _ => return Err("give exactly one of --password-env VAR and --hash-file FILE".into()),
    };
    let mut ntlm = ClientConfig::with_credentials(level, credentials);
    if let Some(w) = parsed.value("workstation") {
        ntlm.workstation = w.to_string();
    }
    let log = parsed.value("log").unwrap_or("info").to_ascii_lowercase();
    if !["error", "warn", "info", "debug", "trace"].contains(&log.as_str()) {
        return Err("--log: error, warn, info, debug or trace".into());
    }
    Ok(Config {
        listen,
        upstreams,
        ntlm,
        account,
        basic,
        schemes: vec![Scheme::Negotiate, Scheme::Ntlm],
        allow,
        no_proxy,
        backoff: seconds(parsed, "backoff", 600)?,
        timeout: seconds(parsed, "timeout", 30)?,
        idle_timeout: seconds(parsed, "idle-timeout", 300)?,
        max_clients: count(parsed, "max-clients", 512)?,
        max_upstream: count(parsed, "max-upstream", 64)?,
        detect,
        log,
    })
}

/// The repeatable options by name, and the other arguments.
type Split = (
    std::collections::HashMap<&'static str, Vec<String>>,
    Vec<String>,
);

/// Splits the repeatable options out of `args`, leaving the rest for `args::parse`.
pub fn take_repeated(args: &[String]) -> Result<Split, String> {
    let mut found: std::collections::HashMap<&'static str, Vec<String>> = Default::default();
    let mut rest = Vec::new();
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        let body = arg.strip_prefix("--").unwrap_or("");
        let (name, inline) = match body.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (body, None),
        };
        match REPEATED.iter().find(|r| **r == name) {
            Some(&known) => {
                let value = match inline {
                    Some(v) => v,
                    None => iter
                        .next()
                        .cloned()
                        .ok_or_else(|| format!("option --{name} needs a value"))?,
                };
                found.entry(known).or_default().push(value);
            }
            None => rest.push(arg.clone()),
        }
    }
    Ok((found, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstreams() {
        let u = parse_upstream("http://proxy.corp:3128").unwrap();
        assert_eq!((u.host.as_str(), u.port), ("proxy.corp", 3128));
        assert_eq!(parse_upstream("http://[::1]:8080/").unwrap().host, "::1");
        assert!(parse_upstream("https://p:1").is_err());
        assert!(parse_upstream("http://p").is_err());
        assert!(parse_upstream("http://u@p:1").is_err());
    }

    #[test]
    fn hash_files() {
        let dir = std::env::temp_dir().join(format!("ntlm-hash-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("h");
        std::fs::write(&f, "# nt\na4f49c406510bdcab6824ee7c30fd852\n").unwrap();
        let nt_only = |f: &std::path::Path| match read_hash_file(f.to_str().unwrap()).unwrap() {
            HashFile::Nt(nt, lm) => (nt, lm),
            HashFile::NtlmV2(_) => panic!("an NT hash file read as NTLMv2"),
        };
        let (nt, lm) = nt_only(&f);
        assert!(nt.ct_eq_bytes(&hex16("a4f49c406510bdcab6824ee7c30fd852").unwrap()[..]));
        assert!(lm.is_none());
        std::fs::write(
            &f,
            format!("{}:a4f49c406510bdcab6824ee7c30fd852", "X".repeat(32)),
        )
        .unwrap();
        assert!(nt_only(&f).1.is_none());
        std::fs::write(
            &f,
            "e52cac67419a9a224a3b108f3fa6cb6d:a4f49c406510bdcab6824ee7c30fd852",
        )
        .unwrap();
        assert!(nt_only(&f).1.is_some());
        std::fs::write(&f, "NTLMv2:0c868a403bfd7a93a3001ef22ef02e3f\n").unwrap();
        match read_hash_file(f.to_str().unwrap()).unwrap() {
            HashFile::NtlmV2(v2) => {
                assert!(v2.ct_eq_bytes(&hex16("0c868a403bfd7a93a3001ef22ef02e3f").unwrap()[..]))
            }
            HashFile::Nt(..) => panic!("ntlmv2: read as an NT hash"),
        }
        std::fs::write(&f, "ntlmv2:0c86").unwrap();
        assert!(read_hash_file(f.to_str().unwrap()).is_err());
        std::fs::write(&f, "zz").unwrap();
        assert!(read_hash_file(f.to_str().unwrap()).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn repeated() {
        let args: Vec<String> = [
            "--upstream",
            "http://a:1",
            "--level",
            "3",
            "--upstream=http://b:2",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let (found, rest) = take_repeated(&args).unwrap();
        assert_eq!(found["upstream"], ["http://a:1", "http://b:2"]);
        assert_eq!(rest, ["--level", "3"]);
    }
}
