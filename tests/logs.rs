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
    let database = dir.join("users.db");
    let args: [&std::ffi::OsStr; 6] = [
        "--addr".as_ref(),
        "127.0.0.1:0".as_ref(),
        "--database".as_ref(),
        database.as_os_str(),
        "--log-format".as_ref(),
        "json".as_ref(),
    ];
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
