//! Known-answer tests: every value of MS-NLMP §4.2 (`test-vectors/ms-nlmp-4.2.toml`,
//! sections `[ntlmv1]`, `[ntlmv1_ess]`, `[ntlmv2]`, except the encoded messages), the extra
//! values of `test-vectors/extra-hashes.toml`, RFC 6229 for RC4 and CRC-32 check values.

use crate::common;

use common::{hex, Vectors};
use ntlm::crypto::*;
use ntlm::{NegotiateFlags as F, SessionKey};
use std::cell::RefCell;
use std::collections::BTreeSet;

/// A vector file that records which keys a test read, so a section test can assert that it
/// checked every value of its section.
struct Rec {
    v: Vectors,
    used: RefCell<BTreeSet<String>>,
}

impl Rec {
    fn nlmp() -> Self {
        Self {
            v: Vectors::nlmp(),
            used: RefCell::default(),
        }
    }
    fn get(&self, k: &str) -> &str {
        self.used.borrow_mut().insert(k.to_string());
        self.v.get(k)
    }
    fn hex(&self, k: &str) -> Vec<u8> {
        hex(self.get(k))
    }
    fn arr<const N: usize>(&self, k: &str) -> [u8; N] {
        self.hex(k)
            .try_into()
            .unwrap_or_else(|_| panic!("{k}: not {N} bytes"))
    }
    /// Every key of `section` except `skip` was read.
    fn assert_all_used(&self, section: &str, skip: &[&str]) {
        let used = self.used.borrow();
        let prefix = format!("{section}.");
        let missing: Vec<_> = self
            .v
            .keys()
            .filter(|k| k.starts_with(&prefix))
            .filter(|k| !skip.contains(&&k[prefix.len()..]))
            .filter(|k| !used.contains(*k))
            .collect();
        assert!(missing.is_empty(), "values not checked: {missing:?}");
    }
}

struct Inputs {
    password: String,
    user: String,
    domain: String,
    server_challenge: [u8; 8],
    client_challenge: [u8; 8],
    random_session_key: [u8; 16],
    time: u64,
    plaintext: Vec<u8>,
}

fn inputs(v: &Rec) -> Inputs {
    let i = Inputs {
        password: v.get("inputs.password").to_string(),
        user: v.get("inputs.user").to_string(),
        domain: v.get("inputs.domain").to_string(),
        server_challenge: v.arr("inputs.server_challenge"),
        client_challenge: v.arr("inputs.client_challenge"),
        random_session_key: v.arr("inputs.random_session_key"),
        time: u64::from_le_bytes(v.arr("inputs.time")),
        plaintext: v.hex("inputs.plaintext"),
    };
    assert_eq!(
        i.plaintext,
        "Plaintext"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect::<Vec<_>>()
    );
    // workstation and server name are used by the message tests, not here.
    let _ = (v.get("inputs.workstation"), v.get("inputs.server_name"));
    i
}

const SKIP: &[&str] = &["challenge_message", "authenticate_message"];

/// §4.2.2 flags: KEY_EXCH, 56, 128, VERSION, TARGET_TYPE_SERVER, ALWAYS_SIGN, NTLM, SEAL,
/// SIGN, OEM, UNICODE.
const V1_FLAGS: F = F::from_bits(0xe202_8233);

