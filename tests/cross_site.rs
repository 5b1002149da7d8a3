//! What a hostile web page cannot make a loopback gateway do, over real
//! sockets: send a body without a JSON media type (415, nothing created),
//! open a WebSocket from a foreign origin (403, nothing applied), or reach
//! it under a rebound name (421 for REST, PERMISSION_DENIED for gRPC)
//! unless that name is given with `--allowed-host`.

mod common;

use common::{
    RawResponse, TestServer, assert_error_body, connect_socket_from, json_response, next_frame, send_text,
};
use gateway::proto::users::v1::ListUsersRequest;
use gateway::proto::users::v1::user_service_client::UserServiceClient;
use reqwest::Method;
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt as _;
use tokio::net::TcpStream;
use tonic::transport::Channel;

const EVIL: &str = "http://evil.example";
const APP: &str = "https://app.example.com";

/// The users stored, by REST list.
async fn user_count(server: &TestServer) -> usize {
    let (status, list) = server.get_json("/v1/users").await;
    assert_eq!(status, 200, "{list}");
    list["users"].as_array().map_or(0, Vec::len)
}

/// `method path` with `body` and, when given, `Content-Type`.
async fn post(server: &TestServer, path: &str, content_type: Option<&str>, body: &str) -> (u16, Value) {
    let mut request = server
        .http
        .request(Method::POST, server.url(path))
        .body(body.to_owned());
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    json_response(request.send().await.expect("send the request")).await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_body_without_a_content_type_is_refused() {
    let server = TestServer::start().await;
    let user = r#"{"name": "Ada", "email": "ada@example.com"}"#;
    let lines = "{\"name\": \"Bob\", \"email\": \"bob@example.com\"}\n";
    for (path, body, expected) in [
        ("/v1/users", user, "application/json"),
        ("/v1/users:bulkCreate", lines, "application/x-ndjson"),
    ] {
        let (status, error) = post(&server, path, None, body).await;
        assert_eq!(status, 415, "{path}: {error}");
        assert_error_body(&error, 3);
        let message = error["message"].as_str().unwrap();
        assert!(
            message.contains("no Content-Type") && message.contains(expected),
            "{message}"
        );
    }
    assert_eq!(user_count(&server).await, 0, "nothing was created");

    // Declared as JSON (or NDJSON for the stream), the same bodies are read.
    let (status, created) = post(&server, "/v1/users", Some("application/json"), user).await;
    assert_eq!(status, 201, "{created}");
    let (status, bulk) = post(
        &server,
        "/v1/users:bulkCreate",
        Some("application/x-ndjson"),
        lines,
    )
    .await;
    assert_eq!(status, 200, "{bulk}");
    assert_eq!(user_count(&server).await, 2);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_empty_body_needs_no_content_type() {
    let server = TestServer::start().await;
    // A client stream of no lines: nothing to read, so nothing to declare.
    let (status, bulk) = post(&server, "/v1/users:bulkCreate", None, "").await;
    assert_eq!(status, 200, "{bulk}");
    // An empty create is read as an empty request: the service refuses it
    // for what it lacks, not for its media type.
    let (status, error) = post(&server, "/v1/users", None, "").await;
    assert_eq!(status, 400, "{error}");
    assert_eq!(user_count(&server).await, 0);
    server.shutdown().await;
}

/// An upsert over a socket from `origin`, answered and applied.
async fn sync_from(server: &TestServer, origin: &str, email: &str) {
    let mut socket = connect_socket_from(server, "/v1/users:sync", origin)
        .await
        .unwrap_or_else(|refusal| panic!("{origin}: refused {refusal:?}"));
    let upsert = json!({"upsert": {"name": "Webby", "email": email}});
    send_text(&mut socket, upsert.to_string()).await;
    let answer = next_frame(&mut socket).await.expect("an answer");
    assert_eq!(answer["status"], "SYNC_STATUS_CREATED", "{origin}: {answer}");
}

#[tokio::test(flavor = "multi_thread")]
async fn websockets_open_only_from_allowed_origins() {
    let server =
        TestServer::start_configured(|config| config.cors_allow_origins = vec![APP.to_owned()]).await;
    let refused = connect_socket_from(&server, "/v1/users:sync", EVIL).await;
    let Err((status, error)) = refused else {
        panic!("a socket from {EVIL} was opened");
    };
    assert_eq!(status, 403, "{error}");
    assert_error_body(&error, 7);
    assert!(error["message"].as_str().unwrap().contains(EVIL), "{error}");
    assert_eq!(user_count(&server).await, 0, "nothing was applied");

    // No Origin (not a browser): the usual client.
    let mut socket = common::connect_socket(&server, "/v1/users:sync").await;
    send_text(
        &mut socket,
        json!({"upsert": {"name": "N", "email": "none@example.com"}}).to_string(),
    )
    .await;
    assert_eq!(
        next_frame(&mut socket).await.expect("an answer")["status"],
        "SYNC_STATUS_CREATED"
    );
    // The server's own origin, and an allowed one.
    sync_from(&server, &format!("http://{}", server.addr()), "same@example.com").await;
    sync_from(&server, APP, "app@example.com").await;
    assert_eq!(user_count(&server).await, 3);
    server.shutdown().await;
}

/// A gRPC client that names `authority` as the host it calls.
async fn grpc_as(server: &TestServer, authority: &str) -> UserServiceClient<Channel> {
    let channel = Channel::from_shared(server.base_url())
        .expect("a valid URI")
        .origin(format!("http://{authority}").parse().expect("an origin"))
        .connect()
        .await
        .expect("connect the gRPC channel");
    UserServiceClient::new(channel)
}

/// `GET path` with `Host: host`; the status and body.
async fn get_as(server: &TestServer, path: &str, host: &str) -> (u16, Value) {
    let request = server.http.get(server.url(path)).header("host", host);
    json_response(request.send().await.expect("send the request")).await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_loopback_server_answers_only_loopback_names() {
    let server = TestServer::start().await;
    let port = server.addr().port();
    for path in ["/v1/users", "/healthz", "/openapi.json"] {
        let (status, error) = get_as(&server, path, &format!("evil.example:{port}")).await;
        assert_eq!(status, 421, "{path}: {error}");
        assert_error_body(&error, 7);
        assert!(
            error["message"].as_str().unwrap().contains("evil.example"),
            "{error}"
        );
    }
    let refused = grpc_as(&server, &format!("evil.example:{port}"))
        .await
        .list_users(ListUsersRequest::default())
        .await
        .expect_err("a call under a foreign name");
    assert_eq!(refused.code(), tonic::Code::PermissionDenied, "{refused:?}");

    for host in [
        format!("localhost:{port}"),
        format!("127.0.0.1:{port}"),
        "app.localhost".to_owned(),
    ] {
        let (status, list) = get_as(&server, "/v1/users", &host).await;
        assert_eq!(status, 200, "{host}: {list}");
    }
    let mut client = grpc_as(&server, &format!("localhost:{port}")).await;
    client
        .list_users(ListUsersRequest::default())
        .await
        .expect("a call as localhost");

    // HTTP/1.0 without a Host names no host at all.
    let mut stream = TcpStream::connect(server.addr()).await.unwrap();
    stream.write_all(b"GET /v1/users HTTP/1.0\r\n\r\n").await.unwrap();
    let (head, error) = RawResponse::new(stream).json().await;
    assert!(
        head.starts_with("http/1.0 421") || head.starts_with("http/1.1 421"),
        "{head}"
    );
    assert_error_body(&error, 7);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_allowed_host_is_served() {
    let server =
        TestServer::start_configured(|config| config.allowed_hosts = vec!["evil.example".to_owned()]).await;
    let port = server.addr().port();
    let (status, list) = get_as(&server, "/v1/users", &format!("evil.example:{port}")).await;
    assert_eq!(status, 200, "{list}");
    let mut client = grpc_as(&server, &format!("evil.example:{port}")).await;
    client
        .list_users(ListUsersRequest::default())
        .await
        .expect("a call as an allowed host");
    let (status, _) = get_as(&server, "/v1/users", "other.example").await;
    assert_eq!(status, 421);
    server.shutdown().await;
}
