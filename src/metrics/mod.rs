//! The process's metrics, served at `GET /metrics` in the Prometheus text
//! format (or OpenMetrics text, when the scraper asks for it in `Accept`),
//! encoded by `prometheus-client` from one registry.
//!
//! - `calls` — the call metrics and the interceptor that records them, for
//!   gRPC, REST and WebSocket calls alike;
//! - `store` — the store's own figures (writer queue, commit batches, read
//!   cache, reader pool).

mod calls;
mod store;

use std::sync::Arc;

use axum::response::IntoResponse;
use axum::routing::get;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use prometheus_client::encoding::{prometheus_text, text};
use prometheus_client::registry::Registry;
use prost_reflect::DescriptorPool;

use crate::transcode::Bindings;
use crate::transcode::interceptor::{Interceptor, grpc_path};

use crate::users::StoreFigures;
use calls::{CallMetrics, RestBinding};
use store::StoreMetrics;

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
    /// The metrics of calls to the services of `bindings`' pool and of
    /// `others` (calls of any other method count as `unknown`), and of
    /// REST calls through `bindings`.
    pub(crate) fn new(bindings: &Bindings, others: &DescriptorPool) -> Metrics {
        let grpc_paths = [&bindings.pool, others]
            .into_iter()
            .flat_map(|pool| pool.services())
            .flat_map(|service| {
                service
                    .methods()
                    .map(|method| grpc_path(&method))
                    .collect::<Vec<_>>()
            });
        let rest = bindings.list.iter().map(|binding| RestBinding {
            http_method: binding.http_method.clone(),
            route: binding.route.clone(),
            success: binding.success.status,
        });
        let mut registry = Registry::default();
        let calls = Arc::new(CallMetrics::register(&mut registry, grpc_paths, rest));
        Metrics { registry, calls }
    }

    /// Adds the store's figures to the scrape.
    pub(crate) fn register_store(&mut self, figures: Arc<StoreFigures>) {
        self.registry.register_collector(Box::new(StoreMetrics(figures)));
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