#[test]
fn ntlmv1_section_4_2_2() {
    let v = Rec::nlmp();
    let i = inputs(&v);
    let lm = lmowf_v1(&i.password).unwrap();
    let nt = ntowf_v1(&i.password);
    assert_eq!(lm.as_bytes(), &v.arr("ntlmv1.lmowfv1"));
    assert_eq!(nt.as_bytes(), &v.arr("ntlmv1.ntowfv1"));

    let base = ntlm_v1_session_base_key(&nt);
    assert_eq!(base.as_bytes(), &v.arr("ntlmv1.session_base_key"));

    let lm_resp = lm_v1_response(&lm, &i.server_challenge);
    let nt_resp = ntlm_v1_response(&nt, &i.server_challenge);
    assert_eq!(lm_resp, v.arr("ntlmv1.lm_response"));
    assert_eq!(nt_resp, v.arr("ntlmv1.nt_response"));

    let sc = &i.server_challenge;
    let kx = kxkey_v1(V1_FLAGS, &base, Some(&lm), &lm_resp, sc).unwrap();
    assert_eq!(kx.as_bytes(), &v.arr("ntlmv1.key_exchange_key"));
    let kx_lm = kxkey_v1(
        V1_FLAGS | F::NEGOTIATE_LM_KEY,
        &base,
        Some(&lm),
        &lm_resp,
        sc,
    )
    .unwrap();
    assert_eq!(kx_lm.as_bytes(), &v.arr("ntlmv1.key_exchange_key_lm_key"));
    let kx_nn = kxkey_v1(
        V1_FLAGS | F::REQUEST_NON_NT_SESSION_KEY,
        &base,
        Some(&lm),
        &lm_resp,
        sc,
    )
    .unwrap();
    assert_eq!(
        kx_nn.as_bytes(),
        &v.arr("ntlmv1.key_exchange_key_non_nt_session_key")
    );
    // Without the LM hash the LM-based keys cannot be made.
    assert!(kxkey_v1(F::NEGOTIATE_LM_KEY, &base, None, &lm_resp, sc).is_none());
    assert!(kxkey_v1(F::REQUEST_NON_NT_SESSION_KEY, &base, None, &lm_resp, sc).is_none());

    let rsk = &i.random_session_key;
    for (kx, name) in [
        (&kx, "ntlmv1.encrypted_session_key"),
        (&kx_lm, "ntlmv1.encrypted_session_key_lm_key"),
        (&kx_nn, "ntlmv1.encrypted_session_key_non_nt_session_key"),
    ] {
        let enc = rc4_session_key(kx, rsk);
        assert_eq!(enc.as_bytes(), &v.arr(name), "{name}");
        assert_eq!(
            rc4_session_key(kx, enc.as_bytes()).as_bytes(),
            rsk,
            "{name}"
        );
    }

    // Session security: no ESS, no LM_KEY, so the seal key is the exported key itself and
    // there is no sign key.
    let exported = SessionKey::from_bytes(*rsk);
    assert!(sign_key(V1_FLAGS, &exported, Side::Client).is_none());
    assert_eq!(seal_key(V1_FLAGS, &exported, Side::Client).as_bytes(), rsk);
    let mut client = SessionSecurity::new(V1_FLAGS, &exported, Side::Client);
    let mut msg = i.plaintext.clone();
    let sig = client.seal(&mut msg);
    assert_eq!(msg, v.hex("ntlmv1.seal_ciphertext"));
    assert_eq!(sig, v.arr("ntlmv1.seal_signature_zero_pad"));

    // The document's variant differs only in RandomPad, which holds RC4(0) there.
    let doc: [u8; 16] = v.arr("ntlmv1.seal_signature_spec_document");
    assert_ne!(doc, sig);
    assert_eq!(doc[..4], sig[..4]);
    assert_eq!(doc[8..], sig[8..]);
    assert_eq!(sig[4..8], [0; 4]);
    let mut pad = [0u8; 4 + 18];
    Rc4::new(rsk).apply_keystream(&mut pad);
    assert_eq!(doc[4..8], pad[18..]); // keystream bytes 18..22: after the 18-byte message

    // A server accepts both variants.
    for s in [sig, doc] {
        let mut server = SessionSecurity::new(V1_FLAGS, &exported, Side::Server);
        let mut m = v.hex("ntlmv1.seal_ciphertext");
        server.unseal(&mut m, &s).unwrap();
        assert_eq!(m, i.plaintext);
    }

    // The pure signature function agrees.
    let mut h = Rc4::new(rsk);
    let mut m = i.plaintext.clone();
    h.apply_keystream(&mut m);
    assert_eq!(signature_v1(&mut h, 0, &i.plaintext), sig);

    v.assert_all_used("ntlmv1", SKIP);
}

