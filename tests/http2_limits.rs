//! HTTP/2 limits that must not hurt well-behaved clients: a client stream
//! sent one message per DATA frame (as grpcio sends it) of 20,000 small
//! messages completes, and the stream limit is what the server announces.
//! A raw h2 client, since tonic's coalesces messages into large frames.

mod common;

use bytes::{BufMut as _, Bytes, BytesMut};
use common::{TestServer, create_request, guarded, guarded_for};
use gateway::proto::users::v1::BulkCreateUsersResponse;
use http::Request;
use prost::Message as _;
use std::time::Duration;
use tokio::net::TcpStream;

/// A gRPC message: the 5-byte prefix (uncompressed, length), then the bytes.
fn grpc_frame(message: &impl prost::Message) -> Bytes {
    let encoded = message.encode_to_vec();
    let mut frame = BytesMut::with_capacity(5 + encoded.len());
    frame.put_u8(0);
    frame.put_u32(u32::try_from(encoded.len()).unwrap());
    frame.extend_from_slice(&encoded);
    frame.freeze()
}

async fn h2_client(server: &TestServer) -> h2::client::SendRequest<Bytes> {
    let stream = TcpStream::connect(server.addr()).await.expect("connect");
    let (send, connection) = h2::client::handshake(stream).await.expect("an HTTP/2 handshake");
    tokio::spawn(async move {
        if let Err(error) = connection.await {
            panic!("the HTTP/2 connection failed: {error}");
        }
    });
    send
}

fn grpc_request(server: &TestServer, method: &str) -> Request<()> {
    Request::post(server.url(&format!("/users.v1.UserService/{method}")))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_stream_of_20000_messages_in_their_own_data_frames_completes() {
    const USERS: usize = 20_000;
    let server = TestServer::start().await;
    let mut send = h2_client(&server).await;
    let (response, mut body) = send
        .send_request(grpc_request(&server, "BulkCreateUsers"), false)
        .expect("open the stream");
    for index in 0..USERS {
        let request = create_request(&format!("U{index}"), &format!("u{index}@example.com"), &[]);
        // One DATA frame per message (h2 never merges them); h2 holds them
        // until the server's flow-control window lets them go.
        body.send_data(grpc_frame(&request), false)
            .expect("send a message");
    }
    body.send_data(Bytes::new(), true).expect("end the stream");

    let response = guarded_for(Duration::from_secs(120), "the answer", response)
        .await
        .expect("an HTTP/2 response");
    assert_eq!(response.status(), 200);
    let mut answer = response.into_body();
    let mut data = BytesMut::new();
    while let Some(chunk) = guarded("the answer's body", answer.data()).await {
        let chunk = chunk.expect("the answer's data");
        answer.flow_control().release_capacity(chunk.len()).unwrap();
        data.extend_from_slice(&chunk);
    }
    let trailers = guarded("the trailers", answer.trailers())
        .await
        .expect("the trailers")
        .expect("trailers");
    assert_eq!(trailers.get("grpc-status").unwrap(), "0", "{trailers:?}");
    let decoded = BulkCreateUsersResponse::decode(&data[5..]).expect("a BulkCreateUsersResponse");
    assert_eq!(
        decoded.created_count,
        USERS as i32,
        "{:?}",
        decoded.failures.first()
    );
    assert!(decoded.failures.is_empty());
    let (status, listed) = server.get_json("/v1/users?page_size=1").await;
    assert_eq!(status, 200);
    assert_eq!(listed["totalSize"], USERS, "{listed}");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_server_announces_its_stream_limit() {
    let server = TestServer::start_configured(|config| config.max_concurrent_streams = 3).await;
    let stream = TcpStream::connect(server.addr()).await.expect("connect");
    let (mut send, mut connection) = h2::client::handshake(stream).await.expect("an HTTP/2 handshake");
    let (response, _) = send
        .send_request(Request::get(server.url("/openapi.json")).body(()).unwrap(), true)
        .expect("send a request");
    // Drive the connection until the answer (and the server's settings) came.
    let response = tokio::select! {
        response = response => response.expect("a response"),
        ended = &mut connection => panic!("the connection ended: {ended:?}"),
    };
    assert_eq!(response.status(), 200);
    assert_eq!(connection.max_concurrent_send_streams(), 3);
    server.shutdown().await;
}
