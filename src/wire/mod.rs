//! The bytes of MS-NLMP §2.2, and nothing but the bytes.

pub mod flags;

pub use flags::NegotiateFlags;
