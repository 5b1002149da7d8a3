//! The streaming RPCs over gRPC with the generated tonic client: a server
//! stream to completion, a client stream with bad items, bidi answered one
//! request at a time, and a server stream dropped early.

mod common;

use common::{SyncCall, TestServer, bulk_create, create_request, guarded, upsert};
use gateway::proto::google::rpc::BadRequest;
use gateway::proto::users::v1::sync_request::Operation;
use gateway::proto::users::v1::{
    CreateUserRequest, GetUserRequest, ListUsersRequest, StreamUsersRequest, SyncRequest, SyncStatus, User,
};
use prost::Message as _;
use tonic::Code;
use tonic::codec::Streaming;

/// Every message of a server stream, failing on an error status.
async fn collect<T>(mut stream: Streaming<T>) -> Vec<T> {
    let mut messages = Vec::new();
    while let Some(message) = guarded("a stream message", stream.message())
        .await
        .expect("a message")
    {
        messages.push(message);
    }
    messages
}

async fn stream_all(server: &TestServer, filter: &str, order_by: &str) -> Vec<User> {
    let mut client = server.grpc().await;
    let request = StreamUsersRequest {
        filter: filter.to_owned(),
        order_by: order_by.to_owned(),
    };
    let stream = client
        .stream_users(request)
        .await
        .expect("StreamUsers")
        .into_inner();
    collect(stream).await
}

#[tokio::test(flavor = "multi_thread")]
async fn bulk_create_then_stream_filtered_and_ordered() {
    let server = TestServer::start().await;
    let mut client = server.grpc().await;
    let requests = vec![
        create_request("Carol", "carol@example.com", &["odd"]),
        create_request("", "nameless@example.com", &[]),
        create_request("Alice", "alice@example.com", &["even"]),
        create_request("Erin", "erin@example.com", &["odd"]),
        create_request("Carol Copy", "CAROL@example.com", &[]),
        create_request("Bob", "bob@example.com", &["even"]),
        create_request("Dave", "not-an-email", &[]),
    ];
    let response = bulk_create(&mut client, requests).await;
    assert_eq!(response.created_count, 4, "{response:?}");
    let failures: Vec<(i32, i32)> = response
        .failures
        .iter()
        .map(|failure| (failure.index, failure.status.as_ref().expect("a status").code))
        .collect();
    assert_eq!(
        failures,
        [
            (1, Code::InvalidArgument as i32),
            (4, Code::AlreadyExists as i32),
            (6, Code::InvalidArgument as i32)
        ]
    );
    let invalid = response.failures[0].status.as_ref().unwrap();
    assert_eq!(invalid.details.len(), 1, "{invalid:?}");
    assert_eq!(
        invalid.details[0].type_url,
        "type.googleapis.com/google.rpc.BadRequest"
    );
    let bad_request = BadRequest::decode(invalid.details[0].value.as_slice()).unwrap();
    assert_eq!(bad_request.field_violations[0].field, "name");

    let all = stream_all(&server, "", "").await;
    let names: Vec<&str> = all.iter().map(|user| user.name.as_str()).collect();
    assert_eq!(names, ["Carol", "Alice", "Erin", "Bob"], "creation order");
    for user in &all {
        assert!(user.created_at.is_some() && !user.etag.is_empty(), "{user:?}");
    }
    // The stream agrees with the unary read of each user.
    for user in &all {
        let got = client
            .get_user(GetUserRequest { id: user.id.clone() })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(got.user.as_ref(), Some(user));
    }

    let odd = stream_all(&server, "tags:\"odd\"", "name desc").await;
    assert_eq!(odd, [all[2].clone(), all[0].clone()]);
    let by_name = stream_all(&server, "", "name").await;
    let names: Vec<&str> = by_name.iter().map(|user| user.name.as_str()).collect();
    assert_eq!(names, ["Alice", "Bob", "Carol", "Erin"]);
    assert!(stream_all(&server, "name = \"Nobody\"", "").await.is_empty());

    let status = client
        .stream_users(StreamUsersRequest {
            filter: "(((".to_owned(),
            order_by: String::new(),
        })
        .await
        .expect_err("a bad filter fails the call");
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert!(status.message().contains("position"), "{status:?}");
    server.shutdown().await;
}

