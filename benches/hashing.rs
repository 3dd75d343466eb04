//! The hashing core: LMOWFv1, NTOWFv1, NTOWFv2 and every response kind, each beside its
//! compression bound (see common/mod.rs for the counting rules).
//!
//! ```text
//! cargo bench --bench hashing
//! ```
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use md4::{Digest, Md4};
use ntlm::crypto::{self, ResponseKeyV2};
use ntlm::wire::{AvFlags, AvPair, TargetInfoBuilder, WireString};

#[path = "common/mod.rs"]
mod common;
use common::{blocks, hmac, run_bound, Bound, BoundScratch};

const PW8: &str = "Secret1!";
const PW32: &str = "correct horse battery staple 32!";
const PW14: &str = "Correct14Chars";
const SC: [u8; 8] = [0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef];
const CC: [u8; 8] = [0xaa; 8];

/// The AV pairs a Windows client echoes: the server's five, plus MsvAvFlags and
/// MsvAvChannelBindings; eight pairs with MsvAvTargetName... here the eighth is the tree name.
fn target_info() -> Vec<u8> {
    let u = ntlm::wire::utf16le;
    let (nbd, nbc, dnsd, dnsc) = (
        u("CORP"),
        u("SERVER"),
        u("corp.example.com"),
        u("server.corp.example.com"),
    );
    let mut b = TargetInfoBuilder::new();
    b.set(AvPair::NbDomainName(WireString::Utf16(&nbd)));
    b.set(AvPair::NbComputerName(WireString::Utf16(&nbc)));
    b.set(AvPair::DnsDomainName(WireString::Utf16(&dnsd)));
    b.set(AvPair::DnsComputerName(WireString::Utf16(&dnsc)));
    b.set(AvPair::DnsTreeName(WireString::Utf16(&dnsd)));
    b.set(AvPair::Timestamp(133_444_736_000_000_000));
    b.set(AvPair::Flags(AvFlags::MIC_PRESENT));
    b.set(AvPair::ChannelBindings([0x11; 16]));
    b.encode()
}

/// The ideal NTOWFv1: UTF-16LE into a stack buffer, then one MD4 hash.
fn ntowf_v1_ideal(password: &str) -> [u8; 16] {
    let mut buf = [0u8; 128];
    let mut n = 0;
    for u in password.encode_utf16() {
        buf[n..n + 2].copy_from_slice(&u.to_le_bytes());
        n += 2;
    }
    Md4::digest(&buf[..n]).into()
}

fn bench(c: &mut Criterion) {
    let nt = crypto::ntowf_v1(PW8);
    let lm = crypto::lmowf_v1(PW8).expect("an ASCII password of 8 characters");
    let v2 = crypto::ntowf_v2(&nt, common::USER, common::DOMAIN);
    let info = target_info();
    assert_eq!(info.len(), 194);
    let blob = crypto::ntlm_v2_blob(133_444_736_000_000_000, &CC, &info);
    let user_domain = common::u16len(common::USER) + common::u16len(common::DOMAIN);

    // name, bound
    let bounds: Vec<(&str, Bound)> = vec![
        (
            "lmowf_v1/8",
            Bound {
                des: 2,
                ..Bound::default()
            },
        ),
        (
            "lmowf_v1/14",
            Bound {
                des: 2,
                ..Bound::default()
            },
        ),
        (
            "ntowf_v2/8",
            Bound {
                md4: [blocks(16), 0, 0, 0],
                md5: hmac(user_domain),
                ..Bound::default()
            },
        ),
        (
            "ntowf_v2/32",
            Bound {
                md4: [blocks(64), 0, 0, 0],
                md5: hmac(user_domain),
                ..Bound::default()
            },
        ),
        (
            "lm_v1_response",
            Bound {
                des: 3,
                ..Bound::default()
            },
        ),
        (
            "ntlm_v1_response",
            Bound {
                des: 3,
                ..Bound::default()
            },
        ),
        (
            "ess_nt_response",
            Bound {
                md5: blocks(16),
                des: 3,
                ..Bound::default()
            },
        ),
        (
            "ntlm_v2_response",
            Bound {
                md5: hmac(8 + blob.len()),
                ..Bound::default()
            },
        ),
        // NTProofStr then SessionBaseKey under the same key: one key schedule.
        (
            "ntlm_v2_proof+base_key",
            Bound {
                md5: hmac(8 + blob.len()) + common::hmac_keyed(16),
                ..Bound::default()
            },
        ),
        (
            "lm_v2_response",
            Bound {
                md5: hmac(16),
                ..Bound::default()
            },
        ),
    ];
    for (name, b) in &bounds {
        eprintln!("bound {name}: {}", b.describe());
    }

    let mut g = c.benchmark_group("hashing");
    g.bench_function("lmowf_v1/8", |b| {
        b.iter(|| crypto::lmowf_v1(black_box(PW8)))
    });
    // LMOWFv1 stops at 14 characters: a longer password has no LM hash.
    g.bench_function("lmowf_v1/14", |b| {
        b.iter(|| crypto::lmowf_v1(black_box(PW14)))
    });
    g.bench_function("ntowf_v1/8", |b| {
        b.iter(|| crypto::ntowf_v1(black_box(PW8)))
    });
    g.bench_function("ntowf_v1/32", |b| {
        b.iter(|| crypto::ntowf_v1(black_box(PW32)))
    });
    g.bench_function("ntowf_v2/8", |b| {
        b.iter(|| {
            crypto::ntowf_v2(
                &crypto::ntowf_v1(black_box(PW8)),
                common::USER,
                common::DOMAIN,
            )
        })
    });
    g.bench_function("ntowf_v2/32", |b| {
        b.iter(|| {
            crypto::ntowf_v2(
                &crypto::ntowf_v1(black_box(PW32)),
                common::USER,
                common::DOMAIN,
            )
        })
    });
    g.bench_function("lm_v1_response", |b| {
        b.iter(|| crypto::lm_v1_response(black_box(&lm), &SC))
    });
    g.bench_function("ntlm_v1_response", |b| {
        b.iter(|| crypto::ntlm_v1_response(black_box(&nt), &SC))
    });
    g.bench_function("ess_nt_response", |b| {
        b.iter(|| crypto::ess_nt_response(black_box(&nt), &SC, &CC))
    });
    g.bench_function("ntlm_v2_response", |b| {
        b.iter(|| crypto::ntlm_v2_response(black_box(&v2), &SC, &blob))
    });
    g.bench_function("ntlm_v2_proof+base_key/separate", |b| {
        b.iter(|| {
            let p = crypto::nt_proof_str(black_box(&v2), &SC, &blob);
            crypto::ntlm_v2_session_base_key(&v2, &p)
        })
    });
    g.bench_function("ntlm_v2_proof+base_key/keyed", |b| {
        b.iter(|| {
            let k = ResponseKeyV2::new(black_box(&v2));
            let p = k.nt_proof_str(&SC, &blob);
            k.session_base_key(&p)
        })
    });
    g.bench_function("lm_v2_response", |b| {
        b.iter(|| crypto::lm_v2_response(black_box(&v2), &SC, &CC))
    });
    g.finish();

    let mut g = c.benchmark_group("bound");
    let mut scratch = BoundScratch::new();
    g.bench_function("ntowf_v1/8", |b| b.iter(|| ntowf_v1_ideal(black_box(PW8))));
    g.bench_function("ntowf_v1/32", |b| {
        b.iter(|| ntowf_v1_ideal(black_box(PW32)))
    });
    for (name, bound) in &bounds {
        g.bench_function(*name, |b| {
            b.iter(|| run_bound(black_box(bound), &mut scratch))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
