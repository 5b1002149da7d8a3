//! The transcoding engine: serves every `google.api.http` binding found in a
//! descriptor pool by calling the in-process gRPC services. It knows nothing
//! of any particular service; add an annotated service to the pool and the
//! routes appear.
//!
//! A request flows: `routing` (method + path → binding, or 404/405) →
//! body read under a size limit (413, 415) → `request` (body + path + query
//! → request message) → `backend` (in-process gRPC call) → `response`
//! (`response_body`, proto3 JSON, status, headers). Every failure is
//! rendered by `status`.

mod backend;
#[doc(hidden)]
pub mod bench_support;
mod conventions;
mod descriptor;
pub mod direct;
mod field_value;
mod frames;
pub mod openapi;
mod request;
mod response;
mod routing;
mod status;
mod streaming;
mod template;
mod websocket;
mod wire;
mod wire_json;

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use http::{HeaderMap, Request, Response, header};
use http_body_util::{BodyExt as _, LengthLimitError, Limited};
use prost::Message as _;
use prost_reflect::DescriptorPool;

pub use backend::Backend;
use descriptor::{Binding, BodySelector};
use request::{HttpRequestParts, build_request};
use response::Renderer;
use routing::{Lookup, Router, RouterBuilder};
use status::HttpError;
use streaming::StreamingCall;

use descriptor::BindingError;

/// Why the engine could not be built from a descriptor pool: a binding
/// that cannot be served, named by its method.
#[derive(Debug, thiserror::Error)]
#[error("invalid HTTP binding: {0}")]
pub struct SetupError(String);

impl From<BindingError> for SetupError {
    fn from(error: BindingError) -> Self {
        SetupError(error.to_string())
    }
}

/// The HTTP/JSON front of the gRPC services in a descriptor pool.
#[derive(Clone)]
pub struct Gateway {
    inner: Arc<Inner>,
}

struct Inner {
    router: Router<Arc<Binding>>,
    backend: Backend,
    renderer: Renderer,
    max_body_bytes: usize,
}

impl Gateway {
    /// Builds the route table from every binding in `pool`; REST calls reach
    /// `backend`. Bad templates and duplicate routes fail here, at start.
    pub fn new(pool: DescriptorPool, backend: Backend, max_body_bytes: usize) -> Result<Self, SetupError> {
        let mut builder = RouterBuilder::new();
        for binding in descriptor::read_bindings(&pool)? {
            let (segments, _) = binding.template.flatten();
            let method = binding.method.full_name().to_owned();
            let http_method = binding.http_method.clone();
            let verb = binding.template.verb.clone();
            builder
                .insert(http_method, &segments, verb.as_deref(), Arc::new(binding))
                .map_err(|duplicate| SetupError(format!("{method}: {duplicate}")))?;
        }
        Ok(Gateway {
            inner: Arc::new(Inner {
                router: builder.build(),
                backend,
                renderer: Renderer::new(pool),
                max_body_bytes,
            }),
        })
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
            Err(error) => {
                if error.code() == tonic::Code::Internal || error.code() == tonic::Code::Unknown {
                    tracing::error!(code = ?error.code(), message = error.message(), "request failed");
                }
                self.inner.renderer.error(error)
            }
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
        let (binding, segments) = match inner.router.lookup(&parts.method, path) {
            Lookup::Found { payload, segments } => (payload, segments),
            Lookup::MethodNotAllowed { allow } => {
                return Err(HttpError::method_not_allowed(&parts.method, path, allow));
            }
            Lookup::NotFound => return Err(HttpError::not_found(&parts.method, path)),
        };
        let method = &binding.method;
        if !method.is_client_streaming() && !method.is_server_streaming() {
            let body = read_body(body, &parts.headers, &binding.body, inner.max_body_bytes).await?;
            let message = weave(binding, &segments, &parts, &body)?;
            let output = inner
                .backend
                .unary(&binding.grpc_path, &parts.headers, message.encode_to_vec().into())
                .await?;
            return inner.renderer.success(binding, &output);
        }
        let (body, unary_request) = if method.is_client_streaming() {
            check_content_type(&parts.headers, BodyKind::Ndjson)?;
            (body, None)
        } else {
            let body = read_body(body, &parts.headers, &binding.body, inner.max_body_bytes).await?;
            let message = weave(binding, &segments, &parts, &body)?;
            (
                Body::empty(),
                Some(frames::encode_frame(&message.encode_to_vec())?),
            )
        };
        let call = self.streaming_call(binding, &segments, &parts);
        streaming::serve(&inner.backend, &inner.renderer, call, body, unary_request).await
    }

