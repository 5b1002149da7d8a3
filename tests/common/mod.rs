//! Shared harness for the integration tests: a real server on a real
//! loopback socket, backed by a SQLite file in a temporary directory.
#![allow(dead_code)] // Each test binary uses a different subset.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use gateway::config::Config;
use gateway::proto::users::v1::user_service_client::UserServiceClient;
use gateway::server::{self, ServerError};
use serde_json::Value;
use tempfile::TempDir;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::Channel;

/// How many times readiness is polled, and how long to wait in between.
const READY_ATTEMPTS: u32 = 200;
const READY_INTERVAL: Duration = Duration::from_millis(25);
/// A liveness guard so a hung shutdown fails the test instead of hanging it.
const SHUTDOWN_GUARD: Duration = Duration::from_secs(30);

/// A running server on `127.0.0.1:<ephemeral>`.
pub struct TestServer {
    addr: SocketAddr,
    pub http: reqwest::Client,
    dir: TempDir,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), ServerError>>,
}

impl TestServer {
    /// Starts a server on a fresh, empty database.
    pub async fn start() -> TestServer {
        let dir = tempfile::tempdir().expect("create a temporary directory");
        Self::start_in(dir).await
    }

    /// Starts a server on `dir/users.db` (which may already hold data).
    async fn start_in(dir: TempDir) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("the listener's address");
        let config = Config::with_database(dir.path().join("users.db"));
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(server::run(listener, config, async {
            let _ = rx.await;
        }));
        wait_for_tcp(addr).await;
        TestServer {
            addr,
            http: reqwest::Client::new(),
            dir,
            shutdown: Some(tx),
            task,
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `base_url()` followed by `path` (which starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url())
    }

    pub fn database_path(&self) -> PathBuf {
        self.dir.path().join("users.db")
    }

    /// A gRPC client on a new HTTP/2 connection to this server.
    pub async fn grpc(&self) -> UserServiceClient<Channel> {
        UserServiceClient::connect(self.base_url())
            .await
            .expect("connect the gRPC client")
    }

    /// A raw channel to this server, for other gRPC clients (health).
    pub async fn channel(&self) -> Channel {
        Channel::from_shared(self.base_url())
            .expect("a valid URI")
            .connect()
            .await
            .expect("connect the gRPC channel")
    }

    /// Triggers a graceful shutdown and asserts that `run` returned `Ok`.
    pub async fn shutdown(self) {
        drop(self.stop().await);
    }

    /// Shuts down gracefully, then starts a new server on the same file.
    pub async fn restart(self) -> TestServer {
        let dir = self.stop().await;
        Self::start_in(dir).await
    }

    async fn stop(mut self) -> TempDir {
        drop(self.http);
        if let Some(tx) = self.shutdown.take() {
            tx.send(()).expect("the server is still waiting for shutdown");
        }
        let joined = tokio::time::timeout(SHUTDOWN_GUARD, self.task)
            .await
            .expect("the server did not finish shutting down");
        let result = joined.expect("the server task panicked");
        assert!(result.is_ok(), "server::run returned an error: {result:?}");
        self.dir
    }

    /// POSTs `body` to `/v1/users`, asserts 201 and returns the user.
    pub async fn create_user(&self, body: Value) -> Value {
        let response = self
            .http
            .post(self.url("/v1/users"))
            .json(&body)
            .send()
            .await
            .expect("send the create request");
        let status = response.status().as_u16();
        let text = response.text().await.expect("read the create response");
        assert_eq!(status, 201, "create {body} answered {text}");
        serde_json::from_str(&text).expect("the create response is JSON")
    }

    /// GETs `path`; returns the status and the JSON body.
    pub async fn get_json(&self, path: &str) -> (u16, Value) {
        let response = self.http.get(self.url(path)).send().await.expect("send GET");
        json_response(response).await
    }

    /// DELETEs `path`; returns the status and the JSON body.
    pub async fn delete_json(&self, path: &str) -> (u16, Value) {
        let response = self
            .http
            .delete(self.url(path))
            .send()
            .await
            .expect("send DELETE");
        json_response(response).await
    }
}

/// The status and JSON body of `response` (panics if the body is not JSON).
pub async fn json_response(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.expect("read the response body");
    let body =
        serde_json::from_str(&text).unwrap_or_else(|error| panic!("body is not JSON ({error}): {text:?}"));
    (status, body)
}

/// Asserts that `body` is a `google.rpc.Status` JSON with exactly the keys
/// `code` (= `expected_code`), `message` and `details` (an array).
pub fn assert_error_body(body: &Value, expected_code: i64) {
    let object = body
        .as_object()
        .unwrap_or_else(|| panic!("error body is not an object: {body}"));
    let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["code", "details", "message"], "error body keys: {body}");
    assert_eq!(body["code"].as_i64(), Some(expected_code), "error code: {body}");
    assert!(body["message"].is_string(), "message is a string: {body}");
    assert!(body["details"].is_array(), "details is an array: {body}");
}

/// Retries a TCP connect to `addr` until it succeeds (bounded).
pub async fn wait_for_tcp(addr: SocketAddr) {
    for _ in 0..READY_ATTEMPTS {
        if TcpStream::connect(addr).await.is_ok() {
            return;
        }
        tokio::time::sleep(READY_INTERVAL).await;
    }
    panic!("nothing is listening on {addr}");
}

/// A port that was free a moment ago on 127.0.0.1.
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    listener.local_addr().expect("the ephemeral address").port()
}

/// The path of a file inside `dir`, for the binary's `--database`.
pub fn database_in(dir: &Path) -> PathBuf {
    dir.join("users.db")
}
