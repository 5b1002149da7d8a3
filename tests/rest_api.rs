//! The HTTP/JSON face of `users.v1.UserService`, over real sockets; each
//! test runs its own server on its own database.

mod common;

use common::{TestServer, assert_error_body, form_encode, json_body, json_response};
use reqwest::Method;
use reqwest::header::{ALLOW, CONTENT_TYPE, LOCATION};
use serde_json::{Value, json};

const INVALID_ARGUMENT: i64 = 3;
const NOT_FOUND: i64 = 5;
const ALREADY_EXISTS: i64 = 6;
const RESOURCE_EXHAUSTED: i64 = 8;
const UNIMPLEMENTED: i64 = 12;

/// Every field of a rendered `User`, sorted.
const USER_KEYS: [&str; 10] = [
    "address",
    "createdAt",
    "email",
    "etag",
    "id",
    "metadata",
    "name",
    "role",
    "tags",
    "updatedAt",
];

fn header(response: &reqwest::Response, name: reqwest::header::HeaderName) -> String {
    let value = response
        .headers()
        .get(&name)
        .unwrap_or_else(|| panic!("a {name} header"));
    value.to_str().expect("a text header").to_owned()
}

/// POSTs `text` to `/v1/users` as `application/json`.
async fn post_json(server: &TestServer, text: &str) -> reqwest::Response {
    server.send(Method::POST, "/v1/users", json_body(text)).await
}

fn sorted_keys(value: &Value) -> Vec<String> {
    let mut keys: Vec<String> = value.as_object().expect("an object").keys().cloned().collect();
    keys.sort_unstable();
    keys
}

async fn create_named(server: &TestServer, n: usize) -> Value {
    server
        .create_user(json!({"name": format!("User {n}"), "email": format!("user{n}@example.com")}))
        .await
}

