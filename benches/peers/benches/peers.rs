//! The `ntlm` crate beside the other Rust NTLM implementations, on the same work, in one
//! process (issue 14): one criterion group per operation, one function per implementation,
//! all on the MS-NLMP §4.2 inputs (`User`, `Domain`, `Password`, the §4.2 NTLMv2 CHALLENGE).
//!
//! Before anything is timed, every implementation's output is checked (`verify_*`): the §4.2
//! known answers where the inputs are fixed, and otherwise the NTProofStr, LMv2, key exchange
//! and MIC of each AUTHENTICATE recomputed with this crate's primitives from the §4.2 key. The
//! same checks assert what each one sends (MIC or not, LMv2 or Z(24), KEY_EXCH or not), so
//! that each peer is compared with the configuration of ours that does the same work; the
//! pairing is in `benches/report.py` (`PAIRS`), the reasons in `benches/README.md`.
//!
//! ```text
//! cd benches/peers && cargo bench -- --warm-up-time 1 --measurement-time 2
//! python3 ../report.py --peers target/criterion
//! ```
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use ntlm::client::{ClientConfig, ClientContext};
use ntlm::crypto::{self, ResponseKeyV2};
use ntlm::guard::ReflectionGuard;
use ntlm::policy::{LmCompatibilityLevel, ServerPolicy};
use ntlm::server::{ServerConfig, ServerContext};
use ntlm::store::MemoryStore;
use ntlm::wire::{
    AuthenticateMessage, AvPair, ChallengeMessage, NegotiateFlags as F, NtlmV2Response, TargetInfo,
    TargetInfoBuilder,
};
use ntlm::SessionKey;
use sspi::{
    AuthIdentity, AuthIdentityBuffers, BufferType, ClientRequestFlags, CredentialUse,
    DataRepresentation, NtlmHash, SecurityBuffer, SecurityStatus, ServerRequestFlags, Sspi,
    SspiImpl, Username,
};

#[path = "../../../tests/common/vectors.rs"]
mod vectors;

/// The §4.2 inputs and known answers.
struct Nlmp {
    user: String,
    domain: String,
    password: String,
    server_challenge: [u8; 8],
    client_challenge: [u8; 8],
    target_info: Vec<u8>,
    ntowfv2: [u8; 16],
    lmv2: Vec<u8>,
    nt_response: Vec<u8>,
    session_base_key: [u8; 16],
    /// The §4.2.4 CHALLENGE (no MsvAvTimestamp: clients send LMv2 and, ours, no MIC).
    challenge: Vec<u8>,
    /// The same CHALLENGE with an MsvAvTimestamp added (clients send a MIC and Z(24) in the
    /// LM field, MS-NLMP §3.1.5.1.2): what a Windows server sends.
    challenge_ts: Vec<u8>,
}

/// A fixed MsvAvTimestamp: 2023-11-14T22:13:20Z as a FILETIME.
const TIMESTAMP: u64 = (1_700_000_000 + 11_644_473_600) * 10_000_000;

fn nlmp() -> Nlmp {
    let v = vectors::Vectors::load_path(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../test-vectors/ms-nlmp-4.2.toml"
    ));
    let challenge = v.hex("ntlmv2.challenge_message");
    let challenge_ts = {
        let m = ChallengeMessage::decode(&challenge).expect("§4.2 CHALLENGE");
        let mut info = TargetInfoBuilder::from_target_info(m.target_info.as_ref().unwrap());
        info.set(AvPair::Timestamp(TIMESTAMP));
        let info = info.encode();
        let mut out = ChallengeMessage::new(m.flags, m.server_challenge);
        out.target_name = m.target_name;
        out.version = m.version;
        out.target_info = Some(TargetInfo::decode(&info).unwrap());
        out.encode()
    };
    Nlmp {
        user: v.get("inputs.user").into(),
        domain: v.get("inputs.domain").into(),
        password: v.get("inputs.password").into(),
        server_challenge: v.arr("inputs.server_challenge"),
        client_challenge: v.arr("inputs.client_challenge"),
        target_info: v.hex("ntlmv2.target_info"),
        ntowfv2: v.arr("ntlmv2.ntowfv2"),
        lmv2: v.hex("ntlmv2.lmv2_response"),
        nt_response: v.hex("ntlmv2.nt_response"),
        session_base_key: v.arr("ntlmv2.session_base_key"),
        challenge,
        challenge_ts,
    }
}

