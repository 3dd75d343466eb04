//! `NtlmLayer` driven in process by the crate's sans-IO `ClientAuth`: state per connection,
//! the principal in the handler's extensions, Negotiate's final token, audit findings and
//! counters, and the fail-closed answer without a connection.
#![cfg(feature = "tower")]

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Request, Response, StatusCode};
use ntlm::client::ClientConfig;
use ntlm::guard::ReflectionGuard;
use ntlm::http::auth::{ClientAuth, ClientAuthOptions, ClientStep, Principal, Scheme};
use ntlm::http::tower::{Connection, NtlmLayer};
use ntlm::policy::{LmCompatibilityLevel as L, RefusedKind, ServerPolicy, Verify};
use ntlm::server::ServerConfig;
use ntlm::store::MemoryStore;
use tower::{service_fn, Layer, ServiceExt};

type Body = Full<Bytes>;

fn guard() -> Option<Arc<ReflectionGuard>> {
    Some(Arc::new(ReflectionGuard::new(Duration::from_secs(60))))
}

fn layer(policy: ServerPolicy) -> NtlmLayer {
    let mut users = MemoryStore::new();
    users.add_password("CORP", "alice", "Secret1");
    let mut config = ServerConfig::new(policy, users);
    config.reflection_guard = guard();
    NtlmLayer::new(Arc::new(config))
}

/// The application: says who the request is from, as the layer put it in the extensions.
fn app(
    layer: &NtlmLayer,
) -> impl tower::Service<
    Request<Body>,
    Response = Response<Body>,
    Error = Infallible,
    Future = impl Send,
> + Clone {
    layer.layer(service_fn(|req: Request<Body>| async move {
        let who = req
            .extensions()
            .get::<Arc<Principal>>()
            .map_or("nobody".to_string(), |p| p.qualified());
        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(who))))
    }))
}

struct Answer {
    status: StatusCode,
    challenges: Vec<String>,
    body: String,
}

