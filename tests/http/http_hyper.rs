//! Our hyper client against our hyper server over loopback, plain and TLS.
#![cfg(feature = "tls")]

use crate::common;

use std::sync::{Arc, Mutex};

use common::handshake::{client_config, level, server_config, PASSWORD};
use ntlm::channel_bindings::ChannelBindings;
use ntlm::http::auth::{ClientAuthError, HandshakeStep, Scheme};
use ntlm::http::hyper_client::{AuthClient, BindingsMode, ClientOptions, HttpClientError};
use ntlm::http::hyper_server::{serve, ServerEvent, ServerOptions};
use ntlm::http::tls::{check_principal, ServerTls};
use ntlm::policy::ServerPolicy;

type Log = Arc<Mutex<Vec<String>>>;

/// Starts a server on an ephemeral port; returns its address and its event log.
async fn start(tls: Option<ServerTls>) -> (String, Log) {
    let mut options = ServerOptions::new(Arc::new(server_config(ServerPolicy::domain_controller(
        level(5),
    ))));
    let log: Log = Arc::default();
    let sink = log.clone();
    options.events = Arc::new(move |e: ServerEvent| {
        if let Ok(mut l) = sink.lock() {
            l.push(e.to_string());
        }
    });
    options.tls = tls;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(serve(listener, options));
    (addr, log)
}

fn options(password: &str, schemes: Vec<Scheme>) -> ClientOptions {
    let mut o = ClientOptions::new(client_config(level(3), password));
    o.schemes = schemes;
    o
}

fn count(log: &Log, what: &str) -> usize {
    log.lock()
        .unwrap()
        .iter()
        .filter(|l| l.contains(what))
        .count()
}

#[tokio::test]
async fn plain_ntlm_and_negotiate_authenticate_once_per_connection() {
    let (addr, log) = start(None).await;
    for scheme in [Scheme::Ntlm, Scheme::Negotiate] {
        let url = format!("http://{addr}/");
        let mut client = AuthClient::connect(&url, options(PASSWORD, vec![scheme]))
            .await
            .unwrap();
        for _ in 0..3 {
            let r = client.get("/").await.unwrap();
            assert_eq!(r.status, 200);
            assert_eq!(
                String::from_utf8_lossy(&r.body),
                "authenticated as CORP\\alice\n"
            );
            assert_eq!(r.scheme, Some(scheme));
        }
        assert_eq!(client.handshakes(), 1);
    }
    assert_eq!(count(&log, "authenticated CORP\\alice"), 2, "{log:?}");
    assert_eq!(count(&log, "handshake #1"), 2);
}

#[tokio::test]
async fn wrong_password_is_refused() {
    let (addr, log) = start(None).await;
    let mut client = AuthClient::connect(
        &format!("http://{addr}/"),
        options("nope", vec![Scheme::Ntlm]),
    )
    .await
    .unwrap();
    match client.get("/").await {
        Err(HttpClientError::Server(ClientAuthError::Refused {
            step: HandshakeStep::Authenticate,
            status: 401,
            ..
        })) => {}
        other => panic!("{other:?}"),
    }
    assert_eq!(count(&log, "refused: bad password"), 1, "{log:?}");
}