fn level3() -> LmCompatibilityLevel {
    LmCompatibilityLevel::new(3).unwrap()
}

// ---------------------------------------------------------------- ours

/// Our level-3 client; `key_exchange` false for the peers that never send an
/// EncryptedRandomSessionKey. The process-wide reflection guard is on (the default).
fn our_client(n: &Nlmp, key_exchange: bool) -> (ClientContext, Vec<u8>) {
    let mut config = ClientConfig::new(level3(), &n.domain, &n.user, n.password.as_str());
    config.policy.key_exchange = key_exchange;
    let mut client = ClientContext::new(config);
    let negotiate = client.negotiate().unwrap();
    (client, negotiate)
}

/// NTProofStr ‖ temp, LMv2 and SessionBaseKey from the key, as our client does them (one
/// HMAC key schedule, the response built in one buffer).
fn our_v2_response(key: &ntlm::NtlmV2Hash, n: &Nlmp) -> (Vec<u8>, [u8; 24], SessionKey) {
    let keyed = ResponseKeyV2::new(key);
    let mut nt = Vec::with_capacity(16 + crypto::ntlm_v2_blob_len(n.target_info.len()));
    nt.extend_from_slice(&[0; 16]);
    crypto::ntlm_v2_blob_into(&mut nt, 0, &n.client_challenge, |o| {
        o.extend_from_slice(&n.target_info)
    });
    let proof = keyed.nt_proof_str(&n.server_challenge, &nt[16..]);
    nt[..16].copy_from_slice(&proof);
    let lm = keyed.lm_v2_response(&n.server_challenge, &n.client_challenge);
    (nt, lm, keyed.session_base_key(&proof))
}

fn our_server(n: &Nlmp) -> Arc<ServerConfig> {
    let mut users = MemoryStore::new();
    users.add_password(&n.domain, &n.user, &n.password);
    let mut config = ServerConfig::new(ServerPolicy::domain_controller(level3()), users);
    // Its own guard: the client's (process-wide) one would refuse the server's own
    // challenges as reflected, both being in this process.
    config.reflection_guard = Some(Arc::new(ReflectionGuard::new(Duration::from_secs(600))));
    Arc::new(config)
}

// ---------------------------------------------------------------- sspi-rs

fn sspi_identity(n: &Nlmp) -> AuthIdentity {
    AuthIdentity {
        username: Username::new(&n.user, Some(&n.domain)).unwrap(),
        password: n.password.clone().into(),
    }
}

fn token(bytes: Vec<u8>) -> Vec<SecurityBuffer> {
    vec![SecurityBuffer::new(bytes, BufferType::Token)]
}

/// An sspi client that has sent its NEGOTIATE, its credentials handle, the NEGOTIATE.
fn sspi_client(identity: &AuthIdentity) -> (sspi::Ntlm, Option<AuthIdentityBuffers>, Vec<u8>) {
    let mut client = sspi::Ntlm::new();
    let mut creds = client
        .acquire_credentials_handle()
        .with_credential_use(CredentialUse::Outbound)
        .with_auth_data(identity)
        .execute(&mut client)
        .unwrap()
        .credentials_handle;
    let mut out = token(Vec::new());
    let mut builder = client
        .initialize_security_context()
        .with_credentials_handle(&mut creds)
        .with_context_requirements(
            ClientRequestFlags::CONFIDENTIALITY | ClientRequestFlags::INTEGRITY,
        )
        .with_target_data_representation(DataRepresentation::Native)
        .with_output(&mut out);
    let r = client
        .initialize_security_context_impl(&mut builder)
        .unwrap()
        .resolve_to_result()
        .unwrap();
    assert_eq!(r.status, SecurityStatus::ContinueNeeded);
    let negotiate = std::mem::take(&mut out[0].buffer);
    (client, creds, negotiate)
}

