//! The transcoding engine: serves every `google.api.http` binding found in a
//! descriptor pool by calling the in-process gRPC services. It knows nothing
//! of any particular service; add an annotated service to the pool and the
//! routes appear. Its folders are the stages of a request's walk:
//!
//! ```text
//! binding/   descriptors → bindings, read once at start (+ conventions)
//! routing/   method + path → binding, or 404 / 405 with Allow
//! request/   body under limits, content type, path + query + body → message
//! call       the one call path: a request source → the service → messages
//! backend/   in-process calls: direct for unary, tonic's routes otherwise
//! response/  response_body, proto3 JSON from wire bytes, headers
//! streaming/ NDJSON / SSE / WebSocket framing, with in-band errors
//! error/     one HttpError, one code → HTTP table, one google.rpc.Status body
//! openapi/   bindings → OpenAPI 3.1 document
//! ```
//!
//! The public face is [`Gateway`], a `tower::Service` built with
//! [`Gateway::builder`]; this module holds it and the dispatch.

mod backend;
#[cfg(feature = "bench-support")]
#[doc(hidden)]
pub mod bench_support;
mod binding;
mod builder;
mod call;
pub(crate) mod error;
pub mod openapi;
pub mod proto;
mod request;
mod response;
mod routing;
mod setup_error;
mod streaming;

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::body::Body;
use futures_util::StreamExt as _;
use http::{Request, Response, header};
use prost::Message as _;
use prost_reflect::DescriptorPool;
use tonic::service::Routes;

use backend::Backend;
pub use backend::direct;
use binding::Binding;
pub use binding::Bindings;
pub use builder::{DEFAULT_MAX_BODY_BYTES, GatewayBuilder};
use call::{RequestSource, Weaver};
use error::HttpError;
use request::{BodyKind, HttpRequestParts, build_request, check_content_type, collect_body};
use response::Renderer;
use routing::Lookup;
pub use setup_error::SetupError;
use streaming::{Framing, ResponseStream, ndjson, websocket};

/// The HTTP/JSON face of the gRPC services in a descriptor pool: a
/// `tower::Service` that never fails (every error is an HTTP response with
/// a `google.rpc.Status` body). Cheap to clone.
///
/// Mount it with `axum::Router::fallback_service(gateway)`, or serve it
/// with hyper directly.
#[derive(Clone)]
pub struct Gateway {
    inner: Arc<Inner>,
}

struct Inner {
    bindings: Bindings,
    backend: Backend,
    renderer: Renderer,
    max_body_bytes: usize,
}

impl Gateway {
    /// A builder serving every binding in `pool` by calling `routes` (the
    /// same tonic services a gRPC server would serve).
    pub fn builder(pool: DescriptorPool, routes: Routes) -> GatewayBuilder {
        GatewayBuilder::from_pool(pool, routes)
    }

    /// A builder over bindings already read (and shared with, say, the
    /// OpenAPI document).
    pub fn builder_with_bindings(bindings: Bindings, routes: Routes) -> GatewayBuilder {
        GatewayBuilder::from_bindings(bindings, routes)
    }

    /// Serves one HTTP request. With `debug` logging on, each request is
    /// logged with its status and latency.
    pub async fn handle(&self, request: Request<Body>) -> Response<Body> {
        let traced = tracing::enabled!(tracing::Level::DEBUG).then(|| {
            (
                request.method().clone(),
                request.uri().path().to_owned(),
                Instant::now(),
            )
        });
        let response = match self.transcode(request).await {
            Ok(response) => response,
            Err(error) => self.inner.renderer.error(error),
        };
        if let Some((method, path, started)) = traced {
            let status = response.status().as_u16();
            tracing::debug!(%method, path, status, latency = ?started.elapsed(), "served");
        }
        response
    }

    async fn transcode(&self, request: Request<Body>) -> Result<Response<Body>, HttpError> {
        let inner = &self.inner;
        let (parts, body) = request.into_parts();
        if websocket::is_upgrade(&parts.headers) {
            return self.websocket(parts).await;
        }
        let path = parts.uri.path();
        let (binding, segments) = match inner.bindings.router.lookup(&parts.method, path) {
            Lookup::Found { payload, segments } => (payload, segments),
            Lookup::MethodNotAllowed { allow } => {
                return Err(HttpError::method_not_allowed(&parts.method, path, allow));
            }
            Lookup::NotFound => return Err(HttpError::not_found(&parts.method, path)),
        };
        let source = if binding.method.is_client_streaming() {
            check_content_type(&parts.headers, BodyKind::Ndjson)?;
            let lines = ndjson::lines(body, inner.max_body_bytes).boxed();
            payload_source(binding, &segments, &parts, "line", lines)
        } else {
            let body = collect_body(body, &parts.headers, &binding.body, inner.max_body_bytes).await?;
            RequestSource::One(weave(binding, &segments, &parts, &body)?)
        };
        let call = call::start(&inner.backend, binding, &parts.headers, source).await?;
        if !binding.method.is_server_streaming() {
            return inner.renderer.success(binding, &call.single().await?);
        }
        let framing = Framing::from_accept(&parts.headers);
        streaming::http_response(call, binding.clone(), inner.renderer.clone(), framing).await
    }

