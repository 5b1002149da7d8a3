//! Liveness and readiness: `GET /healthz`, `GET /readyz` and the gRPC
//! health service tell the same story, and none of them is a call.

mod common;

use common::TestServer;
use serde_json::json;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

#[tokio::test(flavor = "multi_thread")]
async fn a_serving_process_is_live_and_ready_on_both_faces() {
    let server = TestServer::start().await;
    for path in ["/healthz", "/readyz"] {
        let (status, body) = server.get_json(path).await;
        assert_eq!((status, body), (200, json!({"status": "SERVING"})), "{path}");
    }
    let mut health = HealthClient::new(server.channel().await);
    for service in ["", "users.v1.UserService"] {
        let response = health
            .check(HealthCheckRequest {
                service: service.to_owned(),
            })
            .await
            .expect("health check")
            .into_inner();
        assert_eq!(response.status(), ServingStatus::Serving, "service {service:?}");
    }
    let unknown = health
        .check(HealthCheckRequest {
            service: "no.such.Service".to_owned(),
        })
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), tonic::Code::NotFound, "{unknown:?}");
    drop(health);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn health_endpoints_are_not_calls() {
    let server = TestServer::start().await;
    for path in ["/healthz", "/readyz", "/healthz", "/readyz"] {
        assert_eq!(server.get_json(path).await.0, 200, "{path}");
    }
    let (status, metrics, _) = server.get_text("/metrics", None).await;
    assert_eq!(status, 200);
    assert!(
        !metrics.contains("healthz") && !metrics.contains("readyz"),
        "{metrics}"
    );
    // Only what the server routes is a health path.
    assert_eq!(server.get_json("/readyz/extra").await.0, 404);
    server.shutdown().await;
}
