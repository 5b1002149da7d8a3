//! SIGTERM drains: the binary keeps serving for `--drain-timeout` (calls
//! made then succeed), then ends the streams still open, each in its own
//! way (gRPC: UNAVAILABLE in the trailers; NDJSON: an error line; WebSocket:
//! an error frame and a close), and exits, however idle those streams are.

mod common;

use std::time::Duration;

use common::{
    GatewayProcess, RawResponse, SyncCall, body_chunk, connect_socket, database_in, guarded, next_frame,
    send_text, upsert,
};
use gateway::proto::users::v1::{ListUsersRequest, User};
use tokio::io::AsyncWriteExt as _;
use tokio::net::TcpStream;
use tonic::Code;

const DRAIN: Duration = Duration::from_secs(3);
/// How long after the drain the process may take to exit.
const EXIT_MARGIN: Duration = Duration::from_secs(5);

fn user(email: &str) -> User {
    User {
        name: "Open".to_owned(),
        email: email.to_owned(),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_serves_through_the_drain_then_ends_idle_streams_and_exits() {
    let dir = tempfile::tempdir().unwrap();
    let drain = format!("{}s", DRAIN.as_secs());
    let mut gateway =
        GatewayProcess::start_with(&database_in(dir.path()), &["--drain-timeout", &drain]).await;

    // Three idle bidi syncs, one per face, each answered once.
    let mut client = gateway.grpc().await;
    let mut grpc_sync = SyncCall::open(&mut client).await;
    let answer = grpc_sync.round_trip(upsert(user("grpc@example.com"))).await;
    assert_eq!(answer.index, 0);

    let mut stream = TcpStream::connect(gateway.addr()).await.unwrap();
    let head = "POST /v1/users:sync HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\
                Content-Type: application/x-ndjson\r\n\r\n";
    stream.write_all(head.as_bytes()).await.unwrap();
    let line = "{\"upsert\": {\"name\": \"Open\", \"email\": \"ndjson@example.com\"}}\n";
    stream.write_all(&body_chunk(line)).await.unwrap();
    let mut ndjson_sync = RawResponse::new(stream);
    assert!(ndjson_sync.head().await.starts_with("http/1.1 200"));
    assert_eq!(ndjson_sync.line().await.expect("an answer")["index"], 0);

    let mut socket = connect_socket(&gateway, "/v1/users:sync").await;
    send_text(
        &mut socket,
        r#"{"upsert": {"name": "Open", "email": "ws@example.com"}}"#.to_owned(),
    )
    .await;
    assert_eq!(next_frame(&mut socket).await.expect("an answer")["index"], 0);

    gateway.send_sigterm();
    // During the drain, new calls are served on both faces.
    let (status, listed) = gateway.get_json("/v1/users").await;
    assert_eq!(status, 200, "{listed}");
    let listed = guarded(
        "a gRPC call during the drain",
        client.list_users(ListUsersRequest::default()),
    )
    .await
    .expect("ListUsers during the drain");
    assert_eq!(listed.into_inner().users.len(), 3);

    // When it is over, the idle streams end with UNAVAILABLE.
    let ended = guarded("the gRPC sync to end", grpc_sync.responses.message())
        .await
        .expect_err("the gRPC sync ends with an error");
    assert_eq!(ended.code(), Code::Unavailable, "{ended:?}");

    let error = ndjson_sync.line().await.expect("an error line");
    assert_eq!(error["error"]["code"], 14, "{error}");
    assert_eq!(ndjson_sync.line().await, None, "the body ends after the error");

    let error = next_frame(&mut socket).await.expect("an error frame");
    assert_eq!(error["error"]["code"], 14, "{error}");
    assert_eq!(next_frame(&mut socket).await, None, "a close frame");

    let status = gateway.exited(DRAIN + EXIT_MARGIN).await;
    assert!(status.success(), "{status}");
}
