//! The sans-IO HTTP authentication state machines and SPNEGO tokens.
#![cfg(feature = "http")]

use crate::common;

use std::sync::Arc;

use common::handshake::{client_config, level, server_config, t0, PASSWORD};
use common::hex;
use ntlm::http::auth::*;
use ntlm::http::header::{parse_challenges, HeaderError};
use ntlm::http::spnego::*;
use ntlm::policy::ServerPolicy;

fn server(n: u8) -> ServerAuth {
    let config = Arc::new(server_config(ServerPolicy::domain_controller(level(n))));
    ServerAuth::new(config, ServerAuthOptions::default())
}

fn client(password: &str, schemes: Vec<Scheme>) -> ClientAuth {
    ClientAuth::new(
        client_config(level(3), password),
        ClientAuthOptions::default().with_schemes(schemes),
    )
}

/// Runs client against server; returns the client's end and the server's last decision.
fn run(
    client: &mut ClientAuth,
    server: &mut ServerAuth,
) -> (Result<ClientStep, ClientAuthError>, Option<ServerDecision>) {
    let mut authorization: Vec<String> = Vec::new();
    for _ in 0..6 {
        let decision = server.on_request(&authorization, t0());
        let (status, values) = match &decision {
            ServerDecision::Serve { header, .. } => {
                (200, header.iter().map(|(_, v)| v.clone()).collect())
            }
            ServerDecision::Challenge {
                status, headers, ..
            } => (*status, headers.iter().map(|(_, v)| v.clone()).collect()),
        };
        let values: Vec<String> = values;
        match client.on_response(status, &values, true, t0()) {
            Ok(ClientStep::Authorize { value, .. }) => authorization = vec![value],
            other => return (other, Some(decision)),
        }
    }
    panic!("no end")
}

#[test]
fn ntlm_success() {
    let mut s = server(5);
    let mut c = client(PASSWORD, vec![Scheme::Ntlm]);
    let (end, last) = run(&mut c, &mut s);
    let done = match end {
        Ok(ClientStep::Done(d)) => d,
        other => panic!("{other:?}"),
    };
    assert_eq!(done.scheme, Some(Scheme::Ntlm));
    assert_eq!(done.status, 200);
    match last {
        Some(ServerDecision::Serve { principal, .. }) => {
            assert_eq!(principal.qualified(), "CORP\\alice");
            assert_eq!(principal.scheme, Scheme::Ntlm);
        }
        other => panic!("{other:?}"),
    }
    // Later requests on the connection are served without a new handshake.
    assert!(matches!(
        s.on_request(&[] as &[&str], t0()),
        ServerDecision::Serve { fresh: false, .. }
    ));
    assert_eq!(s.handshakes(), 1);
}

#[test]
fn negotiate_success_with_mech_list_mic_both_ways() {
    let mut s = server(5);
    let mut c = client(PASSWORD, vec![Scheme::Negotiate, Scheme::Ntlm]);
    let (end, last) = run(&mut c, &mut s);
    let done = match end {
        Ok(ClientStep::Done(d)) => d,
        other => panic!("{other:?}"),
    };
    assert_eq!(done.scheme, Some(Scheme::Negotiate));
    assert!(done.server_verified, "server's mechListMIC verified");
    assert!(matches!(
        last,
        Some(ServerDecision::Serve {
            header: Some(_),
            ..
        })
    ));
}