#[tokio::test(flavor = "multi_thread")]
async fn create_returns_201_with_location_and_the_user_at_top_level() {
    let server = TestServer::start().await;
    let request = json!({
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "role": "USER_ROLE_EDITOR",
        "address": {"street": "1 Analytical Way", "city": "London", "state": "", "country": "UK", "postalCode": "N1 9GU"},
        "tags": ["math", "poetry"],
        "metadata": {"team": "engines"}
    });
    let response = post_json(&server, &request.to_string()).await;
    assert_eq!(response.status().as_u16(), 201);
    let location = header(&response, LOCATION);
    let content_type = header(&response, CONTENT_TYPE);
    assert!(content_type.starts_with("application/json"), "{content_type}");
    let (_, user) = json_response(response).await;

    let id = user["id"].as_str().expect("id is a string");
    assert!(!id.is_empty());
    assert_eq!(location, format!("/v1/users/{id}"));
    assert_eq!(sorted_keys(&user), USER_KEYS);
    assert_eq!(user["name"], "Ada Lovelace");
    assert_eq!(user["email"], "ada@example.com");
    assert_eq!(user["role"], "USER_ROLE_EDITOR");
    assert_eq!(user["address"], request["address"]);
    assert_eq!(user["tags"], json!(["math", "poetry"]));
    assert_eq!(user["metadata"], json!({"team": "engines"}));
    for stamp in ["createdAt", "updatedAt"] {
        let text = user[stamp]
            .as_str()
            .unwrap_or_else(|| panic!("{stamp} is a string: {user}"));
        assert!(
            text.ends_with('Z') && text.contains('T'),
            "{stamp} is RFC 3339: {text}"
        );
    }

    let (status, fetched) = server.get_json(&location).await;
    assert_eq!(status, 200, "{fetched}");
    assert_eq!(fetched, user);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn unpopulated_fields_are_rendered_with_their_defaults() {
    let server = TestServer::start().await;
    let user = server
        .create_user(json!({"name": "Bob", "email": "bob@example.com"}))
        .await;
    assert_eq!(user["role"], "USER_ROLE_UNSPECIFIED");
    assert_eq!(user["tags"], json!([]));
    assert_eq!(user["metadata"], json!({}));
    let empty_address = json!({"street": "", "city": "", "state": "", "country": "", "postalCode": ""});
    assert_eq!(sorted_keys(&user), USER_KEYS, "every field is present: {user}");
    assert_eq!(user["address"], empty_address, "{user}");
    let (_, fetched) = server
        .get_json(&format!("/v1/users/{}", user["id"].as_str().unwrap()))
        .await;
    assert_eq!(fetched, user, "GET renders the same shape");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn proto_field_names_and_numeric_enums_are_accepted() {
    let server = TestServer::start().await;
    let user = server
        .create_user(json!({"name": "Cy", "email": "cy@example.com", "role": 2, "address": {"postal_code": "10115", "city": "Berlin"}}))
        .await;
    assert_eq!(user["role"], "USER_ROLE_EDITOR");
    assert_eq!(user["address"]["postalCode"], "10115");
    assert_eq!(user["address"]["city"], "Berlin");
    assert!(
        user["address"].get("postal_code").is_none(),
        "output uses lowerCamelCase: {user}"
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn list_returns_users_in_creation_order_and_an_empty_token() {
    let server = TestServer::start().await;
    let (status, empty) = server.get_json("/v1/users").await;
    assert_eq!(status, 200);
    assert_eq!(empty, json!({"users": [], "nextPageToken": "", "totalSize": 0}));

    let first = create_named(&server, 1).await;
    let second = create_named(&server, 2).await;
    let (status, listed) = server.get_json("/v1/users").await;
    assert_eq!(status, 200);
    assert_eq!(
        listed,
        json!({"users": [first, second], "nextPageToken": "", "totalSize": 2})
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn paging_walks_every_user_once_in_creation_order() {
    let server = TestServer::start().await;
    let mut created = Vec::new();
    for n in 0..5 {
        created.push(create_named(&server, n).await["id"].as_str().unwrap().to_owned());
    }
    let mut seen = Vec::new();
    let mut page_sizes = Vec::new();
    let mut token = String::new();
    for _ in 0..10 {
        let query = if token.is_empty() {
            String::new()
        } else {
            format!("&page_token={}", form_encode(&token))
        };
        let (status, page) = server.get_json(&format!("/v1/users?page_size=2{query}")).await;
        assert_eq!(status, 200, "{page}");
        let users = page["users"].as_array().expect("users is an array");
        page_sizes.push(users.len());
        seen.extend(users.iter().map(|user| user["id"].as_str().unwrap().to_owned()));
        token = page["nextPageToken"]
            .as_str()
            .expect("nextPageToken is a string")
            .to_owned();
        if token.is_empty() {
            break;
        }
    }
    assert!(token.is_empty(), "paging did not end");
    assert_eq!(page_sizes, [2, 2, 1]);
    assert_eq!(seen, created);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn page_size_is_clamped_above_and_rejected_below_zero() {
    let server = TestServer::start().await;
    for n in 0..3 {
        create_named(&server, n).await;
    }
    let (status, page) = server.get_json("/v1/users?page_size=5000").await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["users"].as_array().unwrap().len(), 3);
    assert_eq!(page["nextPageToken"], "");

    let (status, body) = server.get_json("/v1/users?page_size=-1").await;
    assert_eq!(status, 400, "{body}");
    assert_error_body(&body, INVALID_ARGUMENT);
    assert!(body["message"].as_str().unwrap().contains("page_size"), "{body}");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn tampered_page_tokens_are_rejected() {
    let server = TestServer::start().await;
    for n in 0..2 {
        create_named(&server, n).await;
    }
    let (_, page) = server.get_json("/v1/users?page_size=1").await;
    let token = page["nextPageToken"].as_str().unwrap().to_owned();
    assert!(!token.is_empty());
    // Change one character of the token, keeping it in the same alphabet.
    let mut bytes = token.clone().into_bytes();
    let middle = bytes.len() / 2;
    bytes[middle] = if bytes[middle] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(bytes).unwrap();
    for bad in [tampered.as_str(), "not-a-token", "AAAA"] {
        let (status, body) = server
            .get_json(&format!("/v1/users?page_token={}", form_encode(bad)))
            .await;
        assert_eq!(status, 400, "token {bad:?}: {body}");
        assert_error_body(&body, INVALID_ARGUMENT);
    }
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn delete_then_get_and_delete_again_are_not_found() {
    let server = TestServer::start().await;
    let user = create_named(&server, 1).await;
    let id = user["id"].as_str().unwrap();
    let path = format!("/v1/users/{id}");

    let (status, body) = server.delete_json(&path).await;
    assert_eq!((status, body), (200, json!({})));
    for (what, (status, body)) in [
        ("get", server.get_json(&path).await),
        ("delete", server.delete_json(&path).await),
    ] {
        assert_eq!(status, 404, "{what}: {body}");
        assert_error_body(&body, NOT_FOUND);
        assert!(body["message"].as_str().unwrap().contains(id), "{what}: {body}");
    }
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn url_encoded_ids_are_decoded() {
    let server = TestServer::start().await;
    let (status, body) = server.get_json("/v1/users/a%20b").await;
    assert_eq!(status, 404, "{body}");
    assert_error_body(&body, NOT_FOUND);
    assert!(body["message"].as_str().unwrap().contains("a b"), "{body}");
    server.shutdown().await;
}

/// Asserts that `response` is the error `status`/`code` whose message
/// mentions every one of `words`.
async fn expect_error(response: reqwest::Response, status: u16, code: i64, words: &[&str]) {
    let label = format!("{}", response.url());
    let (got, error) = json_response(response).await;
    assert_eq!(got, status, "{label}: {error}");
    assert_error_body(&error, code);
    let message = error["message"].as_str().unwrap();
    for word in words {
        assert!(
            message.contains(word),
            "{label}: message should mention {word:?}: {message}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_requests_get_google_rpc_status_errors() {
    let server = TestServer::start().await;
    let s = &server;
    let malformed = "{\"name\": \"Ann\",\n \"email\": }";
    expect_error(
        post_json(s, malformed).await,
        400,
        INVALID_ARGUMENT,
        &["line", "column"],
    )
    .await;
    let unknown = r#"{"name": "Ann", "email": "ann@example.com", "nickname": "x"}"#;
    expect_error(post_json(s, unknown).await, 400, INVALID_ARGUMENT, &["nickname"]).await;
    let unknown_param = s.send(Method::GET, "/v1/users?colour=red", None).await;
    expect_error(unknown_param, 400, INVALID_ARGUMENT, &["colour"]).await;
    let wrong_type = s.send(Method::GET, "/v1/users?page_size=abc", None).await;
    expect_error(wrong_type, 400, INVALID_ARGUMENT, &["page_size"]).await;
    let put = s.send(Method::PUT, "/v1/users", json_body("{}")).await;
    expect_error(put, 405, UNIMPLEMENTED, &[]).await;
    for path in ["/v1/nowhere", "/v2/users", "/v1/users/a/b"] {
        expect_error(s.send(Method::GET, path, None).await, 404, NOT_FOUND, &[]).await;
    }
    let text = Some((
        "text/plain",
        br#"{"name": "Ann", "email": "ann@example.com"}"#.to_vec(),
    ));
    let plain = s.send(Method::POST, "/v1/users", text).await;
    expect_error(plain, 415, INVALID_ARGUMENT, &[]).await;
    let (_, listed) = server.get_json("/v1/users").await;
    assert_eq!(listed["users"], json!([]), "no bad request created a user");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn options_on_a_route_lists_its_methods() {
    let server = TestServer::start().await;
    let cases: [(&str, &[&str]); 3] = [
        ("/v1/users", &["GET", "POST", "OPTIONS"]),
        ("/v1/users/some-id", &["GET", "PATCH", "PUT", "DELETE", "OPTIONS"]),
        ("/v1/users:stream", &["GET", "OPTIONS"]),
    ];
    for (path, expected) in cases {
        let response = server.send(Method::OPTIONS, path, None).await;
        assert_eq!(response.status().as_u16(), 204, "{path}");
        let allow = header(&response, ALLOW);
        let mut methods: Vec<&str> = allow.split(',').map(str::trim).collect();
        let mut expected = expected.to_vec();
        methods.sort_unstable();
        expected.sort_unstable();
        assert_eq!(methods, expected, "{path}: Allow: {allow}");
    }
    let nowhere = server.send(Method::OPTIONS, "/v1/nowhere", None).await;
    assert_eq!(nowhere.status().as_u16(), 404);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_method_lists_the_allowed_ones() {
    let server = TestServer::start().await;
    let response = server.send(Method::PUT, "/v1/users", None).await;
    assert_eq!(response.status().as_u16(), 405);
    let allow = header(&response, ALLOW);
    let methods: Vec<&str> = allow.split(',').map(str::trim).collect();
    assert!(
        methods.contains(&"GET") && methods.contains(&"POST"),
        "Allow: {allow}"
    );
    let (_, body) = json_response(response).await;
    assert_error_body(&body, UNIMPLEMENTED);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bodies_over_one_mebibyte_are_rejected() {
    let server = TestServer::start().await;
    let name = "n".repeat(1024 * 1024 + 16);
    let body = json!({"name": name, "email": "big@example.com"}).to_string();
    let (status, error) = json_response(post_json(&server, &body).await).await;
    assert_eq!(status, 413, "{error}");
    assert_error_body(&error, RESOURCE_EXHAUSTED);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_users_list_every_field_violation() {
    let server = TestServer::start().await;
    let response = post_json(&server, r#"{"name": "   ", "email": "not-an-email"}"#).await;
    let (status, body) = json_response(response).await;
    assert_eq!(status, 400, "{body}");
    assert_error_body(&body, INVALID_ARGUMENT);
    let detail = &body["details"][0];
    assert_eq!(
        detail["@type"], "type.googleapis.com/google.rpc.BadRequest",
        "{body}"
    );
    let fields: Vec<&str> = detail["fieldViolations"]
        .as_array()
        .unwrap_or_else(|| panic!("fieldViolations is an array: {body}"))
        .iter()
        .map(|violation| violation["field"].as_str().unwrap())
        .collect();
    assert!(
        fields.contains(&"name") && fields.contains(&"email"),
        "{fields:?}"
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn duplicate_emails_conflict_regardless_of_case() {
    let server = TestServer::start().await;
    server
        .create_user(json!({"name": "Dee", "email": "dee@example.com"}))
        .await;
    let response = post_json(&server, r#"{"name": "Dee Two", "email": "DEE@Example.COM"}"#).await;
    let (status, body) = json_response(response).await;
    assert_eq!(status, 409, "{body}");
    assert_error_body(&body, ALREADY_EXISTS);
    let (_, listed) = server.get_json("/v1/users").await;
    assert_eq!(listed["users"].as_array().unwrap().len(), 1);
    server.shutdown().await;
}
