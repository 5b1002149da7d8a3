//! The engine's per-request work on the real descriptors, step by step:
//! route lookup, request weave, response rendering, error rendering.
//!
//! `cargo bench --bench engine`

use std::collections::HashMap;

use criterion::{Criterion, criterion_group, criterion_main};
use gateway::proto::FILE_DESCRIPTOR_SET;
use gateway::proto::users::v1::{Address, GetUserResponse, ListUsersResponse, User, UserRole};
use gateway::transcode::bench_support::{EngineSteps, RouteOutcome};
use http::Method;
use prost::Message as _;
use prost_reflect::DescriptorPool;

const ID: &str = "019a5b8e-7f3c-7d2a-9b4e-0c1d2e3f4a5b";

fn user(n: usize) -> User {
    User {
        id: ID.to_owned(),
        name: format!("User {n}"),
        email: format!("user{n}@example.com"),
        role: UserRole::Editor as i32,
        address: Some(Address {
            city: "Oslo".to_owned(),
            country: "NO".to_owned(),
            ..Address::default()
        }),
        tags: vec!["bench".to_owned(), "vip".to_owned()],
        metadata: HashMap::from([("team".to_owned(), "core".to_owned())]),
        created_at: Some(prost_types::Timestamp {
            seconds: 1_767_225_600,
            nanos: 123_456_789,
        }),
        updated_at: Some(prost_types::Timestamp {
            seconds: 1_767_225_600,
            nanos: 123_456_789,
        }),
        etag: "a1b2c3d4e5f6".to_owned(),
    }
}

fn engine(c: &mut Criterion) {
    let pool = DescriptorPool::decode(FILE_DESCRIPTOR_SET).expect("descriptors");
    let steps = EngineSteps::new(pool).expect("engine");
    let get_path = format!("/v1/users/{ID}");

    assert_eq!(steps.lookup(&Method::GET, &get_path), RouteOutcome::Found);
    c.bench_function("route/hit", |b| b.iter(|| steps.lookup(&Method::GET, &get_path)));
    c.bench_function("route/404", |b| {
        b.iter(|| steps.lookup(&Method::GET, "/v2/nothing/here"))
    });
    c.bench_function("route/405", |b| {
        b.iter(|| steps.lookup(&Method::PUT, "/v1/users"))
    });

    c.bench_function("weave/get_by_id", |b| {
        b.iter(|| steps.weave(&Method::GET, &get_path, b""))
    });
    c.bench_function("weave/list_with_query", |b| {
        b.iter(|| {
            steps.weave(
                &Method::GET,
                "/v1/users?page_size=50&filter=role%3DUSER_ROLE_ADMIN&order_by=name",
                b"",
            )
        })
    });
    let create = br#"{"name":"Ada Lovelace","email":"ada@example.com","role":"USER_ROLE_ADMIN","address":{"city":"London"},"tags":["math"],"metadata":{"team":"engines"}}"#;
    c.bench_function("weave/create_json_body", |b| {
        b.iter(|| steps.weave(&Method::POST, "/v1/users", create))
    });

    let one = GetUserResponse { user: Some(user(1)) }.encode_to_vec();
    c.bench_function("render/one_user", |b| {
        b.iter(|| steps.render(&Method::GET, &get_path, &one))
    });
    let page = ListUsersResponse {
        users: (0..50).map(user).collect(),
        next_page_token: "token".to_owned(),
        total_size: 10_000,
    }
    .encode_to_vec();
    c.bench_function("render/page_of_50", |b| {
        b.iter(|| steps.render(&Method::GET, "/v1/users", &page))
    });
    c.bench_function("render/error", |b| {
        b.iter(|| steps.render_error(tonic::Status::not_found(format!("user \"{ID}\" not found"))))
    });
}

criterion_group!(benches, engine);
criterion_main!(benches);
