//! Shared by the benches: realistic fixtures, and the compression bound.
//!
//! # The bound
//!
//! Each measured operation is compared with a baseline that does only the MD5/MD4 block
//! compressions, DES block operations and RC4 key schedules (+ keystream bytes) the operation
//! cannot avoid, counted from the message sizes, through the same crates' public APIs:
//!
//! * MD5: `md5::block_api::compress` over `k` blocks in one call (the tightest the crate
//!   allows);
//! * MD4: `Md4::digest` of `64·(k−1)+55` bytes, i.e. exactly `k` compressions (md4 does not
//!   export its compression function), repeated once per separate MD4 hash;
//! * DES: `Des::new` (key schedule) + one `encrypt_block`, per 8-byte DES of MS-NLMP;
//! * RC4: this crate's `Rc4::new` (the key schedule, 256 swaps), once per `rc4_init`, and
//!   `apply_keystream` for `rc4_bytes` on a state scheduled outside the timed work (until
//!   2026-12-02 the keystream came from a fresh `Rc4::new`: one key schedule more than
//!   counted, which made every bound with keystream bytes too generous).
//!
//! Counting rules (n = bytes hashed; "blocks(n)" = ⌈(n + 9) / 64⌉, the 64-byte blocks of an
//! MD4/MD5 message of n bytes including the 0x80 byte and the 8-byte length):
//!
//! * MD5/MD4 of n bytes: blocks(n);
//! * HMAC-MD5 under a new key of ≤ 64 bytes: 2 (key ⊕ ipad and key ⊕ opad blocks) +
//!   blocks(n) (the rest of the inner hash after the ipad block) + 1 (the outer hash's
//!   final block holding the 16-byte inner digest) = 3 + blocks(n);
//! * HMAC-MD5 under a key already scheduled (inner/outer states kept): 1 + blocks(n).
#![allow(dead_code)]

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use des::cipher::{Array, BlockCipherEncrypt, KeyInit};
use md4::{Digest, Md4};
use ntlm::channel_bindings::ChannelBindings;
use ntlm::client::{ClientConfig, ClientContext};
use ntlm::crypto::Rc4;
use ntlm::guard::ReflectionGuard;
use ntlm::policy::{LmCompatibilityLevel, ServerPolicy};
use ntlm::server::{ServerConfig, ServerContext};
use ntlm::store::MemoryStore;

pub const USER: &str = "alice";
pub const DOMAIN: &str = "CORP";
pub const PASSWORD: &str = "Secret1!";

/// MD4/MD5 blocks of a message of `n` bytes.
pub const fn blocks(n: usize) -> usize {
    (n + 9).div_ceil(64)
}

/// Compressions of HMAC-MD5 over `n` bytes under a fresh key.
pub const fn hmac(n: usize) -> usize {
    3 + blocks(n)
}

/// Compressions of HMAC-MD5 over `n` bytes under an already scheduled key.
pub const fn hmac_keyed(n: usize) -> usize {
    1 + blocks(n)
}

/// What an operation cannot avoid.
#[derive(Clone, Copy, Debug, Default)]
pub struct Bound {
    /// MD5 compressions.
    pub md5: usize,
    /// One entry per MD4 hash: its compressions (at most 4 hashes).
    pub md4: [usize; 4],
    /// DES key schedules + block encryptions.
    pub des: usize,
    /// RC4 key schedules.
    pub rc4_init: usize,
    /// RC4 keystream bytes.
    pub rc4_bytes: usize,
}

impl Bound {
    pub fn plus(self, o: Bound) -> Bound {
        let mut md4 = self.md4;
        let free = md4.iter().position(|&m| m == 0).unwrap_or(4);
        for (slot, m) in md4[free..]
            .iter_mut()
            .zip(o.md4.into_iter().filter(|&m| m > 0))
        {
            *slot = m;
        }
        Bound {
            md5: self.md5 + o.md5,
            md4,
            des: self.des + o.des,
            rc4_init: self.rc4_init + o.rc4_init,
            rc4_bytes: self.rc4_bytes + o.rc4_bytes,
        }
    }

    pub fn describe(&self) -> String {
        let md4: Vec<String> = self
            .md4
            .iter()
            .filter(|&&m| m > 0)
            .map(|m| m.to_string())
            .collect();
        format!(
            "MD5 {} blocks, MD4 [{}] blocks, DES {}, RC4 init {}, RC4 bytes {}",
            self.md5,
            md4.join("+"),
            self.des,
            self.rc4_init,
            self.rc4_bytes
        )
    }
}

