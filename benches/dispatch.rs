//! How a REST call reaches the service in process: through tonic's tower
//! service (gRPC framing, tonic's router and codec: what the gateway does
//! for streaming methods), through the generated direct wrapper (what it
//! does for unary ones), or by calling the service trait directly (what
//! hand-written per-method glue would do).
//! All run the same trivial service, so the difference is the dispatch cost.
//!
//! `cargo bench --bench dispatch`

use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use gateway::proto::users::v1::user_service_direct::UserServiceDirect;
use gateway::proto::users::v1::user_service_server::{UserService, UserServiceServer};
use gateway::proto::users::v1::{GetUserRequest, User};
use gateway::transcode::bench_support::Dispatcher;
use prost::Message as _;
use stub::StubService;
use tonic::Request;
use tonic::service::Routes;

#[path = "../tests/common/stub.rs"]
#[allow(dead_code)] // Only GetUser is measured.
mod stub;

/// A service that answers GetUser from memory and nothing else.
fn service() -> StubService {
    StubService::default().with_user(User {
        id: "01930000-0000-7000-8000-000000000001".into(),
        name: "Ada Lovelace".into(),
        email: "ada@example.com".into(),
        tags: vec!["math".into()],
        ..User::default()
    })
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
