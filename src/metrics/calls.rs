//! The call metrics, recorded by one interceptor in the policy chain, so a
//! call is counted once whichever face it came through: go-grpc-middleware's
//! server metrics (`grpc_server_started_total`, `grpc_server_handled_total`,
//! `grpc_server_handling_seconds`, same names and labels, plus `protocol`:
//! `grpc`, `rest` or `websocket`), the calls in flight, and for REST calls
//! OpenTelemetry's `http_server_request_duration_seconds`.
//!
//! ```text
//! grpc_server_handled_total{grpc_type="unary",grpc_service="users.v1.UserService",
//!     grpc_method="GetUser",grpc_code="NotFound",protocol="rest"} 1
//! ```

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use http::{Extensions, StatusCode};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};
use tonic::Code;
use tonic::metadata::MetadataMap;

use crate::transcode::error::http_status;
use crate::transcode::interceptor::{CallInfo, Face, Interceptor};

/// The buckets of `grpc_server_handling_seconds`: Prometheus' defaults, as
/// go-grpc-middleware uses them.
const GRPC_BUCKETS: [f64; 11] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// The buckets OpenTelemetry's semantic conventions advise for
/// `http.server.request.duration`.
const HTTP_BUCKETS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];

/// A call's method and face: the labels of `started` and `handling`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    grpc_type: &'static str,
    grpc_service: String,
    grpc_method: String,
    protocol: &'static str,
}

/// [`CallLabels`] and how the call ended.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HandledLabels {
    grpc_type: &'static str,
    grpc_service: String,
    grpc_method: String,
    grpc_code: &'static str,
    protocol: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ProtocolLabels {
    protocol: &'static str,
}

/// `http_request_method` is left out: the chain does not see the HTTP
/// request, only the binding's template (which, with the method, names one
/// binding; the method is in the binding's gRPC method anyway).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpLabels {
    http_route: Arc<str>,
    http_response_status_code: u16,
}

type Histograms<S> = Family<S, Histogram, fn() -> Histogram>;

/// The call metrics and the interceptor that records them.
pub(crate) struct CallMetrics {
    started: Family<CallLabels, Counter>,
    handled: Family<HandledLabels, Counter>,
    handling: Histograms<CallLabels>,
    in_flight: Family<ProtocolLabels, Gauge>,
    http_duration: Histograms<HttpLabels>,
    /// The HTTP status of an OK call, by gRPC path, where a binding's
    /// option sets it (`CreateUser`: 201); 200 otherwise.
    success: HashMap<Arc<str>, StatusCode>,
}

impl CallMetrics {
    /// Creates the metrics and registers them in `registry`; `success`
    /// holds the HTTP status of OK calls that do not answer 200.
    pub(crate) fn register(registry: &mut Registry, success: HashMap<Arc<str>, StatusCode>) -> CallMetrics {
        let metrics = CallMetrics {
            started: Family::default(),
            handled: Family::default(),
            handling: Family::new_with_constructor(|| Histogram::new(GRPC_BUCKETS)),
            in_flight: Family::default(),
            http_duration: Family::new_with_constructor(|| Histogram::new(HTTP_BUCKETS)),
            success,
        };
        // The exposition adds `_total` to counters and the unit to the others.
        registry.register(
            "grpc_server_started",
            "Total number of RPCs started on the server",
            metrics.started.clone(),
        );
        registry.register(
            "grpc_server_handled",
            "Total number of RPCs completed on the server, regardless of success or failure",
            metrics.handled.clone(),
        );
        registry.register_with_unit(
            "grpc_server_handling",
            "Histogram of response latency (seconds) of RPCs that had been handled by the server",
            Unit::Seconds,
            metrics.handling.clone(),
        );
        registry.register(
            "grpc_server_in_flight_calls",
            "Number of RPCs started on the server and not yet ended, open streams included",
            metrics.in_flight.clone(),
        );
        registry.register_with_unit(
            "http_server_request_duration",
            "Duration of HTTP server requests transcoded to RPCs",
            Unit::Seconds,
            metrics.http_duration.clone(),
        );
        // Every face shows its gauge, at 0 until it sees a call.
        for face in [Face::Grpc, Face::Rest, Face::WebSocket] {
            let protocol = ProtocolLabels {
                protocol: face.as_str(),
            };
            metrics.in_flight.get_or_create(&protocol).set(0);
        }
        metrics
    }
}

impl Interceptor for CallMetrics {
    fn on_call(&self, call: &CallInfo, _: &mut MetadataMap, _: &mut Extensions) -> Result<(), tonic::Status> {
        self.started.get_or_create(&call_labels(call)).inc();
        self.in_flight
            .get_or_create(&ProtocolLabels {
                protocol: call.face.as_str(),
            })
            .inc();
        Ok(())
    }

    fn on_end(&self, call: &CallInfo, code: Code, elapsed: Duration) {
        let labels = call_labels(call);
        let seconds = elapsed.as_secs_f64();
        self.handled
            .get_or_create(&HandledLabels {
                grpc_type: labels.grpc_type,
                grpc_service: labels.grpc_service.clone(),
                grpc_method: labels.grpc_method.clone(),
                grpc_code: go_code_name(code),
                protocol: labels.protocol,
            })
            .inc();
        self.handling.get_or_create(&labels).observe(seconds);
        self.in_flight
            .get_or_create(&ProtocolLabels {
                protocol: labels.protocol,
            })
            .dec();
        // A WebSocket's duration is its session's, not a request's: only
        // REST requests are HTTP requests here.
        if let (Face::Rest, Some(route)) = (call.face, &call.route) {
            self.http_duration
                .get_or_create(&HttpLabels {
                    http_route: route.clone(),
                    http_response_status_code: self.http_status(call, code).as_u16(),
                })
                .observe(seconds);
        }
    }
}