/// Scratch for [`run_bound`].
pub struct BoundScratch {
    blocks: Vec<[u8; 64]>,
    bytes: Vec<u8>,
    md4_input: Vec<u8>,
    /// The RC4 state the keystream bytes come from: scheduled once, here, because the
    /// key schedules an operation needs are counted apart (`rc4_init`).
    keystream: Rc4,
}

impl BoundScratch {
    pub fn new() -> Self {
        Self {
            blocks: vec![[0x5a; 64]; 4096],
            bytes: vec![0; 1 << 18],
            md4_input: vec![0x5a; 64 * 8],
            keystream: Rc4::new(&[7; 16]),
        }
    }
}

/// Performs exactly the work `b` counts.
#[inline(never)]
pub fn run_bound(b: &Bound, s: &mut BoundScratch) {
    if b.md5 > 0 {
        let mut state = [0x6745_2301u32, 0xefcd_ab89, 0x98ba_dcfe, 0x1032_5476];
        md5::block_api::compress(&mut state, black_box(&s.blocks[..b.md5]));
        black_box(state);
    }
    for &m in b.md4.iter().filter(|&&m| m > 0) {
        black_box(Md4::digest(black_box(&s.md4_input[..64 * (m - 1) + 55])));
    }
    for i in 0..b.des {
        let key = [i as u8 | 1; 8];
        let cipher = des::Des::new(&Array::from(black_box(key)));
        let mut block = Array::from(black_box([0x4bu8; 8]));
        cipher.encrypt_block(&mut block);
        black_box(block);
    }
    for i in 0..b.rc4_init {
        black_box(Rc4::new(black_box(&[i as u8; 16])));
    }
    if b.rc4_bytes > 0 {
        // From a state scheduled beforehand: its key schedule is one of `rc4_init` (or, for
        // sealing, was made when the session was set up).
        s.keystream
            .apply_keystream(black_box(&mut s.bytes[..b.rc4_bytes]));
        black_box(&s.bytes[0]);
    }
}

// ---- Level-3 bounds (end_to_end.rs, verify_ratio.rs, callgrind.rs)

/// Sign and seal keys for both directions (MD5 of 16 + 59 bytes each), the HMAC key
/// schedules of the two signing keys (key ⊕ ipad, key ⊕ opad: 2 compressions each; the
/// sealing bound counts each signature as `hmac_keyed`, from that schedule) and the two seal
/// RC4 handles: what setting up ESS session security cannot avoid. (Until 2026-12-02 the two
/// HMAC key schedules were left out: 4 compressions too few.)
pub fn ess_session_setup() -> Bound {
    Bound {
        md5: 4 * blocks(16 + 59) + 2 * 2,
        rc4_init: 2,
        ..Bound::default()
    }
}

/// What a server verifying an NTLMv2 AUTHENTICATE (with KEY_EXCH and MIC) and then setting
/// up session security (sign/seal keys, RC4 states) cannot avoid.
pub fn server_v2(user_domain: usize, blob: usize, three_messages: usize) -> Bound {
    server_v2_no_seal(user_domain, blob, three_messages).plus(ess_session_setup())
}

/// The same for HTTP use: the logon only, no sign/seal keys or RC4 states (derived on first
/// use, which HTTP authentication never makes).
pub fn server_v2_no_seal(user_domain: usize, blob: usize, three_messages: usize) -> Bound {
    Bound {
        // NTOWFv2 from the stored NT hash; NTProofStr; SessionBaseKey under the same key; MIC.
        md5: hmac(user_domain) + hmac(8 + blob) + hmac_keyed(16) + hmac(three_messages),
        // EncryptedRandomSessionKey.
        rc4_init: 1,
        rc4_bytes: 16,
        ..Bound::default()
    }
}

/// What a level-3 client answering with NTLMv2 cannot avoid (password given), session
/// security included.
pub fn client_v2(
    password: usize,
    user_domain: usize,
    blob: usize,
    three: usize,
    cb: usize,
) -> Bound {
    client_v2_no_seal(password, user_domain, blob, three, cb).plus(ess_session_setup())
}

/// The same without session security (HTTP use).
pub fn client_v2_no_seal(
    password: usize,
    user_domain: usize,
    blob: usize,
    three: usize,
    cb: usize,
) -> Bound {
    Bound {
        md4: [blocks(password), 0, 0, 0],
        // Channel bindings hash; NTOWFv2; NTProofStr; SessionBaseKey; MIC.
        md5: blocks(cb) + hmac(user_domain) + hmac(8 + blob) + hmac_keyed(16) + hmac(three),
        rc4_init: 1,
        rc4_bytes: 16,
        ..Bound::default()
    }
}

