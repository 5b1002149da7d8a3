//! The process's logs: `tracing`, as text or JSON lines (`--log-format`),
//! filtered by `RUST_LOG` (default `info`). `RUST_LOG=debug` shows this
//! crate's debug lines, not the HTTP/2 and connection internals of the
//! libraries below it, unless `RUST_LOG` names them. No ANSI colours when
//! the output is not a terminal. Panics are logged once, at `error`, like
//! every other line; each call is logged once at `info` by [`CallLog`].

mod calls;
mod writer;

use std::io::IsTerminal as _;

use tracing_subscriber::field::MakeExt as _;

pub use calls::CallLog;
pub use writer::FlushGuard;

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
/// dropping it writes what is queued.
pub fn init(format: LogFormat) -> std::io::Result<FlushGuard> {
    let requested = std::env::var("RUST_LOG").unwrap_or_default();
    let filter = tracing_subscriber::EnvFilter::new(filter_directives(&requested));
    let (writer, guard) = writer::queued(std::io::stdout())?;
    calls::write_directly(writer.clone(), format);
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(std::io::stdout().is_terminal());
    match format {
        LogFormat::Text => builder.fmt_fields(plain_fields()).init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .init(),
    }
    log_panics();
    Ok(guard)
}

/// Fields as `name=value` (the message bare), without the default
/// formatter's styling calls: a span's fields are formatted when it is
/// made, once per call for the request span.
fn plain_fields() -> impl for<'writer> tracing_subscriber::fmt::FormatFields<'writer> + 'static {
    tracing_subscriber::fmt::format::debug_fn(|writer, field, value| match field.name() {
        "message" => write!(writer, "{value:?}"),
        name => write!(writer, "{name}={value:?}"),
    })
    .delimited(" ")
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
}
