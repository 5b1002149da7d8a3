//! A gRPC client of the gateway's port, built on the generated tonic client:
//! the same service and data the REST routes serve.
//!
//! ```sh
//! cargo run --example grpc_client -- create "Grace Hopper" grace@example.com
//! cargo run --example grpc_client -- get <id>
//! cargo run --example grpc_client -- list
//! cargo run --example grpc_client -- delete <id>
//! ```
//! `GATEWAY_URL` overrides the default `http://127.0.0.1:8080`.

use gateway::proto::users::v1::user_service_client::UserServiceClient;
use gateway::proto::users::v1::{CreateUserRequest, DeleteUserRequest, GetUserRequest, ListUsersRequest};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("GATEWAY_URL").unwrap_or_else(|_| "http://127.0.0.1:8080".to_owned());
    let mut client = UserServiceClient::connect(url).await?;
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let outcome = match args.as_slice() {
        ["create", name, email] => {
            let request = CreateUserRequest {
                name: (*name).to_owned(),
                email: (*email).to_owned(),
                ..CreateUserRequest::default()
            };
            client
                .create_user(request)
                .await
                .map(|r| format!("{:#?}", r.into_inner()))
        }
        ["get", id] => {
            let request = GetUserRequest { id: (*id).to_owned() };
            client
                .get_user(request)
                .await
                .map(|r| format!("{:#?}", r.into_inner()))
        }
        ["list"] => {
            let request = ListUsersRequest::default();
            client
                .list_users(request)
                .await
                .map(|r| format!("{:#?}", r.into_inner()))
        }
        ["delete", id] => {
            let request = DeleteUserRequest {
                id: (*id).to_owned(),
                ..DeleteUserRequest::default()
            };
            client.delete_user(request).await.map(|_| "deleted".to_owned())
        }
        _ => {
            eprintln!("usage: grpc_client create NAME EMAIL | get ID | list | delete ID");
            std::process::exit(2);
        }
    };
    match outcome {
        Ok(text) => println!("{text}"),
        Err(status) => {
            eprintln!("{:?}: {}", status.code(), status.message());
            std::process::exit(1);
        }
    }
    Ok(())
}