#[test]
fn ntlmv1_ess_section_4_2_3() {
    let v = Rec::nlmp();
    let i = inputs(&v);
    let flags = F::from_bits(u32::from_be_bytes(v.arr("ntlmv1_ess.negotiate_flags")));
    assert!(flags.contains(F::NEGOTIATE_EXTENDED_SESSIONSECURITY | F::NEGOTIATE_56));
    assert!(!flags.intersects(F::NEGOTIATE_128 | F::NEGOTIATE_KEY_EXCH));

    let nt = ntowf_v1(&i.password);
    let lm_resp = ess_lm_response(&i.client_challenge);
    assert_eq!(lm_resp, v.arr("ntlmv1_ess.lm_response"));
    let nt_resp = ess_nt_response(&nt, &i.server_challenge, &i.client_challenge);
    assert_eq!(nt_resp, v.arr("ntlmv1_ess.nt_response"));
    let base = ntlm_v1_session_base_key(&nt);
    assert_eq!(base.as_bytes(), &v.arr("ntlmv1_ess.session_base_key"));

    // ESS ignores the LM hash.
    let kx = kxkey_v1(flags, &base, None, &lm_resp, &i.server_challenge).unwrap();
    assert_eq!(kx.as_bytes(), &v.arr("ntlmv1_ess.key_exchange_key"));

    // No KEY_EXCH: the exported session key is the key exchange key.
    assert!(sign_key(flags, &kx, Side::Client)
        .unwrap()
        .ct_eq_bytes(&v.hex("ntlmv1_ess.sign_key")));
    let seal = seal_key(flags, &kx, Side::Client);
    assert_eq!(seal.len(), 16);
    assert_eq!(seal.as_bytes(), &v.hex("ntlmv1_ess.seal_key")[..]);

    let mut client = SessionSecurity::new(flags, &kx, Side::Client);
    let mut msg = i.plaintext.clone();
    let sig = client.seal(&mut msg);
    assert_eq!(msg, v.hex("ntlmv1_ess.seal_ciphertext"));
    assert_eq!(sig, v.arr("ntlmv1_ess.seal_signature"));

    let mut server = SessionSecurity::new(flags, &kx, Side::Server);
    server.unseal(&mut msg, &sig).unwrap();
    assert_eq!(msg, i.plaintext);

    // Pure function: without KEY_EXCH the checksum is not encrypted.
    let sk = sign_key(flags, &kx, Side::Client).unwrap();
    assert_eq!(signature_ess(&sk, None, 0, &i.plaintext), sig);

    v.assert_all_used("ntlmv1_ess", SKIP);
}

