//! The binary's logs, as an operator reads them: with `--log-format json`
//! every line is JSON, the listening line included; each call is one
//! `info` line naming its face, method, route, code, latency, request id
//! and peer, over REST and gRPC alike; a client's error is not an `error`.

mod common;

use std::time::Duration;

use common::{GatewayProcess, guarded};
use gateway::proto::users::v1::GetUserRequest;
use serde_json::Value;

async fn start_json_logging(dir: &std::path::Path) -> GatewayProcess {
    start_json_logging_with(dir, &[]).await
}

/// [`start_json_logging`], with `flags` added.
async fn start_json_logging_with(dir: &std::path::Path, flags: &[&std::ffi::OsStr]) -> GatewayProcess {
    let database = dir.join("users.db");
    let mut args: Vec<&std::ffi::OsStr> = vec![
        "--addr".as_ref(),
        "127.0.0.1:0".as_ref(),
        "--database".as_ref(),
        database.as_os_str(),
        "--log-format".as_ref(),
        "json".as_ref(),
    ];
    args.extend(flags);
    let program = std::path::Path::new(env!("CARGO_BIN_EXE_gateway"));
    GatewayProcess::start_program_with(program, &args, &[("RUST_LOG", "info")]).await
}

/// The call lines logged so far, once `count` of them have arrived.
async fn call_lines(process: &GatewayProcess, count: usize) -> Vec<Value> {
    guarded("the call lines", async {
        loop {
            let lines: Vec<Value> = process
                .output()
                .iter()
                .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}")))
                .filter(|line: &Value| line["message"] == "call")
                .collect();
            if lines.len() >= count {
                return lines;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn each_call_is_one_json_info_line_on_both_faces() {
    let dir = tempfile::tempdir().unwrap();
    let process = start_json_logging(dir.path()).await;

    let response = process
        .http
        .get(process.url("/v1/users/nope"))
        .header("x-request-id", "order-42")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let mut client = process.grpc().await;
    let mut request = tonic::Request::new(GetUserRequest {
        id: "nope".to_owned(),
    });
    request
        .metadata_mut()
        .insert("x-request-id", "call-7".parse().unwrap());
    let status = client.get_user(request).await.expect_err("not found");
    assert_eq!(status.code(), tonic::Code::NotFound);

    let lines = call_lines(&process, 2).await;
    let rest = lines
        .iter()
        .find(|line| line["request_id"] == "order-42")
        .expect("the REST call's line");
    assert_eq!(rest["level"], "INFO", "{rest}");
    assert_eq!(rest["face"], "rest");
    assert_eq!(rest["method"], "/users.v1.UserService/GetUser");
    assert_eq!(rest["route"], "/v1/users/{id}");
    assert_eq!(rest["code"], "NotFound");
    assert!(rest["latency_ms"].as_f64().is_some_and(|ms| ms >= 0.0), "{rest}");
    assert!(rest["peer"].as_str().unwrap().starts_with("127.0.0.1:"), "{rest}");
    let grpc = lines
        .iter()
        .find(|line| line["request_id"] == "call-7")
        .expect("the gRPC call's line");
    assert_eq!(
        (&grpc["face"], &grpc["code"], &grpc["level"]),
        (&"grpc".into(), &"NotFound".into(), &"INFO".into())
    );

    // Every line is JSON (call_lines parsed them all), and none is an error.
    let output = process.output();
    assert!(output[0].contains("listening on http://"), "{}", output[0]);
    for line in &output {
        let line: Value = serde_json::from_str(line).unwrap();
        assert_ne!(line["level"], "ERROR", "{line}");
        assert!(!line.to_string().contains('\u{1b}'), "no ANSI codes: {line}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn each_write_leaves_an_audit_line_with_its_caller_and_request_id() {
    let dir = tempfile::tempdir().unwrap();
    let issuer = common::TokenIssuer::new();
    let keys = issuer.key_files();
    let flags = ["--jwt-hs256-secret-file".as_ref(), keys.secret_file.as_os_str()];
    let process = start_json_logging_with(dir.path(), &flags).await;
    let admin = issuer.token("ada", &["admin"]);
    let editor = issuer.token("eve", &["editor"]);
    let created: Value = process
        .http
        .post(process.url("/v1/users"))
        .bearer_auth(&admin)
        .header("x-request-id", "audit-create")
        .json(&serde_json::json!({"name": "Ada", "email": "ada@example.com"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().expect("created").to_owned();
    let refused = process
        .http
        .patch(process.url(&format!("/v1/users/{id}")))
        .bearer_auth(&editor)
        .header("x-request-id", "audit-refused")
        .json(&serde_json::json!({"role": "USER_ROLE_ADMIN"}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);

    let audit = guarded("the audit lines", async {
        loop {
            let lines: Vec<Value> = process
                .output()
                .iter()
                .filter_map(|line| serde_json::from_str::<Value>(line).ok())
                .filter(|line| line["target"] == "audit")
                .collect();
            if lines.len() >= 2 {
                return lines;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    let expected = [
        ("audit-create", "ada", "CreateUser", "Ok"),
        ("audit-refused", "eve", "UpdateUser", "PermissionDenied"),
    ];
    for (line, (request_id, principal, method, outcome)) in audit.iter().zip(expected) {
        assert_eq!(line["level"], "INFO", "{line}");
        assert_eq!(line["span"]["request_id"], request_id, "{line}");
        assert_eq!(line["principal"], principal, "{line}");
        assert_eq!(line["method"], method, "{line}");
        assert_eq!(line["user_id"], id.as_str(), "{line}");
        assert_eq!(line["outcome"], outcome, "{line}");
    }
}
