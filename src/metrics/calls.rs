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
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use http::{Extensions, Method, StatusCode};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};
use tonic::Code;
use tonic::metadata::MetadataMap;

use crate::transcode::error::http_status;
use crate::transcode::interceptor::{CallInfo, CallKind, Face, Interceptor};

/// The buckets of `grpc_server_handling_seconds`: Prometheus' defaults, as
/// go-grpc-middleware uses them.
const GRPC_BUCKETS: [f64; 11] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// The buckets OpenTelemetry's semantic conventions advise for
/// `http.server.request.duration`.
const HTTP_BUCKETS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];

/// The number of gRPC codes (`OK` is 0, `UNAUTHENTICATED` 16).
const CODES: usize = 17;

/// What a method the server does not serve is counted as: a client can
/// send any path, and each must not become a series of its own.
const UNKNOWN: &str = "unknown";

/// A call's method and face: the labels of `started` and `handling`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    grpc_type: &'static str,
    grpc_service: Arc<str>,
    grpc_method: Arc<str>,
    protocol: &'static str,
}

/// [`CallLabels`] and how the call ended.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HandledLabels {
    grpc_type: &'static str,
    grpc_service: Arc<str>,
    grpc_method: Arc<str>,
    grpc_code: &'static str,
    protocol: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ProtocolLabels {
    protocol: &'static str,
}

/// A REST binding (its HTTP method and template) and the status it answered.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpLabels {
    http_request_method: String,
    http_route: Arc<str>,
    http_response_status_code: u16,
}

type Histograms<S> = Family<S, Histogram, fn() -> Histogram>;

/// The metric families, as registered.
struct Families {
    started: Family<CallLabels, Counter>,
    handled: Family<HandledLabels, Counter>,
    handling: Histograms<CallLabels>,
    http_duration: Histograms<HttpLabels>,
}

/// One method's series on one face, each taken from its family the first
/// time it is used and kept: a call then costs atomic updates, not label
/// strings and map lookups.
#[derive(Default)]
struct FaceSeries {
    started: OnceLock<Counter>,
    handling: OnceLock<Histogram>,
    /// By code number.
    handled: [OnceLock<Counter>; CODES],
}

/// A method the server serves: its labels and its series on each face.
struct MethodSeries {
    service: Arc<str>,
    method: Arc<str>,
    /// By [`face_index`].
    faces: [FaceSeries; 3],
}

/// A REST binding's `http_server_request_duration_seconds`, by code number
/// (a binding answers each code with one status).
struct RouteSeries {
    http_method: Method,
    route: Arc<str>,
    /// The status of an OK call (`CreateUser`: 201).
    success: StatusCode,
    by_code: [OnceLock<Histogram>; CODES],
}

/// The call metrics and the interceptor that records them.
pub(crate) struct CallMetrics {
    families: Families,
    in_flight: [Gauge; 3],
    /// The streaming calls among them.
    open_streams: [Gauge; 3],
    /// By gRPC path, every method the server serves.
    methods: HashMap<Arc<str>, MethodSeries>,
    /// The calls of any other path.
    unknown: MethodSeries,
    /// By route template, the REST bindings on it (one per HTTP method).
    routes: HashMap<Arc<str>, Vec<RouteSeries>>,
}

/// A REST binding, as the metrics know it.
pub(crate) struct RestBinding {
    pub(crate) http_method: Method,
    pub(crate) route: Arc<str>,
    pub(crate) success: StatusCode,
}

