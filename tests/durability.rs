//! Users survive the server: a graceful restart in-process, and a SIGKILL
//! of the real binary.

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{TestServer, database_in, free_port, json_response};
use serde_json::{Value, json};

const READY_ATTEMPTS: u32 = 400;
const READY_INTERVAL: Duration = Duration::from_millis(25);

#[tokio::test(flavor = "multi_thread")]
async fn users_survive_a_graceful_restart() {
    let server = TestServer::start().await;
    let mut created = Vec::new();
    for n in 0..3 {
        created.push(
            server
                .create_user(json!({"name": format!("Keeper {n}"), "email": format!("keeper{n}@example.com"), "tags": ["t"]}))
                .await,
        );
    }
    let (_, deleted) = server
        .delete_json(&format!("/v1/users/{}", created[1]["id"].as_str().unwrap()))
        .await;
    assert_eq!(deleted, json!({}));
    let database = server.database_path();

    let server = server.restart().await;
    assert_eq!(server.database_path(), database);
    let (status, listed) = server.get_json("/v1/users").await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(listed["users"], json!([created[0], created[2]]));
    assert_eq!(listed["nextPageToken"], "");

    // The unique email index survived too.
    let response = server
        .http
        .post(server.url("/v1/users"))
        .json(&json!({"name": "Copy", "email": "KEEPER0@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 409);
    server.shutdown().await;
}

/// The binary, killed on drop so a failing test leaves nothing behind.
struct Binary(Child);

impl Binary {
    fn spawn(addr: SocketAddr, database: &Path) -> Binary {
        let child = Command::new(env!("CARGO_BIN_EXE_gateway"))
            .arg("--addr")
            .arg(addr.to_string())
            .arg("--database")
            .arg(database)
            .env_remove("GATEWAY_MAX_BODY_BYTES")
            .env_remove("GATEWAY_MAX_MESSAGE_BYTES")
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn the gateway binary");
        Binary(child)
    }

    /// Polls `GET /v1/users` until it answers 200 (bounded).
    async fn wait_ready(&mut self, http: &reqwest::Client, base: &str) {
        for _ in 0..READY_ATTEMPTS {
            if let Some(status) = self.0.try_wait().expect("poll the child") {
                panic!("the gateway exited before it was ready: {status}");
            }
            if let Ok(response) = http.get(format!("{base}/v1/users")).send().await
                && response.status().is_success()
            {
                return;
            }
            tokio::time::sleep(READY_INTERVAL).await;
        }
        panic!("the gateway at {base} never became ready");
    }

    fn kill(&mut self) {
        self.0.kill().expect("SIGKILL the gateway");
        self.0.wait().expect("reap the gateway");
    }
}

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn users_survive_sigkill_of_the_binary() {
    let dir = tempfile::tempdir().unwrap();
    let database = database_in(dir.path());
    let http = reqwest::Client::new();

    let addr: SocketAddr = ([127, 0, 0, 1], free_port()).into();
    let base = format!("http://{addr}");
    let mut first = Binary::spawn(addr, &database);
    first.wait_ready(&http, &base).await;
    let response = http
        .post(format!("{base}/v1/users"))
        .json(&json!({"name": "Durable", "email": "durable@example.com", "metadata": {"k": "v"}}))
        .send()
        .await
        .expect("create over REST");
    let (status, created) = json_response(response).await;
    assert_eq!(status, 201, "{created}");
    first.kill();
    drop(http); // No pooled connection to the dead process.

    let http = reqwest::Client::new();
    let addr: SocketAddr = ([127, 0, 0, 1], free_port()).into();
    let base = format!("http://{addr}");
    let mut second = Binary::spawn(addr, &database);
    second.wait_ready(&http, &base).await;
    let id = created["id"].as_str().unwrap();
    let response = http
        .get(format!("{base}/v1/users/{id}"))
        .send()
        .await
        .expect("get over REST");
    let (status, fetched): (u16, Value) = json_response(response).await;
    assert_eq!(status, 200, "{fetched}");
    assert_eq!(fetched, created);
    second.kill();
}