    /// A WebSocket upgrade on the path of a streaming binding.
    async fn websocket(&self, parts: http::request::Parts) -> Result<Response<Body>, HttpError> {
        let path = parts.uri.path();
        let Some((binding, segments)) = websocket::find_binding(&self.inner.bindings.router, path) else {
            let message = format!("no streaming method to open as a WebSocket at {path}");
            return Err(tonic::Status::not_found(message).into());
        };
        let binding = binding.clone();
        let unary_request = if binding.method.is_client_streaming() {
            None
        } else {
            Some(weave(&binding, &segments, &parts, b"")?)
        };
        let weaver = weaver(&binding, &segments, &parts);
        let headers = parts.headers.clone();
        let gateway = self.clone();
        websocket::accept(parts, self.inner.max_body_bytes, move |socket| {
            gateway.serve_socket(socket, binding, headers, weaver, unary_request)
        })
        .await
    }

    /// Runs a streaming call on an open WebSocket.
    async fn serve_socket(
        self,
        socket: axum::extract::ws::WebSocket,
        binding: Arc<Binding>,
        headers: http::HeaderMap,
        weaver: Weaver,
        unary_request: Option<bytes::Bytes>,
    ) {
        let inner = &self.inner;
        let (sender, receiver) = socket.split();
        let source = match unary_request {
            Some(message) => RequestSource::One(message),
            None => RequestSource::Payloads {
                weaver,
                unit: "message",
                payloads: websocket::payloads(receiver).boxed(),
            },
        };
        let chunks = match call::start(&inner.backend, &binding, &headers, source).await {
            Ok(call) => ResponseStream::new(None, call, binding, inner.renderer.clone(), Framing::WebSocket)
                .into_stream()
                .map(|chunk| chunk.unwrap_or_else(|never| match never {}))
                .boxed(),
            Err(error) => {
                let chunk = Framing::WebSocket.error(&inner.renderer.error_json(&error));
                futures_util::stream::iter([chunk]).boxed()
            }
        };
        websocket::send_all(sender, chunks).await;
    }
}

impl tower::Service<Request<Body>> for Gateway {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        let gateway = self.clone();
        Box::pin(async move { Ok(gateway.handle(request).await) })
    }
}

/// The encoded request message of a unary request (or of a server stream).
fn weave(
    binding: &Binding,
    segments: &[&str],
    parts: &http::request::Parts,
    body: &[u8],
) -> Result<bytes::Bytes, HttpError> {
    let message = build_request(
        binding,
        &HttpRequestParts {
            segments,
            query: parts.uri.query(),
            body,
            if_match: parts.headers.get(header::IF_MATCH),
        },
    )?;
    Ok(message.encode_to_vec().into())
}

/// What a streamed request message is woven with: the path and the query.
fn weaver(binding: &Arc<Binding>, segments: &[&str], parts: &http::request::Parts) -> Weaver {
    Weaver {
        binding: binding.clone(),
        segments: segments.iter().map(|segment| (*segment).to_owned()).collect(),
        query: parts.uri.query().map(str::to_owned),
    }
}

fn payload_source(
    binding: &Arc<Binding>,
    segments: &[&str],
    parts: &http::request::Parts,
    unit: &'static str,
    payloads: futures_util::stream::BoxStream<'static, Result<(bytes::Bytes, usize), HttpError>>,
) -> RequestSource {
    RequestSource::Payloads {
        weaver: weaver(binding, segments, parts),
        unit,
        payloads,
    }
}

/// The engine's own test service, `gateway.test.Library`, for unit tests.
#[cfg(test)]
pub(crate) fn test_pool() -> DescriptorPool {
    static POOL: std::sync::OnceLock<DescriptorPool> = std::sync::OnceLock::new();
    POOL.get_or_init(|| {
        DescriptorPool::decode(&include_bytes!(concat!(env!("OUT_DIR"), "/test_descriptors.bin"))[..])
            .expect("the test descriptor set decodes")
    })
    .clone()
}
