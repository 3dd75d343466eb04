//! Pure cryptographic functions of MS-NLMP §3.3 and §3.4.
