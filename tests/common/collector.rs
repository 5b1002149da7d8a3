//! A small OTLP/gRPC trace collector in process: the `opentelemetry-proto`
//! `TraceService` served by tonic on a loopback port, keeping every span it
//! is sent, for the tests to wait for and read.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::trace::v1::Span;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use super::guard::guarded;

/// A span as the collector received it, with its resource's
/// `service.name`.
#[derive(Debug, Clone)]
pub struct CollectedSpan {
    pub service_name: Option<String>,
    pub span: Span,
}

impl CollectedSpan {
    /// The trace id, in lower-case hex.
    pub fn trace_id(&self) -> String {
        hex(&self.span.trace_id)
    }

    pub fn span_id(&self) -> String {
        hex(&self.span.span_id)
    }

    /// The parent's span id in hex; empty for a root span.
    pub fn parent_span_id(&self) -> String {
        hex(&self.span.parent_span_id)
    }

    /// The value of attribute `key`.
    pub fn attribute(&self, key: &str) -> Option<&Value> {
        attribute(&self.span.attributes, key)
    }

    /// The value of string attribute `key`.
    pub fn text(&self, key: &str) -> Option<&str> {
        match self.attribute(key) {
            Some(Value::StringValue(text)) => Some(text),
            _ => None,
        }
    }
}

/// The collector; stops serving when dropped.
pub struct Collector {
    addr: SocketAddr,
    spans: Arc<Mutex<Vec<CollectedSpan>>>,
    server: JoinHandle<()>,
}

impl Collector {
    /// Serves on `127.0.0.1:0`.
    pub async fn start() -> Collector {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the collector");
        let addr = listener.local_addr().expect("the collector's address");
        let spans = Arc::new(Mutex::new(Vec::new()));
        let service = TraceServiceServer::new(Received(spans.clone()));
        let server = tokio::spawn(async move {
            tonic::transport::Server::builder()
                .add_service(service)
                .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener))
                .await
                .expect("serve the collector");
        });
        Collector { addr, spans, server }
    }

    /// Where an exporter sends to: `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every span received so far.
    pub fn spans(&self) -> Vec<CollectedSpan> {
        self.spans
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// The first span received that `wanted` accepts, waiting for it up to
    /// the guard's limit.
    pub async fn wait_for(&self, what: &str, wanted: impl Fn(&CollectedSpan) -> bool) -> CollectedSpan {
        guarded(what, async {
            loop {
                if let Some(span) = self.spans().into_iter().find(&wanted) {
                    return span;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// The service: keeps what it is sent.
struct Received(Arc<Mutex<Vec<CollectedSpan>>>);

#[tonic::async_trait]
impl TraceService for Received {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let mut kept = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        for resource_spans in request.into_inner().resource_spans {
            let service_name = resource_spans.resource.as_ref().and_then(|resource| {
                match attribute(&resource.attributes, "service.name") {
                    Some(Value::StringValue(name)) => Some(name.clone()),
                    _ => None,
                }
            });
            for scope_spans in resource_spans.scope_spans {
                kept.extend(scope_spans.spans.into_iter().map(|span| CollectedSpan {
                    service_name: service_name.clone(),
                    span,
                }));
            }
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}

fn attribute<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a Value> {
    attributes
        .iter()
        .find(|attribute| attribute.key == key)
        .and_then(|attribute| attribute.value.as_ref()?.value.as_ref())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}
