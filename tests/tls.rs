//! TLS and mTLS on the one port: HTTPS over HTTP/1.1 and HTTP/2, gRPC over
//! TLS, `x-forwarded-proto: https`, what is refused (plain HTTP, TLS 1.1,
//! missing or untrusted client certificates), the verified client's
//! subject as interceptors see it on both faces, and certificate reload.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Authority, TlsServer, guarded};
use gateway::config::ClientAuth;
use gateway::proto::users::v1::ListUsersRequest;
use gateway::transcode::ClientCertificate;
use gateway::transcode::interceptor::{CallInfo, Face, Interceptor};
use http::Extensions;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tonic::metadata::MetadataMap;

/// What one call showed the chain: its face, `x-forwarded-proto` and the
/// client certificate's subject.
type Sighting = (Face, Option<String>, Option<String>);

#[derive(Default)]
struct Recorder(Mutex<Vec<Sighting>>);

impl Interceptor for Recorder {
    fn on_call(
        &self,
        call: &CallInfo,
        metadata: &mut MetadataMap,
        extensions: &mut Extensions,
    ) -> Result<(), tonic::Status> {
        let proto = metadata
            .get("x-forwarded-proto")
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        let subject = extensions
            .get::<ClientCertificate>()
            .map(|certificate| certificate.subject.to_string());
        self.0.lock().unwrap().push((call.face, proto, subject));
        Ok(())
    }
}

impl Recorder {
    fn take(&self) -> Vec<Sighting> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

async fn list_status(client: &reqwest::Client, server: &TlsServer) -> Result<u16, reqwest::Error> {
    let response = client.get(server.url("/v1/users")).send().await?;
    Ok(response.status().as_u16())
}

#[tokio::test]
async fn https_over_http1_and_http2_and_grpc_over_tls() {
    let recorder = Arc::new(Recorder::default());
    let server = TlsServer::start_with(None, vec![recorder.clone()]).await;
    for http2 in [false, true] {
        let client = server.https_client(http2, None);
        let response = guarded("a call over TLS", client.get(server.url("/v1/users")).send())
            .await
            .expect("an HTTPS request");
        assert_eq!(response.status(), 200);
        let expected = if http2 {
            http::Version::HTTP_2
        } else {
            http::Version::HTTP_11
        };
        assert_eq!(response.version(), expected);
    }
    assert_eq!(
        recorder.take(),
        vec![
            (Face::Rest, Some("https".into()), None),
            (Face::Rest, Some("https".into()), None)
        ],
        "REST calls over TLS say so"
    );
    let mut grpc = guarded("a call over TLS", server.grpc(None))
        .await
        .expect("a gRPC channel over TLS");
    guarded("a call over TLS", grpc.list_users(ListUsersRequest::default()))
        .await
        .expect("a gRPC call over TLS");
    assert_eq!(recorder.take(), vec![(Face::Grpc, None, None)]);
    server.shutdown().await;
}

/// Reads what the server answers until it closes, or 5 s.
async fn answer_to(server: &TlsServer, bytes: &[u8]) -> Vec<u8> {
    let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    stream.write_all(bytes).await.unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer)).await;
    answer
}

/// A TLS 1.1 ClientHello (one RSA/AES-CBC suite, no extensions).
fn tls11_client_hello() -> Vec<u8> {
    let mut body = vec![0x03, 0x02]; // TLS 1.1
    body.extend([7u8; 32]); // random
    body.push(0); // no session id
    body.extend([0x00, 0x02, 0x00, 0x2f]); // TLS_RSA_WITH_AES_128_CBC_SHA
    body.extend([0x01, 0x00]); // no compression
    let mut handshake = vec![0x01, 0x00, 0x00, u8::try_from(body.len()).unwrap()];
    handshake.extend(body);
    let mut record = vec![0x16, 0x03, 0x01, 0x00, u8::try_from(handshake.len()).unwrap()];
    record.extend(handshake);
    record
}

#[tokio::test]
async fn plain_http_and_tls_1_1_are_refused() {
    let server = TlsServer::start().await;
    let plain = answer_to(&server, b"GET /v1/users HTTP/1.1\r\nHost: localhost\r\n\r\n").await;
    assert!(
        !plain.starts_with(b"HTTP/"),
        "plain HTTP got an HTTP answer: {plain:?}"
    );
    let old = answer_to(&server, &tls11_client_hello()).await;
    // Nothing but an alert record (type 21), if anything.
    assert!(old.is_empty() || old[0] == 0x15, "TLS 1.1 got {old:?}");
    // The server still serves TLS 1.2+.
    let client = server.https_client(false, None);
    assert_eq!(
        guarded("a call over TLS", list_status(&client, &server))
            .await
            .unwrap(),
        200
    );
    server.shutdown().await;
}

