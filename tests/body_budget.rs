//! The in-flight body budget over real sockets: a body still arriving holds
//! its declared length of the budget; another body that does not fit is
//! refused with 503 and `Retry-After` (not read, not queued); once the
//! first is answered, the second fits.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};

use common::{RawResponse, TestServer, assert_error_body, guarded};
use tokio::io::AsyncWriteExt as _;
use tokio::net::TcpStream;

const BUDGET: usize = 64 * 1024;
const HELD_LENGTH: usize = 60_000;

/// A create body of about `size` bytes (the padding is a tag), with an
/// email of its own each time.
fn create_body(size: usize) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let head = format!(r#"{{"name":"Big {n}","email":"big.{n}@example.com","tags":[""#);
    let tail = r#""]}"#;
    let padding = "x".repeat(size - head.len() - tail.len());
    format!("{head}{padding}{tail}")
}

async fn post(server: &TestServer, body: String) -> reqwest::Response {
    server
        .http
        .post(server.url("/v1/users"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_body_past_the_in_flight_budget_is_refused_until_the_others_are_answered() {
    let server = TestServer::start_configured(|config| config.max_in_flight_body_bytes = BUDGET).await;

    // A body whose head and first half are sent; the rest waits.
    let held = create_body(HELD_LENGTH);
    let (first_half, second_half) = held.split_at(HELD_LENGTH / 2);
    let mut stream = TcpStream::connect(server.addr()).await.unwrap();
    let head = format!(
        "POST /v1/users HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: {HELD_LENGTH}\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(first_half.as_bytes()).await.unwrap();

    // Once the server holds it, 10 kB more do not fit.
    let refused = guarded("the held body to take its share", async {
        loop {
            let response = post(&server, create_body(10_000)).await;
            if response.status() == 503 {
                return response;
            }
            assert_eq!(response.status(), 201, "fits while the first is not read yet");
        }
    })
    .await;
    assert_eq!(refused.headers()["retry-after"], "1");
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_error_body(&body, tonic::Code::Unavailable as i64);
    assert!(
        body["message"].as_str().unwrap().contains("65536 bytes"),
        "{body}"
    );
    // A small body still fits beside the held one.
    assert_eq!(post(&server, create_body(1_000)).await.status(), 201);

    stream.write_all(second_half.as_bytes()).await.unwrap();
    let mut held_response = RawResponse::new(stream);
    let head = held_response.head().await;
    assert!(head.starts_with("http/1.1 201"), "{head}");

    assert_eq!(post(&server, create_body(10_000)).await.status(), 201);
}