#[test]
fn ntlmv2_section_4_2_4() {
    let v = Rec::nlmp();
    let i = inputs(&v);
    let key = ntowf_v2(&ntowf_v1(&i.password), &i.user, &i.domain);
    assert_eq!(key.as_bytes(), &v.arr("ntlmv2.ntowfv2"));

    let lm = lm_v2_response(&key, &i.server_challenge, &i.client_challenge);
    assert_eq!(lm, v.arr("ntlmv2.lmv2_response"));

    let target_info = v.hex("ntlmv2.target_info");
    let blob = ntlm_v2_blob(i.time, &i.client_challenge, &target_info);
    let proof = nt_proof_str(&key, &i.server_challenge, &blob);
    assert_eq!(proof, v.arr("ntlmv2.nt_proof_str"));
    let resp = ntlm_v2_response(&key, &i.server_challenge, &blob);
    assert_eq!(resp, v.hex("ntlmv2.nt_response"));
    assert_eq!(resp[16..], blob[..]);

    let base = ntlm_v2_session_base_key(&key, &proof);
    assert_eq!(base.as_bytes(), &v.arr("ntlmv2.session_base_key"));
    let kx = kxkey_v2(&base);
    assert_eq!(kx.as_bytes(), base.as_bytes());
    let enc = rc4_session_key(&kx, &i.random_session_key);
    assert_eq!(enc.as_bytes(), &v.arr("ntlmv2.encrypted_session_key"));

    // Flags of the §4.2.4 CHALLENGE: 0xe28a8233 (ESS, 128, KEY_EXCH, ...).
    let flags = F::from_bits(0xe28a_8233);
    let exported = SessionKey::from_bytes(i.random_session_key);
    let k = |name: &str| v.hex(name);
    assert_eq!(
        sign_key(flags, &exported, Side::Client).unwrap().as_bytes(),
        &k("ntlmv2.client_sign_key")[..]
    );
    assert_eq!(
        sign_key(flags, &exported, Side::Server).unwrap().as_bytes(),
        &k("ntlmv2.server_sign_key")[..]
    );
    assert_eq!(
        seal_key(flags, &exported, Side::Client).as_bytes(),
        &k("ntlmv2.client_seal_key")[..]
    );
    assert_eq!(
        seal_key(flags, &exported, Side::Server).as_bytes(),
        &k("ntlmv2.server_seal_key")[..]
    );
    // 56 and 40 bits: not in the specification document; the values of the vector file
    // agree with this implementation and with pyspnego's sealkey().
    let no128 = F::from_bits(flags.bits() & !F::NEGOTIATE_128.bits());
    assert_eq!(
        seal_key(no128 | F::NEGOTIATE_56, &exported, Side::Client).as_bytes(),
        &k("ntlmv2.client_seal_key_56bit")[..]
    );
    let no56 = F::from_bits(no128.bits() & !F::NEGOTIATE_56.bits());
    assert_eq!(
        seal_key(no56, &exported, Side::Client).as_bytes(),
        &k("ntlmv2.client_seal_key_40bit")[..]
    );

    let mut client = SessionSecurity::new(flags, &exported, Side::Client);
    let mut msg = i.plaintext.clone();
    let sig = client.seal(&mut msg);
    assert_eq!(msg, v.hex("ntlmv2.seal_ciphertext"));
    assert_eq!(sig, v.arr("ntlmv2.seal_signature"));
    let mut server = SessionSecurity::new(flags, &exported, Side::Server);
    server.unseal(&mut msg, &sig).unwrap();
    assert_eq!(msg, i.plaintext);

    v.assert_all_used("ntlmv2", SKIP);
}

#[test]
fn extra_passwords() {
    let v = Vectors::load("extra-hashes.toml");
    assert_eq!(v.get("passwords.latin"), "P\u{e4}ssw\u{f6}rd");
    assert_eq!(v.get("passwords.emoji"), "P\u{1f600}ss");
    for name in ["latin", "emoji"] {
        let pw = v.get(&format!("passwords.{name}"));
        assert_eq!(
            ntowf_v1(pw).as_bytes(),
            &v.arr(&format!("passwords.{name}_nt")),
            "{name}"
        );
    }
}

#[test]
fn lm_hash_ends_at_14_cp850_bytes() {
    assert!(lmowf_v1("Correct14Chars").is_some());
    assert!(lmowf_v1("Correct15Chars!").is_none());
    // 14 characters, 28 bytes of UTF-8 but 14 of CP850.
    assert!(lmowf_v1(&"\u{c4}".repeat(14)).is_some());
    assert!(lmowf_v1(&"\u{c4}".repeat(15)).is_none());
    assert!(lmowf_v1("").is_some());
}

