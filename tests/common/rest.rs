//! Requests to a server's REST face, and what the tests read back: the
//! status and JSON body of an answer, and the shape of an error body.

use reqwest::Method;
use reqwest::header::{ACCEPT, CONTENT_TYPE, IF_MATCH};
use serde_json::Value;

use super::endpoint::Endpoint;
use super::guard::guarded;

/// An optional request body: its content type and bytes.
pub type RequestBody<'a> = Option<(&'a str, Vec<u8>)>;

/// `json` (text or a [`Value`]) as an `application/json` body.
pub fn json_body(json: impl std::fmt::Display) -> RequestBody<'static> {
    Some(("application/json", json.to_string().into_bytes()))
}

/// `value` encoded for a query string.
pub fn form_encode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

impl Endpoint {
    /// Sends `method path`, with `body` when there is one.
    pub async fn send(&self, method: Method, path: &str, body: RequestBody<'_>) -> reqwest::Response {
        self.send_if_match(method, path, body, None).await
    }

    /// [`Endpoint::send`], with `If-Match: "<etag>"` when `etag` is given.
    pub async fn send_if_match(
        &self,
        method: Method,
        path: &str,
        body: RequestBody<'_>,
        etag: Option<&str>,
    ) -> reqwest::Response {
        let mut request = self.http.request(method, self.url(path));
        if let Some((content_type, bytes)) = body {
            request = request.header(CONTENT_TYPE, content_type).body(bytes);
        }
        if let Some(etag) = etag {
            request = request.header(IF_MATCH, format!("\"{etag}\""));
        }
        request.send().await.expect("send the request")
    }

    /// POSTs `body` to `/v1/users`, asserts 201 and returns the user.
    pub async fn create_user(&self, body: Value) -> Value {
        let response = self.send(Method::POST, "/v1/users", json_body(&body)).await;
        let status = response.status().as_u16();
        let text = response.text().await.expect("read the create response");
        assert_eq!(status, 201, "create {body} answered {text}");
        serde_json::from_str(&text).expect("the create response is JSON")
    }

    /// GETs `path`; returns the status and the JSON body.
    pub async fn get_json(&self, path: &str) -> (u16, Value) {
        json_response(self.send(Method::GET, path, None).await).await
    }

    /// DELETEs `path`; returns the status and the JSON body.
    pub async fn delete_json(&self, path: &str) -> (u16, Value) {
        json_response(self.send(Method::DELETE, path, None).await).await
    }

    /// GETs `path` (with `Accept: accept` when given); returns the status,
    /// the content type (empty if there is none) and the body text.
    pub async fn get_text(&self, path: &str, accept: Option<&str>) -> (u16, String, String) {
        let mut request = self.http.get(self.url(path));
        if let Some(accept) = accept {
            request = request.header(ACCEPT, accept);
        }
        let response = guarded("the answer", request.send()).await.expect("send GET");
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let text = guarded("the body", response.text()).await.expect("read the body");
        (status, content_type, text)
    }
}

/// The status and JSON body of `response` (panics if the body is not JSON).
pub async fn json_response(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.expect("read the response body");
    let body =
        serde_json::from_str(&text).unwrap_or_else(|error| panic!("body is not JSON ({error}): {text:?}"));
    (status, body)
}

/// Asserts that `body` is a `google.rpc.Status` JSON with exactly the keys
/// `code` (= `expected_code`), `message` and `details` (an array).
pub fn assert_error_body(body: &Value, expected_code: i64) {
    let object = body
        .as_object()
        .unwrap_or_else(|| panic!("error body is not an object: {body}"));
    let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["code", "details", "message"], "error body keys: {body}");
    assert_eq!(body["code"].as_i64(), Some(expected_code), "error code: {body}");
    assert!(body["message"].is_string(), "message is a string: {body}");
    assert!(body["details"].is_array(), "details is an array: {body}");
}
