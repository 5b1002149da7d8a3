//! One log line per call, at `info`, whichever face it came through: the
//! face, the gRPC method, the route template (REST), the gRPC code, the
//! latency (of the whole stream, for a stream), the request id and the
//! peer. Failures of the client's making (NOT_FOUND, INVALID_ARGUMENT, ...)
//! are not errors here; the server's own failures are logged once more, at
//! `error`, where they are answered.
//!
//! ```text
//! 2026-12-02T14:10:49.992055Z  INFO gateway::logging::calls: call face=rest method=/users.v1.UserService/GetUser route=/v1/users/{id} code=NotFound latency_ms=0.410 request_id=order-42 peer=127.0.0.1:53122
//! ```
//!
//! The line obeys `RUST_LOG` like any other (target
//! `gateway::logging::calls`). Once [`init`](super::init) has set up the
//! process's logging, it is formatted here, in the subscriber's format
//! (text or JSON), and handed straight to its writer: formatting it through
//! `tracing`'s field visitors cost about four times as much, a fifth of a
//! point read's whole cost. Elsewhere (a library user's own subscriber) it
//! is a `tracing` event.

use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::OnceLock;
use std::time::Duration;

use gateway::transcode::interceptor::{CallInfo, Interceptor};
use gateway::transcode::metadata::push_ip;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::{FormatTime as _, SystemTime};

use super::LogFormat;
use super::writer::QueuedWriter;

/// The target the line is logged under.
const TARGET: &str = "gateway::logging::calls";

/// Where call lines go once the process's logging is set up.
static DIRECT: OnceLock<DirectLines> = OnceLock::new();

struct DirectLines {
    writer: QueuedWriter,
    format: LogFormat,
}

/// Call lines go straight to `writer`, in `format`.
pub(super) fn write_directly(writer: QueuedWriter, format: LogFormat) {
    let _ = DIRECT.set(DirectLines { writer, format });
}

/// The per-call log line; first in the chain after the metrics.
#[derive(Debug, Default)]
pub struct CallLog;

impl Interceptor for CallLog {
    fn on_end(&self, call: &CallInfo, code: tonic::Code, elapsed: Duration) {
        if !tracing::enabled!(target: TARGET, tracing::Level::INFO) {
            return;
        }
        let line = Line::of(call, code, elapsed);
        match DIRECT.get() {
            Some(direct) => {
                let mut text = String::with_capacity(320);
                match direct.format {
                    LogFormat::Text => line.text(&mut text),
                    LogFormat::Json => line.json(&mut text),
                }
                let _ = (&direct.writer).write_all(text.as_bytes());
            }
            None => tracing::info!(
                target: TARGET,
                face = %line.face,
                method = %line.method,
                route = %line.route,
                code = %line.code,
                latency_ms = line.latency_ms,
                request_id = %line.request_id,
                peer = %Peer(call.peer),
                "call"
            ),
        }
    }
}

/// What a call line says.
#[derive(serde::Serialize)]
struct Line<'a> {
    face: &'a str,
    method: &'a str,
    route: &'a str,
    code: &'static str,
    latency_ms: f64,
    request_id: &'a str,
    #[serde(serialize_with = "display")]
    peer: Peer,
}

impl<'a> Line<'a> {
    fn of(call: &'a CallInfo, code: tonic::Code, elapsed: Duration) -> Self {
        Line {
            face: call.face.as_str(),
            method: &call.grpc_path,
            route: call.route.as_deref().unwrap_or(""),
            code: code_name(code),
            latency_ms: elapsed.as_secs_f64() * 1000.0,
            request_id: call
                .request_id
                .as_ref()
                .and_then(|id| id.to_str().ok())
                .unwrap_or(""),
            peer: Peer(call.peer),
        }
    }

    /// As tracing's text format writes an event (no value here needs
    /// quoting: a header value has no line breaks). Written piece by piece:
    /// this is once per call.
    fn text(&self, out: &mut String) {
        timestamp(out);
        out.push_str("  INFO ");
        out.push_str(TARGET);
        for (name, value) in [
            (": call face=", self.face),
            (" method=", self.method),
            (" route=", self.route),
            (" code=", self.code),
        ] {
            out.push_str(name);
            out.push_str(value);
        }
        out.push_str(" latency_ms=");
        push_millis(out, self.latency_ms);
        out.push_str(" request_id=");
        out.push_str(self.request_id);
        out.push_str(" peer=");
        self.peer.push_to(out);
        out.push('\n');
    }

