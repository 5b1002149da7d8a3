//! Headers ↔ metadata, one rule (see the README's "Metadata"): which HTTP
//! headers reach the service as metadata, the `x-forwarded-*` the gateway
//! adds from the connection, binary `-bin` values in base64 both ways, and
//! the service's metadata coming back as `Grpc-Metadata-<key>` headers, on
//! success and on failure, for direct calls and calls through tonic's
//! routes alike.

mod common;

use std::sync::Arc;

use base64::Engine as _;
use common::{Endpoint, StubService, assert_error_body, serve_both_faces, serve_engine, stub_user};
use gateway::proto::users::v1::GetUserRequest;

/// The bytes the client sends in `Grpc-Metadata-Echo-Bin`.
const BINARY: &[u8] = &[0x00, 0x01, 0xfe, 0xff];

async fn engines() -> [(&'static str, Endpoint); 2] {
    let stub = || StubService::default().with_user(stub_user(1));
    [
        ("direct", serve_both_faces(Arc::new(stub())).await),
        ("through tonic's routes", serve_engine(stub()).await),
    ]
}

fn header<'r>(response: &'r reqwest::Response, name: &str) -> Option<&'r str> {
    response.headers().get(name).map(|value| value.to_str().unwrap())
}

#[tokio::test]
async fn chosen_headers_reach_the_service_and_its_metadata_comes_back() {
    for (path, engine) in engines().await {
        let encoded = base64::engine::general_purpose::STANDARD.encode(BINARY);
        let response = reqwest::Client::new()
            .get(engine.url("/v1/users/stub-1"))
            .header("Authorization", "Bearer token")
            .header("Grpc-Metadata-Tenant", "acme")
            .header("Grpc-Metadata-Echo-Bin", &encoded)
            .header("Grpc-Metadata-Grpc-Status", "0")
            .header("X-Forwarded-For", "203.0.113.9")
            .header("Cookie", "session=secret")
            .header("X-Custom", "not forwarded")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
        let seen: Vec<&str> = header(&response, "grpc-metadata-seen-keys")
            .unwrap()
            .split(',')
            .collect();
        for key in [
            "authorization",
            "echo-bin",
            "tenant",
            "x-forwarded-for",
            "x-forwarded-host",
            "x-forwarded-proto",
            "x-request-id",
        ] {
            assert!(seen.contains(&key), "{path}: {key} in {seen:?}");
        }
        for key in ["cookie", "x-custom", "grpc-status", "grpc-metadata-tenant"] {
            assert!(!seen.contains(&key), "{path}: {key} not in {seen:?}");
        }
        // The client's chain, then the peer; the host it asked for.
        assert_eq!(
            header(&response, "grpc-metadata-seen-forwarded-for"),
            Some("203.0.113.9, 127.0.0.1"),
            "{path}"
        );
        let host = format!("127.0.0.1:{}", engine.addr().port());
        assert_eq!(
            header(&response, "grpc-metadata-seen-forwarded-host"),
            Some(&*host),
            "{path}"
        );
        // Binary metadata is base64 both ways.
        let echoed = header(&response, "grpc-metadata-echo-bin").expect("echo-bin comes back");
        let decoded = base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(echoed.trim_end_matches('='))
            .unwrap();
        assert_eq!(decoded, BINARY, "{path}");
        // The gateway's own id, once, not as metadata.
        assert_eq!(
            response.headers().get_all("x-request-id").iter().count(),
            1,
            "{path}"
        );
        assert_eq!(header(&response, "grpc-metadata-x-request-id"), None, "{path}");
    }
}

#[tokio::test]
async fn a_failure_brings_the_services_metadata_too() {
    for (path, engine) in engines().await {
        let response = reqwest::Client::new()
            .get(engine.url("/v1/users/missing"))
            .header("Grpc-Metadata-Tenant", "acme")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404, "{path}");
        let seen = header(&response, "grpc-metadata-seen-keys")
            .unwrap_or_default()
            .to_owned();
        assert!(seen.split(',').any(|key| key == "tenant"), "{path}: {seen}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_error_body(&body, 5);
    }
}

#[tokio::test]
async fn a_binary_value_that_is_not_base64_is_a_client_error() {
    for (path, engine) in engines().await {
        let response = reqwest::Client::new()
            .get(engine.url("/v1/users/stub-1"))
            .header("Grpc-Metadata-Echo-Bin", "not base64!")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{path}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_error_body(&body, 3);
        let message = body["message"].as_str().unwrap();
        assert!(message.contains("Grpc-Metadata-echo-bin"), "{path}: {message}");
    }
}

#[tokio::test]
async fn over_grpc_metadata_is_the_callers_own() {
    let engine = serve_both_faces(Arc::new(StubService::default().with_user(stub_user(1)))).await;
    let mut client = engine.grpc().await;
    let mut request = tonic::Request::new(GetUserRequest {
        id: "stub-1".to_owned(),
    });
    request.metadata_mut().insert("tenant", "acme".parse().unwrap());
    request
        .metadata_mut()
        .insert_bin("echo-bin", tonic::metadata::MetadataValue::from_bytes(BINARY));
    let response = client.get_user(request).await.unwrap();
    let seen = response
        .metadata()
        .get("seen-keys")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(seen.split(',').any(|key| key == "tenant"), "{seen}");
    // The gateway adds nothing of its own to a gRPC caller's metadata.
    assert!(!seen.contains("x-forwarded"), "{seen}");
    let echoed = response
        .metadata()
        .get_bin("echo-bin")
        .unwrap()
        .to_bytes()
        .unwrap();
    assert_eq!(&echoed[..], BINARY);
}
