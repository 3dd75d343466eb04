//! NETLOGON pass-through (feature `netlogon`): the PDU properties, and a real Samba AD DC when
//! `NTLM_DC_DIR` names one (tests/interop/samba_dc/run.sh). One test binary (issue 13).

mod netlogon_dc;
mod netlogon_proptest;
