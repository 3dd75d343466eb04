//! `tls-server-end-point` (RFC 5929 §4.1) from real certificates made by rcgen: the hash is
//! SHA-256 for a certificate signed with SHA-256 (and would be for MD5 or SHA-1), and the
//! signature's own hash when it is stronger.

use ntlm::channel_bindings::ChannelBindings;
use rcgen::{CertificateParams, KeyPair, SignatureAlgorithm};
use sha2::{Digest, Sha256, Sha384};

fn certificate(alg: &'static SignatureAlgorithm) -> Vec<u8> {
    let key = KeyPair::generate_for(alg).unwrap();
    let params = CertificateParams::new(vec!["server.example.com".to_string()]).unwrap();
    params.self_signed(&key).unwrap().der().to_vec()
}

fn end_point_hash(der: &[u8]) -> Vec<u8> {
    let cb = ChannelBindings::tls_server_end_point(der).unwrap();
    let data = cb.application_data();
    let prefix = b"tls-server-end-point:";
    assert!(data.starts_with(prefix));
    data[prefix.len()..].to_vec()
}

#[test]
fn ecdsa_p256_sha256_certificate_hashes_with_sha256() {
    let der = certificate(&rcgen::PKCS_ECDSA_P256_SHA256);
    assert_eq!(end_point_hash(&der), Sha256::digest(&der).to_vec());
}

#[test]
fn ecdsa_p384_sha384_certificate_hashes_with_sha384() {
    let der = certificate(&rcgen::PKCS_ECDSA_P384_SHA384);
    assert_eq!(end_point_hash(&der), Sha384::digest(&der).to_vec());
}

#[test]
fn ed25519_certificate_hashes_with_sha256() {
    // Ed25519 names no separate hash and RFC 5929 predates it: the crate uses SHA-256.
    let der = certificate(&rcgen::PKCS_ED25519);
    assert_eq!(end_point_hash(&der), Sha256::digest(&der).to_vec());
}

#[test]
fn the_binding_is_md5_of_the_gss_structure() {
    // gss_channel_bindings_struct: four zero address fields (initiator type and length,
    // acceptor type and length), then the application data's length and the data.
    let der = certificate(&rcgen::PKCS_ECDSA_P256_SHA256);
    let cb = ChannelBindings::tls_server_end_point(&der).unwrap();
    let data = cb.application_data();
    let mut gss = vec![0u8; 16];
    gss.extend_from_slice(&(data.len() as u32).to_le_bytes());
    gss.extend_from_slice(data);
    let md5: [u8; 16] = md5::Md5::digest(&gss).into();
    assert_eq!(cb.md5(), md5);
}