    /// A WebSocket upgrade on the path of a streaming binding.
    async fn websocket(&self, parts: http::request::Parts) -> Result<Response<Body>, HttpError> {
        let inner = &self.inner;
        let path = parts.uri.path();
        let Some((binding, segments)) = websocket::find_binding(&inner.router, path) else {
            let message = format!("no streaming method to open as a WebSocket at {path}");
            return Err(tonic::Status::not_found(message).into());
        };
        let unary_request = if binding.method.is_client_streaming() {
            None
        } else {
            let message = weave(binding, &segments, &parts, b"")?;
            Some(frames::encode_frame(&message.encode_to_vec())?)
        };
        let call = self.streaming_call(binding, &segments, &parts);
        websocket::serve(
            inner.backend.clone(),
            inner.renderer.clone(),
            call,
            parts,
            unary_request,
        )
        .await
    }
}

impl Gateway {
    /// What a streaming call keeps of its request, for as long as it runs.
    fn streaming_call(
        &self,
        binding: &Arc<Binding>,
        segments: &[&str],
        parts: &http::request::Parts,
    ) -> StreamingCall {
        StreamingCall {
            binding: binding.clone(),
            segments: segments.iter().map(|segment| (*segment).to_owned()).collect(),
            query: parts.uri.query().map(str::to_owned),
            headers: parts.headers.clone(),
            max_line_bytes: self.inner.max_body_bytes,
        }
    }
}

/// The request message of a unary request (or of a server stream).
fn weave(
    binding: &Binding,
    segments: &[&str],
    parts: &http::request::Parts,
    body: &[u8],
) -> Result<prost_reflect::DynamicMessage, HttpError> {
    build_request(
        binding,
        &HttpRequestParts {
            segments,
            query: parts.uri.query(),
            body,
            if_match: parts.headers.get(header::IF_MATCH),
        },
    )
}

/// Reads the whole body under the size limit, checking that a body the
/// binding reads is JSON.
async fn read_body(
    body: Body,
    headers: &HeaderMap,
    selector: &BodySelector,
    limit: usize,
) -> Result<bytes::Bytes, HttpError> {
    let declared_length = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared_length.is_some_and(|length| length > limit as u64) {
        return Err(HttpError::payload_too_large(limit));
    }
    let bytes = match Limited::new(body, limit).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(error) if error.downcast_ref::<LengthLimitError>().is_some() => {
            return Err(HttpError::payload_too_large(limit));
        }
        Err(error) => {
            return Err(
                tonic::Status::invalid_argument(format!("reading the request body failed: {error}")).into(),
            );
        }
    };
    if !matches!(selector, BodySelector::None) && !bytes.is_empty() {
        check_content_type(headers, BodyKind::Json)?;
    }
    Ok(bytes)
}

/// What an HTTP request body holds: one JSON message, or one per line.
#[derive(Debug, Clone, Copy)]
enum BodyKind {
    Json,
    Ndjson,
}

impl BodyKind {
    /// Whether a media type (without parameters, lower case) fits.
    fn accepts(self, essence: &str) -> bool {
        let json = essence == "application/json"
            || (essence.starts_with("application/") && essence.ends_with("+json"));
        match self {
            BodyKind::Json => json,
            BodyKind::Ndjson => {
                json || matches!(
                    essence,
                    "application/x-ndjson" | "application/jsonl" | "application/jsonlines"
                )
            }
        }
    }

    fn expected(self) -> &'static str {
        match self {
            BodyKind::Json => "application/json",
            BodyKind::Ndjson => "application/x-ndjson (one JSON message per line)",
        }
    }
}

/// A body without a `Content-Type` is taken as what the binding reads.
fn check_content_type(headers: &HeaderMap, kind: BodyKind) -> Result<(), HttpError> {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Ok(());
    };
    let text = value.to_str().unwrap_or("");
    let essence = text.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    if kind.accepts(&essence) {
        Ok(())
    } else {
        Err(HttpError::unsupported_media_type(
            &String::from_utf8_lossy(value.as_bytes()),
            kind.expected(),
        ))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_are_checked_per_body_kind() {
        let cases = [
            (None, true, true),
            (Some("application/json"), true, true),
            (Some("application/json; charset=utf-8"), true, true),
            (Some("Application/JSON"), true, true),
            (Some("application/merge-patch+json"), true, true),
            (Some("application/x-ndjson"), false, true),
            (Some("application/jsonl"), false, true),
            (Some("text/plain"), false, false),
            (Some("application/x-www-form-urlencoded"), false, false),
            (Some("application/jsonx"), false, false),
        ];
        for (content_type, json, ndjson) in cases {
            let mut headers = HeaderMap::new();
            if let Some(content_type) = content_type {
                headers.insert(header::CONTENT_TYPE, http::HeaderValue::from_static(content_type));
            }
            assert_eq!(
                check_content_type(&headers, BodyKind::Json).is_ok(),
                json,
                "{content_type:?}"
            );
            assert_eq!(
                check_content_type(&headers, BodyKind::Ndjson).is_ok(),
                ndjson,
                "{content_type:?}"
            );
        }
    }
}
