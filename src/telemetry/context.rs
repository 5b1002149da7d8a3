//! [`TraceContext`]: the interceptor that makes a call's span an
//! OpenTelemetry server span. A W3C `traceparent` (and `tracestate`) in the
//! call's metadata (gRPC metadata, or REST headers, which the engine
//! forwards as metadata) becomes its parent, so the call continues the
//! client's trace; without one the call starts a trace. The span is named
//! after the method and carries the semantic conventions' RPC attributes.
//!
//! ```text
//! users.v1.UserService/GetUser  kind=server  rpc.system=grpc
//!   rpc.service=users.v1.UserService  rpc.method=GetUser
//!   http.route=/v1/users/{id} (REST)  rpc.grpc.status_code=5
//! ```

use std::time::Duration;

use http::Extensions;
use opentelemetry::propagation::{Extractor, TextMapPropagator as _};
use opentelemetry::trace::{Status, TraceContextExt as _};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tonic::metadata::{KeyRef, MetadataMap};
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use crate::transcode::interceptor::{CallInfo, Interceptor};

/// Parent, name, kind and attributes of each call's span; in the chain
/// after the metrics, before the call log.
#[derive(Debug, Default)]
pub(crate) struct TraceContext {
    propagator: TraceContextPropagator,
}

impl Interceptor for TraceContext {
    fn on_call(
        &self,
        call: &CallInfo,
        metadata: &mut MetadataMap,
        _: &mut Extensions,
    ) -> Result<(), tonic::Status> {
        let span = &call.span;
        let parent = self.propagator.extract(&Metadata(metadata));
        if parent.span().span_context().is_valid() {
            // Fails only for a span the exporter does not see.
            let _ = span.set_parent(parent);
        }
        span.record("otel.name", call.grpc_path.trim_start_matches('/'));
        span.record("otel.kind", "server");
        span.set_attribute("rpc.system", "grpc");
        span.set_attribute("rpc.service", call.service().to_owned());
        span.set_attribute("rpc.method", call.method().to_owned());
        if let Some(route) = &call.route {
            span.set_attribute("http.route", route.clone());
        }
        Ok(())
    }

    fn on_end(&self, call: &CallInfo, code: tonic::Code, _: Duration) {
        // The exporter ends a span at its last exit: entering it here makes
        // a stream's span last until the stream ended.
        let _entered = call.span.enter();
        call.span
            .set_attribute("rpc.grpc.status_code", i64::from(code as i32));
        if is_server_error(code) {
            call.span.set_status(Status::error(code.description()));
        }
    }
}

/// Whether `code` marks a server span as failed: the semantic conventions'
/// list for gRPC servers (a client's mistake, NOT_FOUND say, is not the
/// server's failure).
fn is_server_error(code: tonic::Code) -> bool {
    use tonic::Code::*;
    matches!(
        code,
        Unknown | DeadlineExceeded | Unimplemented | Internal | Unavailable | DataLoss
    )
}

/// A call's metadata, read by the propagator.
struct Metadata<'a>(&'a MetadataMap);