impl CallMetrics {
    /// Creates the metrics and registers them in `registry`, for the
    /// methods at `grpc_paths` (calls of any other path are counted as
    /// `unknown`) and the REST `bindings`.
    pub(crate) fn register(
        registry: &mut Registry,
        grpc_paths: impl IntoIterator<Item = Arc<str>>,
        bindings: impl IntoIterator<Item = RestBinding>,
    ) -> CallMetrics {
        let families = Families {
            started: Family::default(),
            handled: Family::default(),
            handling: Family::new_with_constructor(|| Histogram::new(GRPC_BUCKETS)),
            http_duration: Family::new_with_constructor(|| Histogram::new(HTTP_BUCKETS)),
        };
        let in_flight = Family::<ProtocolLabels, Gauge>::default();
        let open_streams = Family::<ProtocolLabels, Gauge>::default();
        // The exposition adds `_total` to counters and the unit to the others.
        registry.register(
            "grpc_server_started",
            "Total number of RPCs started on the server",
            families.started.clone(),
        );
        registry.register(
            "grpc_server_handled",
            "Total number of RPCs completed on the server, regardless of success or failure",
            families.handled.clone(),
        );
        registry.register_with_unit(
            "grpc_server_handling",
            "Histogram of response latency (seconds) of RPCs that had been handled by the server",
            Unit::Seconds,
            families.handling.clone(),
        );
        registry.register(
            "grpc_server_in_flight_calls",
            "Number of RPCs started on the server and not yet ended, open streams included",
            in_flight.clone(),
        );
        registry.register(
            "grpc_server_open_streams",
            "Number of streaming RPCs (server, client or bidi) started on the server and not yet ended",
            open_streams.clone(),
        );
        registry.register_with_unit(
            "http_server_request_duration",
            "Duration of HTTP server requests transcoded to RPCs",
            Unit::Seconds,
            families.http_duration.clone(),
        );
        // Every face shows its gauges, at 0 until it sees a call.
        let by_face = |gauges: &Family<ProtocolLabels, Gauge>| {
            FACES.map(|face| {
                gauges
                    .get_or_create(&ProtocolLabels {
                        protocol: face.as_str(),
                    })
                    .clone()
            })
        };
        let (in_flight, open_streams) = (by_face(&in_flight), by_face(&open_streams));
        let methods = grpc_paths
            .into_iter()
            .map(|path| {
                let (service, method) = split_path(&path);
                let series = MethodSeries::new(service.into(), method.into());
                (path, series)
            })
            .collect();
        let mut routes: HashMap<Arc<str>, Vec<RouteSeries>> = HashMap::new();
        for binding in bindings {
            let on_route = routes.entry(binding.route.clone()).or_default();
            if !on_route
                .iter()
                .any(|series| series.http_method == binding.http_method)
            {
                on_route.push(RouteSeries {
                    http_method: binding.http_method,
                    route: binding.route,
                    success: binding.success,
                    by_code: Default::default(),
                });
            }
        }
        CallMetrics {
            families,
            in_flight,
            open_streams,
            methods,
            unknown: MethodSeries::new(UNKNOWN.into(), UNKNOWN.into()),
            routes,
        }
    }

    fn method(&self, call: &CallInfo) -> &MethodSeries {
        self.methods.get(&*call.grpc_path).unwrap_or(&self.unknown)
    }

    /// The REST binding a call came through, if the metrics know it.
    fn route(&self, call: &CallInfo) -> Option<&RouteSeries> {
        let (route, http_method) = (call.route.as_ref()?, call.http_method.as_ref()?);
        self.routes
            .get(route)?
            .iter()
            .find(|series| series.http_method == *http_method)
    }
}

const FACES: [Face; 3] = [Face::Grpc, Face::Rest, Face::WebSocket];

fn face_index(face: Face) -> usize {
    match face {
        Face::Grpc => 0,
        Face::Rest => 1,
        Face::WebSocket => 2,
    }
}

impl MethodSeries {
    fn new(service: Arc<str>, method: Arc<str>) -> Self {
        MethodSeries {
            service,
            method,
            faces: Default::default(),
        }
    }

    fn labels(&self, call: &CallInfo) -> CallLabels {
        CallLabels {
            grpc_type: call.kind.as_str(),
            grpc_service: self.service.clone(),
            grpc_method: self.method.clone(),
            protocol: call.face.as_str(),
        }
    }
}

impl Interceptor for CallMetrics {
    fn on_call(&self, call: &CallInfo, _: &mut MetadataMap, _: &mut Extensions) -> Result<(), tonic::Status> {
        let method = self.method(call);
        let series = &method.faces[face_index(call.face)];
        series
            .started
            .get_or_init(|| self.families.started.get_or_create(&method.labels(call)).clone())
            .inc();
        self.in_flight[face_index(call.face)].inc();
        if call.kind != CallKind::Unary {
            self.open_streams[face_index(call.face)].inc();
        }
        Ok(())
    }

