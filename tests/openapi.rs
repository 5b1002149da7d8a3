//! The OpenAPI document the server serves is the committed one
//! (`openapi/users.v1.openapi.json`), its YAML form is the same document,
//! and Swagger UI is served by the binary itself. Also the properties of
//! the users API's document that the engine's own test service cannot show:
//! routes without path variables, PUT and DELETE, streaming methods.

mod common;

use std::path::Path;

use common::TestServer;
use reqwest::Method;
use serde_json::{Value, json};

const COMMITTED: &str = "openapi/users.v1.openapi.json";
const REGENERATE: &str = "cargo run -- openapi > openapi/users.v1.openapi.json";

#[tokio::test]
async fn the_served_document_is_the_committed_one() {
    let server = TestServer::start().await;
    let (status, content_type, served) = server.get_text("/openapi.json", None).await;
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
    let (_, _, json) = server.get_text("/openapi.json", None).await;
    let (status, content_type, yaml) = server.get_text("/openapi.yaml", None).await;
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
        let (status, content_type, page) = server.get_text(path, None).await;
        assert_eq!(status, 200, "{path}");
        assert!(content_type.starts_with("text/html"), "{path}: {content_type}");
        assert!(page.contains("swagger-ui"), "{path}: {page}");
    }
    let (status, _, initializer) = server.get_text("/docs/swagger-initializer.js", None).await;
    assert_eq!(status, 200);
    let compact: String = initializer.split_whitespace().collect();
    assert!(compact.contains("\"url\":\"/openapi.json\""), "{initializer}");
    assert!(compact.contains("\"validatorUrl\":\"none\""), "{initializer}");
    for asset in ["/docs/swagger-ui-bundle.js", "/docs/swagger-ui.css"] {
        let (status, _, body) = server.get_text(asset, None).await;
        assert_eq!(status, 200, "{asset}");
        assert!(body.len() > 10_000, "{asset} is the real asset");
    }
    // The REST routes are still the gateway's.
    let (status, _) = server.get_json("/v1/users").await;
    assert_eq!(status, 200);
    server.shutdown().await;
}

/// The document the server serves, as JSON.
fn served_document() -> Value {
    let document = gateway::server::openapi_document().expect("the document builds");
    serde_json::from_str(&gateway::transcode::openapi::to_json(&document)).expect("valid JSON")
}

/// A request path for an OpenAPI path: each `{parameter}` becomes `x`.
fn concrete(path: &str) -> String {
    let mut out = String::new();
    let mut rest = path;
    while let Some(open) = rest.find('{') {
        let close = open + rest[open..].find('}').expect("a closed parameter");
        out.push_str(&rest[..open]);
        out.push('x');
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    out
}

/// Every operation of the document reaches a route of the server (the
/// service may still refuse the empty request), and there is one
/// operation per route.
#[tokio::test]
async fn every_documented_operation_is_served_and_every_route_documented() {
    let document = served_document();
    let server = TestServer::start().await;
    let mut operations = 0;
    for (path, item) in document["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("a path item").keys() {
            operations += 1;
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).expect("an HTTP method");
            let request_path = concrete(path);
            let response = server.send(method.clone(), &request_path, None).await;
            let status = response.status().as_u16();
            let body = response.text().await.expect("read the body");
            assert_ne!(status, 405, "{method} {request_path}: {body}");
            assert!(
                !(status == 404 && body.contains("no route for")),
                "{method} {request_path} ({path}) is not a route: {body}"
            );
        }
    }
    let pool = prost_reflect::DescriptorPool::decode(gateway::proto::FILE_DESCRIPTOR_SET).expect("decodes");
    let routes = gateway::transcode::Bindings::read(&pool)
        .expect("the bindings read")
        .len();
    assert_eq!(operations, routes, "one operation per route");
    server.shutdown().await;
}

#[test]
fn an_additional_binding_on_the_same_path_gets_the_next_operation_id() {
    let users = served_document();
    assert_eq!(
        users["paths"]["/v1/users/{user.id}"]["patch"]["operationId"],
        "UserService_UpdateUser"
    );
    assert_eq!(
        users["paths"]["/v1/users/{user.id}"]["put"]["operationId"],
        "UserService_UpdateUser2"
    );
}

#[test]
fn responses_have_the_real_status_headers_and_errors() {
    let users = served_document();
    let create = &users["paths"]["/v1/users"]["post"]["responses"];
    let codes: Vec<&String> = create.as_object().expect("responses").keys().collect();
    assert_eq!(codes, ["201", "400", "401", "403", "409", "default"]);
    let headers: Vec<&String> = create["201"]["headers"]
        .as_object()
        .expect("headers")
        .keys()
        .collect();
    assert_eq!(headers, ["ETag", "Location"]);
    let get = &users["paths"]["/v1/users/{id}"]["get"]["responses"];
    let codes: Vec<&String> = get.as_object().expect("responses").keys().collect();
    assert_eq!(codes, ["200", "400", "401", "403", "404", "default"]);
    assert_eq!(
        get["200"]["content"]["application/json"]["schema"],
        json!({"$ref": "#/components/schemas/users.v1.User"}),
        "response_body: user"
    );
    let list = &users["paths"]["/v1/users"]["get"]["responses"];
    let codes: Vec<&String> = list.as_object().expect("responses").keys().collect();
    assert_eq!(codes, ["200", "400", "401", "403", "default"]);
    for code in ["400", "401", "403", "default"] {
        assert_eq!(
            list[code]["content"]["application/json"]["schema"],
            json!({"$ref": "#/components/schemas/google.rpc.Status"})
        );
    }
}

#[test]
fn each_operation_says_which_roles_may_call_it() {
    let users = served_document();
    assert_eq!(
        users["components"]["securitySchemes"]["bearerAuth"],
        json!({
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": users["components"]["securitySchemes"]["bearerAuth"]["description"],
        })
    );
    let roles =
        |names: &[&str]| -> Value { names.iter().map(|name| json!({"bearerAuth": [name]})).collect() };
    let readers = roles(&["viewer", "editor", "admin"]);
    let cases = [
        ("/v1/users", "get", readers.clone()),
        ("/v1/users/{id}", "get", readers.clone()),
        ("/v1/users:stream", "get", readers),
        ("/v1/users/{user.id}", "patch", roles(&["editor", "admin"])),
        ("/v1/users/{user.id}", "put", roles(&["editor", "admin"])),
        ("/v1/users", "post", roles(&["admin"])),
        ("/v1/users/{id}", "delete", roles(&["admin"])),
        ("/v1/users:bulkCreate", "post", roles(&["admin"])),
        ("/v1/users:sync", "post", roles(&["admin"])),
    ];
    for (path, method, security) in cases {
        let operation = &users["paths"][path][method];
        assert_eq!(operation["security"], security, "{method} {path}");
        for code in ["401", "403"] {
            assert!(
                operation["responses"][code].is_object(),
                "{method} {path} documents {code}"
            );
        }
        let description = operation["description"].as_str().unwrap();
        assert!(
            description.contains("Access: a bearer token with one of the roles"),
            "{description}"
        );
    }
}
