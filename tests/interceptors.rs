//! The policy chain: every call passes it exactly once, over gRPC, over
//! REST (direct unary calls, calls through tonic's routes, HTTP streams) and
//! over a WebSocket; a rejecting interceptor stops the call before the
//! service runs, on both faces.

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{TestServer, assert_error_body, create_request, guarded, json_body, json_response};
use futures_util::{SinkExt as _, StreamExt as _};
use gateway::proto::users::v1::sync_request::Operation;
use gateway::proto::users::v1::{
    DeleteUserRequest, GetUserRequest, ListUsersRequest, StreamUsersRequest, SyncRequest, UpdateUserRequest,
    User,
};
use gateway::transcode::interceptor::{CallInfo, Face, Interceptor};
use http::Extensions;
use reqwest::Method;
use serde_json::json;
use tonic::metadata::MetadataMap;

/// The eight RPCs of `users.v1.UserService`.
const RPCS: [&str; 8] = [
    "CreateUser",
    "GetUser",
    "ListUsers",
    "UpdateUser",
    "DeleteUser",
    "StreamUsers",
    "BulkCreateUsers",
    "SyncUsers",
];

/// Counts the starts and ends it sees, by face and method.
#[derive(Default)]
struct Counter {
    started: Mutex<BTreeMap<(&'static str, String), usize>>,
    ended: Mutex<BTreeMap<(&'static str, String), Vec<tonic::Code>>>,
}

impl Interceptor for Counter {
    fn on_call(&self, call: &CallInfo, _: &mut MetadataMap, _: &mut Extensions) -> Result<(), tonic::Status> {
        if call.service() == "users.v1.UserService" {
            let key = (call.face.as_str(), call.method().to_owned());
            *self.started.lock().unwrap().entry(key).or_default() += 1;
        }
        Ok(())
    }

    fn on_end(&self, call: &CallInfo, code: tonic::Code, _: Duration) {
        if call.service() == "users.v1.UserService" {
            let key = (call.face.as_str(), call.method().to_owned());
            self.ended.lock().unwrap().entry(key).or_default().push(code);
        }
    }
}

impl Counter {
    /// Waits (bounded) until each `(rpc, times)` of `face` has ended
    /// `times` times, each with OK, then checks it started as often, and
    /// that no other call of that face was seen.
    async fn expect(&self, face: Face, expected: &[(&str, usize)]) {
        let face = face.as_str();
        let all_ended = || {
            let ended = self.ended.lock().unwrap();
            expected
                .iter()
                .all(|(rpc, times)| ended.get(&(face, (*rpc).to_owned())).map_or(0, Vec::len) >= *times)
        };
        guarded("every call to end", async {
            while !all_ended() {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await;
        let started = self.started.lock().unwrap();
        let ended = self.ended.lock().unwrap();
        for (rpc, times) in expected {
            let key = (face, (*rpc).to_owned());
            assert_eq!(
                started.get(&key),
                Some(times),
                "{face} {rpc} started: {started:?}"
            );
            assert_eq!(ended[&key], vec![tonic::Code::Ok; *times], "{face} {rpc} ended");
        }
        let seen = started.keys().filter(|(seen_face, _)| *seen_face == face).count();
        assert_eq!(seen, expected.len(), "{face}: only the calls made: {started:?}");
    }
}

/// Each RPC once, `CreateUser` twice (a second user to delete).
fn each_rpc_once() -> Vec<(&'static str, usize)> {
    RPCS.iter()
        .map(|rpc| (*rpc, if *rpc == "CreateUser" { 2 } else { 1 }))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_grpc_call_passes_the_chain_once() {
    let counter = Arc::new(Counter::default());
    let server = TestServer::start_with(vec![counter.clone()]).await;
    let mut client = server.grpc().await;

    let user = client
        .create_user(create_request("Ada", "ada@example.com", &[]))
        .await
        .unwrap()
        .into_inner();
    let id = user.id.clone();
    client.get_user(GetUserRequest { id: id.clone() }).await.unwrap();
    client.list_users(ListUsersRequest::default()).await.unwrap();
    let renamed = User {
        name: "Ada L.".to_owned(),
        ..user
    };
    let update = UpdateUserRequest {
        user: Some(renamed),
        update_mask: Some(prost_types::FieldMask {
            paths: vec!["name".to_owned()],
        }),
        etag: String::new(),
    };
    client.update_user(update).await.unwrap();
    let mut stream = client
        .stream_users(StreamUsersRequest::default())
        .await
        .unwrap()
        .into_inner();
    while stream.message().await.unwrap().is_some() {}
    let bulk = futures_util::stream::iter([create_request("Bo", "bo@example.com", &[])]);
    client.bulk_create_users(bulk).await.unwrap();
    let sync = futures_util::stream::iter([SyncRequest {
        operation: Some(Operation::DeleteId(id.clone())),
    }]);
    let mut answers = client.sync_users(sync).await.unwrap().into_inner();
    while answers.message().await.unwrap().is_some() {}
    let created = client
        .create_user(create_request("Cy", "cy@example.com", &[]))
        .await
        .unwrap()
        .into_inner();
    client
        .delete_user(DeleteUserRequest {
            id: created.id,
            etag: String::new(),
        })
        .await
        .unwrap();

    counter.expect(Face::Grpc, &each_rpc_once()).await;
    assert!(
        counter
            .started
            .lock()
            .unwrap()
            .keys()
            .all(|(face, _)| *face == "grpc")
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn every_rest_call_passes_the_chain_once() {
    let counter = Arc::new(Counter::default());
    let server = TestServer::start_with(vec![counter.clone()]).await;

    let created = server
        .create_user(json!({"name": "Ada", "email": "ada@example.com"}))
        .await;
    let id = created["id"].as_str().unwrap().to_owned();
    let (status, _) = server.get_json(&format!("/v1/users/{id}")).await;
    assert_eq!(status, 200);
    let (status, _) = server.get_json("/v1/users").await;
    assert_eq!(status, 200);
    let patched = server
        .send(
            Method::PATCH,
            &format!("/v1/users/{id}"),
            json_body(json!({"name": "Ada L."})),
        )
        .await;
    assert_eq!(patched.status(), 200);
    let streamed = server.send(Method::GET, "/v1/users:stream", None).await;
    assert_eq!(streamed.status(), 200);
    streamed.text().await.unwrap();
    let ndjson = |text: &str| Some(("application/x-ndjson", text.as_bytes().to_vec()));
    let bulk = server
        .send(
            Method::POST,
            "/v1/users:bulkCreate",
            ndjson(r#"{"name": "Bo", "email": "bo@example.com"}"#),
        )
        .await;
    assert_eq!(json_response(bulk).await.0, 200);
    let sync = server
        .send(
            Method::POST,
            "/v1/users:sync",
            ndjson(&format!(r#"{{"deleteId": "{id}"}}"#)),
        )
        .await;
    assert_eq!(sync.status(), 200);
    sync.text().await.unwrap();
    let other = server
        .create_user(json!({"name": "Cy", "email": "cy@example.com"}))
        .await;
    let (status, _) = server
        .delete_json(&format!("/v1/users/{}", other["id"].as_str().unwrap()))
        .await;
    assert_eq!(status, 200);

    counter.expect(Face::Rest, &each_rpc_once()).await;

    // One call over a WebSocket: the chain sees it once, as a WebSocket call.
    let url = format!("ws://{}/v1/users:sync", server.addr());
    let (mut socket, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("open the WebSocket");
    let upsert = json!({"upsert": {"name": "Di", "email": "di@example.com"}}).to_string();
    socket
        .send(tokio_tungstenite::tungstenite::Message::Text(upsert.into()))
        .await
        .unwrap();
    let answer = socket.next().await.expect("an answer").expect("a frame");
    assert!(answer.to_text().unwrap().contains("di@example.com"), "{answer}");
    socket.close(None).await.unwrap();
    counter.expect(Face::WebSocket, &[("SyncUsers", 1)]).await;
    server.shutdown().await;
}

/// Rejects `CreateUser` before the service runs.
struct NoCreates;

impl Interceptor for NoCreates {
    fn on_call(&self, call: &CallInfo, _: &mut MetadataMap, _: &mut Extensions) -> Result<(), tonic::Status> {
        if call.method() == "CreateUser" {
            return Err(tonic::Status::permission_denied("creating users is switched off"));
        }
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rejecting_interceptor_stops_the_call_on_both_faces() {
    let server = TestServer::start_with(vec![Arc::new(NoCreates)]).await;

    let response = server
        .send(
            Method::POST,
            "/v1/users",
            json_body(json!({"name": "Ada", "email": "ada@example.com"})),
        )
        .await;
    let (status, body) = json_response(response).await;
    assert_eq!(status, 403, "{body}");
    assert_error_body(&body, 7);
    assert_eq!(body["message"], "creating users is switched off");

    let mut client = server.grpc().await;
    let rejected = client
        .create_user(create_request("Bo", "bo@example.com", &[]))
        .await
        .expect_err("rejected");
    assert_eq!(rejected.code(), tonic::Code::PermissionDenied);
    assert_eq!(rejected.message(), "creating users is switched off");

    // Neither reached the service; other calls still do.
    let listed = client
        .list_users(ListUsersRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.users.len(), 0);
    let (status, body) = server.get_json("/v1/users").await;
    assert_eq!((status, body["users"].clone()), (200, json!([])));
    server.shutdown().await;
}