    /// As tracing's JSON format writes an event (flattened).
    fn json(&self, out: &mut String) {
        out.push_str(r#"{"timestamp":""#);
        timestamp(out);
        out.push_str(r#"","level":"INFO","target":""#);
        out.push_str(TARGET);
        out.push_str(r#"","message":"call","#);
        // The fields, without their object's opening brace.
        let fields = serde_json::to_string(self).unwrap_or_else(|_| "{}".to_owned());
        out.push_str(&fields[1..]);
        out.push('\n');
    }
}

/// The time as tracing's formats write it (`2026-12-02T14:10:49.992055Z`):
/// the part up to the second formatted once a second, by tracing's own
/// formatter, and kept by each thread.
fn timestamp(out: &mut String) {
    thread_local! {
        static SECOND: std::cell::RefCell<(u64, String)> = const { std::cell::RefCell::new((u64::MAX, String::new())) };
    }
    let since_epoch = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
    };
    let mut now = since_epoch();
    SECOND.with_borrow_mut(|(second, text)| {
        while *second != now.as_secs() {
            text.clear();
            let _ = SystemTime.format_time(&mut Writer::new(text));
            // The formatter read the clock itself: its second is ours when
            // the clock still reads it afterwards; else try the new second.
            let after = since_epoch();
            if after.as_secs() != now.as_secs() {
                now = after;
                continue;
            }
            // `…:49.992055Z` → `…:49.`
            let Some(dot) = text.rfind('.') else { break };
            text.truncate(dot + 1);
            *second = now.as_secs();
        }
        if *second == now.as_secs() {
            out.push_str(text);
            push_padded(out, u64::from(now.subsec_micros()), 6);
            out.push('Z');
        } else {
            let _ = SystemTime.format_time(&mut Writer::new(out));
        }
    });
}

/// `ms` with three decimals (`0.410`).
fn push_millis(out: &mut String, ms: f64) {
    let micros = (ms * 1000.0).round() as u64;
    push_padded(out, micros / 1000, 1);
    out.push('.');
    push_padded(out, micros % 1000, 3);
}

/// `number` in decimal, with leading zeros to `width` digits.
fn push_padded(out: &mut String, number: u64, width: usize) {
    let mut buffer = itoa::Buffer::new();
    let digits = buffer.format(number);
    for _ in digits.len()..width {
        out.push('0');
    }
    out.push_str(digits);
}

fn display<S: serde::Serializer>(peer: &Peer, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(peer)
}

/// The peer's address, or nothing.
struct Peer(Option<std::net::SocketAddr>);

impl Peer {
    /// As `Display` writes it; an IPv4 address without the formatter.
    fn push_to(&self, out: &mut String) {
        match self.0 {
            Some(std::net::SocketAddr::V4(peer)) => {
                push_ip(out, std::net::IpAddr::V4(*peer.ip()));
                out.push(':');
                push_padded(out, u64::from(peer.port()), 1);
            }
            Some(peer) => {
                let _ = write!(out, "{peer}");
            }
            None => {}
        }
    }
}

impl std::fmt::Display for Peer {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(peer) => peer.fmt(formatter),
            None => Ok(()),
        }
    }
}

