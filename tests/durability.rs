//! Users survive the server: a graceful restart in-process, and a SIGKILL
//! of the real binary.

mod common;

use common::{GatewayProcess, TestServer, database_in, json_body, json_response};
use reqwest::Method;
use serde_json::{Value, json};

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
        .send(
            Method::POST,
            "/v1/users",
            json_body(json!({"name": "Copy", "email": "KEEPER0@example.com"})),
        )
        .await;
    assert_eq!(response.status().as_u16(), 409);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn users_survive_sigkill_of_the_binary() {
    let dir = tempfile::tempdir().unwrap();
    let database = database_in(dir.path());

    let first = GatewayProcess::start(&database).await;
    let response = first
        .send(
            Method::POST,
            "/v1/users",
            json_body(json!({"name": "Durable", "email": "durable@example.com", "metadata": {"k": "v"}})),
        )
        .await;
    let (status, created) = json_response(response).await;
    assert_eq!(status, 201, "{created}");
    first.kill(); // Its client goes with it: no pooled connection to the dead process.

    let second = GatewayProcess::start(&database).await;
    let id = created["id"].as_str().unwrap();
    let (status, fetched): (u16, Value) = second.get_json(&format!("/v1/users/{id}")).await;
    assert_eq!(status, 200, "{fetched}");
    assert_eq!(fetched, created);
    second.kill();
}
