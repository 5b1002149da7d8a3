//! `examples/library.rs` as its users would run it: the built example
//! program, serving `gateway.test.Library` through the engine's public API,
//! over real sockets, on REST and gRPC. (`cargo test` builds the examples
//! before it runs the tests.)

mod common;

use std::path::PathBuf;

use common::{GatewayProcess, assert_error_body, json_body, json_response};
use reqwest::Method;
use serde_json::json;

#[allow(dead_code)] // generated: the direct wrapper and the server are the example's, not the test's
mod library {
    include!(concat!(env!("OUT_DIR"), "/library/gateway.test.rs"));
}
use library::GetBookRequest;
use library::library_client::LibraryClient;

/// `target/<profile>/examples/library`, next to this test's own folder.
fn example_program() -> PathBuf {
    let test = std::env::current_exe().expect("the test's path");
    let profile = test
        .parent()
        .and_then(|deps| deps.parent())
        .expect("the test runs from target/<profile>/deps");
    let program = profile
        .join("examples")
        .join(format!("library{}", std::env::consts::EXE_SUFFIX));
    assert!(
        program.exists(),
        "{} is missing: run `cargo test` (which builds the examples) or `cargo build --example library`",
        program.display()
    );
    program
}

async fn start() -> GatewayProcess {
    GatewayProcess::start_program(&example_program(), &["127.0.0.1:0".as_ref()]).await
}

#[tokio::test(flavor = "multi_thread")]
async fn the_example_serves_its_own_service_over_rest() {
    let server = start().await;
    let book = json!({"title": "Dune", "pages": 412, "chapters": ["One"]});
    let patched = server
        .send(Method::PATCH, "/v1/shelves/1/books/2", json_body(&book))
        .await;
    let expected = json!({
        "name": "shelves/1/books/2", "title": "Dune", "pages": "412", "chapters": ["One"], "etag": ""
    });
    assert_eq!(json_response(patched).await, (200, expected.clone()));
    // Both bindings of GetBook: the multi-segment one and the additional one.
    assert_eq!(
        server.get_json("/v1/shelves/1/books/2").await,
        (200, expected.clone())
    );
    assert_eq!(
        server.get_json("/v1/books/shelves%2F1%2Fbooks%2F2").await,
        (200, expected)
    );

    let (status, body) = server.get_json("/v1/shelves/9/books/9").await;
    assert_eq!(status, 404, "{body}");
    assert_error_body(&body, 5);

    let not_allowed = server.send(Method::POST, "/v1/shelves/1/books/2", None).await;
    assert_eq!(not_allowed.status(), 405);
    assert_eq!(not_allowed.headers()["allow"], "GET, PATCH");

    let (status, body) = server.get_json("/v1/search/abc?int32Value=ten").await;
    assert_eq!(status, 400, "{body}");
    assert_error_body(&body, 3);
    assert_eq!(
        body["details"][0]["fieldViolations"][0]["field"], "int32Value",
        "{body}"
    );

    let (status, body) = server
        .get_json("/v1/search/abc?nested.label=x&int64Value=9007199254740993")
        .await;
    assert_eq!((status, body), (200, json!({"label": "x", "count": 0})));
}

#[tokio::test(flavor = "multi_thread")]
async fn rest_and_grpc_reach_the_same_service_instance() {
    let server = start().await;
    let written = server
        .send(
            Method::PATCH,
            "/v1/shelves/7/books/1",
            json_body(json!({"title": "Emma"})),
        )
        .await;
    assert_eq!(written.status(), 200);

    let mut client = LibraryClient::connect(server.base_url())
        .await
        .expect("connect the gRPC client");
    let book = client
        .get_book(GetBookRequest {
            name: "shelves/7/books/1".to_owned(),
            full: false,
        })
        .await
        .expect("the book written over REST")
        .into_inner();
    assert_eq!(book.title, "Emma");

    let missing = client
        .get_book(GetBookRequest {
            name: "shelves/7/books/2".to_owned(),
            full: false,
        })
        .await
        .expect_err("no such book");
    assert_eq!(missing.code(), tonic::Code::NotFound);
}