/// The code as tonic's `Debug` names it (`NotFound`).
fn code_name(code: tonic::Code) -> &'static str {
    use tonic::Code::*;
    match code {
        Ok => "Ok",
        Cancelled => "Cancelled",
        Unknown => "Unknown",
        InvalidArgument => "InvalidArgument",
        DeadlineExceeded => "DeadlineExceeded",
        NotFound => "NotFound",
        AlreadyExists => "AlreadyExists",
        PermissionDenied => "PermissionDenied",
        ResourceExhausted => "ResourceExhausted",
        FailedPrecondition => "FailedPrecondition",
        Aborted => "Aborted",
        OutOfRange => "OutOfRange",
        Unimplemented => "Unimplemented",
        Internal => "Internal",
        Unavailable => "Unavailable",
        DataLoss => "DataLoss",
        Unauthenticated => "Unauthenticated",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gateway::transcode::interceptor::{CallKind, Face};

    #[test]
    fn codes_are_named_as_tonic_debug_names_them() {
        for number in 0..=16 {
            let code = tonic::Code::from_i32(number);
            assert_eq!(code_name(code), format!("{code:?}"), "code {number}");
        }
    }

    #[test]
    fn numbers_and_peers_are_written_as_the_formatter_writes_them() {
        for (number, width, expected) in [
            (0, 1, "0"),
            (7, 3, "007"),
            (410, 3, "410"),
            (123456, 6, "123456"),
            (u64::MAX, 1, "18446744073709551615"),
        ] {
            let mut text = String::new();
            push_padded(&mut text, number, width);
            assert_eq!(text, expected, "{number} in {width}");
        }
        for (ms, expected) in [
            (0.0, "0.000"),
            (0.41, "0.410"),
            (12.3456, "12.346"),
            (1500.0, "1500.000"),
        ] {
            let mut text = String::new();
            push_millis(&mut text, ms);
            assert_eq!(text, expected, "{ms}");
        }
        for peer in ["127.0.0.1:53122", "10.0.255.1:1", "[::1]:8080", "0.0.0.0:0"] {
            let mut text = String::new();
            Peer(Some(peer.parse().unwrap())).push_to(&mut text);
            assert_eq!(text, peer);
        }
        let mut first = String::new();
        timestamp(&mut first);
        let mut again = String::new();
        let _ = SystemTime.format_time(&mut Writer::new(&mut again));
        assert_eq!(first.len(), again.len(), "{first} {again}");
        assert_eq!(first[..17], again[..17], "{first} {again}");
    }

    #[test]
    fn a_line_reads_the_same_in_both_formats() {
        let rest = CallInfo {
            grpc_path: "/users.v1.UserService/GetUser".into(),
            kind: CallKind::Unary,
            face: Face::Rest,
            peer: Some("127.0.0.1:53122".parse().unwrap()),
            route: Some("/v1/users/{id}".into()),
            http_method: Some(http::Method::GET),
            request_id: Some(http::HeaderValue::from_static("order-42")),
            span: tracing::Span::none(),
        };
        let grpc = CallInfo {
            face: Face::Grpc,
            peer: None,
            route: None,
            http_method: None,
            request_id: None,
            ..rest.clone()
        };
        let cases = [
            (
                &rest,
                tonic::Code::NotFound,
                "face=rest method=/users.v1.UserService/GetUser route=/v1/users/{id} code=NotFound latency_ms=0.410 request_id=order-42 peer=127.0.0.1:53122",
            ),
            (
                &grpc,
                tonic::Code::Ok,
                "face=grpc method=/users.v1.UserService/GetUser route= code=Ok latency_ms=0.410 request_id= peer=",
            ),
        ];
        for (call, code, fields) in cases {
            let line = Line::of(call, code, Duration::from_micros(410));
            let mut text = String::new();
            line.text(&mut text);
            let expected = format!("  INFO {TARGET}: call {fields}\n");
            assert!(text.ends_with(&expected), "{text:?}");
            assert!(
                text.starts_with("20") && text.len() > expected.len() + 20,
                "a timestamp first: {text:?}"
            );

            let mut json = String::new();
            line.json(&mut json);
            assert!(json.ends_with("}\n"), "{json}");
            let value: serde_json::Value = serde_json::from_str(&json).unwrap();
            for (key, expected) in [("level", "INFO"), ("target", TARGET), ("message", "call")] {
                assert_eq!(value[key], expected, "{json}");
            }
            for pair in fields.split(' ') {
                let (key, expected) = pair.split_once('=').unwrap();
                match key {
                    "latency_ms" => assert_eq!(value[key].as_f64(), Some(0.41), "{json}"),
                    _ => assert_eq!(value[key], expected, "{key} in {json}"),
                }
            }
            assert!(value["timestamp"].as_str().unwrap().ends_with('Z'), "{json}");
        }
    }
}