impl Extractor for Metadata<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0
            .keys()
            .filter_map(|key| match key {
                KeyRef::Ascii(key) => Some(key.as_str()),
                KeyRef::Binary(_) => None,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;
    use std::sync::{Arc, Mutex};

    use opentelemetry::trace::{SpanId, SpanKind, TraceId};
    use opentelemetry::{KeyValue, Value};
    use opentelemetry_sdk::error::OTelSdkResult;
    use opentelemetry_sdk::trace::{SdkTracerProvider, SpanData, SpanExporter};
    use tracing_subscriber::layer::SubscriberExt as _;

    use super::*;
    use crate::transcode::interceptor::{CallKind, Face};

    #[test]
    fn only_the_servers_own_failures_mark_the_span_as_failed() {
        use tonic::Code::*;
        let cases = [
            (Ok, false),
            (Cancelled, false),
            (Unknown, true),
            (InvalidArgument, false),
            (DeadlineExceeded, true),
            (NotFound, false),
            (AlreadyExists, false),
            (PermissionDenied, false),
            (ResourceExhausted, false),
            (FailedPrecondition, false),
            (Aborted, false),
            (OutOfRange, false),
            (Unimplemented, true),
            (Internal, true),
            (Unavailable, true),
            (DataLoss, true),
            (Unauthenticated, false),
        ];
        for (code, failed) in cases {
            assert_eq!(is_server_error(code), failed, "{code:?}");
        }
    }

    /// Spans as the exporter receives them.
    #[derive(Debug, Clone, Default)]
    struct Collected(Arc<Mutex<Vec<SpanData>>>);

    impl SpanExporter for Collected {
        async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
            self.0.lock().unwrap().extend(batch);
            Ok(())
        }
    }

    const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
    const PARENT: &str = "00f067aa0ba902b7";

    /// The span of one call through [`TraceContext`], as exported.
    fn exported(face: Face, route: Option<&str>, traceparent: Option<&str>, code: tonic::Code) -> SpanData {
        let collected = Collected::default();
        let provider = SdkTracerProvider::builder()
            .with_simple_exporter(collected.clone())
            .build();
        let subscriber = tracing_subscriber::registry().with(super::super::span_layer(&provider));
        tracing::subscriber::with_default(subscriber, || {
            // As the engine makes it (see `CallInfo::span`).
            let span = tracing::info_span!(
                "request",
                request_id = "order-42",
                otel.name = tracing::field::Empty,
                otel.kind = tracing::field::Empty,
            );
            let call = CallInfo {
                grpc_path: "/users.v1.UserService/GetUser".into(),
                kind: CallKind::Unary,
                face,
                peer: Some(SocketAddr::from(([127, 0, 0, 1], 5000))),
                route: route.map(Into::into),
                http_method: route.map(|_| http::Method::GET),
                request_id: None,
                span: span.clone(),
            };
            let mut metadata = MetadataMap::new();
            if let Some(traceparent) = traceparent {
                metadata.insert("traceparent", traceparent.parse().unwrap());
            }
            let interceptor = TraceContext::default();
            let _entered = span.enter();
            interceptor
                .on_call(&call, &mut metadata, &mut Extensions::new())
                .unwrap();
            interceptor.on_end(&call, code, Duration::ZERO);
        });
        let mut spans = collected.0.lock().unwrap();
        assert_eq!(spans.len(), 1, "{spans:?}");
        spans.pop().unwrap()
    }

    fn attribute<'a>(span: &'a SpanData, key: &str) -> Option<&'a Value> {
        span.attributes
            .iter()
            .find(|KeyValue { key: k, .. }| k.as_str() == key)
            .map(|kv| &kv.value)
    }

    #[test]
    fn a_call_span_is_a_server_span_continuing_the_callers_trace() {
        let traceparent = format!("00-{TRACE}-{PARENT}-01");
        let cases = [
            (
                Face::Rest,
                Some("/v1/users/{id}"),
                Some(traceparent.as_str()),
                tonic::Code::NotFound,
            ),
            (
                Face::Grpc,
                None,
                Some(traceparent.as_str()),
                tonic::Code::Internal,
            ),
            (Face::Grpc, None, None, tonic::Code::Ok),
            (
                Face::Rest,
                Some("/v1/users/{id}"),
                Some("00-nonsense-01"),
                tonic::Code::Ok,
            ),
        ];
        for (face, route, traceparent, code) in cases {
            let span = exported(face, route, traceparent, code);
            let context = format!("{face:?} {traceparent:?} {code:?}");
            let continued = traceparent.is_some_and(|given| given.contains(TRACE));
            assert_eq!(
                span.span_context.trace_id() == TraceId::from_hex(TRACE).unwrap(),
                continued,
                "{context}"
            );
            let expected_parent = if continued {
                SpanId::from_hex(PARENT).unwrap()
            } else {
                SpanId::INVALID
            };
            assert_eq!(span.parent_span_id, expected_parent, "{context}");
            assert_eq!(span.parent_span_is_remote, continued, "{context}");
            assert_eq!(span.name, "users.v1.UserService/GetUser", "{context}");
            assert_eq!(span.span_kind, SpanKind::Server, "{context}");
            assert_eq!(
                attribute(&span, "rpc.system"),
                Some(&Value::from("grpc")),
                "{context}"
            );
            assert_eq!(
                attribute(&span, "rpc.service"),
                Some(&Value::from("users.v1.UserService")),
                "{context}"
            );
            assert_eq!(
                attribute(&span, "rpc.method"),
                Some(&Value::from("GetUser")),
                "{context}"
            );
            assert_eq!(
                attribute(&span, "http.route"),
                route.map(Value::from).as_ref(),
                "{context}"
            );
            assert_eq!(
                attribute(&span, "request_id"),
                Some(&Value::from("order-42")),
                "{context}"
            );
            assert_eq!(
                attribute(&span, "rpc.grpc.status_code"),
                Some(&Value::I64(code as i64)),
                "{context}"
            );
            let failed = matches!(span.status, Status::Error { .. });
            assert_eq!(failed, is_server_error(code), "{context}: {:?}", span.status);
        }
    }
}
