//! The process's metrics, served at `GET /metrics` in the Prometheus text
//! format (or OpenMetrics text, when the scraper asks for it in `Accept`),
//! encoded by `prometheus-client` from one registry.
//!
//! - `calls` — the call metrics and the interceptor that records them, for
//!   gRPC, REST and WebSocket calls alike.

mod calls;

use std::collections::HashMap;
use std::sync::Arc;

use axum::response::IntoResponse;
use axum::routing::get;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use prometheus_client::encoding::{prometheus_text, text};
use prometheus_client::registry::Registry;

use crate::transcode::Bindings;
use crate::transcode::interceptor::Interceptor;

use calls::CallMetrics;

/// Where [`Metrics::routes`] serves the scrape.
pub(crate) const METRICS_PATH: &str = "/metrics";

/// The content type of the OpenMetrics text format.
const OPENMETRICS_CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The registry and the interceptor that fills it.
pub(crate) struct Metrics {
    registry: Registry,
    calls: Arc<CallMetrics>,
}

impl Metrics {
    /// The metrics of calls to `bindings`' services (whose options give
    /// the HTTP status of a successful REST call).
    pub(crate) fn new(bindings: &Bindings) -> Metrics {
        let success: HashMap<Arc<str>, StatusCode> = bindings
            .list
            .iter()
            .filter(|binding| binding.success.status != StatusCode::OK)
            .map(|binding| (binding.grpc_path.clone(), binding.success.status))
            .collect();
        let mut registry = Registry::default();
        let calls = Arc::new(CallMetrics::register(&mut registry, success));
        Metrics { registry, calls }
    }

    /// The interceptor to put in the policy chain (first, so that calls a
    /// later interceptor rejects are counted too).
    pub(crate) fn interceptor(&self) -> Arc<dyn Interceptor> {
        self.calls.clone()
    }

    /// `GET /metrics`.
    pub(crate) fn routes(self) -> axum::Router {
        let registry = Arc::new(self.registry);
        axum::Router::new().route(
            METRICS_PATH,
            get(move |headers: HeaderMap| std::future::ready(scrape(&registry, &headers))),
        )
    }
}

/// The registry encoded in the format `headers` ask for: OpenMetrics when
/// `Accept` names it, the Prometheus text format otherwise.
fn scrape(registry: &Registry, headers: &HeaderMap) -> impl IntoResponse + use<> {
    let openmetrics = headers.get_all(header::ACCEPT).iter().any(|accept| {
        accept
            .to_str()
            .is_ok_and(|accept| accept.contains("application/openmetrics-text"))
    });
    let mut body = String::new();
    let (encoded, content_type) = if openmetrics {
        (text::encode(&mut body, registry), OPENMETRICS_CONTENT_TYPE)
    } else {
        (
            prometheus_text::encode(&mut body, registry),
            prometheus_text::CONTENT_TYPE,
        )
    };
    match encoded {
        Ok(()) => Ok((
            [(header::CONTENT_TYPE, HeaderValue::from_static(content_type))],
            body,
        )),
        // Writing to a `String` cannot fail: this would be an encoder's bug.
        Err(_) => Err((StatusCode::INTERNAL_SERVER_ERROR, "encoding the metrics failed")),
    }
}