async fn send<S>(
    service: &S,
    connection: Option<&Connection>,
    authorization: Option<&str>,
) -> Answer
where
    S: tower::Service<Request<Body>, Response = Response<Body>, Error = Infallible> + Clone,
{
    let mut request = Request::builder().uri("/");
    if let Some(value) = authorization {
        request = request.header("Authorization", value);
    }
    let mut request = request.body(Full::new(Bytes::new())).unwrap();
    if let Some(c) = connection {
        request.extensions_mut().insert(c.clone());
    }
    let response = service.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let challenges = response
        .headers()
        .get_all("WWW-Authenticate")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    Answer {
        status,
        challenges,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

/// Runs a whole handshake on `connection`; the last answer.
async fn logon<S>(
    service: &S,
    connection: &Connection,
    level: L,
    password: &str,
    scheme: Scheme,
) -> Answer
where
    S: tower::Service<Request<Body>, Response = Response<Body>, Error = Infallible> + Clone,
{
    let mut config = ClientConfig::new(level, "CORP", "alice", password);
    config.reflection_guard = guard();
    let options = ClientAuthOptions::default().with_schemes(vec![scheme]);
    let mut client = ClientAuth::new(config, options);
    let mut answer = send(service, Some(connection), None).await;
    for _ in 0..4 {
        let step = client.on_response(
            answer.status.as_u16(),
            &answer.challenges,
            true,
            SystemTime::now(),
        );
        match step {
            Ok(ClientStep::Authorize { value, .. }) => {
                answer = send(service, Some(connection), Some(&value)).await;
            }
            Ok(ClientStep::Done(done)) => {
                if scheme == Scheme::Negotiate && answer.status == StatusCode::OK {
                    assert!(done.server_verified, "final mechListMIC verified");
                }
                return answer;
            }
            Err(_) => return answer,
        }
    }
    panic!("handshake did not end");
}

#[tokio::test]
async fn one_state_per_connection_and_the_principal_reaches_the_handler() {
    let layer = layer(ServerPolicy::domain_controller(L::L5));
    let service = app(&layer);
    let a = Connection::without_peer();
    let b = Connection::without_peer();
    for scheme in [Scheme::Ntlm, Scheme::Negotiate] {
        let c = Connection::without_peer();
        let answer = logon(&service, &c, L::L3, "Secret1", scheme).await;
        assert_eq!(answer.status, StatusCode::OK, "{scheme}");
        assert_eq!(answer.body, "CORP\\alice");
    }
    assert_eq!(
        logon(&service, &a, L::L3, "Secret1", Scheme::Ntlm)
            .await
            .status,
        StatusCode::OK
    );
    // Later requests on connection a are served without asking again...
    let again = send(&service, Some(&a), None).await;
    assert_eq!(
        (again.status, again.body.as_str()),
        (StatusCode::OK, "CORP\\alice")
    );
    assert_eq!(a.principal().unwrap().verified, Verify::NtlmV2);
    // ...and connection b is not authenticated by a's logon.
    let other = send(&service, Some(&b), None).await;
    assert_eq!(other.status, StatusCode::UNAUTHORIZED);
    assert_eq!(other.challenges, ["Negotiate", "NTLM"]);
    assert!(b.principal().is_none());
    // Without a Connection the layer fails closed.
    let none = send(&service, None, None).await;
    assert_eq!(none.status, StatusCode::INTERNAL_SERVER_ERROR);
    // Refusals: a wrong password, and NTLMv1 at level 5.
    let wrong = logon(&service, &b, L::L3, "wrong", Scheme::Ntlm).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let v1 = logon(&service, &b, L::L2, "Secret1", Scheme::Negotiate).await;
    assert_eq!(v1.status, StatusCode::UNAUTHORIZED);
    let snap = layer.metrics().snapshot();
    assert_eq!(snap.accepted(Verify::NtlmV2), 3);
    assert_eq!(snap.refused("bad password"), 1);
    assert_eq!(snap.refused("policy level"), 1);
    assert_eq!(
        snap.refused_by_kind
            .iter()
            .find(|(k, _)| *k == RefusedKind::Ess)
            .map(|(_, n)| *n),
        Some(1)
    );
}

#[tokio::test]
async fn audit_mode_accepts_reports_and_counts() {
    let mut policy = ServerPolicy::domain_controller(L::L2);
    policy.offer_ess = false;
    policy.audit_level = Some(L::L5);
    let layer = layer(policy);
    let service = app(&layer);
    let v1 = logon(
        &service,
        &Connection::without_peer(),
        L::L2,
        "Secret1",
        Scheme::Ntlm,
    )
    .await;
    assert_eq!(
        (v1.status, v1.body.as_str()),
        (StatusCode::OK, "CORP\\alice")
    );
    let v2 = logon(
        &service,
        &Connection::without_peer(),
        L::L3,
        "Secret1",
        Scheme::Negotiate,
    )
    .await;
    assert_eq!(v2.status, StatusCode::OK);
    let snap = layer.metrics().snapshot();
    assert_eq!(snap.accepted(Verify::NtlmV1), 1);
    assert_eq!(snap.accepted(Verify::NtlmV2), 1);
    assert_eq!(snap.would_refuse(RefusedKind::NtlmV1), 1);
    assert_eq!(snap.would_refuse_total(), 1);
}

/// The axum side: `NtlmUser` in a handler behind the layer, `Option<NtlmUser>` on a route
/// without it, and `ConnectInfo<Connection>` (what `into_make_service_with_connect_info`
/// inserts) found by the layer.
#[cfg(feature = "axum")]
#[tokio::test]
async fn axum_router_with_the_extractor() {
    use axum::extract::ConnectInfo;
    use axum::routing::get;
    use axum::Router;
    use ntlm::http::tower::NtlmUser;

    let layer = layer(ServerPolicy::domain_controller(L::L5));
    let protected = Router::new()
        .route(
            "/",
            get(|NtlmUser(who): NtlmUser| async move { who.qualified() }),
        )
        .layer(layer.clone());
    let open = Router::new().route(
        "/",
        get(|who: Option<NtlmUser>| async move { format!("{:?}", who.map(|w| w.0.qualified())) }),
    );
    // Adapts a Router to the test's Full<Bytes> bodies, with the connection as axum's
    // ConnectInfo.
    let adapt = |router: Router, connection: Connection| {
        service_fn(move |req: Request<Body>| {
            let mut req = req.map(axum::body::Body::new);
            // Only axum's ConnectInfo carries the connection here.
            req.extensions_mut().remove::<Connection>();
            req.extensions_mut().insert(ConnectInfo(connection.clone()));
            let router = router.clone();
            async move {
                let response = router.oneshot(req).await.unwrap();
                let (parts, body) = response.into_parts();
                let bytes = body.collect().await.unwrap().to_bytes();
                Ok::<_, Infallible>(Response::from_parts(parts, Full::new(bytes)))
            }
        })
    };
    let connection = Connection::without_peer();
    let service = adapt(protected, connection.clone());
    let answer = logon(&service, &connection, L::L3, "Secret1", Scheme::Negotiate).await;
    assert_eq!(
        (answer.status, answer.body.as_str()),
        (StatusCode::OK, "CORP\\alice")
    );
    let fresh = Connection::without_peer();
    let unauthenticated = send(&adapt(open.clone(), fresh.clone()), Some(&fresh), None).await;
    assert_eq!(unauthenticated.body, "None");
    assert_eq!(layer.metrics().snapshot().accepted(Verify::NtlmV2), 1);
}

/// Proxy authentication: 407 with `Proxy-Authenticate`, and the inner service never sees the
/// `Proxy-Authorization` that logged the connection on.
#[tokio::test]
async fn proxy_target_answers_407_and_consumes_the_credentials() {
    use ntlm::http::auth::{ServerAuthOptions, Target};
    let mut users = MemoryStore::new();
    users.add_password("CORP", "alice", "Secret1");
    let mut config = ServerConfig::new(ServerPolicy::domain_controller(L::L5), users);
    config.reflection_guard = guard();
    let options = ServerAuthOptions::default().with_target(Target::Proxy);
    let layer = NtlmLayer::with_options(Arc::new(config), options, Default::default());
    let service = layer.layer(service_fn(|req: Request<Body>| async move {
        let leaked = req.headers().contains_key("Proxy-Authorization");
        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(format!(
            "leaked={leaked}"
        )))))
    }));
    let connection = Connection::without_peer();
    let mut client_config = ClientConfig::new(L::L3, "CORP", "alice", "Secret1");
    client_config.reflection_guard = guard();
    let mut client = ClientAuth::new(
        client_config,
        ClientAuthOptions::default().with_target(Target::Proxy),
    );
    let mut authorization: Option<String> = None;
    for _ in 0..4 {
        let mut request = Request::builder().uri("http://example.test/");
        if let Some(v) = &authorization {
            request = request.header("Proxy-Authorization", v);
        }
        let mut request = request.body(Full::new(Bytes::new())).unwrap();
        request.extensions_mut().insert(connection.clone());
        let response = service.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let challenges: Vec<String> = response
            .headers()
            .get_all("Proxy-Authenticate")
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect();
        if status == StatusCode::OK {
            let body = response.into_body().collect().await.unwrap().to_bytes();
            assert_eq!(&body[..], b"leaked=false");
            assert_eq!(connection.principal().unwrap().user, "alice");
            return;
        }
        assert_eq!(status, StatusCode::PROXY_AUTHENTICATION_REQUIRED);
        match client
            .on_response(status.as_u16(), &challenges, true, SystemTime::now())
            .unwrap()
        {
            ClientStep::Authorize { value, .. } => authorization = Some(value),
            ClientStep::Done(d) => panic!("ended early: {d:?}"),
        }
    }
    panic!("no 200 after four rounds");
}
