//! Who may call what, as `users.v1` declares it: every RPC tried by a
//! viewer, an editor and an admin over REST and over gRPC; an editor may
//! update a user but not its role; rate limits per caller on both faces;
//! an audit line for each write.

mod common;

use common::{TestServer, TokenIssuer, create_request};
use gateway::proto::users::v1::{
    DeleteUserRequest, GetUserRequest, ListUsersRequest, StreamUsersRequest, UpdateUserRequest, User,
    UserRole,
};
use prost::Message as _;
use reqwest::Method;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use serde_json::{Value, json};
use tonic::Code;

const RPCS: [&str; 8] = [
    "GetUser",
    "ListUsers",
    "StreamUsers",
    "UpdateUser",
    "CreateUser",
    "DeleteUser",
    "BulkCreateUsers",
    "SyncUsers",
];

/// Which roles may call each RPC (the proto's `gateway.v1.access`).
fn allowed(rpc: &str, role: &str) -> bool {
    match rpc {
        "GetUser" | "ListUsers" | "StreamUsers" => true,
        "UpdateUser" => role != "viewer",
        _ => role == "admin",
    }
}

fn with_token<T>(message: T, token: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    let value = format!("Bearer {token}").parse().expect("ASCII metadata");
    request.metadata_mut().insert("authorization", value);
    request
}

/// A user made by an admin, for a call to act on; its id.
async fn fresh_user(server: &TestServer, admin: &str, n: &mut usize) -> String {
    *n += 1;
    let request = create_request("Target", &format!("target{n}@example.com"), &[]);
    let user = server.grpc().await.create_user(with_token(request, admin)).await;
    user.expect("an admin creates").into_inner().id
}

/// `rpc` over REST as `token`: the status.
async fn rest_call(server: &TestServer, rpc: &str, token: &str, id: &str, n: usize) -> u16 {
    let ndjson = "application/x-ndjson";
    let (method, path, body): (Method, String, Option<(&str, String)>) = match rpc {
        "GetUser" => (Method::GET, format!("/v1/users/{id}"), None),
        "ListUsers" => (Method::GET, "/v1/users".to_owned(), None),
        "StreamUsers" => (Method::GET, "/v1/users:stream".to_owned(), None),
        "UpdateUser" => (
            Method::PATCH,
            format!("/v1/users/{id}"),
            Some(("application/json", json!({"name": "Renamed"}).to_string())),
        ),
        "CreateUser" => (
            Method::POST,
            "/v1/users".to_owned(),
            Some((
                "application/json",
                json!({"name": "New", "email": format!("rest{n}@example.com")}).to_string(),
            )),
        ),
        "DeleteUser" => (Method::DELETE, format!("/v1/users/{id}"), None),
        "BulkCreateUsers" => (
            Method::POST,
            "/v1/users:bulkCreate".to_owned(),
            Some((
                ndjson,
                format!(
                    "{}\n",
                    json!({"name": "Bulk", "email": format!("bulk{n}@example.com")})
                ),
            )),
        ),
        "SyncUsers" => (
            Method::POST,
            "/v1/users:sync".to_owned(),
            Some((ndjson, String::new())),
        ),
        _ => unreachable!("{rpc}"),
    };
    let mut request = server
        .http
        .request(method, server.url(&path))
        .header(AUTHORIZATION, format!("Bearer {token}"));
    if let Some((content_type, body)) = body {
        request = request.header(CONTENT_TYPE, content_type).body(body);
    }
    let response = request.send().await.expect("send");
    let status = response.status().as_u16();
    let _ = response.text().await;
    status
}