    fn on_end(&self, call: &CallInfo, code: Code, elapsed: Duration) {
        let method = self.method(call);
        let series = &method.faces[face_index(call.face)];
        let seconds = elapsed.as_secs_f64();
        let code_index = (code as usize).min(CODES - 1);
        series.handled[code_index]
            .get_or_init(|| {
                let labels = method.labels(call);
                let handled = HandledLabels {
                    grpc_type: labels.grpc_type,
                    grpc_service: labels.grpc_service,
                    grpc_method: labels.grpc_method,
                    grpc_code: go_code_name(code),
                    protocol: labels.protocol,
                };
                self.families.handled.get_or_create(&handled).clone()
            })
            .inc();
        series
            .handling
            .get_or_init(|| self.families.handling.get_or_create(&method.labels(call)).clone())
            .observe(seconds);
        self.in_flight[face_index(call.face)].dec();
        if call.kind != CallKind::Unary {
            self.open_streams[face_index(call.face)].dec();
        }
        // A WebSocket's duration is its session's, not a request's: only
        // REST requests are HTTP requests here.
        if call.face == Face::Rest
            && let Some(route) = self.route(call)
        {
            route.by_code[code_index]
                .get_or_init(|| {
                    let labels = HttpLabels {
                        http_request_method: route.http_method.as_str().to_owned(),
                        http_route: route.route.clone(),
                        http_response_status_code: route.status(code).as_u16(),
                    };
                    self.families.http_duration.get_or_create(&labels).clone()
                })
                .observe(seconds);
        }
    }
}

impl RouteSeries {
    /// The status a REST call answered: its binding's success status when
    /// OK, else the engine's table applied to its code. Exact for unary
    /// calls; a stream that had started answered its success status and
    /// carried a later error in band, which this approximates with the
    /// table's status.
    fn status(&self, code: Code) -> StatusCode {
        match code {
            Code::Ok => self.success,
            code => http_status(code),
        }
    }
}

