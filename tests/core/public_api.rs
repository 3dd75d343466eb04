//! The public API's promises about errors: every error that wraps another returns it from
//! `source()` (an io::Error stays an io::Error), every public error is `Send + Sync +
//! 'static`, and the HTTP client's error and response are `HttpClientError` and
//! `HttpResponse` (not a second `ClientError` or `Response`).

use std::error::Error;
use std::time::SystemTime;

use ntlm::client::{ClientConfig, ClientContext, ClientError};
use ntlm::policy::LmCompatibilityLevel;
use ntlm::DecodeError;

/// `e`'s source, which must exist and be a `T`.
fn source_is<T: Error + 'static>(e: &dyn Error) -> &T {
    let source = e
        .source()
        .unwrap_or_else(|| panic!("{e} ({e:?}) wraps an error but has no source()"));
    source
        .downcast_ref::<T>()
        .unwrap_or_else(|| panic!("{e}: source() is {source:?}, not the wrapped error"))
}

#[cfg(feature = "netlogon")]
fn decode_error() -> DecodeError {
    DecodeError::new(
        "MessageType",
        8,
        ntlm::DecodeErrorKind::UnknownMessageType { found: 7 },
    )
}

fn assert_error<E: Error + Send + Sync + 'static>() {}

#[test]
fn public_errors_are_send_sync_static() {
    assert_error::<DecodeError>();
    assert_error::<ClientError>();
    assert_error::<ntlm::policy::BadLevel>();
    assert_error::<ntlm::policy::PolicyRefusal>();
    assert_error::<ntlm::store::StoreError>();
    assert_error::<ntlm::channel_bindings::CertificateError>();
    assert_error::<ntlm::crypto::SecurityError>();
    assert_error::<ntlm::server::Refusal>();
    #[cfg(feature = "http")]
    {
        assert_error::<ntlm::http::header::HeaderError>();
        assert_error::<ntlm::http::auth::ClientAuthError>();
    }
    #[cfg(feature = "hyper")]
    {
        // The renamed types: `ntlm::client::ClientError` is the only `ClientError`, and
        // `ntlm::netlogon::pdu::Response` the only `Response`.
        assert_error::<ntlm::http::hyper_client::HttpClientError>();
        let _: Option<ntlm::http::hyper_client::HttpResponse> = None;
        assert_error::<ntlm::http::handshake::HandshakeError>();
        assert_error::<ntlm::http::handshake::TunnelError>();
    }
    #[cfg(feature = "tls")]
    assert_error::<ntlm::http::tls::TlsError>();
    #[cfg(feature = "netlogon")]
    {
        assert_error::<ntlm::netlogon::PassThroughError>();
        assert_error::<ntlm::netlogon::Unavailable>();
        assert_error::<ntlm::netlogon::SetupError>();
        assert_error::<ntlm::netlogon::channel::RpcError>();
    }
}

#[test]
fn a_malformed_challenge_is_the_client_errors_source() {
    let mut config = ClientConfig::new(LmCompatibilityLevel::L3, "CORP", "alice", "pw");
    config.reflection_guard = None;
    let mut client = ClientContext::new(config);
    client.negotiate().unwrap();
    let e = client
        .authenticate(b"NTLMSSP\0\x02\0\0\0", SystemTime::now())
        .unwrap_err();
    assert!(matches!(e, ClientError::Malformed(_)), "{e:?}");
    source_is::<DecodeError>(&e);
    // An error that wraps nothing has no source.
    assert!(ClientError::Unusable.source().is_none());
}

#[test]
fn an_unreadable_user_file_keeps_its_io_error() {
    let dir = std::env::temp_dir().join(format!("ntlm-public-api-{}", std::process::id()));
    let e = ntlm::store::MemoryStore::from_file(dir.join("no-such-users.txt")).unwrap_err();
    assert_eq!(e.line, 0);
    let io = source_is::<std::io::Error>(&e);
    assert_eq!(io.kind(), std::io::ErrorKind::NotFound);
    // A parse error names a line and wraps nothing.
    let e = ntlm::store::MemoryStore::parse("no-colon-here\n", "users").unwrap_err();
    assert_eq!(e.line, 1);
    assert!(e.source().is_none());
}

#[cfg(feature = "netlogon")]
#[test]
fn netlogon_errors_return_what_they_wrap() {
    use ntlm::netlogon::channel::RpcError;
    use ntlm::netlogon::{SetupError, Unavailable};
    source_is::<DecodeError>(&RpcError::Decode(decode_error()));
    source_is::<DecodeError>(&SetupError::Decode(decode_error()));
    let io = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
    let unavailable = Unavailable::Io(io);
    assert_eq!(
        source_is::<std::io::Error>(&unavailable).kind(),
        std::io::ErrorKind::ConnectionRefused
    );
}

#[cfg(feature = "tls")]
#[test]
fn tls_errors_return_what_they_wrap() {
    use ntlm::http::tls::{certificates_from_pem, TlsError};
    let e =
        certificates_from_pem(b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n")
            .unwrap_err();
    assert!(matches!(e, TlsError::Pem { .. }), "{e:?}");
    assert!(e.source().is_some(), "{e:?}");
    let e = certificates_from_pem(b"no PEM here\n").unwrap_err();
    assert!(matches!(e, TlsError::NoPemSection(_)), "{e:?}");
    assert!(e.source().is_none());
}

#[cfg(feature = "hyper")]
#[tokio::test]
async fn a_refused_connection_is_an_io_error_with_its_context() {
    use ntlm::http::hyper_client::{AuthClient, ClientOptions, HttpClientError};
    // A port nothing listens on: bind one, note it, close it.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let config = ClientConfig::new(LmCompatibilityLevel::L3, "CORP", "alice", "pw");
    let Err(e) = AuthClient::connect(
        &format!("http://127.0.0.1:{port}/"),
        ClientOptions::new(config),
    )
    .await
    else {
        panic!("connected to a closed port");
    };
    match &e {
        HttpClientError::Io { context, source } => {
            assert_eq!(*context, "connecting");
            assert_eq!(source.kind(), std::io::ErrorKind::ConnectionRefused);
        }
        other => panic!("{other:?}"),
    }
    source_is::<std::io::Error>(&e);
    assert!(e.to_string().starts_with("connecting: "), "{e}");
}

#[test]
fn a_server_refusal_returns_the_policy_or_dc_refusal_it_wraps() {
    use ntlm::policy::{PolicyRefusal, RefusedKind, ServerPreset};
    use ntlm::server::Refusal;
    let level = LmCompatibilityLevel::new(5).unwrap();
    let policy = PolicyRefusal::new(RefusedKind::NtlmV1, level, ServerPreset::DomainController);
    let refusal = Refusal::Policy(policy);
    assert_eq!(source_is::<PolicyRefusal>(&refusal), &policy);
    #[cfg(feature = "netlogon")]
    let dc = Refusal::DcRefused(ntlm::netlogon::LogonRefusal::WrongPassword);
    #[cfg(feature = "netlogon")]
    source_is::<ntlm::netlogon::LogonRefusal>(&dc);
}