/// The sspi client's AUTHENTICATE for `challenge`.
fn sspi_authenticate(
    client: &mut sspi::Ntlm,
    creds: &mut Option<AuthIdentityBuffers>,
    challenge: &[u8],
) -> Vec<u8> {
    let mut input = token(challenge.to_vec());
    let mut out = token(Vec::new());
    let mut builder = client
        .initialize_security_context()
        .with_credentials_handle(creds)
        .with_context_requirements(
            ClientRequestFlags::CONFIDENTIALITY | ClientRequestFlags::INTEGRITY,
        )
        .with_target_data_representation(DataRepresentation::Native)
        .with_input(&mut input)
        .with_output(&mut out);
    client
        .initialize_security_context_impl(&mut builder)
        .unwrap()
        .resolve_to_result()
        .unwrap();
    std::mem::take(&mut out[0].buffer)
}

/// A whole sspi handshake, the server verifying with the user's NT hash (as ours does from
/// its store). Returns the server's final status.
fn sspi_handshake(
    identity: &AuthIdentity,
    server_creds: &Option<AuthIdentityBuffers>,
) -> sspi::Result<SecurityStatus> {
    let (mut client, mut creds, negotiate) = sspi_client(identity);
    let mut server = sspi::Ntlm::new();
    let mut server_creds = server_creds.clone();
    let accept = |server: &mut sspi::Ntlm,
                  creds: &mut Option<AuthIdentityBuffers>,
                  bytes: Vec<u8>|
     -> sspi::Result<(SecurityStatus, Vec<u8>)> {
        let mut input = token(bytes);
        let mut out = token(Vec::new());
        let builder = server
            .accept_security_context()
            .with_credentials_handle(creds)
            .with_context_requirements(ServerRequestFlags::empty())
            .with_target_data_representation(DataRepresentation::Native)
            .with_input(&mut input)
            .with_output(&mut out);
        let r = server
            .accept_security_context_impl(builder)?
            .resolve_to_result()?;
        Ok((r.status, std::mem::take(&mut out[0].buffer)))
    };
    let (_, challenge) = accept(&mut server, &mut server_creds, negotiate)?;
    let authenticate = sspi_authenticate(&mut client, &mut creds, &challenge);
    let (status, _) = accept(&mut server, &mut server_creds, authenticate)?;
    if status == SecurityStatus::CompleteNeeded {
        return server.complete_auth_token(&mut []);
    }
    Ok(status)
}

fn sspi_server_creds(n: &Nlmp, nt_hash: [u8; 16]) -> Option<AuthIdentityBuffers> {
    Some(AuthIdentityBuffers::from_utf8_with_hash(
        &n.user,
        &n.domain,
        &NtlmHash::from_bytes(nt_hash),
    ))
}

// ---------------------------------------------------------------- red_ntlm

fn red_context(n: &Nlmp) -> red_ntlm::NtlmAuthContext {
    red_ntlm::NtlmAuthContext {
        connectionless: false,
        credential: red_ntlm::NtlmCredential {
            username: n.user.clone(),
            domain: Some(n.domain.clone()),
            secret: red_ntlm::NtlmUserSecret::Hashes([0; 16], None),
        },
        workstation: None,
        target_name: None,
        channel_bindings_unhashed: None,
        unverified_target_name: None,
        host: None,
    }
}

/// red_ntlm's AUTHENTICATE from the password. Its `Password` secret also computes the LM
/// hash (two DES), which NTLMv2 never uses; the NT hash is given instead, computed here
/// from the password, so that it does what ours does.
fn red_authenticate(
    n: &Nlmp,
    ctx: &mut red_ntlm::NtlmAuthContext,
    config: &red_ntlm::NtlmClientConfig,
    negotiate: &[u8],
    challenge: &[u8],
) -> Vec<u8> {
    let nt = red_ntlm::security::hash_nt(&n.password);
    ctx.credential.secret = red_ntlm::NtlmUserSecret::Hashes(nt, None);
    red_ntlm::gen_ntlm_authenticate(negotiate, challenge, ctx, config)
        .unwrap()
        .0
}