/// `rpc` over gRPC as `token`: the code the call starts with.
async fn grpc_call(server: &TestServer, rpc: &str, token: &str, id: &str, n: usize) -> Code {
    let mut client = server.grpc().await;
    let id = id.to_owned();
    let code = |result: Result<(), tonic::Status>| result.err().map_or(Code::Ok, |status| status.code());
    match rpc {
        "GetUser" => code(
            client
                .get_user(with_token(GetUserRequest { id }, token))
                .await
                .map(drop),
        ),
        "ListUsers" => code(
            client
                .list_users(with_token(ListUsersRequest::default(), token))
                .await
                .map(drop),
        ),
        "StreamUsers" => code(
            client
                .stream_users(with_token(StreamUsersRequest::default(), token))
                .await
                .map(drop),
        ),
        "UpdateUser" => {
            let request = UpdateUserRequest {
                user: Some(User {
                    id,
                    name: "Renamed".to_owned(),
                    ..User::default()
                }),
                ..UpdateUserRequest::default()
            };
            code(client.update_user(with_token(request, token)).await.map(drop))
        }
        "CreateUser" => {
            let request = create_request("New", &format!("grpc{n}@example.com"), &[]);
            code(client.create_user(with_token(request, token)).await.map(drop))
        }
        "DeleteUser" => {
            let request = DeleteUserRequest {
                id,
                etag: String::new(),
            };
            code(client.delete_user(with_token(request, token)).await.map(drop))
        }
        "BulkCreateUsers" => {
            let requests = tokio_stream::iter(vec![create_request(
                "Bulk",
                &format!("gbulk{n}@example.com"),
                &[],
            )]);
            code(
                client
                    .bulk_create_users(with_token(requests, token))
                    .await
                    .map(drop),
            )
        }
        "SyncUsers" => code(
            client
                .sync_users(with_token(tokio_stream::iter(Vec::new()), token))
                .await
                .map(drop),
        ),
        _ => unreachable!("{rpc}"),
    }
}

#[tokio::test]
async fn viewers_read_editors_update_and_admins_do_everything_on_both_faces() {
    let issuer = TokenIssuer::new();
    let keys = issuer.key_files();
    let server = TestServer::start_configured(|config| keys.configure(config)).await;
    let admin = issuer.token("root", &["admin"]);
    let mut n = 0;
    for role in ["viewer", "editor", "admin"] {
        let token = issuer.token(&format!("a-{role}"), &[role]);
        for rpc in RPCS {
            let id = fresh_user(&server, &admin, &mut n).await;
            let rest = rest_call(&server, rpc, &token, &id, n).await;
            let id = fresh_user(&server, &admin, &mut n).await;
            let grpc = grpc_call(&server, rpc, &token, &id, n).await;
            if allowed(rpc, role) {
                assert!((200..300).contains(&rest), "{role} {rpc} over REST: {rest}");
                assert_eq!(grpc, Code::Ok, "{role} {rpc} over gRPC");
            } else {
                assert_eq!(rest, 403, "{role} {rpc} over REST");
                assert_eq!(grpc, Code::PermissionDenied, "{role} {rpc} over gRPC");
            }
        }
    }
    // A token without any role reads nothing.
    let nobody = issuer.token("nobody", &[]);
    assert_eq!(rest_call(&server, "ListUsers", &nobody, "", 0).await, 403);
    assert_eq!(
        grpc_call(&server, "ListUsers", &nobody, "", 0).await,
        Code::PermissionDenied
    );
    server.shutdown().await;
}

