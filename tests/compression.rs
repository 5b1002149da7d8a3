//! Compression over real sockets: REST answers compressed as
//! `Accept-Encoding` asks (gzip, br, zstd) when large enough, never gRPC
//! ones; compressed request bodies decoded under the body limit (a zip bomb
//! is a 413); a held-open stream flushed message by message; gRPC messages
//! compressed both ways when the caller asks.

mod common;

use std::io::Write as _;

use common::{RawResponse, TestServer, assert_error_body, body_chunk, create_request, guarded};
use flate2::Compression as Level;
use flate2::write::{GzDecoder, GzEncoder};
use gateway::proto::users::v1::user_service_client::UserServiceClient;
use gateway::proto::users::v1::{GetUserRequest, ListUsersRequest, StreamUsersRequest};
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt as _;
use tokio::net::TcpStream;
use tonic::codec::CompressionEncoding;

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Level::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// `body` decoded from `encoding`.
fn decode(encoding: &str, body: &[u8]) -> Vec<u8> {
    let mut decoded = Vec::new();
    match encoding {
        "gzip" => {
            let mut decoder = GzDecoder::new(Vec::new());
            decoder.write_all(body).expect("gzip");
            decoded = decoder.finish().expect("a whole gzip stream");
        }
        "br" => brotli_decompressor::BrotliDecompress(&mut &body[..], &mut decoded).expect("brotli"),
        "zstd" => decoded = zstd::decode_all(body).expect("zstd"),
        other => panic!("no decoder for {other}"),
    }
    decoded
}

/// Creates `count` users over gRPC, so that listings are a few KiB.
async fn create_users(server: &TestServer, count: usize) {
    let mut grpc = server.grpc().await;
    for index in 0..count {
        let request = create_request(
            &format!("User {index}"),
            &format!("user{index}@example.com"),
            &["t"],
        );
        grpc.create_user(request).await.expect("create");
    }
}

/// A GET's answer, its body as sent.
struct Encoded {
    status: u16,
    /// `Content-Encoding`, empty if none.
    encoding: String,
    vary: String,
    body: Vec<u8>,
}

