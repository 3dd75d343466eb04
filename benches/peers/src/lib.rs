//! Nothing: the benches are in benches/peers.rs.