#[tokio::test]
async fn only_an_admin_changes_a_role() {
    let issuer = TokenIssuer::new();
    let keys = issuer.key_files();
    let server = TestServer::start_configured(|config| keys.configure(config)).await;
    let admin = issuer.token("root", &["admin"]);
    let editor = issuer.token("ed", &["editor"]);
    let mut n = 0;
    let id = fresh_user(&server, &admin, &mut n).await;
    let patch = |token: &str, body: Value| {
        server
            .http
            .patch(server.url(&format!("/v1/users/{id}")))
            .header(AUTHORIZATION, format!("Bearer {token}"))
            .json(&body)
            .send()
    };
    let refused = patch(&editor, json!({"role": "USER_ROLE_ADMIN"})).await.unwrap();
    assert_eq!(refused.status(), 403);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["message"], "only an admin may change user.role");

    let update = |token: &str, role: UserRole, paths: &[&str]| {
        let request = UpdateUserRequest {
            user: Some(User {
                id: id.clone(),
                name: "Renamed".to_owned(),
                role: role as i32,
                ..User::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: paths.iter().map(|path| (*path).to_owned()).collect(),
            }),
            ..UpdateUserRequest::default()
        };
        with_token(request, token)
    };
    let mut client = server.grpc().await;
    let status = client
        .update_user(update(&editor, UserRole::Admin, &["role"]))
        .await
        .expect_err("refused");
    assert_eq!(status.code(), Code::PermissionDenied);
    assert!(status.message().contains("user.role"), "{}", status.message());
    let everything = client.update_user(update(&editor, UserRole::Admin, &["*"])).await;
    assert_eq!(
        everything.unwrap_err().code(),
        Code::PermissionDenied,
        "`*` names role too"
    );

    let renamed = client
        .update_user(update(&editor, UserRole::Admin, &["name"]))
        .await;
    assert_eq!(
        renamed.expect("an editor renames").into_inner().role,
        UserRole::Unspecified as i32
    );
    let promoted = patch(&admin, json!({"role": "USER_ROLE_ADMIN"})).await.unwrap();
    assert_eq!(promoted.status(), 200);
    let promoted = client
        .update_user(update(&admin, UserRole::Viewer, &["role"]))
        .await;
    assert_eq!(
        promoted.expect("an admin changes roles").into_inner().role,
        UserRole::Viewer as i32
    );
    server.shutdown().await;
}

#[tokio::test]
async fn each_caller_is_rate_limited_on_both_faces() {
    let issuer = TokenIssuer::new();
    let keys = issuer.key_files();
    let server = TestServer::start_configured(|config| {
        keys.configure(config);
        config.auth.rate_limit_per_second = std::num::NonZeroU32::new(1);
        config.auth.rate_limit_burst = std::num::NonZeroU32::new(2);
    })
    .await;
    let rest_token = issuer.token("rest-caller", &["viewer"]);
    let list = || {
        server
            .http
            .get(server.url("/v1/users"))
            .header(AUTHORIZATION, format!("Bearer {rest_token}"))
            .send()
    };
    assert_eq!(list().await.unwrap().status(), 200);
    assert_eq!(list().await.unwrap().status(), 200);
    let limited = list().await.unwrap();
    assert_eq!(limited.status(), 429);
    assert_eq!(limited.headers()[RETRY_AFTER], "1");
    let body: Value = limited.json().await.unwrap();
    assert_eq!(body["code"], 8, "RESOURCE_EXHAUSTED: {body}");
    let retry = body["details"]
        .as_array()
        .unwrap()
        .iter()
        .find(|detail| detail["@type"] == "type.googleapis.com/google.rpc.RetryInfo")
        .unwrap_or_else(|| panic!("a RetryInfo: {body}"));
    assert!(retry["retryDelay"].as_str().unwrap().ends_with('s'), "{retry}");

    // Another caller has a burst of its own, over gRPC.
    let grpc_token = issuer.token("grpc-caller", &["viewer"]);
    let mut client = server.grpc().await;
    for _ in 0..2 {
        let call = client
            .list_users(with_token(ListUsersRequest::default(), &grpc_token))
            .await;
        call.expect("within the burst");
    }
    let status = client
        .list_users(with_token(ListUsersRequest::default(), &grpc_token))
        .await
        .expect_err("over the limit");
    assert_eq!(status.code(), Code::ResourceExhausted);
    let details = gateway::proto::google::rpc::Status::decode(status.details()).unwrap();
    assert_eq!(
        details.details[0].type_url,
        "type.googleapis.com/google.rpc.RetryInfo"
    );
    server.shutdown().await;
}
