//! A service that panics: the call answers INTERNAL (500 with a
//! `google.rpc.Status` body over REST, the status over gRPC; in-band in a
//! stream that already started) with nothing of the panic in it, and the
//! server keeps serving. On both faces, on the direct path and through
//! tonic's routes.

mod common;

use std::pin::Pin;
use std::sync::Arc;

use common::{assert_error_body, serve_both_faces};
use gateway::proto::users::v1::user_service_client::UserServiceClient;
use gateway::proto::users::v1::user_service_server::UserService;
use gateway::proto::users::v1::{
    BulkCreateUsersResponse, CreateUserRequest, DeleteUserRequest, GetUserRequest, GetUserResponse,
    ListUsersRequest, ListUsersResponse, StreamUsersRequest, SyncRequest, SyncResponse, UpdateUserRequest,
    User,
};
use tonic::{Request, Response, Status, Streaming};

/// `GetUser` panics for the id `boom` (and answers NOT_FOUND otherwise);
/// `StreamUsers` sends one user, then (a moment later) panics.
struct Panicking;

type Messages<T> = Pin<Box<dyn futures_util::Stream<Item = Result<T, Status>> + Send>>;

fn one_user() -> User {
    User {
        id: "first".to_owned(),
        name: "First".to_owned(),
        ..User::default()
    }
}

#[tonic::async_trait]
impl UserService for Panicking {
    async fn create_user(&self, _: Request<CreateUserRequest>) -> Result<Response<User>, Status> {
        Err(Status::unimplemented("test"))
    }

    async fn get_user(&self, request: Request<GetUserRequest>) -> Result<Response<GetUserResponse>, Status> {
        if request.get_ref().id == "boom" {
            panic!("secret detail /etc/gateway.key");
        }
        Err(Status::not_found("no such user"))
    }

    async fn list_users(&self, _: Request<ListUsersRequest>) -> Result<Response<ListUsersResponse>, Status> {
        Err(Status::unimplemented("test"))
    }

    async fn update_user(&self, _: Request<UpdateUserRequest>) -> Result<Response<User>, Status> {
        Err(Status::unimplemented("test"))
    }

    async fn delete_user(&self, _: Request<DeleteUserRequest>) -> Result<Response<()>, Status> {
        Err(Status::unimplemented("test"))
    }

    type StreamUsersStream = Messages<User>;

    async fn stream_users(
        &self,
        _: Request<StreamUsersRequest>,
    ) -> Result<Response<Self::StreamUsersStream>, Status> {
        let users = futures_util::stream::unfold(0, |sent| async move {
            if sent == 1 {
                // After a pause, so the first user has gone out on its own.
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                panic!("secret detail in a stream");
            }
            Some((Ok(one_user()), sent + 1))
        });
        Ok(Response::new(Box::pin(users)))
    }

    async fn bulk_create_users(
        &self,
        _: Request<Streaming<CreateUserRequest>>,
    ) -> Result<Response<BulkCreateUsersResponse>, Status> {
        Err(Status::unimplemented("test"))
    }

    type SyncUsersStream = Messages<SyncResponse>;

    async fn sync_users(
        &self,
        _: Request<Streaming<SyncRequest>>,
    ) -> Result<Response<Self::SyncUsersStream>, Status> {
        Err(Status::unimplemented("test"))
    }
}

const PANICKED: &str = "the service failed while handling the call";

#[tokio::test(flavor = "multi_thread")]
async fn a_panic_is_internal_over_rest_and_the_server_serves_on() {
    let server = serve_both_faces(Arc::new(Panicking)).await;
    for _ in 0..2 {
        let (status, body) = server.get_json("/v1/users/boom").await;
        assert_eq!(status, 500, "{body}");
        assert_error_body(&body, 13);
        assert_eq!(body["message"], PANICKED);
    }
    let (status, body) = server.get_json("/v1/users/other").await;
    assert_eq!(status, 404, "{body}");

    // A stream that already started ends with an in-band INTERNAL.
    let text = server
        .http
        .get(server.url("/v1/users:stream"))
        .send()
        .await
        .expect("send")
        .text()
        .await
        .expect("read the stream");
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).expect("NDJSON"))
        .collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert_eq!(lines[0]["id"], "first");
    assert_eq!(lines[1]["error"]["code"], 13, "{text}");
    assert_eq!(lines[1]["error"]["message"], PANICKED);
    assert!(!text.contains("secret"), "{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_panic_is_internal_over_grpc_and_the_server_serves_on() {
    let server = serve_both_faces(Arc::new(Panicking)).await;
    let mut client = UserServiceClient::connect(server.base_url())
        .await
        .expect("connect");
    for _ in 0..2 {
        let status = client
            .get_user(GetUserRequest {
                id: "boom".to_owned(),
            })
            .await
            .expect_err("the service panicked");
        assert_eq!(status.code(), tonic::Code::Internal);
        assert_eq!(status.message(), PANICKED);
    }
    let status = client
        .get_user(GetUserRequest {
            id: "other".to_owned(),
        })
        .await
        .expect_err("not found");
    assert_eq!(status.code(), tonic::Code::NotFound);

    let mut stream = client
        .stream_users(StreamUsersRequest::default())
        .await
        .expect("the stream starts")
        .into_inner();
    let first = stream.message().await.expect("the first user").expect("a user");
    assert_eq!(first.id, "first");
    let status = stream.message().await.expect_err("then the panic");
    assert_eq!(status.code(), tonic::Code::Internal);
    assert_eq!(status.message(), PANICKED);
}
