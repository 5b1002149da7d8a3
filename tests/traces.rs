//! Trace export of the real binary to an OTLP collector in process: a call
//! that carries a W3C `traceparent` (REST header or gRPC metadata) is a
//! server span of that trace, child of the caller's span, with the RPC
//! attributes, and the store's work is a span under it; a call without one
//! starts a trace; the last spans are sent when the binary stops.

mod common;

use std::path::Path;

use common::{CollectedSpan, Collector, GatewayProcess};
use gateway::proto::users::v1::GetUserRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use serde_json::json;

/// The caller's trace and span, as a `traceparent` names them.
const REST_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const GRPC_TRACE: &str = "0af7651916cd43dd8448eb211c80319c";
const CALLER_SPAN: &str = "00f067aa0ba902b7";

fn traceparent(trace: &str) -> String {
    format!("00-{trace}-{CALLER_SPAN}-01")
}

/// The binary exporting to `collector` in batches sent every `delay_ms`.
async fn start_exporting(dir: &Path, collector: &Collector, delay_ms: &str) -> GatewayProcess {
    let database = dir.join("users.db");
    let endpoint = collector.endpoint();
    let args: [&std::ffi::OsStr; 6] = [
        "--addr".as_ref(),
        "127.0.0.1:0".as_ref(),
        "--database".as_ref(),
        database.as_os_str(),
        "--otlp-endpoint".as_ref(),
        endpoint.as_ref(),
    ];
    let program = Path::new(env!("CARGO_BIN_EXE_gateway"));
    GatewayProcess::start_program_with(
        program,
        &args,
        &[
            ("OTEL_BSP_SCHEDULE_DELAY", delay_ms),
            ("GATEWAY_DRAIN_TIMEOUT", "0s"),
        ],
    )
    .await
}

/// The server span of the call with request id `request_id`.
async fn server_span(collector: &Collector, request_id: &str) -> CollectedSpan {
    collector
        .wait_for(&format!("the server span of {request_id}"), |span| {
            span.text("request_id") == Some(request_id)
        })
        .await
}

/// Checks what every server span of a GetUser call carries.
fn assert_get_user_span(span: &CollectedSpan, code: i64) {
    assert_eq!(span.span.name, "users.v1.UserService/GetUser", "{span:?}");
    assert_eq!(span.span.kind, SpanKind::Server as i32, "{span:?}");
    assert_eq!(span.service_name.as_deref(), Some("gateway"), "{span:?}");
    assert_eq!(span.text("rpc.system"), Some("grpc"), "{span:?}");
    assert_eq!(span.text("rpc.service"), Some("users.v1.UserService"), "{span:?}");
    assert_eq!(span.text("rpc.method"), Some("GetUser"), "{span:?}");
    assert_eq!(
        span.attribute("rpc.grpc.status_code"),
        Some(&Value::IntValue(code)),
        "{span:?}"
    );
    // Neither OK nor NOT_FOUND is the server's failure.
    let status = span.span.status.as_ref().map_or(0, |status| status.code);
    assert_ne!(status, StatusCode::Error as i32, "{span:?}");
}

/// The store's span under `parent`.
async fn store_span_under(collector: &Collector, parent: &CollectedSpan, name: &str) -> CollectedSpan {
    let store = collector
        .wait_for(&format!("{name} under {}", parent.span_id()), |span| {
            span.span.name == name && span.parent_span_id() == parent.span_id()
        })
        .await;
    assert_eq!(store.trace_id(), parent.trace_id(), "{store:?}");
    assert_eq!(store.text("db.system"), Some("sqlite"), "{store:?}");
    store
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rest_call_continues_the_trace_of_its_traceparent() {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start().await;
    let process = start_exporting(dir.path(), &collector, "100").await;
    let user = process
        .create_user(json!({"name": "Ada Lovelace", "email": "ada@example.com"}))
        .await;
    let path = format!("/v1/users/{}", user["id"].as_str().unwrap());

    let response = process
        .http
        .get(process.url(&path))
        .header("traceparent", traceparent(REST_TRACE))
        .header("x-request-id", "rest-get")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    let span = server_span(&collector, "rest-get").await;
    assert_eq!(span.trace_id(), REST_TRACE, "{span:?}");
    assert_eq!(span.parent_span_id(), CALLER_SPAN, "{span:?}");
    assert_get_user_span(&span, 0);
    assert_eq!(span.text("http.route"), Some("/v1/users/{id}"), "{span:?}");
    store_span_under(&collector, &span, "store.get_user").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_grpc_call_continues_the_trace_of_its_traceparent() {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start().await;
    let process = start_exporting(dir.path(), &collector, "100").await;
    let mut client = process.grpc().await;
    let mut request = tonic::Request::new(GetUserRequest {
        id: "nope".to_owned(),
    });
    let metadata = request.metadata_mut();
    metadata.insert("traceparent", traceparent(GRPC_TRACE).parse().unwrap());
    metadata.insert("x-request-id", "grpc-get".parse().unwrap());
    let status = client.get_user(request).await.expect_err("no such user");
    assert_eq!(status.code(), tonic::Code::NotFound);

    let span = server_span(&collector, "grpc-get").await;
    assert_eq!(span.trace_id(), GRPC_TRACE, "{span:?}");
    assert_eq!(span.parent_span_id(), CALLER_SPAN, "{span:?}");
    assert_get_user_span(&span, tonic::Code::NotFound as i64);
    assert_eq!(span.attribute("http.route"), None, "{span:?}");
    store_span_under(&collector, &span, "store.get_user").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_call_without_traceparent_starts_a_trace() {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start().await;
    let process = start_exporting(dir.path(), &collector, "100").await;
    for request_id in ["first", "second"] {
        let response = process
            .http
            .get(process.url("/v1/users/nope"))
            .header("x-request-id", request_id)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404);
    }

    let first = server_span(&collector, "first").await;
    let second = server_span(&collector, "second").await;
    for span in [&first, &second] {
        assert_eq!(span.parent_span_id(), "", "a root span: {span:?}");
        assert_eq!(span.trace_id().len(), 32, "{span:?}");
        assert_ne!(span.trace_id(), "0".repeat(32), "{span:?}");
        assert_get_user_span(span, tonic::Code::NotFound as i64);
    }
    assert_ne!(first.trace_id(), second.trace_id(), "each call its own trace");
    store_span_under(&collector, &first, "store.get_user").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_last_spans_are_sent_when_the_binary_stops() {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start().await;
    // Batches every minute: only the shutdown sends this one.
    let process = start_exporting(dir.path(), &collector, "60000").await;
    let response = process
        .http
        .get(process.url("/v1/users/nope"))
        .header("x-request-id", "last")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    assert!(collector.spans().is_empty(), "nothing sent before the stop");

    let status = process.terminate().await;
    assert!(status.success(), "{status}");
    let spans = collector.spans();
    let last = spans
        .iter()
        .find(|span| span.text("request_id") == Some("last"))
        .unwrap_or_else(|| panic!("the last call's span was sent at the stop: {spans:?}"));
    assert_get_user_span(last, tonic::Code::NotFound as i64);
}