fn self_signed(names: &[&str]) -> (String, String) {
    let ck =
        rcgen::generate_simple_self_signed(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
            .unwrap();
    (ck.cert.pem(), ck.signing_key.serialize_pem())
}

#[tokio::test]
async fn tls_with_channel_bindings_and_a_mismatch_refused() {
    let (cert, key) = self_signed(&["localhost"]);
    let tls = ServerTls::from_pem(cert.as_bytes(), key.as_bytes()).unwrap();
    let (addr, log) = start(Some(tls)).await;
    let port = addr.rsplit(':').next().unwrap();
    let url = format!("https://localhost:{port}/");
    for scheme in [Scheme::Ntlm, Scheme::Negotiate] {
        let mut o = options(PASSWORD, vec![scheme]);
        o.tls.trusted_pem = cert.clone().into_bytes();
        let mut client = AuthClient::connect(&url, o).await.unwrap();
        let r = client.get("/").await.unwrap();
        assert_eq!(r.status, 200, "{scheme}");
        assert_eq!(client.get("/").await.unwrap().status, 200);
        assert_eq!(client.handshakes(), 1);
    }
    // Bindings of another certificate (a relayed logon): refused.
    let mut o = options(PASSWORD, vec![Scheme::Ntlm]);
    o.tls.trusted_pem = cert.clone().into_bytes();
    o.bindings = BindingsMode::Fixed(ChannelBindings::from_application_data(
        b"tls-server-end-point:somewhere else".to_vec(),
    ));
    let mut client = AuthClient::connect(&url, o).await.unwrap();
    assert!(matches!(
        client.get("/").await,
        Err(HttpClientError::Server(ClientAuthError::Refused { .. }))
    ));
    assert_eq!(
        count(&log, "channel bindings do not match this connection"),
        1,
        "{log:?}"
    );
    // An untrusted certificate is refused before any NTLM.
    let o = options(PASSWORD, vec![Scheme::Ntlm]);
    assert!(AuthClient::connect(&url, o).await.is_err());
}

#[tokio::test]
async fn tls_private_ca_and_outlook_principal_name() {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let mut leaf = CertificateParams::new(vec![
        "localhost".to_string(),
        "mail.contoso.com".to_string(),
    ])
    .unwrap();
    leaf.distinguished_name
        .push(rcgen::DnType::CommonName, "owa.contoso.com");
    let leaf = leaf.signed_by(&leaf_key, &ca).unwrap();
    let tls =
        ServerTls::from_pem(leaf.pem().as_bytes(), leaf_key.serialize_pem().as_bytes()).unwrap();

    assert!(check_principal(leaf.der(), "msstd:mail.contoso.com").is_ok());
    assert!(check_principal(leaf.der(), "msstd:OWA.contoso.com").is_ok());
    let err = check_principal(leaf.der(), "msstd:evil.example").unwrap_err();
    assert!(err.contains("evil.example"), "{err}");

    let (addr, _log) = start(Some(tls)).await;
    let port = addr.rsplit(':').next().unwrap();
    let url = format!("https://localhost:{port}/");
    let mut o = options(PASSWORD, vec![Scheme::Negotiate]);
    o.tls.trusted_pem = ca.pem().into_bytes();
    o.tls.expected_principal = Some("msstd:mail.contoso.com".into());
    let mut client = AuthClient::connect(&url, o.clone()).await.unwrap();
    assert_eq!(client.get("/").await.unwrap().status, 200);

    o.tls.expected_principal = Some("msstd:other.contoso.com".into());
    let err = AuthClient::connect(&url, o).await.unwrap_err();
    assert!(err.to_string().contains("other.contoso.com"), "{err}");
}

/// Reads one HTTP/1.1 response (head and Content-Length body) from a blocking stream.
fn read_response(stream: &mut std::net::TcpStream) -> (String, Vec<u8>) {
    use std::io::Read;
    let mut data = Vec::new();
    let mut byte = [0u8; 1];
    while !data.ends_with(b"\r\n\r\n") {
        assert_eq!(
            stream.read(&mut byte).unwrap(),
            1,
            "connection closed mid-head"
        );
        data.push(byte[0]);
    }
    let head = String::from_utf8(data).unwrap();
    let len = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().parse::<usize>().unwrap())
        })
        .unwrap_or(0);
    let mut body = vec![0u8; len];
    stream.read_exact(&mut body).unwrap();
    (head, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn post_bodies_on_every_step_keep_the_connection_and_reach_the_handler() {
    use ntlm::client::ClientContext;
    let mut options = ServerOptions::new(Arc::new(server_config(ServerPolicy::domain_controller(
        level(5),
    ))));
    options.handler = Arc::new(
        |p: &ntlm::http::auth::Principal, _: &_, body: ::hyper::body::Bytes| {
            ntlm::http::hyper_server::text(
                ::hyper::StatusCode::OK,
                format!("{} posted {} bytes\n", p.qualified(), body.len()),
            )
        },
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(serve(listener, options));

    let result = tokio::task::spawn_blocking(move || {
        use std::io::Write;
        let b64 = |t: &[u8]| ntlm::http::header::encode_token(t);
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
        let body = vec![b'x'; 20_000];
        let mut post = |auth: &str| {
            let head = format!(
                "POST /ews HTTP/1.1\r\nHost: test\r\nAuthorization: NTLM {auth}\r\nContent-Length: {}\r\n\r\n",
                body.len()
            );
            stream.write_all(head.as_bytes()).unwrap();
            stream.write_all(&body).unwrap();
            read_response(&mut stream)
        };
        let mut client = ClientContext::new(client_config(level(3), PASSWORD));
        let (head, _) = post(&b64(&client.negotiate().unwrap()));
        assert!(head.starts_with("HTTP/1.1 401"), "{head}");
        assert!(!head.to_ascii_lowercase().contains("connection: close"), "{head}");
        let challenge = head
            .lines()
            .find_map(|l| l.strip_prefix("www-authenticate: NTLM ").or_else(|| l.strip_prefix("WWW-Authenticate: NTLM ")))
            .expect("NTLM challenge");
        let challenge = ntlm::http::header::decode_token(challenge).unwrap();
        let auth = client.authenticate(&challenge, std::time::SystemTime::now()).unwrap();
        post(&b64(&auth))
    })
    .await
    .unwrap();
    assert!(result.0.starts_with("HTTP/1.1 200"), "{}", result.0);
    assert_eq!(
        String::from_utf8(result.1).unwrap(),
        "CORP\\alice posted 20000 bytes\n"
    );
}

#[tokio::test]
async fn a_server_that_silently_closes_after_the_challenge_is_not_kept_alive() {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    // Answers the first request with a real CHALLENGE and no `Connection: close`, then drops
    // the socket, as a misconfigured load balancer does.
    let server = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        stream
            .set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .unwrap();
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
            head.push(byte[0]);
        }
        let head = String::from_utf8_lossy(&head).into_owned();
        let negotiate = head
            .lines()
            .find_map(|l| {
                l.strip_prefix("authorization: NTLM ")
                    .or_else(|| l.strip_prefix("Authorization: NTLM "))
            })
            .map(|t| ntlm::http::header::decode_token(t).unwrap());
        let mut ctx = ntlm::server::ServerContext::new(Arc::new(server_config(
            ServerPolicy::domain_controller(level(3)),
        )));
        let reply = match negotiate {
            Some(n) => {
                let challenge = ctx.challenge(&n, std::time::SystemTime::now()).unwrap();
                format!(
                    "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: NTLM {}\r\nContent-Length: 0\r\n\r\n",
                    ntlm::http::header::encode_token(&challenge)
                )
            }
            None => {
                "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: NTLM\r\nContent-Length: 0\r\n\r\n"
                    .into()
            }
        };
        let _ = stream.write_all(reply.as_bytes());
        // The first request was without a token: answer, then serve the NEGOTIATE once more.
        if negotiate_is_none(&head) {
            let mut head2 = Vec::new();
            while !head2.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
                head2.push(byte[0]);
            }
            let head2 = String::from_utf8_lossy(&head2).into_owned();
            let n = head2
                .lines()
                .find_map(|l| {
                    l.strip_prefix("authorization: NTLM ")
                        .or_else(|| l.strip_prefix("Authorization: NTLM "))
                })
                .map(|t| ntlm::http::header::decode_token(t).unwrap())
                .expect("NEGOTIATE");
            let challenge = ctx.challenge(&n, std::time::SystemTime::now()).unwrap();
            let reply = format!(
                "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: NTLM {}\r\nContent-Length: 0\r\n\r\n",
                ntlm::http::header::encode_token(&challenge)
            );
            let _ = stream.write_all(reply.as_bytes());
        }
        drop(stream);
    });
    let mut client = AuthClient::connect(
        &format!("http://{addr}/"),
        options(PASSWORD, vec![Scheme::Ntlm]),
    )
    .await
    .unwrap();
    let err = client.get("/").await.unwrap_err();
    server.join().unwrap();
    assert!(
        matches!(
            err,
            HttpClientError::Server(ClientAuthError::NotKeptAlive {
                after: HandshakeStep::Negotiate
            })
        ),
        "{err:?}"
    );
}

