//! Request ids, on both faces: a client's acceptable `X-Request-Id` is
//! kept, anything else replaced by a UUIDv7; the service (and the policy
//! chain) sees it as metadata, the client gets it back, and REST errors
//! name it in a `google.rpc.RequestInfo` detail.

mod common;

use std::sync::{Arc, Mutex};

use common::{TestServer, assert_error_body, create_request, json_response};
use gateway::proto::users::v1::GetUserRequest;
use gateway::transcode::interceptor::{CallInfo, Interceptor};
use http::Extensions;
use serde_json::json;
use tonic::metadata::MetadataMap;

/// Records the `x-request-id` metadata of every call, by face.
#[derive(Default)]
struct SeenIds(Mutex<Vec<(&'static str, String)>>);

impl Interceptor for SeenIds {
    fn on_call(
        &self,
        call: &CallInfo,
        metadata: &mut MetadataMap,
        _: &mut Extensions,
    ) -> Result<(), tonic::Status> {
        let id = metadata
            .get("x-request-id")
            .and_then(|value| value.to_str().ok())
            .unwrap_or("")
            .to_owned();
        self.0.lock().unwrap().push((call.face.as_str(), id));
        Ok(())
    }
}

fn is_uuid_v7(text: &str) -> bool {
    uuid::Uuid::parse_str(text).is_ok_and(|id| id.get_version_num() == 7)
}

#[tokio::test(flavor = "multi_thread")]
async fn rest_keeps_an_acceptable_id_and_names_it_in_errors() {
    let seen = Arc::new(SeenIds::default());
    let server = TestServer::start_with(vec![seen.clone()]).await;

    let response = server
        .http
        .get(server.url("/v1/users/missing"))
        .header("x-request-id", "order-42")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "order-42");
    let (status, body) = json_response(response).await;
    assert_eq!(status, 404, "{body}");
    assert_error_body(&body, 5);
    let info = body["details"]
        .as_array()
        .unwrap()
        .iter()
        .find(|detail| detail["@type"] == "type.googleapis.com/google.rpc.RequestInfo")
        .unwrap_or_else(|| panic!("no RequestInfo in {body}"));
    assert_eq!(info["requestId"], "order-42");

    // Errors the gateway itself answers (no route) name it too.
    let response = server
        .http
        .get(server.url("/v2/nothing"))
        .header("x-request-id", "order-43")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "order-43");
    let (_, body) = json_response(response).await;
    assert_eq!(body["details"][0]["requestId"], "order-43", "{body}");

    // The service saw the same id.
    assert_eq!(
        seen.0.lock().unwrap().as_slice(),
        [("rest", "order-42".to_owned())]
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn rest_makes_an_id_when_none_is_acceptable() {
    let seen = Arc::new(SeenIds::default());
    let server = TestServer::start_with(vec![seen.clone()]).await;
    let mut made = Vec::new();
    for given in [None, Some("has a space"), Some("")] {
        let mut request = server.http.post(server.url("/v1/users")).json(&json!({
            "name": "Ada", "email": format!("ada{}@example.com", made.len())
        }));
        if let Some(given) = given {
            request = request.header("x-request-id", given);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 201);
        let id = response.headers()["x-request-id"].to_str().unwrap().to_owned();
        assert!(is_uuid_v7(&id), "{given:?} → {id}");
        made.push(id);
    }
    made.dedup();
    assert_eq!(made.len(), 3, "each request its own id: {made:?}");
    let seen: Vec<String> = seen.0.lock().unwrap().iter().map(|(_, id)| id.clone()).collect();
    assert_eq!(seen, made, "the service saw the ids the client got back");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn grpc_keeps_or_makes_the_id_and_returns_it() {
    let seen = Arc::new(SeenIds::default());
    let server = TestServer::start_with(vec![seen.clone()]).await;
    let mut client = server.grpc().await;

    let mut request = tonic::Request::new(GetUserRequest {
        id: "missing".to_owned(),
    });
    request
        .metadata_mut()
        .insert("x-request-id", "call-7".parse().unwrap());
    let status = client.get_user(request).await.expect_err("not found");
    assert_eq!(status.code(), tonic::Code::NotFound);
    assert_eq!(status.metadata().get("x-request-id").unwrap(), "call-7");

    let created = client
        .create_user(create_request("Bo", "bo@example.com", &[]))
        .await
        .expect("created");
    let made = created
        .metadata()
        .get("x-request-id")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(is_uuid_v7(&made), "{made}");

    let seen = seen.0.lock().unwrap().clone();
    assert_eq!(seen, [("grpc", "call-7".to_owned()), ("grpc", made)]);
    server.shutdown().await;
}