#[test]
fn lm_responses_match_samba_for_non_ascii_passwords() {
    let v = Vectors::load("extra-hashes.toml");
    let challenge: [u8; 8] = v.arr("samba_lm.server_challenge");
    assert_eq!(v.get("samba_lm.sharp_s"), "stra\u{df}e");
    let names: Vec<&str> = v.get("samba_lm.names").split(' ').collect();
    assert_eq!(names.len(), 7);
    for name in names {
        let pw = v.get(&format!("samba_lm.{name}"));
        match v.try_get(&format!("samba_lm.{name}_lm")) {
            Some(lm) => {
                let hash = lmowf_v1(pw).unwrap_or_else(|| panic!("{name}: no LM hash"));
                assert_eq!(
                    lm_v1_response(&hash, &challenge).to_vec(),
                    hex(lm),
                    "{name}"
                );
            }
            None => {
                // No LM hash: Samba's LM field is a copy of its NTLMv1 response.
                assert!(
                    lmowf_v1(pw).is_none(),
                    "{name}: an LM hash Samba does not have"
                );
                let copy = hex(v.get(&format!("samba_lm.{name}_copy")));
                assert_eq!(
                    ntlm_v1_response(&ntowf_v1(pw), &challenge).to_vec(),
                    copy,
                    "{name}"
                );
            }
        }
    }
}

#[test]
fn extra_ntowfv2_non_bmp() {
    let v = Vectors::load("extra-hashes.toml");
    let user = v.get("ntowfv2_non_bmp.user");
    assert_eq!(user, "\u{1f600}alice");
    let key = ntowf_v2(&ntowf_v1("Password"), user, v.get("ntowfv2_non_bmp.domain"));
    assert_eq!(key.as_bytes(), &v.arr("ntowfv2_non_bmp.ntowfv2"));
    let password = v.get("ntowfv2_non_bmp.password2");
    assert_eq!(password, "P\u{1f600}ss");
    let key = ntowf_v2(
        &ntowf_v1(password),
        v.get("ntowfv2_non_bmp.user2"),
        v.get("ntowfv2_non_bmp.domain2"),
    );
    assert_eq!(key.as_bytes(), &v.arr("ntowfv2_non_bmp.ntowfv2_2"));
}

#[test]
fn extra_ntowfv2_sharp_s() {
    let v = Vectors::load("extra-hashes.toml");
    let user = v.get("ntowfv2_sharp_s.user");
    let domain = v.get("ntowfv2_sharp_s.domain");
    assert_eq!(user, "stra\u{df}e");
    assert_eq!(windows_uppercase(user), "STRA\u{df}E");
    let key = ntowf_v2(&ntowf_v1("Password"), user, domain);
    assert_eq!(key.as_bytes(), &v.arr("ntowfv2_sharp_s.ntowfv2"));
    assert_ne!(
        key.as_bytes(),
        &v.arr("ntowfv2_sharp_s.ntowfv2_pyspnego_full_uppercase")
    );
    // The domain is not uppercased, the user is.
    let upper_domain = ntowf_v2(&ntowf_v1("Password"), user, &windows_uppercase(domain));
    assert_ne!(upper_domain.as_bytes(), key.as_bytes());
    let upper_user = ntowf_v2(&ntowf_v1("Password"), &windows_uppercase(user), domain);
    assert_eq!(upper_user.as_bytes(), key.as_bytes());
}

#[test]
fn extra_seal_keys() {
    let v = Vectors::load("extra-hashes.toml");
    let k = SessionKey::from_bytes([0x55; 16]);
    let ess = F::NEGOTIATE_EXTENDED_SESSIONSECURITY;
    let cases = [
        (ess | F::NEGOTIATE_56, Side::Client, "ess_56_client"),
        (ess, Side::Client, "ess_40_client"),
        (ess | F::NEGOTIATE_56, Side::Server, "ess_56_server"),
        (ess, Side::Server, "ess_40_server"),
        (
            F::NEGOTIATE_LM_KEY | F::NEGOTIATE_56,
            Side::Client,
            "lm_key_56",
        ),
        (F::NEGOTIATE_LM_KEY, Side::Client, "lm_key_40"),
        // 128 does not matter without ESS; LM_KEY without 56 is 40-bit.
        (
            F::NEGOTIATE_LM_KEY | F::NEGOTIATE_128,
            Side::Server,
            "lm_key_40",
        ),
        (
            F::NEGOTIATE_DATAGRAM | F::NEGOTIATE_56,
            Side::Server,
            "lm_key_56",
        ),
    ];
    for (flags, side, name) in cases {
        assert_eq!(
            seal_key(flags, &k, side).as_bytes(),
            &v.hex(&format!("seal_keys.{name}"))[..],
            "{name} {flags:?} {side:?}"
        );
    }
    // Neither ESS nor LM_KEY/DATAGRAM: the whole key, whatever 56/128 say.
    for f in [F::EMPTY, F::NEGOTIATE_56, F::NEGOTIATE_128] {
        assert_eq!(seal_key(f, &k, Side::Client).as_bytes(), &[0x55; 16]);
    }
}

