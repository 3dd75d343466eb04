//! The library's own tests, without sockets or peers: the wire format, the cryptography, the
//! levels and refusals, the stores, allocations, and the vectors of old clients. One test binary
//! for all of them (issue 13: fewer binaries to link); each file is a module.
//!
//! `alloc` installs a counting global allocator for this whole binary; it counts per thread,
//! so the other modules' tests, running in parallel, do not disturb its counts.

#[path = "../common/mod.rs"]
mod common;

mod alloc;
mod audit;
mod challenge_dns_names;
mod channel_bindings_der;
mod crypto_proptest;
mod crypto_vectors;
mod levels;
mod oem_strings;
mod old_clients;
mod prop_contexts;
mod public_api;
mod refusals;
mod secret_wipes;
mod store_file;
mod wire_errors;
mod wire_layouts;
mod wire_proptest;
mod wire_vectors;