#[test]
fn initial_401_offers_both_schemes() {
    let mut s = server(3);
    match s.on_request(&[] as &[&str], t0()) {
        ServerDecision::Challenge {
            status, headers, ..
        } => {
            assert_eq!(status, 401);
            let values: Vec<&str> = headers.iter().map(|(_, v)| v.as_str()).collect();
            assert_eq!(values, ["Negotiate", "NTLM"]);
            assert!(headers.iter().all(|(n, _)| *n == "WWW-Authenticate"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn wrong_password_is_refused_at_authenticate_and_not_retried() {
    for scheme in [Scheme::Ntlm, Scheme::Negotiate] {
        let mut s = server(5);
        let mut c = client("wrong", vec![scheme]);
        let (end, last) = run(&mut c, &mut s);
        assert_eq!(
            end,
            Err(ClientAuthError::Refused {
                scheme,
                step: HandshakeStep::Authenticate,
                status: 401
            })
        );
        match last {
            Some(ServerDecision::Challenge {
                refusal: Some(r), ..
            }) => assert_eq!(r.to_string(), "bad password"),
            other => panic!("{other:?}"),
        }
        // Fed the 401 again, the machine does not start over with the same password.
        assert!(matches!(
            c.on_response(401, &["NTLM", "Negotiate"], true, t0()),
            Err(ClientAuthError::Loop { .. })
        ));
    }
}

#[test]
fn connection_not_kept_alive() {
    let mut c = client(PASSWORD, vec![Scheme::Ntlm]);
    let mut s = server(3);
    let first = s.on_request(&[] as &[&str], t0());
    assert!(matches!(first, ServerDecision::Challenge { .. }));
    let value = match c.on_response(401, &["NTLM"], false, t0()) {
        Ok(ClientStep::Authorize { value, .. }) => value,
        other => panic!("{other:?}"),
    };
    let challenge = match s.on_request(&[value], t0()) {
        ServerDecision::Challenge { headers, .. } => headers[0].1.clone(),
        other => panic!("{other:?}"),
    };
    let err = c.on_response(401, &[challenge], false, t0()).unwrap_err();
    assert_eq!(
        err,
        ClientAuthError::NotKeptAlive {
            after: HandshakeStep::Negotiate
        }
    );
    assert!(err.to_string().contains("not kept alive"));
}

#[test]
fn a_bare_challenge_after_the_negotiate_is_a_refusal_of_the_negotiate() {
    for scheme in [Scheme::Ntlm, Scheme::Negotiate] {
        let mut c = client(PASSWORD, vec![scheme]);
        assert!(matches!(
            c.on_response(401, &[scheme.name()], true, t0()),
            Ok(ClientStep::Authorize { .. })
        ));
        // The answer to the NEGOTIATE offers the scheme again without a token: the server
        // refused the NEGOTIATE (kept alive or not).
        let err = c
            .on_response(401, &[scheme.name(), "Basic realm=\"x\""], false, t0())
            .unwrap_err();
        assert_eq!(
            err,
            ClientAuthError::Refused {
                scheme,
                step: HandshakeStep::Negotiate,
                status: 401
            }
        );
        assert_eq!(
            err.to_string(),
            format!(
                "{scheme} refused: the server answered the NEGOTIATE with 401 and no CHALLENGE"
            )
        );
        // The machine has ended: a further 401 is a loop, never a new NEGOTIATE.
        assert_eq!(
            c.on_response(401, &[scheme.name()], true, t0()),
            Err(ClientAuthError::Loop { rounds: 3 })
        );
    }
    // A proxy refusing the NEGOTIATE the same way.
    let mut c = ClientAuth::new(
        client_config(level(3), PASSWORD),
        ClientAuthOptions::default()
            .with_target(Target::Proxy)
            .with_schemes(vec![Scheme::Ntlm]),
    );
    c.on_response(407, &["NTLM"], true, t0()).unwrap();
    assert_eq!(
        c.on_response(407, &["NTLM"], true, t0()),
        Err(ClientAuthError::Refused {
            scheme: Scheme::Ntlm,
            step: HandshakeStep::Negotiate,
            status: 407
        })
    );
}

#[test]
fn loop_when_asked_again_after_the_handshake() {
    for scheme in [Scheme::Ntlm, Scheme::Negotiate] {
        let mut s = server(5);
        let mut c = client(PASSWORD, vec![scheme]);
        let (end, _) = run(&mut c, &mut s);
        assert!(matches!(end, Ok(ClientStep::Done(_))), "{end:?}");
        // NEGOTIATE, AUTHENTICATE and the 200 were rounds 1 to 3; the server now asks with a
        // fresh initial challenge (it lost the connection's logon): a loop, not a restart.
        let err = c
            .on_response(401, &["Negotiate", "NTLM"], true, t0())
            .unwrap_err();
        assert_eq!(err, ClientAuthError::Loop { rounds: 4 });
        assert_eq!(
            err.to_string(),
            "authentication loop: the server asked again after the handshake ended (after 4 responses)"
        );
        // And it stays ended.
        assert_eq!(
            c.on_response(401, &["NTLM"], true, t0()),
            Err(ClientAuthError::Loop { rounds: 5 })
        );
    }
}

#[test]
fn no_usable_scheme_lists_the_offer() {
    let mut c = client(PASSWORD, vec![Scheme::Negotiate, Scheme::Ntlm]);
    let err = c
        .on_response(
            401,
            &[
                "Basic realm=\"x\", Digest realm=\"y\", qop=\"auth\"",
                "Bearer",
            ],
            true,
            t0(),
        )
        .unwrap_err();
    assert_eq!(
        err,
        ClientAuthError::NoUsableScheme {
            offered: vec!["Basic".into(), "Digest".into(), "Bearer".into()]
        }
    );
    assert_eq!(
        err.to_string(),
        "the server offered no usable scheme (offered: Basic, Digest, Bearer)"
    );
    // NTLM only allowed, server offers only Negotiate.
    let mut c = client(PASSWORD, vec![Scheme::Ntlm]);
    assert!(matches!(
        c.on_response(401, &["Negotiate"], true, t0()),
        Err(ClientAuthError::NoUsableScheme { .. })
    ));
}

#[test]
fn scheme_names_are_case_insensitive_and_preference_applies() {
    let mut c = client(PASSWORD, vec![Scheme::Ntlm, Scheme::Negotiate]);
    match c.on_response(401, &["negotiate, ntlm"], true, t0()) {
        Ok(ClientStep::Authorize { name, value }) => {
            assert_eq!(name, "Authorization");
            assert!(value.starts_with("NTLM TlRMTVNTUAAB"), "{value}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn malformed_and_oversized_headers() {
    let mut c = client(PASSWORD, vec![Scheme::Ntlm]);
    assert!(matches!(
        c.on_response(401, &["Basic realm=\"unterminated"], true, t0()),
        Err(ClientAuthError::Header(HeaderError::Malformed { .. }))
    ));
    let mut c = client(PASSWORD, vec![Scheme::Ntlm]);
    let huge = format!("NTLM {}", "A".repeat(70 * 1024));
    assert!(matches!(
        c.on_response(401, &[huge.as_str()], true, t0()),
        Err(ClientAuthError::Header(HeaderError::Oversized {
            limit: 65536,
            ..
        }))
    ));
    // A CHALLENGE that is not base64.
    let mut c = client(PASSWORD, vec![Scheme::Ntlm]);
    c.on_response(401, &["NTLM"], true, t0()).unwrap();
    assert!(matches!(
        c.on_response(401, &["NTLM ###"], true, t0()),
        Err(ClientAuthError::Header(_))
    ));
    // Server side: garbage and oversized Authorization.
    let mut s = server(3);
    for bad in [
        "NTLM !!!".to_string(),
        "NTLM".to_string(),
        "Basic YTpi".to_string(),
        format!("NTLM {}", "A".repeat(70 * 1024)),
        "Negotiate YWJj".to_string(),
    ] {
        match s.on_request(&[bad.as_str()], t0()) {
            ServerDecision::Challenge {
                status: 401,
                refusal: Some(_),
                ..
            } => {}
            other => panic!("{bad:.40}: {other:?}"),
        }
    }
}

#[test]
fn proxy_target_uses_407_and_proxy_headers() {
    let config = Arc::new(server_config(ServerPolicy::domain_controller(level(3))));
    let mut s = ServerAuth::new(
        config,
        ServerAuthOptions::default().with_target(Target::Proxy),
    );
    let mut c = ClientAuth::new(
        client_config(level(3), PASSWORD),
        ClientAuthOptions::default().with_target(Target::Proxy),
    );
    let mut authorization: Vec<String> = Vec::new();
    for _ in 0..4 {
        match s.on_request(&authorization, t0()) {
            ServerDecision::Serve { .. } => return,
            ServerDecision::Challenge {
                status, headers, ..
            } => {
                assert_eq!(status, 407);
                assert!(headers.iter().all(|(n, _)| *n == "Proxy-Authenticate"));
                let values: Vec<String> = headers.into_iter().map(|(_, v)| v).collect();
                match c.on_response(status, &values, true, t0()).unwrap() {
                    ClientStep::Authorize { name, value } => {
                        assert_eq!(name, "Proxy-Authorization");
                        authorization = vec![value];
                    }
                    ClientStep::Done(d) => panic!("{d:?}"),
                }
            }
        }
    }
    panic!("proxy handshake did not finish");
}

#[test]
fn challenge_parsing() {
    let c = parse_challenges(
        &[
            "Negotiate oYGQMIGN, NTLM",
            "Basic realm=\"a, \\\"b\\\"\", charset=UTF-8",
        ],
        1 << 16,
    )
    .unwrap();
    assert_eq!(c.len(), 3);
    assert_eq!(c[0].token68.as_deref(), Some("oYGQMIGN"));
    assert!(c[1].is("ntlm") && c[1].token68.is_none());
    assert_eq!(c[2].params[0].1, "a, \"b\"");
    assert_eq!(c[2].params[1], ("charset".into(), "UTF-8".into()));
}

/// Tokens captured from pyspnego 0.12.4 (`spnego.client(..., protocol='negotiate')` and
/// `spnego.server(protocol='negotiate')`, NTLM only).
const PY_INIT: &str = "604806062b0601050502a03e303ca00e300c060a2b06010401823702020aa22a04284e544c4d5353500001000000378208e200000000280000000000000028000000000c04000000000f";
const PY_RESP1: &str = "a1819030818da0030a0103a10c060a2b06010401823702020aa27804764e544c4d5353500002000000040004003800000035828ae265e81153803cdcb500000000000000003a003a003c000000000c04000000000f56004d000100040056004d000200160057004f0052004b00530054004100540049004f004e000300040076006d00070008001a823d95377add0100000000";
const PY_FINAL: &str = "a11b3019a0030a0100a3120410010000003290ab026ee2915100000000";

#[test]
fn pyspnego_tokens_decode_and_reencode() {
    let init = hex(PY_INIT);
    let token = NegotiationToken::decode(&init).unwrap();
    match &token {
        NegotiationToken::Init(i) => {
            assert_eq!(i.mech_types, [NTLM_OID]);
            assert!(i
                .mech_token
                .as_ref()
                .unwrap()
                .starts_with(NTLMSSP_SIGNATURE));
            assert_eq!(i.mech_list_mic, None);
        }
        other => panic!("{other:?}"),
    }
    // Our encoder produces pyspnego's bytes exactly.
    assert_eq!(token.encode().unwrap(), init);

    let resp = hex(PY_RESP1);
    let token = NegotiationToken::decode(&resp).unwrap();
    match &token {
        NegotiationToken::Resp(r) => {
            assert_eq!(r.neg_state, Some(NegState::RequestMic));
            assert_eq!(r.supported_mech, Some(NTLM_OID));
            let challenge = r.response_token.as_ref().unwrap();
            assert_eq!(&challenge[..9], b"NTLMSSP\0\x02");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(token.encode().unwrap(), resp);

    let fin = hex(PY_FINAL);
    match NegotiationToken::decode(&fin).unwrap() {
        NegotiationToken::Resp(r) => {
            assert_eq!(r.neg_state, Some(NegState::AcceptCompleted));
            assert_eq!(r.mech_list_mic.as_ref().map(Vec::len), Some(16));
            assert_eq!(r.response_token, None);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn spnego_decode_errors_name_the_part() {
    let mut bad = hex(PY_RESP1);
    bad[6] = 0x0b; // negState tag no longer ENUMERATED... inside
    let e = NegotiationToken::decode(&bad).unwrap_err();
    assert!(e.to_string().contains("NegTokenResp"), "{e}");
    let e = NegotiationToken::decode(&[0x30, 0x00]).unwrap_err();
    assert_eq!(e, SpnegoError::UnexpectedTag { found: 0x30 });
    let mut kerberos = hex(PY_INIT);
    kerberos[4..10].copy_from_slice(&[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12]); // 1.2.840.113554
    assert!(NegotiationToken::decode(&kerberos).is_err());
    for cut in 0..hex(PY_RESP1).len() {
        assert!(NegotiationToken::decode(&hex(PY_RESP1)[..cut]).is_err());
    }
}

#[test]
fn spnego_server_refuses_bad_mech_list_mic() {
    let config = Arc::new(server_config(ServerPolicy::domain_controller(level(5))));
    let mut s = SpnegoServer::new(config);
    let mut c = SpnegoClient::new(ntlm::client::ClientContext::new(client_config(
        level(3),
        PASSWORD,
    )));
    let init = c.initial_token().unwrap();
    let challenge = match s.step(&init, t0()).unwrap() {
        SpnegoStep::Continue(t) => t,
        other => panic!("{other:?}"),
    };
    let auth = c.step(&challenge, t0()).unwrap();
    let mut token = match NegotiationToken::decode(&auth).unwrap() {
        NegotiationToken::Resp(r) => r,
        other => panic!("{other:?}"),
    };
    assert!(token.mech_list_mic.is_some());
    token.mech_list_mic.as_mut().unwrap()[15] ^= 1;
    let err = s
        .step(
            &NegotiationToken::Resp(token.clone()).encode().unwrap(),
            t0(),
        )
        .unwrap_err();
    assert_eq!(err, SpnegoRefusal::BadMechListMic);
}

#[test]
fn spnego_server_requires_mic_when_ntlm_mic_present() {
    let config = Arc::new(server_config(ServerPolicy::domain_controller(level(5))));
    let mut s = SpnegoServer::new(config);
    let mut c = SpnegoClient::new(ntlm::client::ClientContext::new(client_config(
        level(3),
        PASSWORD,
    )));
    let init = c.initial_token().unwrap();
    let challenge = match s.step(&init, t0()).unwrap() {
        SpnegoStep::Continue(t) => t,
        other => panic!("{other:?}"),
    };
    let auth = c.step(&challenge, t0()).unwrap();
    let mut token = match NegotiationToken::decode(&auth).unwrap() {
        NegotiationToken::Resp(r) => r,
        other => panic!("{other:?}"),
    };
    token.mech_list_mic = None;
    assert_eq!(
        s.step(&NegotiationToken::Resp(token).encode().unwrap(), t0())
            .unwrap_err(),
        SpnegoRefusal::MissingMechListMic
    );
}

#[test]
fn spnego_server_without_ntlm_offered() {
    let config = Arc::new(server_config(ServerPolicy::domain_controller(level(5))));
    let mut s = SpnegoServer::new(config);
    let init = NegotiationToken::Init(NegTokenInit {
        mech_types: vec![KERBEROS_OID],
        mech_token: Some(vec![1, 2, 3]),
        ..NegTokenInit::default()
    })
    .encode()
    .unwrap();
    match s.step(&init, t0()).unwrap_err() {
        SpnegoRefusal::NtlmNotOffered { offered } => {
            assert_eq!(offered, ["Kerberos (1.2.840.113554.1.2.2)"])
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn spnego_kerberos_first_then_ntlm_asks_for_mic() {
    let config = Arc::new(server_config(ServerPolicy::domain_controller(level(3))));
    let mut s = SpnegoServer::new(config);
    let init = NegotiationToken::Init(NegTokenInit {
        mech_types: vec![MS_KERBEROS_OID, NTLM_OID],
        mech_token: Some(vec![0x60, 0x00]),
        ..NegTokenInit::default()
    })
    .encode()
    .unwrap();
    match s.step(&init, t0()).unwrap() {
        SpnegoStep::Continue(t) => match NegotiationToken::decode(&t).unwrap() {
            NegotiationToken::Resp(r) => {
                assert_eq!(r.neg_state, Some(NegState::RequestMic));
                assert_eq!(r.supported_mech, Some(NTLM_OID));
                assert_eq!(r.response_token, None);
            }
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_odd_challenge_does_not_hide_ntlm() {
    // obs-text in a quoted realm, whitespace around "=", and a broken challenge in another
    // field value: NTLM and Negotiate are still found (RFC 9110 §5.6.4, §11.2).
    let c = parse_challenges(
        &[
            b"Basic realm=\"Z\xc3\xbcrich\", NTLM".as_slice(),
            b"Digest realm = \"x\", qop = \"auth\"".as_slice(),
            b"Bearer error=\"unterminated".as_slice(),
            b"Weird (scheme), Negotiate".as_slice(),
        ],
        65536,
    )
    .unwrap();
    let schemes: Vec<&str> = c.iter().map(|c| c.scheme.as_str()).collect();
    assert_eq!(schemes, ["Basic", "NTLM", "Digest", "Negotiate"]);
    assert_eq!(c[2].params.len(), 2);
    // Nothing usable at all is still an error.
    assert!(parse_challenges(&[b"Bearer error=\"unterminated".as_slice()], 65536).is_err());
}