// ---------------------------------------------------------------- ntlmclient

fn ntlmclient_creds(n: &Nlmp) -> ntlmclient::Credentials {
    ntlmclient::Credentials {
        username: n.user.clone(),
        password: n.password.clone(),
        domain: n.domain.clone(),
    }
}

/// ntlmclient's AUTHENTICATE from a CHALLENGE: decode, NTLMv2 + LMv2 from the password (it
/// takes the time from the caller: the server's timestamp, else now), encode. It never
/// sends a MIC or an EncryptedRandomSessionKey.
fn ntlmclient_authenticate(creds: &ntlmclient::Credentials, challenge: &[u8]) -> Vec<u8> {
    let ntlmclient::Message::Challenge(m) = ntlmclient::Message::try_from(challenge).unwrap()
    else {
        panic!("not a CHALLENGE")
    };
    let info: Vec<u8> = m
        .target_information
        .iter()
        .flat_map(|e| e.to_bytes())
        .collect();
    let time = m
        .target_information
        .iter()
        .find(|e| u16::from(e.entry_type) == 7)
        .map(|e| i64::from_le_bytes(e.data[..8].try_into().unwrap()))
        .unwrap_or_else(ntlmclient::get_ntlm_time);
    let response = ntlmclient::respond_challenge_ntlm_v2(m.challenge, &info, time, creds);
    let flags = ntlmclient::Flags::NEGOTIATE_UNICODE
        | ntlmclient::Flags::REQUEST_TARGET
        | ntlmclient::Flags::NEGOTIATE_NTLM
        | ntlmclient::Flags::NEGOTIATE_ALWAYS_SIGN
        | ntlmclient::Flags::NEGOTIATE_NTLM2_KEY
        | ntlmclient::Flags::NEGOTIATE_TARGET_INFO;
    response.to_message(creds, "", flags).to_bytes().unwrap()
}

// ---------------------------------------------------------------- checks

/// What an AUTHENTICATE carries, after its NTProofStr, LMv2 and MIC were checked.
#[derive(Debug, PartialEq, Eq)]
struct Shape {
    lmv2: bool,
    key_exchange: bool,
    mic: bool,
}

/// Checks an AUTHENTICATE answering `challenge` (server challenge of §4.2) with this crate's
/// primitives: NTProofStr under the §4.2 NTOWFv2, LMv2 when the LM field is not Z(24), the
/// key exchange, and the MIC when the message has one (at offset 72, whether or not
/// MsvAvFlags announces it). Panics on a wrong value.
fn check_authenticate(n: &Nlmp, negotiate: &[u8], challenge: &[u8], auth: &[u8]) -> Shape {
    let a = AuthenticateMessage::decode(auth).expect("AUTHENTICATE decodes");
    let key = ntlm::NtlmV2Hash::from_bytes(n.ntowfv2);
    let keyed = ResponseKeyV2::new(&key);
    let v2 = NtlmV2Response::decode(a.nt_challenge_response).expect("an NTLMv2 response");
    let proof = keyed.nt_proof_str(&n.server_challenge, v2.blob);
    assert_eq!(proof, v2.nt_proof_str, "NTProofStr");
    let lmv2 = a.lm_challenge_response != [0u8; 24];
    if lmv2 {
        let cc: [u8; 8] = a.lm_challenge_response[16..].try_into().unwrap();
        assert_eq!(
            keyed.lm_v2_response(&n.server_challenge, &cc)[..],
            a.lm_challenge_response[..],
            "LMv2"
        );
    }
    let base = keyed.session_base_key(&proof);
    // Key exchange is the flag (ntlmclient fills EncryptedRandomSessionKey without it: with
    // its SessionBaseKey, in clear).
    let key_exchange = a.flags.contains(F::NEGOTIATE_KEY_EXCH);
    let exported = if key_exchange {
        crypto::rc4_session_key(&base, a.encrypted_random_session_key.try_into().unwrap())
    } else {
        crypto::kxkey_v2(&base)
    };
    // The payload starts at 88 when the header has VERSION and a MIC: the lowest offset of
    // the six non-empty fields (MS-NLMP §2.2.1.3).
    let u16_at = |i: usize| u16::from_le_bytes([auth[i], auth[i + 1]]);
    let payload_start = (0..6)
        .map(|f| 12 + 8 * f)
        .filter(|&at| u16_at(at) > 0)
        .map(|at| u32::from_le_bytes(auth[at + 4..at + 8].try_into().unwrap()))
        .min()
        .unwrap_or(0);
    let mic = payload_start >= 88 && auth[72..88] != [0u8; 16];
    if mic {
        let want = crypto::mic(&exported, negotiate, challenge, auth, 72);
        assert_eq!(want[..], auth[72..88], "MIC");
    }
    Shape {
        lmv2,
        key_exchange,
        mic,
    }
}

