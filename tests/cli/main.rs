//! The `ntlm` binary (feature `cli`): the Squid helpers, the Negotiate helper, dc-check and
//! old clients through the helper. One test binary (issue 13); each file is a module.

#[path = "../common/mod.rs"]
mod common;

mod cli_dc_check;
mod cli_helpers;
mod cli_old_clients;
mod negotiate_helper;
