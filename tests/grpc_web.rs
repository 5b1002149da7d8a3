//! gRPC-Web on the gateway's port, spoken by hand with a plain HTTP client:
//! length-prefixed frames in the body, the trailers as a last frame (flag
//! 0x80), base64 for `application/grpc-web-text`; unary and server
//! streaming calls over HTTP/1.1 and HTTP/2; errors in the trailer frame;
//! each call passes the policy chain once.

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use common::{Endpoint, StreamMode, StubService, TestServer, create_request, serve_both_faces};
use gateway::proto::users::v1::{GetUserRequest, GetUserResponse, StreamUsersRequest, User};
use gateway::transcode::interceptor::{CallInfo, Interceptor};
use http::Extensions;
use prost::Message as _;
use tonic::metadata::MetadataMap;

const GET_USER: &str = "/users.v1.UserService/GetUser";
const STREAM_USERS: &str = "/users.v1.UserService/StreamUsers";

/// The request body of a gRPC-Web call: one uncompressed message frame.
fn frame(message: &impl prost::Message) -> Vec<u8> {
    let bytes = message.encode_to_vec();
    let mut framed = vec![0];
    framed.extend_from_slice(&u32::try_from(bytes.len()).unwrap().to_be_bytes());
    framed.extend_from_slice(&bytes);
    framed
}

/// A gRPC-Web response read back: its messages, and its trailers
/// (lower-cased names): those of the last frame, or, in a trailers-only
/// answer (no body at all), the status headers.
#[derive(Debug)]
struct Answer {
    content_type: String,
    messages: Vec<Vec<u8>>,
    trailers: BTreeMap<String, String>,
    trailers_only: bool,
}

impl Answer {
    fn status(&self) -> Option<&str> {
        self.trailers.get("grpc-status").map(String::as_str)
    }
}

/// Splits `body` into frames: data frames (flag 0) hold messages; the
/// trailer frame (flag 0x80) comes last and holds `name: value` lines.
/// An empty body is a trailers-only answer, its status in `headers`.
fn read_frames(headers: &reqwest::header::HeaderMap, mut body: &[u8]) -> Answer {
    let content_type = headers["content-type"].to_str().unwrap().to_owned();
    if body.is_empty() {
        let status_headers = ["grpc-status", "grpc-message"].into_iter().filter_map(|name| {
            let value = headers.get(name)?.to_str().unwrap();
            Some((name.to_owned(), value.to_owned()))
        });
        return Answer {
            content_type,
            messages: Vec::new(),
            trailers: status_headers.collect(),
            trailers_only: true,
        };
    }
    let mut messages = Vec::new();
    let mut trailers = None;
    while !body.is_empty() {
        assert!(trailers.is_none(), "a frame after the trailer frame");
        assert!(body.len() >= 5, "a truncated frame header: {body:?}");
        let flag = body[0];
        let length = u32::from_be_bytes(body[1..5].try_into().unwrap()) as usize;
        let payload = &body[5..5 + length];
        match flag {
            0 => messages.push(payload.to_vec()),
            0x80 => {
                let text = std::str::from_utf8(payload).expect("trailers are text");
                let lines = text.split("\r\n").filter(|line| !line.is_empty());
                let parsed = lines.map(|line| {
                    let (name, value) = line.split_once(':').expect("a `name: value` trailer line");
                    (name.trim().to_ascii_lowercase(), value.trim().to_owned())
                });
                trailers = Some(parsed.collect());
            }
            other => panic!("unexpected frame flag {other:#x}"),
        }
        body = &body[5 + length..];
    }
    Answer {
        content_type,
        messages,
        trailers: trailers.expect("the body ends with a trailer frame"),
        trailers_only: false,
    }
}

/// Base64 as grpc-web-text sends it: each written chunk encoded on its own,
/// so padding may appear mid-body; every 4-character group decodes alone.
fn decode_text(body: &[u8]) -> Vec<u8> {
    assert_eq!(
        body.len() % 4,
        0,
        "base64 in whole groups: {:?}",
        String::from_utf8_lossy(body)
    );
    body.chunks(4)
        .flat_map(|group| STANDARD.decode(group).expect("base64"))
        .collect()
}

/// Calls `path` with `message` as `content_type` (`application/grpc-web`,
/// `…+proto` or `…-text`) on `client`, and reads the answer's frames.
async fn call(
    client: &reqwest::Client,
    server: &Endpoint,
    path: &str,
    content_type: &str,
    message: &impl prost::Message,
) -> Answer {
    let text = content_type.starts_with("application/grpc-web-text");
    let body = frame(message);
    let body = if text {
        STANDARD.encode(body).into_bytes()
    } else {
        body
    };
    let response = client
        .post(server.url(path))
        .header("content-type", content_type)
        // As browser clients do: the answer's encoding follows `Accept`.
        .header("accept", content_type)
        .header("x-grpc-web", "1")
        .body(body)
        .send()
        .await
        .expect("send the gRPC-Web call");
    assert_eq!(response.status().as_u16(), 200, "{path} as {content_type}");
    let headers = response.headers().clone();
    let bytes = response.bytes().await.expect("read the body");
    let bytes = if text { decode_text(&bytes) } else { bytes.to_vec() };
    read_frames(&headers, &bytes)
}

fn http1() -> reqwest::Client {
    reqwest::Client::builder().http1_only().build().unwrap()
}

fn http2() -> reqwest::Client {
    reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap()
}

