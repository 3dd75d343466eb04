//! Our hyper client through a CONNECT proxy that asks for NTLM (407), then TLS to an origin
//! that asks for NTLM too, with channel bindings: the proxy's logon and the origin's are two
//! handshakes, and the bindings are the origin certificate's.
//!
//! The proxy is a real NTLM proxy built from the crate's server side: each client connection
//! has a `ServerAuth` with `Target::Proxy` over a `ServerConfig` and its user store, so every
//! AUTHENTICATE is verified as Squid with our helper would verify it (tests/interop/proxy/run.sh
//! runs the same client through Squid).
#![cfg(feature = "tls")]

use crate::common;

use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use common::handshake::{client_config, level, server_config, PASSWORD};
use http_body_util::Empty;
use hyper::body::Bytes;
use hyper::service::service_fn;
use hyper::{Method, Response, StatusCode};
use hyper_util::rt::TokioIo;
use ntlm::channel_bindings::ChannelBindings;
use ntlm::http::auth::{
    ClientAuthError, HandshakeStep, Scheme, ServerAuth, ServerAuthOptions, ServerDecision, Target,
};
use ntlm::http::hyper_client::{AuthClient, BindingsMode, ClientOptions, HttpClientError};
use ntlm::http::hyper_server::{serve, ServerEvent, ServerOptions};
use ntlm::http::pool::ClientPool;
use ntlm::http::tls::ServerTls;
use ntlm::policy::{ChannelBindingPolicy, ServerPolicy};
use ntlm::server::ServerConfig;

#[derive(Default)]
struct ProxyStats {
    logons: AtomicUsize,
    refusals: AtomicUsize,
    tunnels: AtomicUsize,
}

/// A CONNECT proxy requiring NTLM or Negotiate; `close` ends every open tunnel.
async fn start_proxy() -> (String, Arc<ProxyStats>, Arc<tokio::sync::Notify>) {
    let config = Arc::new(server_config(ServerPolicy::domain_controller(level(3))));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let stats = Arc::new(ProxyStats::default());
    let close = Arc::new(tokio::sync::Notify::new());
    let (s, c) = (stats.clone(), close.clone());
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let auth = Arc::new(Mutex::new(ServerAuth::new(
                config.clone(),
                ServerAuthOptions::default().with_target(Target::Proxy),
            )));
            let (stats, close) = (s.clone(), c.clone());
            let service = service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
                let (auth, stats, close) = (auth.clone(), stats.clone(), close.clone());
                async move {
                    let values: Vec<Vec<u8>> = req
                        .headers()
                        .get_all("proxy-authorization")
                        .iter()
                        .map(|v| v.as_bytes().to_vec())
                        .collect();
                    let decision = auth.lock().unwrap().on_request(&values, SystemTime::now());
                    let mut response = Response::new(Empty::<Bytes>::new());
                    match decision {
                        ServerDecision::Challenge {
                            status,
                            headers,
                            refusal,
                        } => {
                            if refusal.is_some() {
                                stats.refusals.fetch_add(1, Ordering::SeqCst);
                            }
                            *response.status_mut() = StatusCode::from_u16(status).unwrap();
                            for (name, value) in headers {
                                response.headers_mut().append(name, value.parse().unwrap());
                            }
                        }
                        ServerDecision::Serve { fresh, .. } => {
                            if fresh {
                                stats.logons.fetch_add(1, Ordering::SeqCst);
                            }
                            if req.method() != Method::CONNECT {
                                *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
                                return Ok::<_, Infallible>(response);
                            }
                            let target = req.uri().authority().unwrap().to_string();
                            let on = hyper::upgrade::on(&mut req);
                            stats.tunnels.fetch_add(1, Ordering::SeqCst);
                            tokio::spawn(async move {
                                let mut origin =
                                    tokio::net::TcpStream::connect(target).await.unwrap();
                                let mut client = TokioIo::new(on.await.unwrap());
                                tokio::select! {
                                    _ = tokio::io::copy_bidirectional(&mut client, &mut origin) => {}
                                    _ = close.notified() => {}
                                }
                            });
                        }
                    }
                    Ok::<_, Infallible>(response)
                }
            });
            tokio::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .with_upgrades()
                    .await;
            });
        }
    });
    (addr, stats, close)
}

type Log = Arc<Mutex<Vec<String>>>;

