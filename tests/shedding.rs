//! The caps on calls in flight and open streams, on both faces: a call
//! held open (a client stream whose requests never end) fills the cap;
//! further calls are shed with UNAVAILABLE (REST 503 with `Retry-After`)
//! while health checks, reflection and `/metrics` still answer; once the
//! held call ends, calls are served again.

mod common;

use common::{TestServer, assert_error_body, guarded};
use gateway::proto::users::v1::{CreateUserRequest, GetUserRequest, StreamUsersRequest};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Code;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

/// A `BulkCreateUsers` call held open over gRPC: it holds a call slot and a
/// stream slot until `requests` is dropped.
struct HeldStream {
    requests: mpsc::Sender<CreateUserRequest>,
    call: JoinHandle<Result<(), tonic::Status>>,
}

impl HeldStream {
    async fn open(server: &TestServer) -> HeldStream {
        let mut client = server.grpc().await;
        let (requests, receiver) = mpsc::channel(1);
        let call = tokio::spawn(async move {
            client
                .bulk_create_users(ReceiverStream::new(receiver))
                .await
                .map(drop)
        });
        HeldStream { requests, call }
    }

    /// Ends the requests; the call then ends well.
    async fn end(self) {
        drop(self.requests);
        let ended = guarded("the held call to end", self.call).await.unwrap();
        assert!(ended.is_ok(), "{ended:?}");
    }
}

/// A gRPC `GetUser` of a user that does not exist: NOT_FOUND when served.
async fn grpc_get_code(server: &TestServer) -> Code {
    let request = GetUserRequest {
        id: "00000000-0000-0000-0000-000000000000".to_owned(),
    };
    match server.grpc().await.get_user(request).await {
        Ok(_) => Code::Ok,
        Err(status) => status.code(),
    }
}

/// Waits until `shed` says the held call has taken its slot (the server
/// has its headers): a condition, not a timed sleep.
async fn until_shed<F, Fut>(mut shed: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    guarded("the held call to take its slot", async {
        while !shed().await {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    })
    .await;
}

/// `GET /v1/users:stream` (a server stream over REST).
async fn rest_stream(server: &TestServer) -> reqwest::Response {
    let url = server.url("/v1/users:stream");
    server.http.get(url).send().await.unwrap()
}

async fn health_code(server: &TestServer) -> Result<i32, Code> {
    let mut health = HealthClient::new(server.channel().await);
    let request = HealthCheckRequest {
        service: "users.v1.UserService".to_owned(),
    };
    health
        .check(request)
        .await
        .map(|answer| answer.into_inner().status)
        .map_err(|status| status.code())
}

#[tokio::test(flavor = "multi_thread")]
async fn past_the_call_cap_calls_are_shed_on_both_faces_but_health_and_metrics_answer() {
    let server = TestServer::start_configured(|config| config.max_concurrent_calls = 1).await;
    let held = HeldStream::open(&server).await;
    until_shed(|| async { grpc_get_code(&server).await == Code::Unavailable }).await;

    // gRPC: UNAVAILABLE with retry-after metadata.
    let status = server
        .grpc()
        .await
        .get_user(GetUserRequest { id: "x".to_owned() })
        .await
        .expect_err("shed");
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert_eq!(status.metadata().get("retry-after").unwrap(), "1");
    assert!(status.message().contains("1 calls are in flight"), "{status:?}");

    // REST: 503 with Retry-After and a google.rpc.Status body.
    let response = server.http.get(server.url("/v1/users")).send().await.unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "1");
    assert!(response.headers().get("grpc-metadata-retry-after").is_none());
    let body: serde_json::Value = response.json().await.unwrap();
    assert_error_body(&body, Code::Unavailable as i64);

    // Never shed: health, reflection (through its own client in grpc_api),
    // metrics.
    assert_eq!(health_code(&server).await, Ok(1), "SERVING");
    let metrics = server.http.get(server.url("/metrics")).send().await.unwrap();
    assert_eq!(metrics.status(), 200);
    let metrics = metrics.text().await.unwrap();
    assert!(
        metrics
            .lines()
            .any(|line| line.contains("grpc_code=\"Unavailable\"") && !line.starts_with('#')),
        "shed calls are counted:\n{metrics}"
    );

    held.end().await;
    assert_eq!(grpc_get_code(&server).await, Code::NotFound);
    let (status, _) = server.get_json("/v1/users").await;
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn past_the_stream_cap_streams_are_shed_and_unary_calls_are_served() {
    let server = TestServer::start_configured(|config| {
        config.max_concurrent_calls = 100;
        config.max_open_streams = 1;
    })
    .await;
    let held = HeldStream::open(&server).await;
    until_shed(|| async { rest_stream(&server).await.status() == 503 }).await;

    let response = rest_stream(&server).await;
    assert_eq!(response.headers()["retry-after"], "1");
    let body: serde_json::Value = response.json().await.unwrap();
    assert!(
        body["message"].as_str().unwrap().contains("1 streams are open"),
        "{body}"
    );
    let status = server
        .grpc()
        .await
        .stream_users(StreamUsersRequest::default())
        .await
        .expect_err("shed");
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    // Unary calls have their own cap.
    assert_eq!(grpc_get_code(&server).await, Code::NotFound);
    let (status, _) = server.get_json("/v1/users").await;
    assert_eq!(status, 200);

    held.end().await;
    assert_eq!(rest_stream(&server).await.status(), 200);
}
