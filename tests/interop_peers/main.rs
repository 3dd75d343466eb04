//! Real peers: pyspnego live, Samba's ntlm_auth and Squid (through their script), and the
//! captures of peers replayed (`peer_vectors`, `NTLM_PEER_VECTORS` for fresh ones). One test
//! binary (issue 13); each file is a module.

#[path = "../common/mod.rs"]
mod common;

mod interop_pyspnego;
mod interop_samba_squid;
mod peer_vectors;
