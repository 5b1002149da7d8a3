//! How a REST call reaches the service in process: through tonic's tower
//! service (gRPC framing, tonic's router and codec: what the gateway does
//! for streaming methods), through the generated direct wrapper (what it
//! does for unary ones), or by calling the service trait directly (what
//! hand-written per-method glue would do).
//! All run the same trivial service, so the difference is the dispatch cost.
//!
//! `cargo bench --bench dispatch`

use std::collections::HashMap;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use gateway::proto::users::v1::user_service_direct::UserServiceDirect;
use gateway::proto::users::v1::user_service_server::{UserService, UserServiceServer};
use gateway::proto::users::v1::{
    BulkCreateUsersResponse, CreateUserRequest, DeleteUserRequest, GetUserRequest, GetUserResponse,
    ListUsersRequest, ListUsersResponse, StreamUsersRequest, SyncRequest, SyncResponse, UpdateUserRequest,
    User,
};
use gateway::transcode::bench_support::Dispatcher;
use prost::Message as _;
use tonic::service::Routes;
use tonic::{Request, Response, Status};

/// The stream type of the RPCs this service does not implement.
type Unimplemented<T> = std::pin::Pin<Box<dyn futures_util::Stream<Item = Result<T, Status>> + Send>>;

/// A service that answers GetUser from memory and nothing else.
struct InMemory {
    users: HashMap<String, User>,
}

#[tonic::async_trait]
impl UserService for InMemory {
    async fn create_user(&self, _: Request<CreateUserRequest>) -> Result<Response<User>, Status> {
        Err(Status::unimplemented("bench"))
    }

    async fn get_user(&self, request: Request<GetUserRequest>) -> Result<Response<GetUserResponse>, Status> {
        let user = self.users.get(&request.get_ref().id).cloned();
        Ok(Response::new(GetUserResponse { user }))
    }

    async fn list_users(&self, _: Request<ListUsersRequest>) -> Result<Response<ListUsersResponse>, Status> {
        Err(Status::unimplemented("bench"))
    }

    async fn update_user(&self, _: Request<UpdateUserRequest>) -> Result<Response<User>, Status> {
        Err(Status::unimplemented("bench"))
    }

    async fn delete_user(&self, _: Request<DeleteUserRequest>) -> Result<Response<()>, Status> {
        Err(Status::unimplemented("bench"))
    }

    type StreamUsersStream = Unimplemented<User>;

    async fn stream_users(
        &self,
        _: Request<StreamUsersRequest>,
    ) -> Result<Response<Self::StreamUsersStream>, Status> {
        Err(Status::unimplemented("bench"))
    }

    async fn bulk_create_users(
        &self,
        _: Request<tonic::Streaming<CreateUserRequest>>,
    ) -> Result<Response<BulkCreateUsersResponse>, Status> {
        Err(Status::unimplemented("bench"))
    }

    type SyncUsersStream = Unimplemented<SyncResponse>;

    async fn sync_users(
        &self,
        _: Request<tonic::Streaming<SyncRequest>>,
    ) -> Result<Response<Self::SyncUsersStream>, Status> {
        Err(Status::unimplemented("bench"))
    }
}

fn service() -> InMemory {
    let user = User {
        id: "01930000-0000-7000-8000-000000000001".into(),
        name: "Ada Lovelace".into(),
        email: "ada@example.com".into(),
        tags: vec!["math".into()],
        ..User::default()
    };
    InMemory {
        users: HashMap::from([(user.id.clone(), user)]),
    }
}

fn dispatch(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let request = GetUserRequest {
        id: "01930000-0000-7000-8000-000000000001".into(),
    }
    .encode_to_vec();

    let direct = service();
    c.bench_function("dispatch/direct_trait_call", |b| {
        b.to_async(&runtime).iter(|| async {
            // Glue per method: decode, call, encode.
            let message = GetUserRequest::decode(request.as_slice()).unwrap();
            let response = direct.get_user(Request::new(message)).await.unwrap();
            response.into_inner().encode_to_vec()
        })
    });

    let request = bytes::Bytes::from(request);
    let backend = Dispatcher::new(Routes::new(UserServiceServer::new(service())), None);
    c.bench_function("dispatch/tonic_tower_service", |b| {
        b.to_async(&runtime).iter(|| async {
            backend
                .unary("/users.v1.UserService/GetUser", request.clone())
                .await
                .unwrap()
        })
    });

    let shared = Arc::new(service());
    let backend = Dispatcher::new(
        Routes::new(UserServiceServer::from_arc(shared.clone())),
        Some(Arc::new(UserServiceDirect(shared))),
    );
    c.bench_function("dispatch/generated_direct", |b| {
        b.to_async(&runtime).iter(|| async {
            backend
                .unary("/users.v1.UserService/GetUser", request.clone())
                .await
                .unwrap()
        })
    });
}

criterion_group!(benches, dispatch);
criterion_main!(benches);