fn negotiate_is_none(head: &str) -> bool {
    !head.to_ascii_lowercase().contains("authorization: ntlm ")
}

/// How the first connection of [`reconnecting_server`] ends after its 401.
#[derive(Clone, Copy, PartialEq)]
enum FirstClose {
    /// The 401 says `Connection: close`.
    Header,
    /// No header; the server reads the next request and hangs up without answering it.
    HangUp,
}

/// The Authorization values each connection received, in order ("-" for none).
type Seen = Arc<Mutex<Vec<Vec<String>>>>;

/// A tiny HTTP/1.1 server over [`ntlm::http::auth::ServerAuth`]: its first connection answers
/// one request with the initial 401 and closes as `first` says; later connections serve
/// the handshake (closing after the CHALLENGE too when `close_after_challenge`).
async fn reconnecting_server(
    listener: tokio::net::TcpListener,
    first: FirstClose,
    close_after_challenge: bool,
    seen: Seen,
) {
    use ntlm::http::auth::{ServerAuth, ServerAuthOptions, ServerDecision};
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let config = Arc::new(server_config(ServerPolicy::domain_controller(level(3))));
    for n in 0.. {
        let Ok((stream, _)) = listener.accept().await else {
            return;
        };
        seen.lock().unwrap().push(Vec::new());
        let mut stream = BufReader::new(stream);
        let mut auth = ServerAuth::new(config.clone(), ServerAuthOptions::default());
        loop {
            let mut authorization = Vec::new();
            let mut line = String::new();
            loop {
                line.clear();
                if stream.read_line(&mut line).await.unwrap_or(0) == 0 {
                    break;
                }
                if line == "\r\n" {
                    break;
                }
                if let Some((name, value)) = line.split_once(':') {
                    if name.eq_ignore_ascii_case("authorization") {
                        authorization.push(value.trim().to_string());
                    }
                }
            }
            if line != "\r\n" {
                break; // end of stream
            }
            seen.lock().unwrap()[n].push(authorization.first().cloned().unwrap_or("-".into()));
            if n == 0 && first == FirstClose::HangUp && seen.lock().unwrap()[0].len() == 2 {
                break;
            }
            let (head, body, close) =
                match auth.on_request(&authorization, std::time::SystemTime::now()) {
                    ServerDecision::Serve { principal, .. } => (
                        "HTTP/1.1 200 OK\r\n".to_string(),
                        format!("hello {}\n", principal.qualified()),
                        false,
                    ),
                    ServerDecision::Challenge { headers, .. } => {
                        let mut head = "HTTP/1.1 401 Unauthorized\r\n".to_string();
                        for (name, value) in &headers {
                            head.push_str(&format!("{name}: {value}\r\n"));
                        }
                        let challenge = headers.iter().any(|(_, v)| v.contains(' '));
                        let close = match n {
                            0 => first == FirstClose::Header,
                            _ => challenge && close_after_challenge,
                        };
                        (head, String::new(), close)
                    }
                };
            let reply = format!(
                "{head}Content-Length: {}\r\n{}\r\n{body}",
                body.len(),
                if close { "Connection: close\r\n" } else { "" }
            );
            if stream.get_mut().write_all(reply.as_bytes()).await.is_err() || close {
                break;
            }
        }
    }
}