fn shape(lmv2: bool, key_exchange: bool, mic: bool) -> Shape {
    Shape {
        lmv2,
        key_exchange,
        mic,
    }
}

// ---------------------------------------------------------------- benches

fn ntowf_v2(c: &mut Criterion, n: &Nlmp) {
    let creds = ntlmclient_creds(n);
    let ours = || {
        crypto::ntowf_v2(
            &crypto::ntowf_v1(black_box(&n.password)),
            black_box(&n.user),
            black_box(&n.domain),
        )
    };
    let ntlmssp = || ntlmssp::nt_owf_v2(black_box(&n.password), &n.user, &n.domain);
    let red = || {
        red_ntlm::security::ntlmv2::ntowfv2(
            &red_ntlm::security::hash_nt(black_box(&n.password)),
            &n.user,
            &n.domain,
        )
    };
    let ntlmclient = || ntlmclient::ntlm_v2_password_func(black_box(&creds));
    assert_eq!(ours().as_bytes(), &n.ntowfv2);
    assert_eq!(ntlmssp(), n.ntowfv2);
    assert_eq!(red(), n.ntowfv2);
    assert_eq!(ntlmclient(), n.ntowfv2);

    let mut g = c.benchmark_group("peers/ntowf_v2");
    g.bench_function("ours", |b| b.iter(ours));
    g.bench_function("ntlmssp", |b| b.iter(ntlmssp));
    g.bench_function("red_ntlm", |b| b.iter(red));
    g.bench_function("ntlmclient", |b| b.iter(ntlmclient));
    g.finish();
}