#[test]
fn extra_channel_bindings() {
    let v = Vectors::load("extra-hashes.toml");
    let mut data = b"tls-server-end-point:".to_vec();
    data.extend(0u8..32);
    assert_eq!(
        channel_bindings_hash(&data),
        v.arr("channel_bindings.tls_server_end_point")
    );
}

#[test]
fn windows_uppercase_is_one_to_one() {
    for (input, want) in [
        ("user", "USER"),
        ("\u{df}", "\u{df}"),                 // ß -> SS in Unicode: kept
        ("\u{149}", "\u{149}"),               // ŉ -> ʼN: kept
        ("\u{fb01}", "\u{fb01}"),             // ﬁ -> FI: kept
        ("\u{390}", "\u{390}"),               // ΐ -> three characters: kept
        ("\u{e9}\u{17f}", "\u{c9}S"),         // é -> É, long s -> S
        ("\u{3c3}\u{3c2}", "\u{3a3}\u{3a3}"), // σ, final ς -> Σ
        ("\u{10428}", "\u{10428}"),           // Deseret, outside the BMP: kept
        ("i\u{131}", "II"),                   // i and dotless ı -> I
    ] {
        assert_eq!(windows_uppercase(input), want, "{input:?}");
        assert_eq!(
            windows_uppercase(input).encode_utf16().count(),
            input.encode_utf16().count()
        );
    }
    assert_ne!(windows_uppercase("\u{df}"), "\u{df}".to_uppercase());
}

#[test]
fn mic_hashes_with_field_zeroed() {
    use hmac_check::hmac_md5;
    let key = SessionKey::from_bytes([0x55; 16]);
    let neg = b"negotiate message".to_vec();
    let chal = b"challenge message".to_vec();
    let mut auth: Vec<u8> = (0u8..120).collect();
    let mut zeroed = neg.clone();
    zeroed.extend(&chal);
    let mut a0 = auth.clone();
    a0[72..88].fill(0);
    zeroed.extend(&a0);
    let want = hmac_md5(&[0x55; 16], &zeroed);
    assert_eq!(mic(&key, &neg, &chal, &auth, 72), want);
    auth[72..88].copy_from_slice(&want);
    assert_eq!(mic(&key, &neg, &chal, &auth, 72), want);
    auth[71] ^= 1;
    assert_ne!(mic(&key, &neg, &chal, &auth, 72), want);
    // MIC at the very end of the message
    assert_eq!(
        mic(&key, &neg, &chal, &a0[..88], 72),
        hmac_md5(&[0x55; 16], &zeroed[..zeroed.len() - 32])
    );
}

/// A reference HMAC-MD5 built from MD5 alone (RFC 2104), to check `mic` independently.
mod hmac_check {
    use md5::{Digest, Md5};
    pub fn hmac_md5(key: &[u8; 16], data: &[u8]) -> [u8; 16] {
        let mut ipad = [0x36u8; 64];
        let mut opad = [0x5cu8; 64];
        for (i, k) in key.iter().enumerate() {
            ipad[i] ^= k;
            opad[i] ^= k;
        }
        let inner = Md5::new().chain_update(ipad).chain_update(data).finalize();
        Md5::new()
            .chain_update(opad)
            .chain_update(inner)
            .finalize()
            .into()
    }
}

