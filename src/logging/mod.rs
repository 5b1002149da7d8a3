//! The process's logs: `tracing`, as text or JSON lines (`--log-format`),
//! filtered by `RUST_LOG` (default `info`). `RUST_LOG=debug` shows this
//! crate's debug lines, not the HTTP/2 and connection internals of the
//! libraries below it, unless `RUST_LOG` names them. No ANSI colours when
//! the output is not a terminal. Panics are logged once, at `error`, like
//! every other line; each call is logged once at `info` by [`CallLog`].
//! With trace export on, the same subscriber also feeds the exporter, under
//! a filter of its own (`RUST_LOG` filters the log lines only).

mod calls;
mod fields;
mod writer;

use std::io::IsTerminal as _;

use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{Layer, Registry};

pub use calls::CallLog;
pub use writer::FlushGuard;

use crate::telemetry::Traces;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogFormat {
    /// One human-readable line per event.
    #[default]
    Text,
    /// One JSON object per line, every line the process writes.
    Json,
}

/// Libraries whose debug output is protocol internals: kept at `info`
/// unless `RUST_LOG` names them.
const QUIET_TARGETS: [&str; 6] = ["h2", "hyper", "hyper_util", "tower", "tonic", "rustls"];

/// Installs the global subscriber and the panic hook. Lines are written to
/// stdout by a background thread, a batch at a time (a request never waits
/// on the terminal or the disk, unless the queue is full: no line is
/// dropped; see `writer`); keep the guard until the process ends, as
/// dropping it writes what is queued. With `traces`, spans are exported too.
pub fn init(format: LogFormat, traces: Option<&Traces>) -> std::io::Result<FlushGuard> {
    let requested = std::env::var("RUST_LOG").unwrap_or_default();
    let filter = tracing_subscriber::EnvFilter::new(filter_directives(&requested));
    let (writer, guard) = writer::queued(std::io::stdout())?;
    calls::write_directly(writer.clone(), format);
    let lines = lines(format, writer, std::io::stdout().is_terminal()).with_filter(filter);
    tracing_subscriber::registry()
        .with(lines)
        .with(traces.map(|traces| traces.layer()))
        .init();
    log_panics();
    Ok(guard)
}

/// The layer that writes log lines in `format` to `writer`.
fn lines<W>(format: LogFormat, writer: W, ansi: bool) -> Box<dyn Layer<Registry> + Send + Sync>
where
    W: for<'writer> MakeWriter<'writer> + Send + Sync + 'static,
{
    let lines = tracing_subscriber::fmt::layer()
        .with_writer(writer)
        .with_ansi(ansi);
    match format {
        LogFormat::Text => lines.fmt_fields(fields::TextFields).boxed(),
        LogFormat::Json => lines
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .fmt_fields(fields::JsonFields)
            .boxed(),
    }
}

/// `RUST_LOG` (or `info`), with the protocol libraries it does not name
/// held at `info`.
fn filter_directives(requested: &str) -> String {
    let mut directives = if requested.trim().is_empty() {
        "info".to_owned()
    } else {
        requested.to_owned()
    };
    for target in QUIET_TARGETS {
        let named = requested
            .split(',')
            .any(|directive| directive.trim().split(['=', '[', ':']).next() == Some(target));
        if !named {
            directives.push_str(&format!(",{target}=info"));
        }
    }
    directives
}

/// A panic (say, in a service method: the call answers INTERNAL and the
/// process serves on) is logged once, at `error`, through `tracing` (so in
/// the call's span, with its request id), instead of on stderr by the
/// default hook.
fn log_panics() {
    std::panic::set_hook(Box::new(|info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
            .unwrap_or("(no message)");
        let location = info
            .location()
            .map(|location| format!("{}:{}", location.file(), location.line()))
            .unwrap_or_default();
        tracing::error!(panic = message, location, "panicked");
    }));
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    #[test]
    fn protocol_libraries_stay_quiet_unless_named() {
        let cases = [
            (
                "",
                "info,h2=info,hyper=info,hyper_util=info,tower=info,tonic=info,rustls=info",
            ),
            (
                "debug",
                "debug,h2=info,hyper=info,hyper_util=info,tower=info,tonic=info,rustls=info",
            ),
            (
                "debug,h2=trace",
                "debug,h2=trace,hyper=info,hyper_util=info,tower=info,tonic=info,rustls=info",
            ),
            (
                "gateway=debug,hyper[conn]=debug",
                "gateway=debug,hyper[conn]=debug,h2=info,hyper_util=info,tower=info,tonic=info,rustls=info",
            ),
        ];
        for (requested, expected) in cases {
            assert_eq!(filter_directives(requested), expected, "{requested:?}");
        }
    }

    /// Log lines written to memory.
    #[derive(Clone, Default)]
    struct Written(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Written {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'writer> MakeWriter<'writer> for Written {
        type Writer = Written;

        fn make_writer(&'writer self) -> Written {
            self.clone()
        }
    }

    #[test]
    fn span_fields_show_in_lines_but_the_exporters_otel_ones() {
        let cases = [
            (
                LogFormat::Text,
                r#"INFO request{request_id=order-42 peer=127.0.0.1:1}: gateway::logging::tests: call code=5"#,
            ),
            (
                LogFormat::Json,
                r#"{"level":"INFO","message":"call","code":5,"target":"gateway::logging::tests","span":{"peer":"127.0.0.1:1","request_id":"order-42","name":"request"}}"#,
            ),
        ];
        for (format, expected) in cases {
            let written = Written::default();
            let lines = lines(format, written.clone(), false);
            let subscriber = tracing_subscriber::registry().with(lines);
            tracing::subscriber::with_default(subscriber, || {
                let span = tracing::info_span!(
                    "request",
                    request_id = "order-42",
                    otel.name = tracing::field::Empty,
                    otel.kind = tracing::field::Empty,
                    peer = tracing::field::Empty,
                );
                span.record("otel.name", "users.v1.UserService/GetUser");
                span.record("otel.kind", "server");
                span.record("peer", "127.0.0.1:1");
                span.in_scope(|| tracing::info!(code = 5, "call"));
            });
            let line = String::from_utf8(written.0.lock().unwrap().clone()).unwrap();
            let line = line.trim_end();
            match format {
                // After the timestamp.
                LogFormat::Text => assert!(line.ends_with(expected), "{line}"),
                LogFormat::Json => {
                    let mut line: serde_json::Value = serde_json::from_str(line).unwrap();
                    line.as_object_mut().unwrap().remove("timestamp");
                    let expected: serde_json::Value = serde_json::from_str(expected).unwrap();
                    assert_eq!(line, expected);
                }
            }
        }
    }

    #[test]
    fn text_values_are_quoted_only_where_they_need_it() {
        let cases = [
            ("order-42", "request_id=order-42"),
            ("a b", r#"request_id="a b""#),
            ("", r#"request_id="""#),
            (r#"say "hi""#, r#"request_id="say \"hi\"""#),
            ("two\nlines", r#"request_id="two\nlines""#),
        ];
        for (value, expected) in cases {
            let written = Written::default();
            let subscriber =
                tracing_subscriber::registry().with(lines(LogFormat::Text, written.clone(), false));
            tracing::subscriber::with_default(subscriber, || {
                tracing::info!(request_id = value, "call");
            });
            let line = String::from_utf8(written.0.lock().unwrap().clone()).unwrap();
            assert!(
                line.trim_end().ends_with(&format!("call {expected}")),
                "{value:?}: {line}"
            );
        }
    }
}