fn ntlmv2_response(c: &mut Criterion, n: &Nlmp) {
    let key = ntlm::NtlmV2Hash::from_bytes(n.ntowfv2);
    let (nt, lm, base) = our_v2_response(&key, n);
    assert_eq!(nt, n.nt_response);
    assert_eq!(lm[..], n.lmv2[..]);
    assert_eq!(base.as_bytes(), &n.session_base_key);

    let (_, av) = red_ntlm::AvPairs::parse(&n.target_info).unwrap();
    let time = red_ntlm::time::filetime_to_datetime(0);
    let red = |av: red_ntlm::AvPairs| {
        let (nt, lm, base) = red_ntlm::security::ntlmv2::compute_response_ntlmv2(
            &n.ntowfv2,
            Some(&n.ntowfv2),
            &n.server_challenge,
            n.client_challenge,
            time,
            av,
        );
        (nt.build(), lm.build(), base)
    };
    let (nt, lm, base) = red(av.clone());
    assert_eq!(nt, n.nt_response);
    assert_eq!(lm[..], n.lmv2[..]);
    assert_eq!(base, n.session_base_key);

    let mut g = c.benchmark_group("peers/ntlmv2_response");
    g.bench_function("ours", |b| b.iter(|| our_v2_response(black_box(&key), n)));
    // red_ntlm takes the target info parsed and by value: the copy is made outside the
    // timing.
    g.bench_function("red_ntlm", |b| {
        b.iter_batched(|| av.clone(), red, BatchSize::SmallInput)
    });
    g.finish();

    // From the password, with a fresh random client challenge: the only NTLMv2 entry point
    // of ntlmclient. Checked by recomputing its NTProofStr and LMv2 from the §4.2 key.
    let creds = ntlmclient_creds(n);
    let ours = || {
        let key = crypto::ntowf_v2(
            &crypto::ntowf_v1(black_box(&n.password)),
            &n.user,
            &n.domain,
        );
        let keyed = ResponseKeyV2::new(&key);
        let cc: [u8; 8] = crypto::random_bytes();
        let mut nt = Vec::with_capacity(16 + crypto::ntlm_v2_blob_len(n.target_info.len()));
        nt.extend_from_slice(&[0; 16]);
        crypto::ntlm_v2_blob_into(&mut nt, 0, &cc, |o| o.extend_from_slice(&n.target_info));
        let proof = keyed.nt_proof_str(&n.server_challenge, &nt[16..]);
        nt[..16].copy_from_slice(&proof);
        let lm = keyed.lm_v2_response(&n.server_challenge, &cc);
        (nt, lm, keyed.session_base_key(&proof))
    };
    let ntlmclient =
        || ntlmclient::respond_challenge_ntlm_v2(n.server_challenge, &n.target_info, 0, &creds);
    let keyed = ResponseKeyV2::new(&key);
    let r = ntlmclient();
    let v2 = NtlmV2Response::decode(&r.ntlm_response).unwrap();
    assert_eq!(
        keyed.nt_proof_str(&n.server_challenge, v2.blob),
        v2.nt_proof_str
    );
    assert_eq!(
        keyed.lm_v2_response(&n.server_challenge, &v2.client_challenge)[..],
        r.lm_response[..]
    );
    assert_eq!(
        keyed.session_base_key(&v2.nt_proof_str).as_bytes()[..],
        r.session_key[..]
    );
    let (nt, _, _) = ours();
    assert_eq!(
        keyed.nt_proof_str(&n.server_challenge, &nt[16..])[..],
        nt[..16]
    );

    let mut g = c.benchmark_group("peers/ntlmv2_response_from_password");
    g.bench_function("ours", |b| b.iter(ours));
    g.bench_function("ntlmclient", |b| b.iter(ntlmclient));
    g.finish();
}

fn decode_challenge(c: &mut Criterion, n: &Nlmp) {
    let bytes = &n.challenge[..];
    let m = ChallengeMessage::decode(bytes).unwrap();
    assert_eq!(m.server_challenge, n.server_challenge);
    assert_eq!(
        m.target_info.unwrap().iter().count(),
        2,
        "NbDomainName, NbComputerName (EOL ends the iteration)"
    );
    let s = ntlmssp::parse_challenge(bytes).unwrap();
    assert_eq!(s.server_challenge, n.server_challenge);
    assert_eq!(s.target_info, n.target_info);
    let r = red_ntlm::NtlmChallenge::parse(bytes).unwrap();
    assert_eq!(r.server_challenge, n.server_challenge);
    assert_eq!(r.nb_domain_name().map(String::as_str), Some("Domain"));
    assert_eq!(r.nb_computer_name().map(String::as_str), Some("Server"));
    let ntlmclient::Message::Challenge(c2) = ntlmclient::Message::try_from(bytes).unwrap() else {
        panic!("not a CHALLENGE")
    };
    assert_eq!(c2.challenge, n.server_challenge);
    assert_eq!(c2.target_information.len(), 3);

    let mut g = c.benchmark_group("peers/decode_challenge");
    g.bench_function("ours", |b| {
        b.iter(|| ChallengeMessage::decode(black_box(bytes)).unwrap())
    });
    g.bench_function("ntlmssp", |b| {
        b.iter(|| ntlmssp::parse_challenge(black_box(bytes)).unwrap())
    });
    g.bench_function("red_ntlm", |b| {
        b.iter(|| red_ntlm::NtlmChallenge::parse(black_box(bytes)).unwrap())
    });
    g.bench_function("ntlmclient", |b| {
        b.iter(|| ntlmclient::Message::try_from(black_box(bytes)).unwrap())
    });
    g.finish();
}