/// `/users.v1.UserService/GetUser` → (`users.v1.UserService`, `GetUser`).
fn split_path(path: &str) -> (&str, &str) {
    path.trim_start_matches('/').split_once('/').unwrap_or((path, ""))
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

    const GET_USER: &str = "/users.v1.UserService/GetUser";

    fn call(path: &str, face: Face, route: Option<(&str, Method)>) -> CallInfo {
        CallInfo {
            grpc_path: path.into(),
            kind: CallKind::Unary,
            face,
            peer: None,
            route: route.as_ref().map(|(template, _)| (*template).into()),
            http_method: route.map(|(_, method)| method),
            request_id: None,
            span: tracing::Span::none(),
        }
    }

    fn metrics(registry: &mut Registry) -> CallMetrics {
        let paths = [GET_USER, "/users.v1.UserService/CreateUser"].map(Arc::from);
        let bindings = [
            (Method::GET, "/v1/users/{id}", StatusCode::OK),
            (Method::POST, "/v1/users", StatusCode::CREATED),
        ]
        .map(|(http_method, route, success)| RestBinding {
            http_method,
            route: route.into(),
            success,
        });
        CallMetrics::register(registry, paths, bindings)
    }

    fn scrape(registry: &Registry) -> String {
        let mut text = String::new();
        prometheus_client::encoding::prometheus_text::encode(&mut text, registry).unwrap();
        text
    }

    #[test]
    fn a_call_is_counted_once_started_and_once_ended() {
        let mut registry = Registry::default();
        let metrics = metrics(&mut registry);
        let rest = call(GET_USER, Face::Rest, Some(("/v1/users/{id}", Method::GET)));
        let grpc = call(GET_USER, Face::Grpc, None);
        for call in [&rest, &grpc] {
            metrics
                .on_call(call, &mut MetadataMap::new(), &mut Extensions::new())
                .unwrap();
        }
        let labels = r#"grpc_type="unary",grpc_service="users.v1.UserService",grpc_method="GetUser""#;
        let during = scrape(&registry);
        for line in [
            format!(r#"grpc_server_started_total{{{labels},protocol="rest"}} 1"#),
            format!(r#"grpc_server_started_total{{{labels},protocol="grpc"}} 1"#),
            r#"grpc_server_in_flight_calls{protocol="rest"} 1"#.to_owned(),
            r#"grpc_server_in_flight_calls{protocol="websocket"} 0"#.to_owned(),
            r#"grpc_server_open_streams{protocol="rest"} 0"#.to_owned(),
        ] {
            assert!(during.lines().any(|l| l == line), "{line} in\n{during}");
        }
        assert!(!during.contains("grpc_server_handled_total{"), "{during}");

        metrics.on_end(&rest, Code::NotFound, Duration::from_millis(3));
        metrics.on_end(&grpc, Code::Ok, Duration::ZERO);
        let after = scrape(&registry);
        for line in [
            format!(r#"grpc_server_handled_total{{{labels},grpc_code="NotFound",protocol="rest"}} 1"#),
            format!(r#"grpc_server_handled_total{{{labels},grpc_code="OK",protocol="grpc"}} 1"#),
            format!(r#"grpc_server_handling_seconds_count{{{labels},protocol="rest"}} 1"#),
            r#"grpc_server_in_flight_calls{protocol="rest"} 0"#.to_owned(),
            r#"grpc_server_in_flight_calls{protocol="grpc"} 0"#.to_owned(),
            r#"http_server_request_duration_seconds_count{http_request_method="GET",http_route="/v1/users/{id}",http_response_status_code="404"} 1"#
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

    #[test]
    fn series_are_labelled_by_what_the_server_serves() {
        let create = "/users.v1.UserService/CreateUser";
        let cases = [
            // A known method keeps its name; a binding's success status is its own.
            (
                call(create, Face::Rest, Some(("/v1/users", Method::POST))),
                Code::Ok,
                vec![
                    r#"grpc_server_handled_total{grpc_type="unary",grpc_service="users.v1.UserService",grpc_method="CreateUser",grpc_code="OK",protocol="rest"} 1"#,
                    r#"http_server_request_duration_seconds_count{http_request_method="POST",http_route="/v1/users",http_response_status_code="201"} 1"#,
                ],
            ),
            // Any other path is one bounded series.
            (
                call("/evil.Service/x-1234", Face::Grpc, None),
                Code::Unimplemented,
                vec![
                    r#"grpc_server_handled_total{grpc_type="unary",grpc_service="unknown",grpc_method="unknown",grpc_code="Unimplemented",protocol="grpc"} 1"#,
                ],
            ),
        ];
        for (call, code, lines) in cases {
            let mut registry = Registry::default();
            let metrics = metrics(&mut registry);
            metrics
                .on_call(&call, &mut MetadataMap::new(), &mut Extensions::new())
                .unwrap();
            metrics.on_end(&call, code, Duration::from_millis(1));
            let text = scrape(&registry);
            for line in lines {
                assert!(text.lines().any(|l| l == line), "{line} in\n{text}");
            }
            assert!(!text.contains("x-1234"), "{text}");
        }
    }

    #[test]
    fn streams_are_counted_open_until_they_end() {
        let mut registry = Registry::default();
        let metrics = metrics(&mut registry);
        let stream = CallInfo {
            kind: CallKind::ServerStreaming,
            ..call("/users.v1.UserService/StreamUsers", Face::WebSocket, None)
        };
        let unary = call(GET_USER, Face::WebSocket, None);
        for call in [&stream, &unary] {
            metrics
                .on_call(call, &mut MetadataMap::new(), &mut Extensions::new())
                .unwrap();
        }
        let open = |text: &str| {
            text.lines()
                .find_map(|line| line.strip_prefix(r#"grpc_server_open_streams{protocol="websocket"} "#))
                .map(str::to_owned)
        };
        assert_eq!(open(&scrape(&registry)).as_deref(), Some("1"));
        metrics.on_end(&stream, Code::Ok, Duration::from_secs(1));
        assert_eq!(open(&scrape(&registry)).as_deref(), Some("0"));
    }
}