/// Counts the gRPC-face calls it sees start and end, by method.
#[derive(Default)]
struct Counter {
    started: Mutex<BTreeMap<String, usize>>,
    ended: Mutex<BTreeMap<String, Vec<tonic::Code>>>,
}

impl Interceptor for Counter {
    fn on_call(&self, call: &CallInfo, _: &mut MetadataMap, _: &mut Extensions) -> Result<(), tonic::Status> {
        *self
            .started
            .lock()
            .unwrap()
            .entry(call.method().to_owned())
            .or_default() += 1;
        Ok(())
    }

    fn on_end(&self, call: &CallInfo, code: tonic::Code, _: Duration) {
        let mut ended = self.ended.lock().unwrap();
        ended.entry(call.method().to_owned()).or_default().push(code);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn unary_calls_in_every_content_type_over_both_http_versions() {
    let server = TestServer::start().await;
    let created = server
        .grpc()
        .await
        .create_user(create_request("Ada", "ada@example.com", &["math"]))
        .await
        .expect("create")
        .into_inner();
    let request = GetUserRequest {
        id: created.id.clone(),
    };
    let content_types = [
        ("application/grpc-web", "application/grpc-web+proto"),
        ("application/grpc-web+proto", "application/grpc-web+proto"),
        ("application/grpc-web-text", "application/grpc-web-text+proto"),
        (
            "application/grpc-web-text+proto",
            "application/grpc-web-text+proto",
        ),
    ];
    for (name, client) in [("HTTP/1.1", http1()), ("HTTP/2", http2())] {
        for (sent, answered) in content_types {
            let answer = call(&client, &server, GET_USER, sent, &request).await;
            let what = format!("{sent} over {name}");
            assert_eq!(answer.content_type, answered, "{what}");
            assert_eq!(answer.status(), Some("0"), "{what}");
            assert!(!answer.trailers_only, "{what}");
            assert_eq!(answer.messages.len(), 1, "{what}");
            let response = GetUserResponse::decode(&answer.messages[0][..]).expect("a GetUserResponse");
            assert_eq!(response.user, Some(created.clone()), "{what}");
        }
    }
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_stream_arrives_as_frames_then_trailers() {
    let server = TestServer::start().await;
    let mut grpc = server.grpc().await;
    let mut ids = Vec::new();
    for index in 0..3 {
        let request = create_request(&format!("User {index}"), &format!("user{index}@example.com"), &[]);
        ids.push(grpc.create_user(request).await.expect("create").into_inner().id);
    }
    for (name, client) in [("HTTP/1.1", http1()), ("HTTP/2", http2())] {
        for content_type in ["application/grpc-web+proto", "application/grpc-web-text"] {
            let answer = call(
                &client,
                &server,
                STREAM_USERS,
                content_type,
                &StreamUsersRequest::default(),
            )
            .await;
            let what = format!("{content_type} over {name}");
            assert_eq!(answer.status(), Some("0"), "{what}");
            assert!(!answer.trailers_only, "{what}");
            let streamed: Vec<String> = answer
                .messages
                .iter()
                .map(|message| User::decode(&message[..]).expect("a User").id)
                .collect();
            assert_eq!(streamed, ids, "{what}");
        }
    }
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_immediate_error_is_trailers_only_and_calls_pass_the_chain_once() {
    let counter = Arc::new(Counter::default());
    let server = TestServer::start_with(vec![counter.clone()]).await;
    let missing = GetUserRequest {
        id: "no-such-user".to_owned(),
    };
    for client in [http1(), http2()] {
        for content_type in ["application/grpc-web+proto", "application/grpc-web-text"] {
            let answer = call(&client, &server, GET_USER, content_type, &missing).await;
            assert!(answer.trailers_only, "{content_type}: {answer:?}");
            assert_eq!(answer.status(), Some("5"), "{content_type}: {answer:?}");
            let message = &answer.trailers["grpc-message"];
            assert!(message.contains("not%20found"), "{content_type}: {message:?}");
        }
    }
    let stream = call(
        &http1(),
        &server,
        STREAM_USERS,
        "application/grpc-web",
        &StreamUsersRequest::default(),
    )
    .await;
    assert_eq!(stream.status(), Some("0"));
    assert_eq!(
        *counter.started.lock().unwrap(),
        BTreeMap::from([("GetUser".to_owned(), 4), ("StreamUsers".to_owned(), 1)])
    );
    assert_eq!(
        *counter.ended.lock().unwrap(),
        BTreeMap::from([
            ("GetUser".to_owned(), vec![tonic::Code::NotFound; 4]),
            ("StreamUsers".to_owned(), vec![tonic::Code::Ok]),
        ])
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_error_after_messages_is_in_the_trailer_frame() {
    let stub = StubService::default().streaming(StreamMode::FailAfterTwo);
    let endpoint = serve_both_faces(Arc::new(stub)).await;
    for (name, client) in [("HTTP/1.1", http1()), ("HTTP/2", http2())] {
        for content_type in ["application/grpc-web+proto", "application/grpc-web-text"] {
            let what = format!("{content_type} over {name}");
            let answer = call(
                &client,
                &endpoint,
                STREAM_USERS,
                content_type,
                &StreamUsersRequest::default(),
            )
            .await;
            assert_eq!(answer.messages.len(), 2, "{what}");
            assert!(!answer.trailers_only, "{what}");
            assert_eq!(answer.status(), Some("15"), "{what}: {answer:?}");
        }
    }
}
