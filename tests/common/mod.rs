//! Support shared by the integration tests: the known-answer files (`vectors`) and the
//! handshake helpers.
#![allow(dead_code, unused_imports)]

mod vectors;
pub use vectors::{hex, Vectors};

pub mod handshake;