/// The origin: our hyper server over TLS, NTLM with channel bindings checked.
async fn start_origin() -> (u16, String, Log) {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let (cert, key) = (ck.cert.pem(), ck.signing_key.serialize_pem());
    // Bindings required: a logon without the origin certificate's bindings is refused.
    let mut policy = ServerPolicy::domain_controller(level(5));
    policy.channel_bindings = ChannelBindingPolicy::Required;
    let config: ServerConfig = server_config(policy);
    let mut options = ServerOptions::new(Arc::new(config));
    options.tls = Some(ServerTls::from_pem(cert.as_bytes(), key.as_bytes()).unwrap());
    let log: Log = Arc::default();
    let sink = log.clone();
    options.events = Arc::new(move |e: ServerEvent| sink.lock().unwrap().push(e.to_string()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(serve(listener, options));
    (port, cert, log)
}

fn count(log: &Log, what: &str) -> usize {
    log.lock()
        .unwrap()
        .iter()
        .filter(|l| l.contains(what))
        .count()
}

fn options(proxy: &str, cert: &str, password: &str, scheme: Scheme) -> ClientOptions {
    let mut o = ClientOptions::new(client_config(level(3), password));
    o.proxy = Some(format!("http://{proxy}"));
    o.tls.trusted_pem = cert.as_bytes().to_vec();
    o.schemes = vec![scheme];
    o
}

async fn bounded<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(std::time::Duration::from_secs(30), f)
        .await
        .expect("bounded")
}

#[tokio::test]
async fn connect_with_ntlm_then_ntlm_to_the_origin_with_channel_bindings() {
    let (proxy, stats, _) = start_proxy().await;
    let (port, cert, log) = start_origin().await;
    let url = format!("https://localhost:{port}/");
    for scheme in [Scheme::Ntlm, Scheme::Negotiate] {
        let mut client = bounded(AuthClient::connect(
            &url,
            options(&proxy, &cert, PASSWORD, scheme),
        ))
        .await
        .unwrap();
        for _ in 0..2 {
            let r = bounded(client.get("/")).await.unwrap();
            assert_eq!(r.status, 200);
            assert_eq!(
                String::from_utf8_lossy(&r.body),
                "authenticated as CORP\\alice\n"
            );
            assert_eq!(r.scheme, Some(scheme));
        }
        // One proxy logon (the CONNECT) and one origin logon (inside TLS).
        assert_eq!(client.handshakes(), 2, "{scheme}");
    }
    assert_eq!(stats.logons.load(Ordering::SeqCst), 2);
    assert_eq!(stats.tunnels.load(Ordering::SeqCst), 2);
    assert_eq!(count(&log, "authenticated CORP\\alice"), 2, "{log:?}");

    // No bindings: refused (they are required), so the successes above carried them.
    let mut o = options(&proxy, &cert, PASSWORD, Scheme::Ntlm);
    o.bindings = BindingsMode::None;
    let mut client = bounded(AuthClient::connect(&url, o)).await.unwrap();
    assert!(matches!(
        bounded(client.get("/")).await,
        Err(HttpClientError::Server(ClientAuthError::Refused { .. }))
    ));
    assert_eq!(stats.logons.load(Ordering::SeqCst), 3);

    // Bindings of another certificate: the origin refuses; the proxy still let it through,
    // so the bindings were checked by the origin, not the proxy.
    let mut o = options(&proxy, &cert, PASSWORD, Scheme::Ntlm);
    o.bindings = BindingsMode::Fixed(ChannelBindings::from_application_data(
        b"tls-server-end-point:somewhere else".to_vec(),
    ));
    let mut client = bounded(AuthClient::connect(&url, o)).await.unwrap();
    assert!(matches!(
        bounded(client.get("/")).await,
        Err(HttpClientError::Server(ClientAuthError::Refused { .. }))
    ));
    assert_eq!(stats.logons.load(Ordering::SeqCst), 4);
    assert_eq!(
        count(&log, "channel bindings do not match this connection"),
        1,
        "{log:?}"
    );
}

#[tokio::test]
async fn a_refused_proxy_password_is_reported_and_not_retried_by_the_pool() {
    let (proxy, stats, _) = start_proxy().await;
    let (port, cert, _) = start_origin().await;
    let url = format!("https://localhost:{port}/");
    let pool = ClientPool::default();
    let bad = options(&proxy, &cert, "wrong", Scheme::Ntlm);
    for _ in 0..3 {
        match bounded(pool.get(&url, &bad)).await {
            Err(HttpClientError::Proxy(ClientAuthError::Refused {
                step: HandshakeStep::Authenticate,
                status: 407,
                ..
            })) => {}
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(
        stats.refusals.load(Ordering::SeqCst),
        1,
        "one logon attempt"
    );
    pool.forget_refusal(&pool.key(&format!("https://localhost:{port}"), &bad));
    assert!(bounded(pool.get(&url, &bad)).await.is_err());
    assert_eq!(stats.refusals.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn the_pool_reuses_logged_on_tunnels_and_replaces_closed_ones() {
    let (proxy, stats, close) = start_proxy().await;
    let (port, cert, log) = start_origin().await;
    let url = format!("https://localhost:{port}/");
    let pool = ClientPool::default();
    let good = options(&proxy, &cert, PASSWORD, Scheme::Negotiate);
    for _ in 0..3 {
        let r = bounded(pool.get(&url, &good)).await.unwrap();
        assert_eq!(r.status, 200);
    }
    assert_eq!(stats.logons.load(Ordering::SeqCst), 1);
    assert_eq!(count(&log, "authenticated CORP\\alice"), 1, "{log:?}");
    let key = pool.key(&format!("https://localhost:{port}"), &good);
    assert_eq!(pool.idle(&key), 1);
    // Other credentials do not get that connection.
    let other = options(&proxy, &cert, "wrong", Scheme::Negotiate);
    assert_ne!(pool.key(&format!("https://localhost:{port}"), &other), key);

    // The proxy ends the tunnel: the next request logs on again on a new connection.
    close.notify_waiters();
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let r = bounded(pool.get(&url, &good)).await.unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(stats.logons.load(Ordering::SeqCst), 2);
    assert_eq!(stats.tunnels.load(Ordering::SeqCst), 2);
    assert_eq!(count(&log, "authenticated CORP\\alice"), 2, "{log:?}");
}
