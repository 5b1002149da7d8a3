//! Deadlines on every call kind, both faces: a call whose deadline passes
//! ends with DEADLINE_EXCEEDED (REST 504, or an in-band error once a
//! stream started) instead of running to its end.

mod common;

use std::time::Duration;

use common::{TestServer, assert_error_body, bulk_create, create_request, json_response};
use gateway::proto::users::v1::{ListUsersRequest, StreamUsersRequest};

/// Enough users that listing or streaming them takes well over 1 ms.
const USERS: usize = 3000;

async fn seeded(server: &TestServer) {
    let mut client = server.grpc().await;
    let requests: Vec<_> = (0..USERS)
        .map(|n| create_request(&format!("User {n}"), &format!("user{n}@example.com"), &["seeded"]))
        .collect();
    let created = bulk_create(&mut client, requests).await;
    assert_eq!(created.created_count as usize, USERS);
}

#[tokio::test(flavor = "multi_thread")]
async fn rest_honours_grpc_timeout_on_a_list_and_a_stream() {
    let server = TestServer::start().await;
    seeded(&server).await;

    let list = |timeout: Option<&'static str>| {
        let mut request = server.http.get(server.url("/v1/users?page_size=1000"));
        if let Some(timeout) = timeout {
            request = request.header("grpc-timeout", timeout);
        }
        request.send()
    };
    let (status, body) = json_response(list(Some("1m")).await.unwrap()).await;
    assert_eq!(status, 504, "{body}");
    assert_error_body(&body, 4);
    let (status, body) = json_response(list(Some("30S")).await.unwrap()).await;
    assert_eq!(
        (status, body["users"].as_array().map(Vec::len)),
        (200, Some(1000))
    );

    let (status, body) = json_response(list(Some("soon")).await.unwrap()).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("grpc-timeout"),
        "{body}"
    );

    // A stream: either it fails before its first user (504) or it ends with
    // an in-band DEADLINE_EXCEEDED long before its last user.
    let response = server
        .http
        .get(server.url("/v1/users:stream"))
        .header("grpc-timeout", "1m")
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let last: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    let code = if status == 200 {
        &last["error"]["code"]
    } else {
        &last["code"]
    };
    assert!(status == 200 || status == 504, "{status}");
    assert_eq!(code, 4, "{text:.200}");
    assert!(text.lines().count() < USERS, "the stream stopped early");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn grpc_calls_end_at_the_servers_maximum_timeout() {
    // Seeded first: the bulk create itself would outlive 1 ms.
    let server = TestServer::start().await;
    seeded(&server).await;
    let server = server
        .restart_configured(|config| config.max_timeout = Some(Duration::from_millis(1)))
        .await;

    let mut client = server.grpc().await;
    let listed = client
        .list_users(ListUsersRequest {
            page_size: 1000,
            ..ListUsersRequest::default()
        })
        .await
        .expect_err("past the deadline");
    assert_eq!(listed.code(), tonic::Code::DeadlineExceeded, "{listed:?}");

    let mut received = 0;
    let ended = match client.stream_users(StreamUsersRequest::default()).await {
        Err(status) => status,
        Ok(stream) => {
            let mut stream = stream.into_inner();
            loop {
                match stream.message().await {
                    Ok(Some(_)) => received += 1,
                    Ok(None) => panic!("the stream ran to its end: {received} users"),
                    Err(status) => break status,
                }
            }
        }
    };
    assert_eq!(ended.code(), tonic::Code::DeadlineExceeded, "{ended:?}");
    assert!(received < USERS);
    server.shutdown().await;
}
