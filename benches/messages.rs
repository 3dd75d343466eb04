//! Decoding and encoding of the three messages: the MS-NLMP §4.2 bytes, and the messages of a
//! Windows-like handshake (our contexts, with DNS names, SPN, channel bindings and MIC).
//! No cryptography is involved, so there is no compression bound here.
//!
//! ```text
//! cargo bench --bench messages
//! ```
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ntlm::wire::{AuthenticateMessage, ChallengeMessage, NegotiateMessage, NtlmV2Response};

#[path = "common/mod.rs"]
mod common;

fn bench(c: &mut Criterion) {
    let ready = common::ready(&common::server_config(3), 3);
    let inputs: Vec<(&str, Vec<u8>)> = vec![
        ("negotiate/ours", ready.negotiate.clone()),
        (
            "challenge/nlmp_v1",
            common::vector("ntlmv1.challenge_message"),
        ),
        (
            "challenge/nlmp_v2",
            common::vector("ntlmv2.challenge_message"),
        ),
        ("challenge/windows_like", ready.challenge.clone()),
        (
            "authenticate/nlmp_v1",
            common::vector("ntlmv1.authenticate_message"),
        ),
        (
            "authenticate/nlmp_v2",
            common::vector("ntlmv2.authenticate_message"),
        ),
        ("authenticate/windows_like", ready.authenticate.clone()),
    ];
    for (name, bytes) in &inputs {
        eprintln!("{name}: {} bytes", bytes.len());
    }

    let mut g = c.benchmark_group("decode");
    for (name, bytes) in &inputs {
        g.throughput(Throughput::Bytes(bytes.len() as u64));
        let bytes = bytes.as_slice();
        match name.split('/').next() {
            Some("negotiate") => g.bench_function(*name, |b| {
                b.iter(|| NegotiateMessage::decode(black_box(bytes)).unwrap())
            }),
            Some("challenge") => g.bench_function(*name, |b| {
                b.iter(|| ChallengeMessage::decode(black_box(bytes)).unwrap())
            }),
            _ => g.bench_function(*name, |b| {
                b.iter(|| AuthenticateMessage::decode(black_box(bytes)).unwrap())
            }),
        };
    }
    // What a verifier decodes on top of the message: the NTLMv2 response and its AV pairs.
    let auth = AuthenticateMessage::decode(&ready.authenticate).unwrap();
    let nt = auth.nt_challenge_response;
    g.bench_function("ntlmv2_response/windows_like", |b| {
        b.iter(|| NtlmV2Response::decode(black_box(nt)).unwrap())
    });
    g.finish();

    let mut g = c.benchmark_group("encode");
    let mut out = Vec::with_capacity(4096);
    for (name, bytes) in &inputs {
        g.throughput(Throughput::Bytes(bytes.len() as u64));
        let bytes = bytes.as_slice();
        match name.split('/').next() {
            Some("negotiate") => {
                let m = NegotiateMessage::decode(bytes).unwrap();
                g.bench_function(*name, |b| b.iter(|| black_box(&m).encode()));
                g.bench_function(format!("{name}/into_reused"), |b| {
                    b.iter(|| {
                        out.clear();
                        black_box(&m).encode_into(&mut out)
                    })
                });
            }
            Some("challenge") => {
                let m = ChallengeMessage::decode(bytes).unwrap();
                g.bench_function(*name, |b| b.iter(|| black_box(&m).encode()));
                g.bench_function(format!("{name}/into_reused"), |b| {
                    b.iter(|| {
                        out.clear();
                        black_box(&m).encode_into(&mut out)
                    })
                });
            }
            _ => {
                let m = AuthenticateMessage::decode(bytes).unwrap();
                g.bench_function(*name, |b| b.iter(|| black_box(&m).encode()));
                g.bench_function(format!("{name}/into_reused"), |b| {
                    b.iter(|| {
                        out.clear();
                        black_box(&m).encode_into(&mut out)
                    })
                });
            }
        }
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
