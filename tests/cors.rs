//! CORS over real sockets: off by default; with `--cors-allow-origin`,
//! preflights on REST routes, `/openapi.json` and gRPC-Web paths answer
//! 204 with that path's methods and the allowed headers, answers carry the
//! exposed headers, and other origins get no CORS headers at all.

mod common;

use common::TestServer;
use gateway::config::Config;
use gateway::server::{self, ServerError};
use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderName};

const APP: &str = "https://app.example.com";
const OTHER: &str = "https://evil.example.net";

async fn cors_server() -> TestServer {
    TestServer::start_configured(|config| {
        config.cors_allow_origins = vec![APP.to_owned()];
        config.cors_allow_headers = vec![HeaderName::from_static("grpc-metadata-tenant")];
        config.cors_expose_headers = vec![HeaderName::from_static("grpc-metadata-served-by")];
    })
    .await
}

/// `OPTIONS path` from `origin` asking for `method`; the status and headers.
async fn preflight(server: &TestServer, path: &str, origin: &str, method: &str) -> (u16, HeaderMap) {
    let response = server
        .http
        .request(Method::OPTIONS, server.url(path))
        .header("origin", origin)
        .header("access-control-request-method", method)
        .header("access-control-request-headers", "content-type,if-match")
        .send()
        .await
        .expect("send the preflight");
    (response.status().as_u16(), response.headers().clone())
}

/// `GET path` from `origin`.
async fn get_from(server: &TestServer, path: &str, origin: &str) -> reqwest::Response {
    let request = server.http.get(server.url(path)).header("origin", origin);
    request.send().await.expect("send the GET")
}

fn text<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get(name)
        .map(|value| value.to_str().expect("a text header"))
}

/// The comma-separated names of `name`, lower-cased and sorted.
fn names(headers: &HeaderMap, name: &str) -> Vec<String> {
    let mut names: Vec<String> = headers
        .get_all(name)
        .iter()
        .flat_map(|value| value.to_str().expect("a text header").split(','))
        .map(|item| item.trim().to_ascii_lowercase())
        .filter(|item| !item.is_empty())
        .collect();
    names.sort_unstable();
    names
}