#[test]
#[should_panic(expected = "MIC field")]
fn mic_offset_out_of_range_panics() {
    let key = SessionKey::from_bytes([0x55; 16]);
    mic(&key, b"", b"", &[0; 20], 5);
}

#[test]
fn rc4_rfc_6229() {
    // RFC 6229 §2, keys 0x0102..: keystream at offsets 0, 16, 240, 4080 and 4096.
    let cases: [(&str, [&str; 5]); 5] = [
        (
            "0102030405",
            [
                "b2396305f03dc027ccc3524a0a1118a8",
                "6982944f18fc82d589c403a47a0d0919",
                "28cb1132c96ce286421dcaadb8b69eae",
                "068326a2118416d21f9d04b2cd1ca050",
                "ff25b58995996707e51fbdf08b34d875",
            ],
        ),
        (
            "01020304050607",
            [
                "293f02d47f37c9b633f2af5285feb46b",
                "e620f1390d19bd84e2e0fd752031afc1",
                "914f02531c9218810df60f67e338154c",
                "f3172ceffc3b3d997c85ccd5af1a950c",
                "e74b0b9731227fd37c0ec08a47ddd8b8",
            ],
        ),
        (
            "0102030405060708",
            [
                "97ab8a1bf0afb96132f2f67258da15a8",
                "8263efdb45c4a18684ef87e6b19e5b09",
                "9636ebc9841926f4f7d1f362bddf6e18",
                "d5fa5a3469d29aaaf83d23589db8c85b",
                "3fb46e2c8f0f068edce8cdcd7dfc5862",
            ],
        ),
        (
            "0102030405060708090a",
            [
                "ede3b04643e586cc907dc21851709902",
                "03516ba78f413beb223aa5d4d2df6711",
                "3cfd6cb58ee0fdde640176ad0000044d",
                "1f135ed14ce60a91369d2322bef25e3c",
                "08b6be45124a43e2eb77953f84dc8553",
            ],
        ),
        (
            "0102030405060708090a0b0c0d0e0f10",
            [
                "9ac7cc9a609d1ef7b2932899cde41b97",
                "5248c4959014126a6e8a84f11d1a9e1c",
                "065902e4b620f6cc36c8589f66432f2b",
                "ff38265c1642c1abe8d3c2fe5e572bf8",
                "a36a4c301ae8ac13610ccbc12256cacc",
            ],
        ),
    ];
    for (key, rows) in cases {
        let key = hex(key);
        // One call...
        let mut ks = vec![0u8; 0x1010];
        Rc4::new(&key).apply_keystream(&mut ks);
        // ...and the same stream in odd-sized pieces, as sealing uses it.
        let mut pieces = vec![0u8; 0x1010];
        let mut rc4 = Rc4::new(&key);
        for chunk in pieces.chunks_mut(7) {
            rc4.apply_keystream(chunk);
        }
        assert_eq!(ks, pieces);
        for (off, row) in [0usize, 0x10, 0xf0, 0xff0, 0x1000].into_iter().zip(rows) {
            assert_eq!(
                ks[off..off + 16],
                hex(row)[..],
                "key {key:02x?} offset {off:#x}"
            );
        }
    }
}

#[test]
fn crc32_check_values() {
    assert_eq!(crc32(b""), 0);
    assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
    assert_eq!(
        crc32(b"The quick brown fox jumps over the lazy dog"),
        0x414f_a339
    );
}

#[test]
fn debug_output_is_redacted() {
    let k = SessionKey::from_bytes([0x55; 16]);
    let s = SessionSecurity::new(F::from_bits(0xe28a_8233), &k, Side::Client);
    let seal = seal_key(F::EMPTY, &k, Side::Client);
    let rc4 = Rc4::new(&[0x55; 16]);
    let text = format!("{s:?} {seal:?} {rc4:?}");
    assert!(!text.contains("55"), "{text}");
    assert!(!text.contains("85"), "{text}");
}