fn delete(id: &str) -> SyncRequest {
    SyncRequest {
        operation: Some(Operation::DeleteId(id.to_owned())),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn sync_answers_each_request_before_the_next_is_sent() {
    let server = TestServer::start().await;
    let mut client = server.grpc().await;
    let mut sync = SyncCall::open(&mut client).await;

    let new_user = User {
        name: "Sync".to_owned(),
        email: "sync@example.com".to_owned(),
        tags: vec!["a".to_owned()],
        ..Default::default()
    };
    let created = sync.round_trip(upsert(new_user)).await;
    assert_eq!(
        (created.index, created.status()),
        (0, SyncStatus::Created),
        "{created:?}"
    );
    let stored = created.user.clone().expect("the created user");
    assert_eq!(created.id, stored.id);
    assert_eq!(stored.tags, ["a"]);

    // By id: every writable field is replaced.
    let replacement = User {
        id: stored.id.clone(),
        name: "Sync Two".to_owned(),
        email: "sync2@example.com".to_owned(),
        ..Default::default()
    };
    let updated = sync.round_trip(upsert(replacement)).await;
    assert_eq!(
        (updated.index, updated.status()),
        (1, SyncStatus::Updated),
        "{updated:?}"
    );
    let user = updated.user.clone().unwrap();
    assert_eq!(
        (user.id.as_str(), user.name.as_str()),
        (stored.id.as_str(), "Sync Two")
    );
    assert!(user.tags.is_empty(), "{user:?}");
    assert_ne!(user.etag, stored.etag);

    let invalid = sync
        .round_trip(upsert(User {
            email: "x@example.com".to_owned(),
            ..Default::default()
        }))
        .await;
    assert_eq!(
        (invalid.index, invalid.status()),
        (2, SyncStatus::Failed),
        "{invalid:?}"
    );
    assert_eq!(invalid.error.as_ref().unwrap().code, Code::InvalidArgument as i32);
    assert_eq!(invalid.user, None);

    let empty = sync.round_trip(SyncRequest { operation: None }).await;
    assert_eq!(
        (empty.index, empty.status()),
        (3, SyncStatus::Failed),
        "{empty:?}"
    );

    let deleted = sync.round_trip(delete(&stored.id)).await;
    assert_eq!(
        (deleted.index, deleted.id.as_str(), deleted.status()),
        (4, stored.id.as_str(), SyncStatus::Deleted)
    );
    let missing = sync.round_trip(delete(&stored.id)).await;
    assert_eq!(
        (missing.index, missing.status()),
        (5, SyncStatus::Failed),
        "{missing:?}"
    );
    assert_eq!(missing.error.as_ref().unwrap().code, Code::NotFound as i32);

    drop(sync.requests); // the end of the requests ends the responses
    let rest = guarded("the end of the sync", sync.responses.message())
        .await
        .expect("a clean end");
    assert_eq!(rest, None);
    assert!(stream_all(&server, "", "").await.is_empty());
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn dropping_a_stream_early_leaves_the_server_serving() {
    let server = TestServer::start().await;
    let mut client = server.grpc().await;
    // More users than one store page and the producer's channel hold.
    let total = 1_000;
    let requests: Vec<CreateUserRequest> = (0..total)
        .map(|n| create_request(&format!("User {n}"), &format!("user{n}@example.com"), &[]))
        .collect();
    let response = bulk_create(&mut client, requests).await;
    assert_eq!(response.created_count, total);

    for _ in 0..3 {
        let mut stream = client
            .stream_users(StreamUsersRequest::default())
            .await
            .unwrap()
            .into_inner();
        let first = guarded("the first user", stream.message())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(first.name, "User 0");
        drop(stream);
        // The same connection still serves unary calls and new streams.
        let page = guarded(
            "ListUsers",
            client.list_users(ListUsersRequest {
                page_size: 1,
                ..Default::default()
            }),
        )
        .await
        .expect("ListUsers after a dropped stream")
        .into_inner();
        assert_eq!(page.users[0], first);
    }
    let all = stream_all(&server, "", "").await;
    assert_eq!(all.len(), total as usize);
    server.shutdown().await;
}