#[tokio::test]
async fn mtls_required_lets_in_trusted_clients_only() {
    let recorder = Arc::new(Recorder::default());
    let server = TlsServer::start_with(Some(ClientAuth::Required), vec![recorder.clone()]).await;
    let billing = server.ca.client("billing", "Example");
    for http2 in [false, true] {
        let client = server.https_client(http2, Some(billing.identity()));
        assert_eq!(
            guarded("a call over TLS", list_status(&client, &server))
                .await
                .unwrap(),
            200
        );
    }
    let mut grpc = guarded("a call over TLS", server.grpc(Some(billing.grpc_identity())))
        .await
        .expect("a gRPC channel");
    guarded("a call over TLS", grpc.list_users(ListUsersRequest::default()))
        .await
        .expect("a gRPC call with a client certificate");
    let subject = Some("CN=billing,O=Example".to_owned());
    assert_eq!(
        recorder.take(),
        vec![
            (Face::Rest, Some("https".into()), subject.clone()),
            (Face::Rest, Some("https".into()), subject.clone()),
            (Face::Grpc, None, subject),
        ]
    );

    let anonymous = server.https_client(false, None);
    assert!(
        guarded("a call over TLS", list_status(&anonymous, &server))
            .await
            .is_err(),
        "no certificate"
    );
    let stranger = Authority::new("Other CA").client("billing", "Example");
    let untrusted = server.https_client(true, Some(stranger.identity()));
    assert!(
        guarded("a call over TLS", list_status(&untrusted, &server))
            .await
            .is_err(),
        "untrusted certificate"
    );
    let grpc = guarded("a call over TLS", server.grpc(None)).await;
    if let Ok(mut grpc) = grpc {
        assert!(
            guarded("a call over TLS", grpc.list_users(ListUsersRequest::default()))
                .await
                .is_err(),
            "gRPC without a certificate"
        );
    }
    assert!(recorder.take().is_empty(), "no refused client reached the chain");
    server.shutdown().await;
}

#[tokio::test]
async fn mtls_optional_lets_in_clients_without_a_certificate() {
    let recorder = Arc::new(Recorder::default());
    let server = TlsServer::start_with(Some(ClientAuth::Optional), vec![recorder.clone()]).await;
    let anonymous = server.https_client(true, None);
    assert_eq!(
        guarded("a call over TLS", list_status(&anonymous, &server))
            .await
            .unwrap(),
        200
    );
    let billing = server.ca.client("billing", "Example");
    let trusted = server.https_client(true, Some(billing.identity()));
    assert_eq!(
        guarded("a call over TLS", list_status(&trusted, &server))
            .await
            .unwrap(),
        200
    );
    let stranger = Authority::new("Other CA").client("billing", "Example");
    let untrusted = server.https_client(false, Some(stranger.identity()));
    assert!(
        guarded("a call over TLS", list_status(&untrusted, &server))
            .await
            .is_err(),
        "untrusted certificate"
    );
    let subjects: Vec<_> = recorder
        .take()
        .into_iter()
        .map(|(_, _, subject)| subject)
        .collect();
    assert_eq!(subjects, vec![None, Some("CN=billing,O=Example".to_owned())]);
    server.shutdown().await;
}

#[tokio::test]
async fn a_new_certificate_is_used_by_new_handshakes_while_open_connections_go_on() {
    let server = TlsServer::start().await;
    let open = server.https_client(true, None);
    assert_eq!(
        guarded("a call over TLS", list_status(&open, &server))
            .await
            .unwrap(),
        200
    );
    let first = guarded("a call over TLS", server.presented_certificate()).await;

    // A bad file is refused: the old certificate stays.
    std::fs::write(server.cert_path(), "not a certificate").unwrap();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(
        guarded("a call over TLS", server.presented_certificate()).await,
        first
    );

    let next = server.ca.server("server-two");
    std::fs::write(server.key_path(), &next.key).unwrap();
    std::fs::write(server.cert_path(), &next.cert).unwrap();
    let mut presented = first.clone();
    for _ in 0..50 {
        presented = guarded("a call over TLS", server.presented_certificate()).await;
        if presented != first {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(presented, next.der, "new handshakes get the new certificate");
    assert_eq!(
        guarded("a call over TLS", list_status(&open, &server))
            .await
            .unwrap(),
        200,
        "the HTTP/2 connection made before the reload still serves"
    );
    server.shutdown().await;
}
