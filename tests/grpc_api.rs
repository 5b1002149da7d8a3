//! `users.v1.UserService` over gRPC with the generated tonic client, and
//! agreement between the gRPC and REST faces.

mod common;

use common::{TestServer, assert_error_body, create_request, full_request};
use gateway::proto::google::rpc::{BadRequest, Status as RpcStatus};
use gateway::proto::users::v1::{DeleteUserRequest, GetUserRequest, ListUsersRequest, User, UserRole};
use prost::Message as _;
use serde_json::{Value, json};
use tonic::Code;

/// The REST rendering that `user` should have.
fn user_json(user: &User) -> Value {
    let address = user.address.clone().unwrap_or_default();
    json!({
        "id": user.id,
        "name": user.name,
        "email": user.email,
        "role": UserRole::try_from(user.role).expect("a known role").as_str_name(),
        "address": {
            "street": address.street, "city": address.city, "state": address.state,
            "country": address.country, "postalCode": address.postal_code,
        },
        "tags": user.tags,
        "metadata": user.metadata,
        "createdAt": user.created_at.expect("created_at is set").to_string(),
        "updatedAt": user.updated_at.expect("updated_at is set").to_string(),
        "etag": user.etag,
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn create_get_list_delete() {
    let server = TestServer::start().await;
    let mut client = server.grpc().await;

    let created = client
        .create_user(full_request("grace@example.com"))
        .await
        .expect("create")
        .into_inner();
    assert!(!created.id.is_empty());
    let expected = full_request("grace@example.com");
    assert_eq!(
        (
            &created.name,
            &created.email,
            created.role,
            &created.address,
            &created.tags,
            &created.metadata
        ),
        (
            &expected.name,
            &expected.email,
            expected.role,
            &expected.address,
            &expected.tags,
            &expected.metadata
        )
    );
    assert!(created.created_at.is_some() && created.updated_at.is_some());

    let fetched = client
        .get_user(GetUserRequest {
            id: created.id.clone(),
        })
        .await
        .expect("get")
        .into_inner();
    assert_eq!(fetched.user.as_ref(), Some(&created));

    let second = client
        .create_user(create_request("Second", "second@example.com", &[]))
        .await
        .expect("create a second user")
        .into_inner();
    let listed = client
        .list_users(ListUsersRequest::default())
        .await
        .expect("list")
        .into_inner();
    assert_eq!(listed.users, [created.clone(), second.clone()]);
    assert_eq!(listed.next_page_token, "");

    let page = client
        .list_users(ListUsersRequest {
            page_size: 1,
            page_token: String::new(),
            ..Default::default()
        })
        .await
        .expect("list one")
        .into_inner();
    assert_eq!(page.users, std::slice::from_ref(&created));
    let rest = client
        .list_users(ListUsersRequest {
            page_size: 1,
            page_token: page.next_page_token,
            ..Default::default()
        })
        .await
        .expect("list the rest")
        .into_inner();
    assert_eq!((rest.users, rest.next_page_token), (vec![second], String::new()));

    client
        .delete_user(DeleteUserRequest {
            id: created.id.clone(),
            ..Default::default()
        })
        .await
        .expect("delete");
    let gone = client
        .get_user(GetUserRequest {
            id: created.id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(gone.code(), Code::NotFound, "{gone:?}");
    let again = client
        .delete_user(DeleteUserRequest {
            id: created.id.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(again.code(), Code::NotFound, "{again:?}");
    assert!(again.message().contains(&created.id), "{again:?}");
    drop(client);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_users_carry_a_bad_request_detail() {
    let server = TestServer::start().await;
    let mut client = server.grpc().await;
    let status = client
        .create_user(create_request("", "nope", &[]))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert!(!status.details().is_empty(), "grpc-status-details-bin is present");

    let decoded = RpcStatus::decode(status.details()).expect("details decode as google.rpc.Status");
    assert_eq!(decoded.code, Code::InvalidArgument as i32);
    let detail = decoded
        .details
        .iter()
        .find(|any| any.type_url == "type.googleapis.com/google.rpc.BadRequest")
        .unwrap_or_else(|| panic!("a BadRequest detail in {decoded:?}"));
    let bad_request = BadRequest::decode(detail.value.as_slice()).expect("a BadRequest");
    let fields: Vec<&str> = bad_request
        .field_violations
        .iter()
        .map(|v| v.field.as_str())
        .collect();
    assert!(
        fields.contains(&"name") && fields.contains(&"email"),
        "{fields:?}"
    );

    let negative = client
        .list_users(ListUsersRequest {
            page_size: -5,
            page_token: String::new(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(negative.code(), Code::InvalidArgument, "{negative:?}");
    let tampered = client
        .list_users(ListUsersRequest {
            page_size: 1,
            page_token: "garbage".to_owned(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(tampered.code(), Code::InvalidArgument, "{tampered:?}");
    drop(client);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn duplicates_and_missing_users() {
    let server = TestServer::start().await;
    let mut client = server.grpc().await;
    client
        .create_user(create_request("Eve", "eve@example.com", &[]))
        .await
        .expect("create");
    let duplicate = client
        .create_user(create_request("Eve Again", "EVE@example.com", &[]))
        .await
        .unwrap_err();
    assert_eq!(duplicate.code(), Code::AlreadyExists, "{duplicate:?}");

    let missing = client
        .get_user(GetUserRequest {
            id: "no-such-user".to_owned(),
        })
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound, "{missing:?}");
    assert!(missing.message().contains("no-such-user"), "{missing:?}");
    drop(client);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn what_rest_creates_grpc_reads() {
    let server = TestServer::start().await;
    let rest_user = server
        .create_user(json!({
            "name": "Rita", "email": "rita@example.com", "role": "USER_ROLE_VIEWER",
            "address": {"city": "Oslo", "postalCode": "0150"},
            "tags": ["b", "a"], "metadata": {"k": "v"}
        }))
        .await;
    let mut client = server.grpc().await;
    let id = rest_user["id"].as_str().unwrap().to_owned();
    let user = client
        .get_user(GetUserRequest { id: id.clone() })
        .await
        .expect("gRPC reads the REST user")
        .into_inner()
        .user
        .expect("the user is set");
    assert_eq!(user.id, id);
    assert_eq!(user.role, UserRole::Viewer as i32);
    assert_eq!(user.tags, ["b", "a"]);
    assert_eq!(user_json(&user), rest_user);
    drop(client);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn what_grpc_creates_rest_reads_and_grpc_deletes_rest_misses() {
    let server = TestServer::start().await;
    let mut client = server.grpc().await;
    let user = client
        .create_user(full_request("grace@example.com"))
        .await
        .expect("create")
        .into_inner();
    let path = format!("/v1/users/{}", user.id);

    let (status, rest_user) = server.get_json(&path).await;
    assert_eq!(status, 200, "{rest_user}");
    assert_eq!(rest_user, user_json(&user));

    client
        .delete_user(DeleteUserRequest {
            id: user.id.clone(),
            ..Default::default()
        })
        .await
        .expect("delete over gRPC");
    let (status, body) = server.get_json(&path).await;
    assert_eq!(status, 404, "{body}");
    assert_error_body(&body, Code::NotFound as i64);
    drop(client);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn reflection_lists_the_services_and_describes_the_user_service() {
    use tonic_reflection::pb::v1::ServerReflectionRequest;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

    let server = TestServer::start().await;
    let mut reflection = ServerReflectionClient::new(server.channel().await);
    let requests = [
        MessageRequest::ListServices(String::new()),
        MessageRequest::FileContainingSymbol("users.v1.UserService".to_owned()),
    ]
    .map(|message_request| ServerReflectionRequest {
        host: String::new(),
        message_request: Some(message_request),
    });
    let mut responses = reflection
        .server_reflection_info(tokio_stream::iter(requests))
        .await
        .expect("reflection stream")
        .into_inner();

    let listed = responses.message().await.unwrap().unwrap().message_response;
    let Some(MessageResponse::ListServicesResponse(list)) = listed else {
        panic!("expected a service list, got {listed:?}");
    };
    let mut names: Vec<String> = list.service.into_iter().map(|service| service.name).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "grpc.health.v1.Health",
            "grpc.reflection.v1.ServerReflection",
            "users.v1.UserService"
        ]
    );

    let described = responses.message().await.unwrap().unwrap().message_response;
    let Some(MessageResponse::FileDescriptorResponse(files)) = described else {
        panic!("expected file descriptors, got {described:?}");
    };
    let file = prost_types::FileDescriptorProto::decode(files.file_descriptor_proto[0].as_slice()).unwrap();
    assert_eq!(file.name(), "users/v1/users.proto");
    drop(reflection);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn reflection_can_be_turned_off() {
    use gateway::config::Reflection;
    use tonic_reflection::pb::v1::ServerReflectionRequest;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;

    let server = TestServer::start_configured(|config| config.reflection = Reflection::Off).await;
    let mut reflection = ServerReflectionClient::new(server.channel().await);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let refused = reflection
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .expect_err("no reflection service");
    assert_eq!(refused.code(), Code::Unimplemented, "{refused:?}");
    // The services themselves are still served.
    let mut users = server.grpc().await;
    users
        .list_users(ListUsersRequest::default())
        .await
        .expect("ListUsers");
    drop((reflection, users));
    server.shutdown().await;
}
