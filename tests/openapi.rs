//! The OpenAPI document the server serves is the committed one
//! (`openapi/users.v1.openapi.json`), its YAML form is the same document,
//! and Swagger UI is served by the binary itself.

mod common;

use std::path::Path;

use common::TestServer;
use serde_json::Value;

const COMMITTED: &str = "openapi/users.v1.openapi.json";
const REGENERATE: &str = "cargo run -- openapi > openapi/users.v1.openapi.json";

async fn get_text(server: &TestServer, path: &str) -> (u16, String, String) {
    let response = server.http.get(server.url(path)).send().await.expect("send GET");
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|value| value.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let text = response.text().await.expect("read the body");
    (status, content_type, text)
}

#[tokio::test]
async fn the_served_document_is_the_committed_one() {
    let server = TestServer::start().await;
    let (status, content_type, served) = get_text(&server, "/openapi.json").await;
    assert_eq!(status, 200);
    assert_eq!(content_type, "application/json");
    let committed =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(COMMITTED)).unwrap_or_default();
    if served != committed {
        let first_difference = served
            .lines()
            .zip(committed.lines())
            .position(|(a, b)| a != b)
            .map_or_else(|| "at the end".to_owned(), |line| format!("at line {}", line + 1));
        panic!(
            "{COMMITTED} differs from the generated document ({first_difference}); regenerate it with\n\n    \
             {REGENERATE}\n"
        );
    }
    let document: Value = serde_json::from_str(&served).expect("the document is JSON");
    assert_eq!(document["openapi"], "3.1.0");
    server.shutdown().await;
}

#[tokio::test]
async fn the_yaml_document_is_the_same_document() {
    let server = TestServer::start().await;
    let (_, _, json) = get_text(&server, "/openapi.json").await;
    let (status, content_type, yaml) = get_text(&server, "/openapi.yaml").await;
    assert_eq!(status, 200);
    assert_eq!(content_type, "application/yaml");
    let from_yaml: Value = yaml_serde::from_str(&yaml).expect("the YAML parses");
    let from_json: Value = serde_json::from_str(&json).expect("the JSON parses");
    assert_eq!(from_yaml, from_json);
    server.shutdown().await;
}

#[tokio::test]
async fn swagger_ui_is_served_by_the_binary_and_points_at_the_document() {
    let server = TestServer::start().await;
    // `/docs` redirects to `/docs/` (followed here).
    for path in ["/docs", "/docs/"] {
        let (status, content_type, page) = get_text(&server, path).await;
        assert_eq!(status, 200, "{path}");
        assert!(content_type.starts_with("text/html"), "{path}: {content_type}");
        assert!(page.contains("swagger-ui"), "{path}: {page}");
    }
    let (status, _, initializer) = get_text(&server, "/docs/swagger-initializer.js").await;
    assert_eq!(status, 200);
    let compact: String = initializer.split_whitespace().collect();
    assert!(compact.contains("\"url\":\"/openapi.json\""), "{initializer}");
    assert!(compact.contains("\"validatorUrl\":\"none\""), "{initializer}");
    for asset in ["/docs/swagger-ui-bundle.js", "/docs/swagger-ui.css"] {
        let (status, _, body) = get_text(&server, asset).await;
        assert_eq!(status, 200, "{asset}");
        assert!(body.len() > 10_000, "{asset} is the real asset");
    }
    // The REST routes are still the gateway's.
    let (status, _) = server.get_json("/v1/users").await;
    assert_eq!(status, 200);
    server.shutdown().await;
}