/// Starts [`reconnecting_server`]; returns its URL, what it saw and its task.
async fn start_reconnecting(
    first: FirstClose,
    close_after_challenge: bool,
) -> (String, Seen, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let seen = Seen::default();
    let task = tokio::spawn(reconnecting_server(
        listener,
        first,
        close_after_challenge,
        seen.clone(),
    ));
    (url, seen, task)
}

/// Bounded: a client that waits on a dead connection fails the test instead of hanging it.
async fn bounded<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(std::time::Duration::from_secs(20), f)
        .await
        .expect("the client did not finish within 20 s")
}

fn short_timeout(scheme: Scheme) -> ClientOptions {
    let mut o = options(PASSWORD, vec![scheme]);
    o.timeout = std::time::Duration::from_secs(5);
    o
}

#[tokio::test]
async fn a_first_401_that_closes_sends_the_handshake_on_a_new_connection() {
    for (first, scheme) in [
        (FirstClose::Header, Scheme::Ntlm),
        (FirstClose::Header, Scheme::Negotiate),
        (FirstClose::HangUp, Scheme::Ntlm),
    ] {
        let (url, seen, task) = start_reconnecting(first, false).await;
        let mut client = AuthClient::connect(&url, short_timeout(scheme))
            .await
            .unwrap();
        let r = bounded(client.get("/")).await.unwrap();
        assert_eq!(r.status, 200, "{scheme}");
        assert_eq!(String::from_utf8_lossy(&r.body), "hello CORP\\alice\n");
        assert_eq!(r.scheme, Some(scheme));
        // The next request on the new connection needs no handshake.
        assert_eq!(bounded(client.get("/")).await.unwrap().status, 200);
        assert_eq!(client.connections(), 2);
        assert_eq!(client.handshakes(), 1);
        task.abort();
        let seen = seen.lock().unwrap().clone();
        assert_eq!(seen.len(), 2, "{seen:?}");
        // The first connection: the request without credentials (and, hung up on, the
        // NEGOTIATE it never answered).
        assert_eq!(seen[0][0], "-");
        if first == FirstClose::HangUp {
            assert_eq!(seen[0].len(), 2, "{seen:?}");
        } else {
            assert_eq!(seen[0].len(), 1, "{seen:?}");
        }
        // The second: NEGOTIATE first, AUTHENTICATE, then the plain request.
        let prefix = format!("{} ", scheme.name());
        assert_eq!(seen[1].len(), 3, "{seen:?}");
        assert!(seen[1][0].starts_with(&prefix), "{seen:?}");
        assert!(seen[1][1].starts_with(&prefix), "{seen:?}");
        assert_eq!(seen[1][2], "-");
    }
}

#[tokio::test]
async fn a_close_after_the_challenge_on_the_new_connection_is_not_kept_alive() {
    let (url, seen, task) = start_reconnecting(FirstClose::Header, true).await;
    let mut client = AuthClient::connect(&url, short_timeout(Scheme::Ntlm))
        .await
        .unwrap();
    let err = bounded(client.get("/")).await.unwrap_err();
    assert!(
        matches!(
            err,
            HttpClientError::Server(ClientAuthError::NotKeptAlive {
                after: HandshakeStep::Negotiate
            })
        ),
        "{err:?}"
    );
    // Only the first reply opens a new connection.
    assert_eq!(client.connections(), 2);
    task.abort();
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(seen[1].len(), 1, "{seen:?}");
}