/// `ours+lmv2`: our AUTHENTICATE plus one HMAC-MD5 under the NTOWFv2 key over 16 bytes (the
/// LMv2 that ntlmssp and sspi compute even when the server sent a timestamp and ours sends
/// Z(24)), so that those two are compared on the same count of hashes.
fn our_extra_lmv2(n: &Nlmp) -> [u8; 24] {
    let key = ntlm::NtlmV2Hash::from_bytes(black_box(n.ntowfv2));
    crypto::lm_v2_response(&key, &n.server_challenge, &n.client_challenge)
}

fn authenticate(c: &mut Criterion, n: &Nlmp) {
    let now = SystemTime::now;

    // ---- §4.2 CHALLENGE, no timestamp: LMv2, no MIC, no key exchange (ntlmclient).
    {
        let ch = &n.challenge[..];
        let (mut client, neg) = our_client(n, false);
        let a = client.authenticate(ch, now()).unwrap();
        assert_eq!(
            check_authenticate(n, &neg, ch, &a),
            shape(true, false, false)
        );
        let creds = ntlmclient_creds(n);
        let a = ntlmclient_authenticate(&creds, ch);
        assert_eq!(
            check_authenticate(n, &[], ch, &a),
            shape(true, false, false)
        );

        let mut g = c.benchmark_group("peers/authenticate/lmv2");
        g.bench_function("ours", |b| {
            b.iter_batched(
                || our_client(n, false),
                |(mut c, _)| c.authenticate(black_box(ch), now()).unwrap(),
                BatchSize::SmallInput,
            )
        });
        g.bench_function("ntlmclient", |b| {
            b.iter(|| ntlmclient_authenticate(&creds, black_box(ch)))
        });
        g.finish();
    }

    // ---- with a timestamp: MIC, no key exchange (ntlmssp, which adds LMv2 regardless).
    let ch = &n.challenge_ts[..];
    {
        let (mut client, neg) = our_client(n, false);
        let a = client.authenticate(ch, now()).unwrap();
        assert_eq!(
            check_authenticate(n, &neg, ch, &a),
            shape(false, false, true)
        );
        let s = ntlmssp::Ntlm::new();
        let (a, _) = s
            .authenticate(ch, &n.domain, &n.user, &n.password, "")
            .unwrap();
        assert_eq!(
            check_authenticate(n, s.negotiate(), ch, &a),
            shape(true, false, true)
        );

        let mut g = c.benchmark_group("peers/authenticate/mic");
        g.bench_function("ours", |b| {
            b.iter_batched(
                || our_client(n, false),
                |(mut c, _)| c.authenticate(black_box(ch), now()).unwrap(),
                BatchSize::SmallInput,
            )
        });
        g.bench_function("ours+lmv2", |b| {
            b.iter_batched(
                || our_client(n, false),
                |(mut c, _)| {
                    (
                        c.authenticate(black_box(ch), now()).unwrap(),
                        our_extra_lmv2(n),
                    )
                },
                BatchSize::SmallInput,
            )
        });
        g.bench_function("ntlmssp", |b| {
            b.iter_batched(
                ntlmssp::Ntlm::new,
                |s| {
                    s.authenticate(black_box(ch), &n.domain, &n.user, &n.password, "")
                        .unwrap()
                },
                BatchSize::SmallInput,
            )
        });
        g.finish();
    }

    // ---- with a timestamp: MIC and key exchange (red_ntlm; sspi adds LMv2 regardless).
    {
        let (mut client, neg) = our_client(n, true);
        let a = client.authenticate(ch, now()).unwrap();
        assert_eq!(
            check_authenticate(n, &neg, ch, &a),
            shape(false, true, true)
        );

        let red_config = red_ntlm::NtlmClientConfig::default();
        let mut red_ctx = red_context(n);
        let red_neg = red_ntlm::gen_ntlm_negotiate(&red_ctx, &red_config);
        let a = red_authenticate(n, &mut red_ctx, &red_config, &red_neg, ch);
        assert_eq!(
            check_authenticate(n, &red_neg, ch, &a),
            shape(false, true, true)
        );

        let identity = sspi_identity(n);
        let (mut sc, mut screds, sneg) = sspi_client(&identity);
        let a = sspi_authenticate(&mut sc, &mut screds, ch);
        assert_eq!(
            check_authenticate(n, &sneg, ch, &a),
            shape(true, true, true)
        );

        let mut g = c.benchmark_group("peers/authenticate/kx_mic");
        g.bench_function("ours", |b| {
            b.iter_batched(
                || our_client(n, true),
                |(mut c, _)| c.authenticate(black_box(ch), now()).unwrap(),
                BatchSize::SmallInput,
            )
        });
        g.bench_function("ours+lmv2", |b| {
            b.iter_batched(
                || our_client(n, true),
                |(mut c, _)| {
                    (
                        c.authenticate(black_box(ch), now()).unwrap(),
                        our_extra_lmv2(n),
                    )
                },
                BatchSize::SmallInput,
            )
        });
        g.bench_function("red_ntlm", |b| {
            b.iter(|| red_authenticate(n, &mut red_ctx, &red_config, &red_neg, black_box(ch)))
        });
        g.bench_function("sspi", |b| {
            b.iter_batched(
                || sspi_client(&identity),
                |(mut c, mut creds, _)| {
                    let a = sspi_authenticate(&mut c, &mut creds, black_box(ch));
                    (c, a)
                },
                BatchSize::SmallInput,
            )
        });
        g.finish();
    }
}