fn assert_no_cors(headers: &HeaderMap, what: &str) {
    let cors: Vec<&str> = headers
        .keys()
        .map(HeaderName::as_str)
        .filter(|name| name.starts_with("access-control-"))
        .collect();
    assert!(cors.is_empty(), "{what}: unexpected CORS headers {cors:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn preflights_list_the_methods_of_their_path() {
    let server = cors_server().await;
    let cases: [(&str, &str, &[&str]); 5] = [
        ("/v1/users", "POST", &["get", "post"]),
        ("/v1/users/some-id", "PATCH", &["delete", "get", "patch", "put"]),
        ("/v1/users:stream", "GET", &["get"]),
        ("/openapi.json", "GET", &["get", "head"]),
        ("/users.v1.UserService/GetUser", "POST", &["post"]),
    ];
    for (path, method, expected) in cases {
        let (status, headers) = preflight(&server, path, APP, method).await;
        assert_eq!(status, 204, "{path}");
        assert_eq!(text(&headers, "access-control-allow-origin"), Some(APP), "{path}");
        assert_eq!(
            names(&headers, "access-control-allow-methods"),
            expected,
            "{path}"
        );
        assert_eq!(
            names(&headers, "access-control-allow-headers"),
            [
                "authorization",
                "content-type",
                "grpc-metadata-tenant",
                "grpc-timeout",
                "if-match",
                "traceparent",
                "tracestate",
                "x-grpc-web",
                "x-request-id",
                "x-user-agent"
            ],
            "{path}"
        );
        assert_eq!(text(&headers, "access-control-max-age"), Some("600"), "{path}");
        assert!(names(&headers, "vary").contains(&"origin".to_owned()), "{path}");
        assert_eq!(text(&headers, "access-control-allow-credentials"), None, "{path}");
    }
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn answers_to_an_allowed_origin_expose_the_gateway_headers() {
    let server = cors_server().await;
    let created = server
        .http
        .post(server.url("/v1/users"))
        .header("origin", APP)
        .header("content-type", "application/json")
        .body(r#"{"name": "Ada", "email": "ada@example.com"}"#)
        .send()
        .await
        .expect("create");
    assert_eq!(created.status().as_u16(), 201);
    let headers = created.headers();
    assert_eq!(text(headers, "access-control-allow-origin"), Some(APP));
    assert_eq!(
        names(headers, "access-control-expose-headers"),
        [
            "etag",
            "grpc-message",
            "grpc-metadata-served-by",
            "grpc-status",
            "grpc-status-details-bin",
            "location",
            "x-request-id"
        ]
    );
    // gRPC-Web answers too: here trailers-only, its status in exposed headers.
    let grpc_web = server
        .http
        .post(server.url("/users.v1.UserService/GetUser"))
        .header("origin", APP)
        .header("content-type", "application/grpc-web+proto")
        .body(vec![0_u8; 5]) // one empty GetUserRequest frame
        .send()
        .await
        .expect("a gRPC-Web call");
    let headers = grpc_web.headers();
    assert_eq!(text(headers, "access-control-allow-origin"), Some(APP));
    assert_eq!(
        text(headers, "grpc-status"),
        Some("3"),
        "an empty id is INVALID_ARGUMENT"
    );
    assert!(names(headers, "access-control-expose-headers").contains(&"grpc-status".to_owned()));
    // Errors too, and the document.
    for path in ["/v1/users/missing", "/openapi.json"] {
        let response = get_from(&server, path, APP).await;
        assert_eq!(
            text(response.headers(), "access-control-allow-origin"),
            Some(APP),
            "{path}"
        );
    }
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn other_origins_and_plain_options_get_no_cors_headers() {
    let server = cors_server().await;
    // A preflight from an origin not on the list: the server's own answer.
    let (status, headers) = preflight(&server, "/v1/users", OTHER, "POST").await;
    assert_eq!(status, 204);
    assert_no_cors(&headers, "other origin's preflight");
    assert_eq!(text(&headers, "allow"), Some("GET, POST, OPTIONS"));
    let response = get_from(&server, "/v1/users", OTHER).await;
    assert_eq!(response.status().as_u16(), 200);
    assert_no_cors(response.headers(), "other origin's GET");
    // OPTIONS without a preflight's headers is the server's own 204.
    let plain = server.send(Method::OPTIONS, "/v1/users/some-id", None).await;
    assert_eq!(plain.status().as_u16(), 204);
    assert_no_cors(plain.headers(), "plain OPTIONS");
    assert_eq!(
        text(plain.headers(), "allow"),
        Some("DELETE, GET, PATCH, PUT, OPTIONS")
    );
    // A preflight to a path nothing serves: 404, no CORS headers.
    let (status, headers) = preflight(&server, "/v1/nowhere", APP, "GET").await;
    assert_eq!(status, 404);
    assert_no_cors(&headers, "unknown path");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn cors_is_off_by_default() {
    let server = TestServer::start().await;
    let (status, headers) = preflight(&server, "/v1/users", APP, "POST").await;
    assert_eq!(status, 204);
    assert_no_cors(&headers, "preflight without CORS");
    assert_eq!(text(&headers, "allow"), Some("GET, POST, OPTIONS"));
    let response = get_from(&server, "/v1/users", APP).await;
    assert_no_cors(response.headers(), "GET without CORS");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wildcard_allows_any_origin_and_credentials_need_a_list() {
    let server =
        TestServer::start_configured(|config| config.cors_allow_origins = vec!["*".to_owned()]).await;
    let (status, headers) = preflight(&server, "/v1/users", OTHER, "POST").await;
    assert_eq!(status, 204);
    assert_eq!(text(&headers, "access-control-allow-origin"), Some("*"));
    server.shutdown().await;

    let server = TestServer::start_configured(|config| {
        config.cors_allow_origins = vec![APP.to_owned()];
        config.cors_allow_credentials = true;
    })
    .await;
    let (_, headers) = preflight(&server, "/v1/users", APP, "POST").await;
    assert_eq!(text(&headers, "access-control-allow-origin"), Some(APP));
    assert_eq!(text(&headers, "access-control-allow-credentials"), Some("true"));
    server.shutdown().await;

    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut config = Config::with_database(common::database_in(dir.path()));
    config.cors_allow_origins = vec!["*".to_owned()];
    config.cors_allow_credentials = true;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let refused = server::run(listener, config, std::future::pending()).await;
    let Err(error @ ServerError::Edge(_)) = refused else {
        panic!("expected a start-up error, got {refused:?}");
    };
    assert!(
        error.to_string().contains("--cors-allow-credentials"),
        "the error names the flags: {error}"
    );
}
