//! Heads too large for the gateway get 414 or 431 with a `google.rpc.Status`
//! body, over raw HTTP/1.1, and so does what the HTTP server answers itself
//! (a request line it cannot parse, a target or head past its own limits).

mod common;

use common::{RawResponse, TestServer, assert_error_body};
use tokio::io::AsyncWriteExt as _;
use tokio::net::TcpStream;

async fn send(server: &TestServer, head: &str) -> RawResponse {
    let mut stream = TcpStream::connect(server.addr()).await.expect("connect");
    stream.write_all(head.as_bytes()).await.expect("send the head");
    RawResponse::new(stream)
}

/// An answer with `status`, a JSON `google.rpc.Status` body of `code`, and
/// `message` in its message.
fn assert_status_answer(head: &str, body: &serde_json::Value, status: &str, code: i64, message: &str) {
    assert!(head.starts_with(&format!("http/1.1 {status}")), "{head}");
    assert!(head.contains("content-type: application/json"), "{head}");
    assert_error_body(body, code);
    assert!(body["message"].as_str().unwrap().contains(message), "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn long_urls_and_large_headers_get_a_status_body() {
    let server = TestServer::start().await;
    let long_url = format!(
        "GET /v1/users?filter={} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
        "a".repeat(9000)
    );
    let big_header = format!(
        "GET /v1/users HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: {}\r\n\r\n",
        "b".repeat(20_000)
    );
    let many: String = (0..150).map(|n| format!("X-{n}: v\r\n")).collect();
    let many_headers = format!("GET /v1/users HTTP/1.1\r\nHost: 127.0.0.1\r\n{many}\r\n");
    let cases = [
        (long_url, "414", "URL is longer than the limit of 8192 bytes"),
        (big_header, "431", "header section larger than 16384 bytes"),
        (many_headers, "431", "more than 100 header fields"),
    ];
    for (head, status, message) in cases {
        let (response_head, body) = send(&server, &head).await.json().await;
        assert_status_answer(&response_head, &body, status, 3, message);
    }
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn what_the_http_server_answers_itself_has_a_status_body_too() {
    let server = TestServer::start().await;
    let past_hypers_target_limit = format!("GET /{} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", "a".repeat(70_000));
    let past_hypers_buffer = format!(
        "GET /v1/users HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: {}\r\n\r\n",
        "b".repeat(500_000)
    );
    let cases = [
        ("GARBAGE\r\n\r\n".to_owned(), "400", 3, "not valid HTTP/1.1"),
        (
            "GET / HTTP/1.1\r\nHost gateway\r\n\r\n".to_owned(),
            "400",
            3,
            "not valid HTTP/1.1",
        ),
        (past_hypers_target_limit, "414", 3, "URL is longer"),
        (past_hypers_buffer, "431", 3, "headers are larger"),
    ];
    for (head, status, code, message) in cases {
        let mut response = send(&server, &head).await;
        let (response_head, body) = response.json().await;
        assert_status_answer(&response_head, &body, status, code, message);
        assert!(response_head.contains("connection: close"), "{response_head}");
        response.closed().await;
    }
    server.shutdown().await;
}