/// The level-3 bounds, from the sizes of a sample handshake with `config`: the server with
/// and without session security set up, the client with and without.
pub fn level3_bounds(config: &Arc<ServerConfig>) -> [Bound; 4] {
    let sample = ready(config, 3);
    let auth = ntlm::wire::AuthenticateMessage::decode(&sample.authenticate).expect("decode");
    let blob = auth.nt_challenge_response.len() - 16;
    let three = sample.negotiate.len() + sample.challenge.len() + sample.authenticate.len();
    let password = u16len(PASSWORD);
    let user_domain = u16len(USER) + u16len(DOMAIN);
    let cb = 20 + bindings().application_data().len();
    [
        server_v2(user_domain, blob, three),
        server_v2_no_seal(user_domain, blob, three),
        client_v2(password, user_domain, blob, three, cb),
        client_v2_no_seal(password, user_domain, blob, three, cb),
    ]
}

/// A fixed "now".
pub fn now() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)
}

pub fn level(n: u8) -> LmCompatibilityLevel {
    LmCompatibilityLevel::new(n).expect("0..=5")
}

pub fn guard() -> Option<Arc<ReflectionGuard>> {
    Some(Arc::new(ReflectionGuard::new(Duration::from_secs(600))))
}

/// The clients' guard: one per process, shared by every client context (as
/// `ReflectionGuard::process()` is), and not the servers' (the benchmark's client stands for
/// another machine; sharing the servers' guard would refuse every handshake as reflected).
/// A guard made per handshake would time its first-touch page faults, not the protocol.
pub fn client_guard() -> Option<Arc<ReflectionGuard>> {
    static GUARD: std::sync::OnceLock<Arc<ReflectionGuard>> = std::sync::OnceLock::new();
    Some(
        GUARD
            .get_or_init(|| Arc::new(ReflectionGuard::new(Duration::from_secs(600))))
            .clone(),
    )
}

/// The TLS channel bindings of the benchmark connection.
pub fn bindings() -> ChannelBindings {
    let mut data = b"tls-server-end-point:".to_vec();
    data.extend_from_slice(&[0xab; 32]);
    ChannelBindings::from_application_data(data)
}

/// A Windows-like server: domain-controller policy at `lvl`, DNS names set (so its
/// TargetInfo has NbDomain, NbComputer, DnsDomain, DnsComputer, Timestamp), its own
/// reflection guard, one user.
pub fn server_config(lvl: u8) -> Arc<ServerConfig> {
    let mut users = MemoryStore::new();
    users.add_password(DOMAIN, USER, PASSWORD);
    let mut config = ServerConfig::new(ServerPolicy::domain_controller(level(lvl)), users);
    config.reflection_guard = guard();
    config.dns_domain = "corp.example.com".into();
    config.dns_computer = "server.corp.example.com".into();
    Arc::new(config)
}

/// A Windows-like client at `lvl`: workstation name, SPN, TLS channel bindings.
pub fn client_config(lvl: u8) -> ClientConfig {
    let mut config = ClientConfig::new(level(lvl), DOMAIN, USER, PASSWORD)
        .workstation("WORKSTATION01")
        .target_name("HTTP/server.corp.example.com")
        .channel_bindings(bindings());
    config.reflection_guard = client_guard();
    config
}

/// A server context that has sent its CHALLENGE, and the client's AUTHENTICATE to it.
pub struct Ready {
    pub server: ServerContext,
    pub negotiate: Vec<u8>,
    pub challenge: Vec<u8>,
    pub authenticate: Vec<u8>,
}

pub fn ready(config: &Arc<ServerConfig>, lvl: u8) -> Ready {
    ready_at(config, lvl, now())
}

/// [`ready`] with the CHALLENGE and AUTHENTICATE made at `at` (benchmarks with a clock that
/// advances).
pub fn ready_at(config: &Arc<ServerConfig>, lvl: u8, at: SystemTime) -> Ready {
    let mut client = ClientContext::new(client_config(lvl));
    let mut server = ServerContext::new(config.clone());
    server.set_channel_bindings(&bindings());
    let negotiate = client.negotiate().expect("negotiate");
    let challenge = server.challenge(&negotiate, at).expect("challenge");
    let authenticate = client.authenticate(&challenge, at).expect("authenticate");
    Ready {
        server,
        negotiate,
        challenge,
        authenticate,
    }
}

/// UTF-16 bytes of `s`.
pub fn u16len(s: &str) -> usize {
    s.encode_utf16().count() * 2
}

/// A hex value of `test-vectors/ms-nlmp-4.2.toml`, e.g. `vector("ntlmv2.challenge_message")`.
pub fn vector(key: &str) -> Vec<u8> {
    vectors::Vectors::nlmp().hex(key)
}

#[path = "../../tests/common/vectors.rs"]
mod vectors;