fn handshake(c: &mut Criterion, n: &Nlmp) {
    let config = our_server(n);
    let ours = |password: &str| {
        let mut client =
            ClientContext::new(ClientConfig::new(level3(), &n.domain, &n.user, password));
        let mut server = ServerContext::new(config.clone());
        let neg = client.negotiate().unwrap();
        let ch = server.challenge(&neg, SystemTime::now()).unwrap();
        let a = client.authenticate(&ch, SystemTime::now()).unwrap();
        server.accept(&a, SystemTime::now())
    };
    let logon = ours(&n.password).expect("ours: the right password is accepted");
    assert_eq!(logon.user, n.user);
    assert!(ours("wrong").is_err(), "ours: a wrong password is refused");

    let identity = sspi_identity(n);
    let nt_hash = *crypto::ntowf_v1(&n.password).as_bytes();
    let server_creds = sspi_server_creds(n, nt_hash);
    assert_eq!(
        sspi_handshake(&identity, &server_creds).unwrap(),
        SecurityStatus::Ok
    );
    let wrong = AuthIdentity {
        username: Username::new(&n.user, Some(&n.domain)).unwrap(),
        password: String::from("wrong").into(),
    };
    assert!(
        sspi_handshake(&wrong, &server_creds).is_err(),
        "sspi: a wrong password is refused"
    );

    let mut g = c.benchmark_group("peers/handshake_l3");
    g.bench_function("ours", |b| b.iter(|| ours(black_box(&n.password)).unwrap()));
    g.bench_function("sspi", |b| {
        b.iter(|| sspi_handshake(black_box(&identity), &server_creds).unwrap())
    });
    g.finish();
}

fn bench(c: &mut Criterion) {
    let n = nlmp();
    ntowf_v2(c, &n);
    ntlmv2_response(c, &n);
    decode_challenge(c, &n);
    authenticate(c, &n);
    handshake(c, &n);
}

criterion_group!(benches, bench);
criterion_main!(benches);
