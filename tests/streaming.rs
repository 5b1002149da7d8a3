//! The streaming RPCs over HTTP and WebSocket, against a real server on a
//! real socket: NDJSON and SSE responses, in-band errors, NDJSON request
//! bodies, full-duplex bidi over HTTP/1.1, and WebSockets. The mid-stream
//! failure and the cancellation are driven by a stub service behind the
//! real engine.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use common::{TestServer, assert_error_body, json_response};
use futures_util::{SinkExt as _, StreamExt as _};
use gateway::proto::users::v1::user_service_server::{UserService, UserServiceServer};
use gateway::proto::users::v1::{
    BulkCreateUsersResponse, CreateUserRequest, DeleteUserRequest, GetUserRequest, GetUserResponse,
    ListUsersRequest, ListUsersResponse, StreamUsersRequest, SyncRequest, SyncResponse, UpdateUserRequest,
    User,
};
use gateway::transcode::Gateway;
use prost_reflect::DescriptorPool;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, mpsc};
use tokio_stream::wrappers::ReceiverStream;
use tokio_tungstenite::tungstenite::Message;
use tonic::{Request as GrpcRequest, Response as GrpcResponse, Status, Streaming};

/// How long any single wait on the network may take before the test fails.
const GUARD: Duration = Duration::from_secs(10);

/// Awaits `future`, failing the test (instead of hanging) after [`GUARD`].
async fn guarded<T>(what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(GUARD, future)
        .await
        .unwrap_or_else(|_| panic!("timed out after {GUARD:?} waiting for {what}"))
}

/// Creates `users` (name, email, tags) over REST, in order; returns them.
async fn create_all(server: &TestServer, users: &[(&str, &str, &[&str])]) -> Vec<Value> {
    let mut created = Vec::new();
    for (name, email, tags) in users {
        created.push(
            server
                .create_user(json!({"name": name, "email": email, "tags": tags}))
                .await,
        );
    }
    created
}

const PEOPLE: [(&str, &str, &[&str]); 5] = [
    ("Carol", "carol@example.com", &["odd"]),
    ("Alice", "alice@example.com", &["even"]),
    ("Erin", "erin@example.com", &["odd"]),
    ("Bob", "bob@example.com", &["even"]),
    ("Dave", "dave@example.com", &["odd"]),
];

/// GETs `path`, asserting 200 and `content_type`; returns the body text.
async fn get_stream(server: &TestServer, path: &str, accept: Option<&str>, content_type: &str) -> String {
    let mut request = server.http.get(server.url(path));
    if let Some(accept) = accept {
        request = request.header("accept", accept);
    }
    let response = guarded("the stream", request.send()).await.expect("send GET");
    let status = response.status().as_u16();
    let got_type = response.headers()["content-type"].to_str().unwrap().to_owned();
    let text = guarded("the stream body", response.text())
        .await
        .expect("read the body");
    assert_eq!(status, 200, "{path}: {text}");
    assert_eq!(got_type, content_type, "{path}");
    text
}

/// Every line of an NDJSON body, parsed; the body must end with a newline.
fn ndjson(text: &str) -> Vec<Value> {
    assert!(
        text.is_empty() || text.ends_with('\n'),
        "unterminated NDJSON: {text:?}"
    );
    text.lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|error| panic!("{error}: {line:?}")))
        .collect()
}