/// GETs `path` with `Accept: accept` when given and `Accept-Encoding:
/// accept_encoding` (none if empty).
async fn get_encoded(
    server: &TestServer,
    path: &str,
    accept: Option<&str>,
    accept_encoding: &str,
) -> Encoded {
    let mut request = server.http.get(server.url(path));
    if let Some(accept) = accept {
        request = request.header("accept", accept);
    }
    if !accept_encoding.is_empty() {
        request = request.header("accept-encoding", accept_encoding);
    }
    let response = guarded("the answer", request.send()).await.expect("send GET");
    let status = response.status().as_u16();
    let header = |name: &str| {
        let values = response.headers().get_all(name).iter();
        let values: Vec<&str> = values.map(|value| value.to_str().unwrap()).collect();
        values.join(", ")
    };
    let (encoding, vary) = (header("content-encoding"), header("vary"));
    let body = response.bytes().await.expect("read the body").to_vec();
    Encoded {
        status,
        encoding,
        vary,
        body,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn rest_answers_are_compressed_as_accept_encoding_asks() {
    let server = TestServer::start().await;
    create_users(&server, 12).await;
    let cases = [
        ("/v1/users", None),
        ("/v1/users:stream", None),
        ("/v1/users:stream", Some("text/event-stream")),
        ("/openapi.json", None),
    ];
    for (path, accept) in cases {
        let plain = get_encoded(&server, path, accept, "").await;
        assert_eq!(
            (plain.status, plain.encoding.as_str()),
            (200, ""),
            "{path} without Accept-Encoding"
        );
        assert!(plain.body.len() > 1024, "{path} is large enough to compress");
        for wanted in ["gzip", "br", "zstd"] {
            let answer = get_encoded(&server, path, accept, wanted).await;
            assert_eq!(answer.encoding, wanted, "{path}");
            let vary = answer.vary.to_ascii_lowercase();
            assert!(vary.contains("accept-encoding"), "{path}: vary {vary:?}");
            assert!(
                answer.body.len() < plain.body.len(),
                "{path} as {wanted} is smaller"
            );
            assert_eq!(decode(wanted, &answer.body), plain.body, "{path} as {wanted}");
        }
        // A browser's list: the server picks one it has.
        let answer = get_encoded(&server, path, accept, "gzip, deflate, br, zstd").await;
        assert_eq!(
            decode(&answer.encoding, &answer.body),
            plain.body,
            "{path} as {}",
            answer.encoding
        );
        let answer = get_encoded(&server, path, accept, "identity").await;
        assert_eq!(answer.encoding, "", "{path} as identity");
    }
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn small_bodies_and_grpc_answers_are_not_compressed() {
    let server = TestServer::start().await;
    let user = server
        .create_user(json!({"name": "Ada", "email": "ada@example.com"}))
        .await;
    let id = user["id"].as_str().unwrap();
    let small = get_encoded(&server, &format!("/v1/users/{id}"), None, "gzip").await;
    assert_eq!(small.status, 200);
    assert!(small.body.len() < 1024, "a small body");
    assert_eq!(small.encoding, "", "a small body is sent as it is");
    let error = get_encoded(&server, "/v1/users/nobody", None, "gzip").await;
    assert_eq!(
        (error.status, error.encoding.as_str()),
        (404, ""),
        "a small error body too"
    );

    // gRPC-Web (a browser asks for gzip): the messages are gRPC's business.
    create_users(&server, 12).await;
    let response = server
        .http
        .post(server.url("/users.v1.UserService/StreamUsers"))
        .header("content-type", "application/grpc-web+proto")
        .header("accept-encoding", "gzip, br, zstd")
        .body(vec![0_u8; 5])
        .send()
        .await
        .expect("a gRPC-Web stream");
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers().get("content-encoding"), None);
    let body = response.bytes().await.unwrap();
    assert!(
        body.len() > 1024 && body[0] == 0,
        "uncompressed frames: {} bytes",
        body.len()
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn no_response_compression_sends_every_answer_as_it_is() {
    let server = TestServer::start_configured(|config| config.no_response_compression = true).await;
    create_users(&server, 12).await;
    let answer = get_encoded(&server, "/v1/users", None, "gzip, br, zstd").await;
    assert_eq!((answer.status, answer.encoding.as_str()), (200, ""));
    assert!(answer.body.len() > 1024);
    // gRPC: still accepted compressed, answered plain.
    let mut grpc = UserServiceClient::new(server.channel().await)
        .send_compressed(CompressionEncoding::Gzip)
        .accept_compressed(CompressionEncoding::Gzip);
    let listed = grpc
        .list_users(ListUsersRequest::default())
        .await
        .expect("a compressed request is accepted");
    assert_eq!(
        listed.metadata().get("grpc-encoding"),
        None,
        "answered uncompressed"
    );
    assert_eq!(listed.into_inner().users.len(), 12);
    server.shutdown().await;
}

/// POSTs `body` to `path` as JSON with `Content-Encoding: encoding`.
async fn post_encoded(server: &TestServer, path: &str, encoding: &str, body: Vec<u8>) -> (u16, Value) {
    let response = server
        .http
        .post(server.url(path))
        .header("content-type", "application/json")
        .header("content-encoding", encoding)
        .body(body)
        .send()
        .await
        .expect("send the POST");
    common::json_response(response).await
}

#[tokio::test(flavor = "multi_thread")]
async fn compressed_request_bodies_are_decoded_under_the_body_limit() {
    let server = TestServer::start_configured(|config| config.max_body_bytes = 64 * 1024).await;
    let user = br#"{"name": "Ada", "email": "ada@example.com"}"#;
    let (status, created) = post_encoded(&server, "/v1/users", "gzip", gzip(user)).await;
    assert_eq!(
        (status, &created["email"]),
        (201, &json!("ada@example.com")),
        "{created}"
    );

    // NDJSON bodies are decoded as they stream.
    let lines = b"{\"name\": \"Bo\", \"email\": \"bo@example.com\"}\n{\"name\": \"Cy\", \"email\": \"cy@example.com\"}\n";
    let (status, bulk) = post_encoded(&server, "/v1/users:bulkCreate", "gzip", gzip(lines)).await;
    assert_eq!((status, &bulk["createdCount"]), (200, &json!(2)), "{bulk}");

    // 10 MiB of spaces inside a JSON object, about 10 KiB compressed: the
    // limit counts what it inflates to.
    let mut bomb = br#"{"name": "Bomb", "email": "bomb@example.com""#.to_vec();
    bomb.extend(std::iter::repeat_n(b' ', 10 * 1024 * 1024));
    bomb.push(b'}');
    let bomb = gzip(&bomb);
    assert!(
        bomb.len() < 64 * 1024,
        "the compressed bomb is under the limit: {}",
        bomb.len()
    );
    let (status, error) = post_encoded(&server, "/v1/users", "gzip", bomb).await;
    assert_eq!(status, 413, "{error}");
    assert_error_body(&error, 8);
    assert!(
        error["message"].as_str().unwrap().contains("65536 bytes"),
        "{error}"
    );

    let (status, error) = post_encoded(&server, "/v1/users", "gzip", b"not gzip at all".to_vec()).await;
    assert_eq!(status, 400, "{error}");
    assert_error_body(&error, 3);
    let (status, error) = post_encoded(&server, "/v1/users", "compress", user.to_vec()).await;
    assert_eq!(status, 415, "{error}");
    assert_error_body(&error, 3);
    assert!(
        error["message"].as_str().unwrap().contains("\"compress\""),
        "{error}"
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_held_open_stream_arrives_compressed_message_by_message() {
    let server = TestServer::start().await;
    let mut stream = TcpStream::connect(server.addr()).await.unwrap();
    let head = "POST /v1/users:sync HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\
                Content-Type: application/x-ndjson\r\nAccept-Encoding: gzip\r\n\r\n";
    stream.write_all(head.as_bytes()).await.unwrap();
    let upsert = "{\"upsert\": {\"name\": \"Duplex\", \"email\": \"duplex@example.com\"}}\n";
    stream.write_all(&body_chunk(upsert)).await.unwrap();
    stream.flush().await.unwrap();
    let mut response = RawResponse::new(stream);
    let head = response.head().await;
    assert!(head.starts_with("http/1.1 200 ok"), "{head}");
    assert!(head.contains("content-encoding: gzip"), "{head}");

    // The request body is still open: the first answer must already have
    // been flushed through the encoder.
    let mut decoder = GzDecoder::new(Vec::new());
    while !decoder.get_ref().contains(&b'\n') {
        let chunk = response.chunk().await.expect("more of the compressed answer");
        decoder.write_all(&chunk).unwrap();
        decoder.flush().unwrap();
    }
    let first: Value = serde_json::from_slice(decoder.get_ref()).expect("the first answer, whole");
    assert_eq!(first["status"], "SYNC_STATUS_CREATED", "{first}");

    let delete = format!("{{\"deleteId\": \"{}\"}}\n", first["id"].as_str().unwrap());
    response.stream.write_all(&body_chunk(&delete)).await.unwrap();
    response.stream.write_all(b"0\r\n\r\n").await.unwrap();
    while let Some(chunk) = response.chunk().await {
        decoder.write_all(&chunk).unwrap();
    }
    let text = String::from_utf8(decoder.finish().expect("a whole gzip stream")).unwrap();
    let answers = common::ndjson(&text);
    assert_eq!(answers.len(), 2, "{text}");
    assert_eq!(answers[1]["status"], "SYNC_STATUS_DELETED", "{text}");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn grpc_messages_are_compressed_both_ways_when_asked() {
    let server = TestServer::start().await;
    for (encoding, name) in [
        (CompressionEncoding::Gzip, "gzip"),
        (CompressionEncoding::Zstd, "zstd"),
    ] {
        let mut grpc = UserServiceClient::new(server.channel().await)
            .send_compressed(encoding)
            .accept_compressed(encoding);
        let email = format!("{name}@example.com");
        let created = grpc
            .create_user(create_request(name, &email, &[]))
            .await
            .unwrap_or_else(|status| panic!("{name}: {status}"));
        assert_eq!(
            created
                .metadata()
                .get("grpc-encoding")
                .and_then(|value| value.to_str().ok()),
            Some(name),
            "{name}: the answer is compressed"
        );
        let id = created.into_inner().id;
        let got = grpc
            .get_user(GetUserRequest { id: id.clone() })
            .await
            .expect("get");
        assert_eq!(got.into_inner().user.map(|user| user.id), Some(id), "{name}");
        let mut users = grpc
            .stream_users(StreamUsersRequest::default())
            .await
            .expect("stream")
            .into_inner();
        let mut streamed = 0;
        while let Some(user) = users.message().await.expect("a streamed user") {
            assert!(!user.id.is_empty());
            streamed += 1;
        }
        assert!(streamed >= 1, "{name}");
    }
    server.shutdown().await;
}
