//! Traces exported over OTLP/gRPC (`--otlp-endpoint`, env
//! `OTEL_EXPORTER_OTLP_ENDPOINT`), off by default. Each call's `request`
//! span (made by the engine on both faces) becomes an OpenTelemetry server
//! span, continuing the W3C `traceparent` the call carried
//! ([`TraceContext`], an interceptor of the policy chain), and the store's
//! `store.*` spans become its children.
//!
//! [`Traces::start`] builds the exporter and a batch span processor on the
//! tokio runtime (resource `service.name=gateway`; the `OTEL_BSP_*`
//! variables tune the batches); [`logging::init`](crate::logging::init)
//! adds [`Traces::layer`] to the subscriber, with a filter of its own: this
//! crate's spans down to `debug` and its warnings and errors, whatever
//! `RUST_LOG` lets the log lines show. Spans are sent in the background: a
//! collector that is slow or gone costs a call nothing (a full queue drops
//! spans). [`Traces::shutdown`] sends what is left.
//!
//! - `context` — the [`TraceContext`] interceptor: parent, name, kind and
//!   the `rpc.*` attributes of a call's span.

mod context;

use std::time::Duration;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;
use opentelemetry_sdk::trace::span_processor_with_async_runtime::BatchSpanProcessor;
use tracing::{Level, Metadata};
use tracing_subscriber::Layer;
use tracing_subscriber::registry::LookupSpan;

pub(crate) use context::TraceContext;

/// The service name the spans are exported under.
const SERVICE_NAME: &str = "gateway";

/// The longest [`Traces::shutdown`] waits for the last spans to be sent.
const SHUTDOWN_LIMIT: Duration = Duration::from_secs(5);

/// Why trace export could not start.
#[derive(Debug, thiserror::Error)]
#[error("cannot export traces to {endpoint}: {reason}")]
pub struct TracesError {
    endpoint: String,
    reason: String,
}

/// The span exporter and its batch processor, running on the tokio runtime.
pub struct Traces {
    provider: SdkTracerProvider,
}

impl Traces {
    /// Starts exporting to the OTLP/gRPC collector at `endpoint`; call
    /// inside the tokio runtime. It connects lazily: a collector that is
    /// not there yet is no error.
    pub fn start(endpoint: &http::Uri) -> Result<Traces, TracesError> {
        let endpoint = endpoint.to_string();
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .with_endpoint(endpoint.clone())
            .build()
            .map_err(|error| TracesError {
                endpoint,
                reason: error.to_string(),
            })?;
        let processor = BatchSpanProcessor::builder(exporter, opentelemetry_sdk::runtime::Tokio).build();
        let provider = SdkTracerProvider::builder()
            .with_span_processor(processor)
            .with_resource(Resource::builder().with_service_name(SERVICE_NAME).build())
            .build();
        Ok(Traces { provider })
    }

    /// The subscriber layer that turns this crate's spans into exported
    /// ones (see the module's doc for what it lets through).
    pub(crate) fn layer<S>(&self) -> impl Layer<S> + use<S>
    where
        S: tracing::Subscriber + for<'span> LookupSpan<'span>,
    {
        span_layer(&self.provider)
    }

    /// Sends the spans not yet sent and stops the exporter, waiting at
    /// most a few seconds for the collector.
    pub async fn shutdown(self) {
        let provider = self.provider;
        // The processor's shutdown blocks its thread until the batch is
        // sent (by a task on the runtime), so it waits on a thread of its
        // own, which the process does not wait for if the collector hangs.
        let (sender, stopped) = tokio::sync::oneshot::channel();
        std::thread::spawn(move || {
            let _ = sender.send(provider.shutdown());
        });
        match tokio::time::timeout(SHUTDOWN_LIMIT, stopped).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(error))) => tracing::warn!(%error, "stopping the trace export failed"),
            Ok(Err(_)) => tracing::warn!("stopping the trace export failed"),
            Err(_) => tracing::warn!("the last spans were not sent in time"),
        }
    }
}

/// The layer that hands the spans [`is_exported`] lets through to
/// `provider`.
fn span_layer<S>(provider: &SdkTracerProvider) -> impl Layer<S> + use<S>
where
    S: tracing::Subscriber + for<'span> LookupSpan<'span>,
{
    let filter = tracing_subscriber::filter::filter_fn(is_exported).with_max_level_hint(Level::DEBUG);
    tracing_opentelemetry::layer()
        .with_tracer(provider.tracer(SERVICE_NAME))
        // The call's span gets its remote parent in the chain's `on_call`,
        // after it was entered; children find their parent through the
        // tracing span stack.
        .with_context_activation(false)
        // No source locations, thread names, targets or busy/idle times:
        // the spans carry their fields only.
        .with_location(false)
        .with_threads(false)
        .with_target(false)
        .with_tracked_inactivity(false)
        .with_filter(filter)
}

/// What the exporter sees: this crate's spans down to `debug` (the store's
/// work included) and its warnings and errors, as span events.
fn is_exported(metadata: &Metadata<'_>) -> bool {
    let ours = metadata.target() == "gateway" || metadata.target().starts_with("gateway::");
    let level = *metadata.level();
    ours && ((metadata.is_span() && level <= Level::DEBUG) || (metadata.is_event() && level <= Level::WARN))
}
