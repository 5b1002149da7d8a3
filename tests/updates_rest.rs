//! `UpdateUser` and etags over REST, real sockets: PATCH with implied and
//! explicit masks, PUT, `If-Match` and `ETag`, stale etags on update and
//! delete. (The gRPC side is in `updates.rs`.)

mod common;

use common::{TestServer, assert_error_body, json_body, json_response};
use reqwest::Method;
use serde_json::{Value, json};

async fn rest_user(server: &TestServer) -> Value {
    server
        .create_user(json!({
            "name": "Ada Lovelace",
            "email": "ada@example.com",
            "role": "USER_ROLE_ADMIN",
            "address": {"street": "12 St James's Sq", "city": "London", "country": "UK"},
            "tags": ["math", "engines"],
            "metadata": {"team": "analytical"}
        }))
        .await
}

/// `before` with `changes` merged in (objects recursively), and the fields
/// every write changes copied from `after`.
fn expect_changed(before: &Value, after: &Value, changes: Value) -> Value {
    fn merge(target: &mut Value, changes: &Value) {
        match (target, changes) {
            (Value::Object(target), Value::Object(changes)) if !changes.is_empty() => {
                for (key, value) in changes {
                    merge(target.entry(key.clone()).or_insert(Value::Null), value);
                }
            }
            (target, changes) => *target = changes.clone(),
        }
    }
    let mut expected = before.clone();
    merge(&mut expected, &changes);
    expected["etag"] = after["etag"].clone();
    expected["updatedAt"] = after["updatedAt"].clone();
    expected
}

#[tokio::test(flavor = "multi_thread")]
async fn rest_patch_put_and_if_match() {
    let server = TestServer::start().await;
    let user = rest_user(&server).await;
    let id = user["id"].as_str().unwrap().to_owned();
    let path = format!("/v1/users/{id}");
    let mut current = user.clone();
    let mut failures: Vec<String> = Vec::new();

    // (what, method, path suffix, body, changes expected)
    let cases: Vec<(&str, Method, &str, Value, Value)> = vec![
        (
            "PATCH without a mask changes only what was sent",
            Method::PATCH,
            "",
            json!({"name": "New"}),
            json!({"name": "New"}),
        ),
        (
            "PATCH of a nested key changes only that key",
            Method::PATCH,
            "",
            json!({"address": {"city": "Oslo"}}),
            json!({"address": {"city": "Oslo"}}),
        ),
        (
            "PATCH ?update_mask=name ignores the other fields of the body",
            Method::PATCH,
            "?update_mask=name",
            json!({"name": "Masked", "email": "ignored@example.com"}),
            json!({"name": "Masked"}),
        ),
        (
            "PATCH with an empty list clears it",
            Method::PATCH,
            "",
            json!({"tags": []}),
            json!({"tags": []}),
        ),
    ];
    for (what, method, suffix, body, changes) in cases {
        let response = server
            .send(method, &format!("{path}{suffix}"), json_body(body))
            .await;
        let (status, updated) = json_response(response).await;
        if status != 200 {
            failures.push(format!("{what}: {status} {updated}"));
            continue;
        }
        let expected = expect_changed(&current, &updated, changes);
        if updated != expected {
            failures.push(format!("{what}: got {updated}, expected {expected}"));
        }
        current = updated;
    }

    // PUT replaces every writable field.
    let response = server
        .send(
            Method::PUT,
            &path,
            json_body(json!({"name": "Put", "email": "put@example.com"})),
        )
        .await;
    let (status, put) = json_response(response).await;
    let expected = expect_changed(
        &current,
        &put,
        json!({
            "name": "Put", "email": "put@example.com", "role": "USER_ROLE_UNSPECIFIED",
            "address": {"street": "", "city": "", "state": "", "country": "", "postalCode": ""},
            "tags": [], "metadata": {}
        }),
    );
    if status != 200 || put != expected {
        failures.push(format!(
            "PUT replaces everything: {status} {put}, expected {expected}"
        ));
    } else {
        current = put;
    }

    // Rejections: nothing changes.
    for (what, suffix, body) in [
        ("PATCH name=\"\" is 400", "", json!({"name": ""})),
        (
            "PATCH ?update_mask=id is 400",
            "?update_mask=id",
            json!({"name": "X"}),
        ),
    ] {
        let response = server
            .send(Method::PATCH, &format!("{path}{suffix}"), json_body(body))
            .await;
        let (status, body) = json_response(response).await;
        if status != 400 || body["code"] != 3 {
            failures.push(format!("{what}: got {status} {body}"));
        }
    }
    assert_eq!(
        server.get_json(&path).await.1,
        current,
        "rejected writes changed nothing"
    );

    // If-Match: stale → 409 and nothing changed; current → 200.
    let stale = user["etag"].as_str().unwrap();
    let response = server
        .send_if_match(
            Method::PATCH,
            &path,
            json_body(json!({"name": "Stale"})),
            Some(stale),
        )
        .await;
    let (status, body) = json_response(response).await;
    if status != 409 || body["code"] != 10 {
        failures.push(format!("PATCH with a stale If-Match: {status} {body}"));
    }
    let (status, body) = json_response(
        server
            .send_if_match(Method::DELETE, &path, None, Some(stale))
            .await,
    )
    .await;
    if status != 409 || body["code"] != 10 {
        failures.push(format!("DELETE with a stale If-Match: {status} {body}"));
    }
    let (status, after) = server.get_json(&path).await;
    assert_eq!((status, &after), (200, &current), "stale writes changed nothing");

    let fresh = current["etag"].as_str().unwrap().to_owned();
    let response = server
        .send_if_match(
            Method::PATCH,
            &path,
            json_body(json!({"name": "Fresh"})),
            Some(&fresh),
        )
        .await;
    let header = response
        .headers()
        .get("etag")
        .map(|v| v.to_str().unwrap().to_owned());
    let (status, fresh_body) = json_response(response).await;
    if status != 200 || fresh_body["name"] != "Fresh" {
        failures.push(format!("PATCH with the current If-Match: {status} {fresh_body}"));
    } else if header != Some(format!("\"{}\"", fresh_body["etag"].as_str().unwrap())) {
        failures.push(format!(
            "PATCH answers an ETag header {header:?} for {fresh_body}"
        ));
    }

    // GET carries the ETag header.
    let response = server.http.get(server.url(&path)).send().await.unwrap();
    let header = response
        .headers()
        .get("etag")
        .map(|v| v.to_str().unwrap().to_owned());
    let (_, got) = json_response(response).await;
    if header != Some(format!("\"{}\"", got["etag"].as_str().unwrap())) {
        failures.push(format!("GET answers an ETag header {header:?} for {got}"));
    }

    // DELETE with the current If-Match works.
    let current_etag = got["etag"].as_str().unwrap().to_owned();
    let (status, body) = json_response(
        server
            .send_if_match(Method::DELETE, &path, None, Some(&current_etag))
            .await,
    )
    .await;
    if status != 200 {
        failures.push(format!("DELETE with the current If-Match: {status} {body}"));
    }
    assert!(
        failures.is_empty(),
        "REST update failures:\n{}",
        failures.join("\n")
    );
    let (status, body) = server.get_json(&path).await;
    assert_eq!(status, 404);
    assert_error_body(&body, 5);
    server.shutdown().await;
}
