//! HTTP authentication and staying available: the sans-IO state machines, the hyper client
//! and server (with TLS and proxy tunnels), the tower layer, challenge floods and connection
//! slots, and the HTTP interop script. One test binary (issue 13); each file is a module,
//! gated on the features it needs. (`tests/http_accept_errors.rs` stays a binary of its own:
//! it lowers the process's descriptor limit, which would starve the tests beside it.)

#[path = "../common/mod.rs"]
mod common;

mod challenge_flood;
mod http_availability;
mod http_hyper;
mod http_interop;
mod http_proxy_tunnel;
mod http_state;
mod tower_layer;
