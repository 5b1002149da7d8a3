//! Creating users over gRPC: the request messages the tests use, and a
//! whole `BulkCreateUsers` client stream in one call.

use std::collections::HashMap;

use gateway::proto::users::v1::user_service_client::UserServiceClient;
use gateway::proto::users::v1::{Address, BulkCreateUsersResponse, CreateUserRequest, UserRole};
use tonic::transport::Channel;

/// A request with only a name, an email and tags.
pub fn create_request(name: &str, email: &str, tags: &[&str]) -> CreateUserRequest {
    CreateUserRequest {
        name: name.to_owned(),
        email: email.to_owned(),
        tags: tags.iter().map(|tag| (*tag).to_owned()).collect(),
        ..Default::default()
    }
}

/// A request with every field set (Grace Hopper, at `email`).
pub fn full_request(email: &str) -> CreateUserRequest {
    CreateUserRequest {
        name: "Grace Hopper".to_owned(),
        email: email.to_owned(),
        role: UserRole::Admin as i32,
        address: Some(Address {
            street: "1 Compiler Rd".to_owned(),
            city: "Arlington".to_owned(),
            state: "VA".to_owned(),
            country: "US".to_owned(),
            postal_code: "22201".to_owned(),
        }),
        tags: vec!["navy".to_owned(), "cobol".to_owned()],
        metadata: HashMap::from([("rank".to_owned(), "rear admiral".to_owned())]),
    }
}

/// Sends `requests` as one `BulkCreateUsers` client stream; returns its answer.
pub async fn bulk_create<I>(client: &mut UserServiceClient<Channel>, requests: I) -> BulkCreateUsersResponse
where
    I: IntoIterator<Item = CreateUserRequest>,
    I::IntoIter: Send + 'static,
{
    client
        .bulk_create_users(tokio_stream::iter(requests))
        .await
        .expect("BulkCreateUsers")
        .into_inner()
}

/// A request of about `bytes` encoded bytes (the padding is a tag), the
/// `n`th of its kind.
pub fn large_request(n: usize, bytes: usize) -> CreateUserRequest {
    create_request(
        &format!("Large {n}"),
        &format!("large.{n}@example.com"),
        &[&"x".repeat(bytes)],
    )
}
