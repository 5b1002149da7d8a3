//! The streaming RPCs over HTTP and WebSocket, against a real server on a
//! real socket: NDJSON and SSE responses, in-band errors, NDJSON request
//! bodies, full-duplex bidi over HTTP/1.1, and WebSockets. The mid-stream
//! failure and the cancellation are driven by a stub service behind the
//! real engine.

mod common;

use common::{
    RawResponse, StreamMode, StubService, TestServer, assert_error_body, body_chunk, connect_socket, guarded,
    json_response, ndjson, next_frame, send_text, serve_engine, sse,
};
use reqwest::Method;
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt as _;
use tokio::net::TcpStream;

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
    let (status, got_type, text) = server.get_text(path, accept).await;
    assert_eq!(status, 200, "{path}: {text}");
    assert_eq!(got_type, content_type, "{path}");
    text
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

#[tokio::test(flavor = "multi_thread")]
async fn a_failure_after_the_first_message_is_the_last_line() {
    let engine = serve_engine(StubService::default().streaming(StreamMode::FailAfterTwo)).await;
    let path = "/v1/users:stream";
    // The in-band error names the request's id, as every error does.
    let expected_error = |id: &str| {
        json!({"code": 15, "message": "the disk ate user 2", "details": [{
            "@type": "type.googleapis.com/google.rpc.RequestInfo", "requestId": id, "servingData": ""
        }]})
    };

    let (status, content_type, text) = engine.get_text(path, None).await;
    assert_eq!(status, 200);
    assert_eq!(content_type, "application/x-ndjson");
    let lines = ndjson(&text);
    assert_eq!(lines.len(), 3, "{text}");
    assert_eq!(lines[0]["id"], "stub-0");
    assert_eq!(lines[1]["id"], "stub-1");
    let id = lines[2]["error"]["details"][0]["requestId"]
        .as_str()
        .unwrap_or_default();
    assert_eq!(lines[2], json!({"error": expected_error(id)}), "{text}");

    let (status, content_type, text) = engine.get_text(path, Some("text/event-stream")).await;
    assert_eq!(status, 200);
    assert_eq!(content_type, "text/event-stream");
    let events = sse(&text);
    assert_eq!(events.len(), 3, "{text}");
    assert_eq!((&events[0].0, &events[0].1["id"]), (&None, &json!("stub-0")));
    assert_eq!((&events[1].0, &events[1].1["id"]), (&None, &json!("stub-1")));
    let id = events[2].1["details"][0]["requestId"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(
        events[2],
        (Some("error".to_owned()), expected_error(&id)),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_going_away_cancels_the_stream() {
    let stub = StubService::default().streaming(StreamMode::Endless);
    let reader_gone = stub.reader_gone();
    let engine = serve_engine(stub).await;
    let mut stream = TcpStream::connect(engine.addr()).await.unwrap();
    stream
        .write_all(b"GET /v1/users:stream HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();
    let mut response = RawResponse::new(stream);
    let head = response.head().await;
    assert!(head.starts_with("http/1.1 200 ok"), "{head}");
    assert!(head.contains("transfer-encoding: chunked"), "{head}");
    let first = response.line().await.expect("a first user");
    assert_eq!(first["id"], "stub-0");
    drop(response); // closes the connection with unread data

    guarded("the service to see its reader go away", reader_gone.notified()).await;
}

// ---------------------------------------------------------------------------
// Client streaming.

/// POSTs `body` to the bulk create as `content_type`; the status and JSON answer.
async fn post_ndjson(server: &TestServer, content_type: &str, body: &str) -> (u16, Value) {
    let body = Some((content_type, body.as_bytes().to_vec()));
    let response = server.send(Method::POST, "/v1/users:bulkCreate", body).await;
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

#[tokio::test(flavor = "multi_thread")]
async fn sync_over_http1_answers_while_the_body_is_still_open() {
    let server = TestServer::start().await;
    let mut stream = TcpStream::connect(server.addr()).await.unwrap();
    let head = "POST /v1/users:sync HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\
                Content-Type: application/x-ndjson\r\n\r\n";
    stream.write_all(head.as_bytes()).await.unwrap();
    stream
        .write_all(&body_chunk(
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
    response.stream.write_all(&body_chunk(&rest)).await.unwrap();
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