impl CallMetrics {
    /// The status a REST call answered: its binding's success status when
    /// OK, else the engine's table applied to its code. Exact for unary
    /// calls; a stream that had started answered its success status and
    /// carried a later error in band, which this approximates with the
    /// table's status.
    fn http_status(&self, call: &CallInfo, code: Code) -> StatusCode {
        match code {
            Code::Ok => self
                .success
                .get(&*call.grpc_path)
                .copied()
                .unwrap_or(StatusCode::OK),
            code => http_status(code),
        }
    }
}

fn call_labels(call: &CallInfo) -> CallLabels {
    CallLabels {
        grpc_type: call.kind.as_str(),
        grpc_service: call.service().to_owned(),
        grpc_method: call.method().to_owned(),
        protocol: call.face.as_str(),
    }
}

/// A code's name as grpc-go's `codes.Code.String()` prints it, which is
/// go-grpc-middleware's `grpc_code` (note Go's spelling `Canceled`).
fn go_code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "Canceled",
        Code::Unknown => "Unknown",
        Code::InvalidArgument => "InvalidArgument",
        Code::DeadlineExceeded => "DeadlineExceeded",
        Code::NotFound => "NotFound",
        Code::AlreadyExists => "AlreadyExists",
        Code::PermissionDenied => "PermissionDenied",
        Code::ResourceExhausted => "ResourceExhausted",
        Code::FailedPrecondition => "FailedPrecondition",
        Code::Aborted => "Aborted",
        Code::OutOfRange => "OutOfRange",
        Code::Unimplemented => "Unimplemented",
        Code::Internal => "Internal",
        Code::Unavailable => "Unavailable",
        Code::DataLoss => "DataLoss",
        Code::Unauthenticated => "Unauthenticated",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transcode::interceptor::CallKind;

    #[test]
    fn codes_are_named_as_grpc_go_names_them() {
        let cases = [
            (0, "OK"),
            (1, "Canceled"),
            (2, "Unknown"),
            (3, "InvalidArgument"),
            (4, "DeadlineExceeded"),
            (5, "NotFound"),
            (6, "AlreadyExists"),
            (7, "PermissionDenied"),
            (8, "ResourceExhausted"),
            (9, "FailedPrecondition"),
            (10, "Aborted"),
            (11, "OutOfRange"),
            (12, "Unimplemented"),
            (13, "Internal"),
            (14, "Unavailable"),
            (15, "DataLoss"),
            (16, "Unauthenticated"),
        ];
        for (number, name) in cases {
            assert_eq!(go_code_name(Code::from_i32(number)), name, "code {number}");
        }
    }

    fn call(face: Face, route: Option<&str>) -> CallInfo {
        CallInfo {
            grpc_path: "/users.v1.UserService/GetUser".into(),
            kind: CallKind::Unary,
            face,
            peer: None,
            route: route.map(Into::into),
            request_id: None,
            span: tracing::Span::none(),
        }
    }

    #[test]
    fn a_call_is_counted_once_started_and_once_ended() {
        let mut registry = Registry::default();
        let created = HashMap::from([("/users.v1.UserService/CreateUser".into(), StatusCode::CREATED)]);
        let metrics = CallMetrics::register(&mut registry, created);
        let scrape = || {
            let mut text = String::new();
            prometheus_client::encoding::prometheus_text::encode(&mut text, &registry).unwrap();
            text
        };
        let rest = call(Face::Rest, Some("/v1/users/{id}"));
        let grpc = call(Face::Grpc, None);
        for call in [&rest, &grpc] {
            metrics
                .on_call(call, &mut MetadataMap::new(), &mut Extensions::new())
                .unwrap();
        }
        let labels = r#"grpc_type="unary",grpc_service="users.v1.UserService",grpc_method="GetUser""#;
        let during = scrape();
        for line in [
            format!(r#"grpc_server_started_total{{{labels},protocol="rest"}} 1"#),
            format!(r#"grpc_server_started_total{{{labels},protocol="grpc"}} 1"#),
            r#"grpc_server_in_flight_calls{protocol="rest"} 1"#.to_owned(),
            r#"grpc_server_in_flight_calls{protocol="websocket"} 0"#.to_owned(),
        ] {
            assert!(during.lines().any(|l| l == line), "{line} in\n{during}");
        }
        assert!(!during.contains("grpc_server_handled_total{"), "{during}");

        metrics.on_end(&rest, Code::NotFound, Duration::from_millis(3));
        metrics.on_end(&grpc, Code::Ok, Duration::ZERO);
        let after = scrape();
        for line in [
            format!(r#"grpc_server_handled_total{{{labels},grpc_code="NotFound",protocol="rest"}} 1"#),
            format!(r#"grpc_server_handled_total{{{labels},grpc_code="OK",protocol="grpc"}} 1"#),
            format!(r#"grpc_server_handling_seconds_count{{{labels},protocol="rest"}} 1"#),
            r#"grpc_server_in_flight_calls{protocol="rest"} 0"#.to_owned(),
            r#"grpc_server_in_flight_calls{protocol="grpc"} 0"#.to_owned(),
            r#"http_server_request_duration_seconds_count{http_route="/v1/users/{id}",http_response_status_code="404"} 1"#
                .to_owned(),
        ] {
            assert!(after.lines().any(|l| l == line), "{line} in\n{after}");
        }
        // Only the REST call was an HTTP request.
        let http_series = after
            .lines()
            .filter(|l| l.starts_with("http_server_request_duration_seconds_count"))
            .count();
        assert_eq!(http_series, 1, "{after}");
    }
}