/// The events of an SSE body as (event name, parsed data).
fn sse(text: &str) -> Vec<(Option<String>, Value)> {
    assert!(
        text.is_empty() || text.ends_with("\n\n"),
        "unterminated SSE: {text:?}"
    );
    text.split_terminator("\n\n")
        .map(|event| {
            let mut name = None;
            let mut data = None;
            for line in event.lines() {
                if let Some(value) = line.strip_prefix("event: ") {
                    name = Some(value.to_owned());
                } else if let Some(value) = line.strip_prefix("data: ") {
                    assert!(data.is_none(), "one data line per event: {event:?}");
                    data = Some(
                        serde_json::from_str(value).unwrap_or_else(|error| panic!("{error}: {value:?}")),
                    );
                } else {
                    panic!("unexpected SSE line {line:?} in {event:?}");
                }
            }
            (
                name,
                data.unwrap_or_else(|| panic!("an event without data: {event:?}")),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn server_stream_as_ndjson_filtered_and_ordered() {
    let server = TestServer::start().await;
    let empty = get_stream(&server, "/v1/users:stream", None, "application/x-ndjson").await;
    assert_eq!(empty, "", "an empty directory streams nothing");

    let created = create_all(&server, &PEOPLE).await;
    let text = get_stream(&server, "/v1/users:stream", None, "application/x-ndjson").await;
    assert_eq!(ndjson(&text), created, "every user, whole, in creation order");

    let filtered = get_stream(
        &server,
        "/v1/users:stream?filter=tags%3A%22odd%22",
        None,
        "application/x-ndjson",
    )
    .await;
    assert_eq!(
        ndjson(&filtered),
        [created[0].clone(), created[2].clone(), created[4].clone()]
    );

    let ordered = get_stream(
        &server,
        "/v1/users:stream?order_by=name%20desc",
        None,
        "application/x-ndjson",
    )
    .await;
    let names: Vec<Value> = ndjson(&ordered).iter().map(|user| user["name"].clone()).collect();
    assert_eq!(names, ["Erin", "Dave", "Carol", "Bob", "Alice"]);

    let both = get_stream(
        &server,
        "/v1/users:stream?filter=tags%3A%22even%22&order_by=name%20desc",
        None,
        "application/x-ndjson",
    )
    .await;
    assert_eq!(ndjson(&both), [created[3].clone(), created[1].clone()]);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn server_stream_as_server_sent_events() {
    let server = TestServer::start().await;
    let created = create_all(&server, &PEOPLE).await;
    let text = get_stream(
        &server,
        "/v1/users:stream",
        Some("text/event-stream"),
        "text/event-stream",
    )
    .await;
    let events = sse(&text);
    assert_eq!(events.len(), created.len(), "{text}");
    for ((name, data), user) in events.iter().zip(&created) {
        assert_eq!(name, &None, "messages are unnamed events");
        assert_eq!(data, user);
    }
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn server_stream_failing_before_the_first_message_is_an_http_error() {
    let server = TestServer::start().await;
    create_all(&server, &PEOPLE[..1]).await;
    for accept in [None, Some("text/event-stream")] {
        let mut request = server.http.get(server.url("/v1/users:stream?filter=((("));
        if let Some(accept) = accept {
            request = request.header("accept", accept);
        }
        let response = request.send().await.unwrap();
        assert_eq!(
            response.headers()["content-type"],
            "application/json",
            "{accept:?}"
        );
        let (status, body) = json_response(response).await;
        assert_eq!(status, 400, "{accept:?}: {body}");
        assert_error_body(&body, 3);
        let message = body["message"].as_str().unwrap();
        assert!(
            message.contains("filter") && message.contains("position"),
            "{message}"
        );
    }
    server.shutdown().await;
}

// ---------------------------------------------------------------------------
// A stub service behind the real engine, for failures the real one cannot be
// made to produce on demand.

#[derive(Clone, Copy)]
enum StubMode {
    /// `StreamUsers` sends two users, then DATA_LOSS.
    FailAfterTwo,
    /// `StreamUsers` sends users forever through a bounded channel, and
    /// signals `cancelled` once a send fails because the reader is gone.
    Endless,
}

struct Stub {
    mode: StubMode,
    cancelled: Arc<Notify>,
}

fn stub_user(n: usize) -> User {
    User {
        id: format!("stub-{n}"),
        name: format!("Stub {n}"),
        email: format!("stub{n}@example.com"),
        ..Default::default()
    }
}

type StubStream<T> = std::pin::Pin<Box<dyn futures_util::Stream<Item = Result<T, Status>> + Send>>;

#[tonic::async_trait]
impl UserService for Stub {
    async fn create_user(&self, _: GrpcRequest<CreateUserRequest>) -> Result<GrpcResponse<User>, Status> {
        Err(Status::unimplemented("stub"))
    }

    async fn get_user(
        &self,
        _: GrpcRequest<GetUserRequest>,
    ) -> Result<GrpcResponse<GetUserResponse>, Status> {
        Err(Status::unimplemented("stub"))
    }

    async fn list_users(
        &self,
        _: GrpcRequest<ListUsersRequest>,
    ) -> Result<GrpcResponse<ListUsersResponse>, Status> {
        Err(Status::unimplemented("stub"))
    }

    async fn update_user(&self, _: GrpcRequest<UpdateUserRequest>) -> Result<GrpcResponse<User>, Status> {
        Err(Status::unimplemented("stub"))
    }

    async fn delete_user(&self, _: GrpcRequest<DeleteUserRequest>) -> Result<GrpcResponse<()>, Status> {
        Err(Status::unimplemented("stub"))
    }

    type StreamUsersStream = StubStream<User>;

    async fn stream_users(
        &self,
        _: GrpcRequest<StreamUsersRequest>,
    ) -> Result<GrpcResponse<Self::StreamUsersStream>, Status> {
        match self.mode {
            StubMode::FailAfterTwo => {
                let items = vec![
                    Ok(stub_user(0)),
                    Ok(stub_user(1)),
                    Err(Status::data_loss("the disk ate user 2")),
                    Ok(stub_user(3)), // never sent: the error ends the stream
                ];
                Ok(GrpcResponse::new(Box::pin(futures_util::stream::iter(items))))
            }
            StubMode::Endless => {
                let (sender, receiver) = mpsc::channel(4);
                let cancelled = self.cancelled.clone();
                tokio::spawn(async move {
                    for n in 0.. {
                        if sender.send(Ok(stub_user(n))).await.is_err() {
                            cancelled.notify_one();
                            return;
                        }
                    }
                });
                Ok(GrpcResponse::new(Box::pin(ReceiverStream::new(receiver))))
            }
        }
    }

    async fn bulk_create_users(
        &self,
        _: GrpcRequest<Streaming<CreateUserRequest>>,
    ) -> Result<GrpcResponse<BulkCreateUsersResponse>, Status> {
        Err(Status::unimplemented("stub"))
    }

    type SyncUsersStream = StubStream<SyncResponse>;

    async fn sync_users(
        &self,
        _: GrpcRequest<Streaming<SyncRequest>>,
    ) -> Result<GrpcResponse<Self::SyncUsersStream>, Status> {
        Err(Status::unimplemented("stub"))
    }
}

/// Serves the real engine in front of `stub` on `127.0.0.1:<ephemeral>`.
async fn serve_stub(mode: StubMode) -> (SocketAddr, Arc<Notify>) {
    let cancelled = Arc::new(Notify::new());
    let stub = Stub {
        mode,
        cancelled: cancelled.clone(),
    };
    let routes = tonic::service::Routes::new(UserServiceServer::new(stub));
    let pool = DescriptorPool::decode(gateway::proto::FILE_DESCRIPTOR_SET).expect("the descriptors decode");
    let gateway = Gateway::builder(pool, routes)
        .max_body_bytes(1 << 20)
        .build()
        .expect("the engine builds");
    let app = axum::Router::new().fallback_service(gateway);
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("the listener's address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    (addr, cancelled)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failure_after_the_first_message_is_the_last_line() {
    let (addr, _) = serve_stub(StubMode::FailAfterTwo).await;
    let http = reqwest::Client::new();
    let url = format!("http://{addr}/v1/users:stream");
    let expected_error = json!({"code": 15, "message": "the disk ate user 2", "details": []});

    let response = guarded("the stream", http.get(&url).send()).await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers()["content-type"], "application/x-ndjson");
    let text = guarded("the body", response.text()).await.unwrap();
    let lines = ndjson(&text);
    assert_eq!(lines.len(), 3, "{text}");
    assert_eq!(lines[0]["id"], "stub-0");
    assert_eq!(lines[1]["id"], "stub-1");
    assert_eq!(lines[2], json!({"error": expected_error}), "{text}");

    let response = guarded(
        "the stream",
        http.get(&url).header("accept", "text/event-stream").send(),
    )
    .await
    .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let text = guarded("the body", response.text()).await.unwrap();
    let events = sse(&text);
    assert_eq!(events.len(), 3, "{text}");
    assert_eq!((&events[0].0, &events[0].1["id"]), (&None, &json!("stub-0")));
    assert_eq!((&events[1].0, &events[1].1["id"]), (&None, &json!("stub-1")));
    assert_eq!(events[2], (Some("error".to_owned()), expected_error), "{text}");
}

/// A raw HTTP/1.1 response read incrementally: the head, then the chunks of
/// a chunked body.
struct RawResponse {
    stream: TcpStream,
    buffer: Vec<u8>,
    body: Vec<u8>,
}

impl RawResponse {
    fn new(stream: TcpStream) -> Self {
        RawResponse {
            stream,
            buffer: Vec::new(),
            body: Vec::new(),
        }
    }

    /// Reads more bytes into the buffer; false at end of stream.
    async fn fill(&mut self) -> bool {
        let mut chunk = [0_u8; 4096];
        let read = guarded("bytes from the server", self.stream.read(&mut chunk))
            .await
            .expect("read from the socket");
        self.buffer.extend_from_slice(&chunk[..read]);
        read > 0
    }

    /// Takes the buffer up to and including `delimiter`, reading as needed.
    async fn take_through(&mut self, delimiter: &[u8]) -> Vec<u8> {
        loop {
            if let Some(at) = self.buffer.windows(delimiter.len()).position(|w| w == delimiter) {
                return self.buffer.drain(..at + delimiter.len()).collect();
            }
            assert!(
                self.fill().await,
                "the connection closed before {delimiter:?}; got {:?}",
                String::from_utf8_lossy(&self.buffer)
            );
        }
    }

    /// The status line and headers (lower-cased), without the blank line.
    async fn head(&mut self) -> String {
        let head = self.take_through(b"\r\n\r\n").await;
        String::from_utf8(head).unwrap().trim_end().to_ascii_lowercase()
    }

    /// The next chunk of a chunked body; `None` after the last one.
    async fn chunk(&mut self) -> Option<Vec<u8>> {
        let size_line = self.take_through(b"\r\n").await;
        let size_text = String::from_utf8(size_line).unwrap();
        let size_text = size_text.trim_end().split(';').next().unwrap().to_owned();
        let size =
            usize::from_str_radix(&size_text, 16).unwrap_or_else(|_| panic!("chunk size {size_text:?}"));
        while self.buffer.len() < size + 2 {
            assert!(self.fill().await, "the connection closed inside a chunk");
        }
        let data: Vec<u8> = self.buffer.drain(..size).collect();
        assert_eq!(
            self.buffer.drain(..2).collect::<Vec<u8>>(),
            b"\r\n",
            "chunk terminator"
        );
        // (the last chunk's "\r\n" is the end of an empty trailer section)
        (size > 0).then_some(data)
    }

    /// The next NDJSON line of the chunked body; `None` at its end.
    async fn line(&mut self) -> Option<Value> {
        loop {
            if let Some(newline) = self.body.iter().position(|&byte| byte == b'\n') {
                let line: Vec<u8> = self.body.drain(..=newline).collect();
                return Some(
                    serde_json::from_slice(&line)
                        .unwrap_or_else(|error| panic!("{error}: {:?}", String::from_utf8_lossy(&line))),
                );
            }
            match self.chunk().await {
                Some(data) => self.body.extend_from_slice(&data),
                None => {
                    assert!(self.body.is_empty(), "a partial last line: {:?}", self.body);
                    return None;
                }
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_going_away_cancels_the_stream() {
    let (addr, cancelled) = serve_stub(StubMode::Endless).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /v1/users:stream HTTP/1.1\r\nHost: test\r\n\r\n")
        .await
        .unwrap();
    let mut response = RawResponse::new(stream);
    let head = response.head().await;
    assert!(head.starts_with("http/1.1 200 ok"), "{head}");
    assert!(head.contains("transfer-encoding: chunked"), "{head}");
    let first = response.line().await.expect("a first user");
    assert_eq!(first["id"], "stub-0");
    drop(response); // closes the connection with unread data

    tokio::time::timeout(GUARD, cancelled.notified())
        .await
        .expect("the service never saw its reader go away");
}

// ---------------------------------------------------------------------------
// Client streaming.

async fn post_ndjson(server: &TestServer, content_type: &str, body: &str) -> (u16, Value) {
    let response = server
        .http
        .post(server.url("/v1/users:bulkCreate"))
        .header("content-type", content_type)
        .body(body.to_owned())
        .send()
        .await
        .expect("send the bulk create");
    guarded("the bulk create", json_response(response)).await
}

#[tokio::test(flavor = "multi_thread")]
async fn bulk_create_reports_bad_items_by_index() {
    let server = TestServer::start().await;
    let body = concat!(
        "{\"name\": \"Ann\", \"email\": \"ann@example.com\"}\n",
        "\n",
        "{\"name\": \"\", \"email\": \"nameless@example.com\"}\n",
        "{\"name\": \"Ben\", \"email\": \"ben@example.com\", \"tags\": [\"x\"]}\n",
        "   \n",
        "{\"name\": \"Ann Again\", \"email\": \"ANN@example.com\"}\n",
        "{\"name\": \"Cid\", \"email\": \"cid@example.com\"}", // no final newline
    );
    let (status, response) = post_ndjson(&server, "application/x-ndjson", body).await;
    assert_eq!(status, 200, "{response}");
    assert_eq!(response["createdCount"], 3, "{response}");
    let failures = response["failures"].as_array().expect("failures");
    assert_eq!(failures.len(), 2, "{response}");
    // Indexes count request messages (blank lines are not messages).
    assert_eq!(failures[0]["index"], 1, "{response}");
    let invalid = &failures[0]["status"];
    assert_eq!(invalid["code"], 3, "{response}");
    assert!(
        invalid["message"].as_str().unwrap().contains("name"),
        "{response}"
    );
    assert_eq!(
        invalid["details"][0]["@type"], "type.googleapis.com/google.rpc.BadRequest",
        "{response}"
    );
    assert_eq!(
        invalid["details"][0]["fieldViolations"][0]["field"], "name",
        "{response}"
    );
    assert_eq!(failures[1]["index"], 3, "{response}");
    assert_eq!(failures[1]["status"]["code"], 6, "{response}");

    let (status, listed) = server.get_json("/v1/users").await;
    assert_eq!(status, 200);
    let emails: Vec<&str> = listed["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|user| user["email"].as_str().unwrap())
        .collect();
    assert_eq!(emails, ["ann@example.com", "ben@example.com", "cid@example.com"]);
    assert_eq!(listed["users"][1]["tags"], json!(["x"]));
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bulk_create_rejects_a_malformed_line_and_a_wrong_content_type() {
    let server = TestServer::start().await;
    let body = "{\"name\": \"Ann\", \"email\": \"ann@example.com\"}\n\n{\"name\": \"Ben\",\n";
    let (status, error) = post_ndjson(&server, "application/x-ndjson", body).await;
    assert_eq!(status, 400, "{error}");
    assert_error_body(&error, 3);
    let message = error["message"].as_str().unwrap();
    assert!(message.starts_with("line 3: "), "{message}");

    let body =
        "{\"name\": \"Ann\", \"email\": \"ann@example.com\"}\n{\"name\": \"Ben\", \"nickname\": \"b\"}\n";
    let (status, error) = post_ndjson(&server, "application/x-ndjson", body).await;
    assert_eq!(status, 400, "{error}");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.starts_with("line 2: ") && message.contains("nickname"),
        "{message}"
    );

    let (status, error) = post_ndjson(&server, "text/plain", "{}\n").await;
    assert_eq!(status, 415, "{error}");
    assert_error_body(&error, 3);
    server.shutdown().await;
}

// ---------------------------------------------------------------------------
// Bidi.

/// One chunk of a chunked request body.
fn chunk(data: &str) -> Vec<u8> {
    format!("{:x}\r\n{data}\r\n", data.len()).into_bytes()
}

#[tokio::test(flavor = "multi_thread")]
async fn sync_over_http1_answers_while_the_body_is_still_open() {
    let server = TestServer::start().await;
    let mut stream = TcpStream::connect(server.addr()).await.unwrap();
    let head = "POST /v1/users:sync HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\
                Content-Type: application/x-ndjson\r\n\r\n";
    stream.write_all(head.as_bytes()).await.unwrap();
    stream
        .write_all(&chunk(
            "{\"upsert\": {\"name\": \"Duplex\", \"email\": \"duplex@example.com\"}}\n",
        ))
        .await
        .unwrap();
    stream.flush().await.unwrap();
    let mut response = RawResponse::new(stream);
    let head = response.head().await;
    assert!(head.starts_with("http/1.1 200 ok"), "{head}");
    assert!(head.contains("content-type: application/x-ndjson"), "{head}");

    // The answer to the first request arrives while the body is still open.
    let first = response.line().await.expect("the first answer");
    assert_eq!(first["index"], 0, "{first}");
    assert_eq!(first["status"], "SYNC_STATUS_CREATED", "{first}");
    let id = first["id"].as_str().unwrap().to_owned();
    assert_eq!(first["user"]["id"], id.as_str());
    assert_eq!(first["user"]["email"], "duplex@example.com");

    let rest = format!("{{\"deleteId\": \"{id}\"}}\n\n{{\"deleteId\": \"{id}\"}}\n");
    response.stream.write_all(&chunk(&rest)).await.unwrap();
    response.stream.write_all(b"0\r\n\r\n").await.unwrap();
    let second = response.line().await.expect("the second answer");
    assert_eq!(
        (&second["index"], &second["id"], &second["status"]),
        (&json!(1), &json!(id), &json!("SYNC_STATUS_DELETED")),
        "{second}"
    );
    let third = response.line().await.expect("the third answer");
    assert_eq!(third["index"], 2, "{third}");
    assert_eq!(third["status"], "SYNC_STATUS_FAILED", "{third}");
    assert_eq!(third["error"]["code"], 5, "{third}");
    assert_eq!(response.line().await, None, "the response ends with the requests");
    server.shutdown().await;
}

// ---------------------------------------------------------------------------
// WebSocket.

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>;

async fn connect_socket(server: &TestServer, path: &str) -> Socket {
    let url = format!("ws://{}{path}", server.addr());
    let (socket, response) = guarded("the WebSocket handshake", tokio_tungstenite::connect_async(url))
        .await
        .unwrap_or_else(|error| panic!("{path}: the upgrade failed: {error}"));
    assert_eq!(response.status().as_u16(), 101);
    socket
}

/// The next frame: the JSON of a text frame, or `None` for a close frame.
async fn next_frame(socket: &mut Socket) -> Option<Value> {
    loop {
        let message = guarded("a WebSocket frame", socket.next())
            .await
            .expect("the socket ended without a close frame")
            .expect("a WebSocket frame");
        match message {
            Message::Text(text) => {
                return Some(serde_json::from_str(&text).unwrap_or_else(|error| panic!("{error}: {text}")));
            }
            Message::Close(_) => return None,
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("unexpected frame {other:?}"),
        }
    }
}

async fn send_text(socket: &mut Socket, text: String) {
    guarded("sending a frame", socket.send(Message::text(text)))
        .await
        .expect("send a frame");
}

#[tokio::test(flavor = "multi_thread")]
async fn sync_over_a_websocket() {
    let server = TestServer::start().await;
    let mut socket = connect_socket(&server, "/v1/users:sync").await;

    let upsert = json!({"upsert": {"name": "Webby", "email": "webby@example.com", "tags": ["a"]}});
    send_text(&mut socket, upsert.to_string()).await;
    let created = next_frame(&mut socket).await.expect("an answer");
    assert_eq!(created["index"], 0, "{created}");
    assert_eq!(created["status"], "SYNC_STATUS_CREATED", "{created}");
    let id = created["id"].as_str().unwrap().to_owned();

    // The same email (in another case) names the same user.
    let upsert = json!({"upsert": {"name": "Webby Two", "email": "WEBBY@example.com"}});
    send_text(&mut socket, upsert.to_string()).await;
    let updated = next_frame(&mut socket).await.expect("an answer");
    assert_eq!(
        (&updated["index"], &updated["id"], &updated["status"]),
        (&json!(1), &json!(id), &json!("SYNC_STATUS_UPDATED")),
        "{updated}"
    );
    assert_eq!(updated["user"]["name"], "Webby Two", "{updated}");
    assert_eq!(
        updated["user"]["tags"],
        json!([]),
        "every writable field is replaced: {updated}"
    );
    let (status, stored) = server.get_json(&format!("/v1/users/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(stored, updated["user"]);

    send_text(&mut socket, json!({"deleteId": id}).to_string()).await;
    let deleted = next_frame(&mut socket).await.expect("an answer");
    assert_eq!(
        (&deleted["index"], &deleted["id"], &deleted["status"]),
        (&json!(2), &json!(id), &json!("SYNC_STATUS_DELETED")),
        "{deleted}"
    );

    send_text(&mut socket, "{not json".to_owned()).await;
    let error = next_frame(&mut socket).await.expect("an error frame");
    let keys: Vec<&String> = error.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["error"], "{error}");
    assert_error_body(&error["error"], 3);
    let message = error["error"]["message"].as_str().unwrap();
    assert!(message.starts_with("message 4: "), "{message}");
    assert_eq!(next_frame(&mut socket).await, None, "a close after the error");

    let (status, _) = server.get_json(&format!("/v1/users/{id}")).await;
    assert_eq!(status, 404);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn server_stream_over_a_websocket() {
    let server = TestServer::start().await;
    let created = create_all(&server, &PEOPLE).await;
    let mut socket = connect_socket(&server, "/v1/users:stream").await;
    let mut frames = Vec::new();
    while let Some(frame) = next_frame(&mut socket).await {
        frames.push(frame);
    }
    assert_eq!(frames, created);

    let mut socket = connect_socket(&server, "/v1/users:stream?order_by=name&filter=tags%3A%22even%22").await;
    assert_eq!(next_frame(&mut socket).await, Some(created[1].clone()));
    assert_eq!(next_frame(&mut socket).await, Some(created[3].clone()));
    assert_eq!(next_frame(&mut socket).await, None);

    let mut socket = connect_socket(&server, "/v1/users:stream?filter=(((").await;
    let error = next_frame(&mut socket).await.expect("an error frame");
    assert_error_body(&error["error"], 3);
    assert_eq!(next_frame(&mut socket).await, None);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_websocket_upgrade_without_a_streaming_binding_is_404() {
    let server = TestServer::start().await;
    for path in ["/v1/users", "/v1/nowhere"] {
        let url = format!("ws://{}{path}", server.addr());
        let result = guarded("the WebSocket handshake", tokio_tungstenite::connect_async(url)).await;
        match result {
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                assert_eq!(response.status().as_u16(), 404, "{path}");
                let body: Value = serde_json::from_slice(response.body().as_deref().unwrap_or_default())
                    .unwrap_or_else(|error| panic!("{path}: {error}"));
                assert_error_body(&body, 5);
            }
            Err(other) => panic!("{path}: {other}"),
            Ok(_) => panic!("{path}: the upgrade succeeded"),
        }
    }
    server.shutdown().await;
}
