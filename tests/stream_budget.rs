//! A stream whose reader stops reading: the producer stays at most its
//! send budget ahead, and after the idle timeout the stream ends with
//! RESOURCE_EXHAUSTED (over REST an in-band `{"error": ...}` line) instead
//! of waiting on the reader forever. Over gRPC and over REST.

mod common;

use std::time::Duration;

use common::{RawResponse, TestServer, bulk_create, guarded, large_request};
use gateway::proto::users::v1::StreamUsersRequest;
use tokio::io::AsyncWriteExt as _;
use tokio::net::TcpStream;
use tonic::Code;

/// More than the socket, HTTP/2 and send buffers between a producer and
/// a reader that stopped can hold together.
const USERS: usize = 600;
const USER_BYTES: usize = 40_000;
const IDLE_TIMEOUT: Duration = Duration::from_millis(100);
/// How long the reader stops: well past the idle timeout.
const STOPPED_FOR: Duration = Duration::from_secs(1);

async fn stalling_server() -> TestServer {
    let server = TestServer::start_configured(|config| {
        config.stream_idle_timeout = IDLE_TIMEOUT;
        config.stream_send_bytes = 16 * 1024;
    })
    .await;
    let mut client = server.grpc().await;
    let created = bulk_create(&mut client, (0..USERS).map(|n| large_request(n, USER_BYTES))).await;
    assert_eq!(created.created_count as usize, USERS);
    server
}

#[tokio::test(flavor = "multi_thread")]
async fn a_grpc_stream_whose_reader_stalls_ends_with_resource_exhausted() {
    let server = stalling_server().await;
    let mut stream = server
        .grpc()
        .await
        .stream_users(StreamUsersRequest::default())
        .await
        .expect("StreamUsers")
        .into_inner();
    assert!(stream.message().await.expect("a first user").is_some());
    tokio::time::sleep(STOPPED_FOR).await;
    let mut read = 1;
    let ended = guarded("the stream to end", async {
        loop {
            match stream.message().await {
                Ok(Some(_)) => read += 1,
                Ok(None) => panic!("the stream ended well after {read} users"),
                Err(status) => return status,
            }
        }
    })
    .await;
    assert_eq!(ended.code(), Code::ResourceExhausted, "{ended:?}");
    assert!(ended.message().contains("took nothing"), "{ended:?}");
    assert!(read < USERS, "{read}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rest_stream_whose_reader_stalls_ends_with_an_error_line() {
    let server = stalling_server().await;
    let mut socket = TcpStream::connect(server.addr()).await.unwrap();
    socket
        .write_all(b"GET /v1/users:stream HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();
    let mut response = RawResponse::new(socket);
    let head = response.head().await;
    assert!(head.starts_with("http/1.1 200"), "{head}");
    tokio::time::sleep(STOPPED_FOR).await;
    let mut lines = Vec::new();
    while let Some(line) = response.line().await {
        lines.push(line);
    }
    let last = lines.last().expect("lines");
    assert_eq!(last["error"]["code"], Code::ResourceExhausted as i32, "{last}");
    assert!(lines.len() < USERS, "{}", lines.len());
}
