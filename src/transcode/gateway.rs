//! The gateway: one HTTP request in, one HTTP response out. Routes the
//! request, picks its request source (one woven message, NDJSON lines, or
//! socket frames) and its sink (an HTTP response, a streamed body, a
//! socket), and runs it through the one call path.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::Body;
use futures_util::StreamExt as _;
use http::{HeaderValue, Request, Response, header};
use http_body::Body as _;
use tracing::Instrument as _;

use crate::transcode::binding::{Binding, Bindings};
use crate::transcode::call::{CallPath, Caller, RequestSource, Weaver};
use crate::transcode::error::HttpError;
use crate::transcode::interceptor::{ClientCertificate, Face, GrpcChainLayer, OverTls};
use crate::transcode::metadata::add_response_headers;
use crate::transcode::request::{
    self, BodyBudget, BodyKind, BodyShare, HttpRequestParts, check_content_type, collect_body,
};
use crate::transcode::request_id::{self, X_REQUEST_ID};
use crate::transcode::response::Renderer;
use crate::transcode::routing::Lookup;
use crate::transcode::streaming::{self, Framing, ResponseStream, SocketOrigins, ndjson, websocket};

/// The HTTP/JSON face of the gRPC services in a descriptor pool: a
/// `tower::Service` that never fails (every error is an HTTP response with
/// a `google.rpc.Status` body). Cheap to clone.
///
/// Mount it with `axum::Router::fallback_service(gateway)`, or serve it
/// with hyper directly.
#[derive(Clone)]
pub struct Gateway {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) bindings: Bindings,
    pub(crate) calls: CallPath,
    pub(crate) renderer: Renderer,
    pub(crate) max_body_bytes: usize,
    /// The bytes of REST request bodies held at once.
    pub(crate) body_budget: BodyBudget,
    pub(crate) body_read_timeout: Option<Duration>,
    /// The pages, besides the server's own, that may open a WebSocket.
    pub(crate) socket_origins: SocketOrigins,
}

impl Gateway {
    /// The gateway's policy chain as a tower layer for the tonic services
    /// of the gRPC face (`routes.into_axum_router().layer(..)`), so gRPC
    /// calls pass the same interceptors as REST calls. Wrap only the
    /// services the gRPC face serves, not the routes given to the builder,
    /// or REST calls through them would pass the chain twice.
    pub fn grpc_layer(&self) -> GrpcChainLayer {
        let calls = &self.inner.calls;
        GrpcChainLayer::new(calls.chain.clone(), calls.deadlines, &self.inner.bindings.pool)
    }

    /// The HTTP methods the route table serves at `path` (sorted; empty
    /// when no route has its shape), as `Allow` lists them. A server puts
    /// them in its answers to CORS preflights.
    pub fn methods_at(&self, path: &str) -> Vec<http::Method> {
        self.inner.bindings.router.methods(path)
    }

    /// Serves one HTTP request. Its id (the client's `X-Request-Id`, or a
    /// new one) comes back as `X-Request-Id` and names its log lines and
    /// errors. With `debug` logging on, each request is logged with its
    /// status and latency.
    pub async fn handle(&self, mut request: Request<Body>) -> Response<Body> {
        let request_id = request_id::ensure(request.headers_mut());
        let traced = tracing::enabled!(tracing::Level::DEBUG).then(|| {
            (
                request.method().clone(),
                request.uri().path().to_owned(),
                Instant::now(),
            )
        });
        let span = request_id::span(&request_id);
        let mut response = match self.transcode(request, span.clone()).instrument(span).await {
            Ok(response) => response,
            Err(error) => self.inner.renderer.error(error.with_request_id(&request_id)),
        };
        response.headers_mut().insert(X_REQUEST_ID, request_id);
        if let Some((method, path, started)) = traced {
            let status = response.status().as_u16();
            tracing::debug!(%method, path, status, latency = ?started.elapsed(), "served");
        }
        response
    }

    /// Routes and runs the request, whose call runs in `span`.
    async fn transcode(
        &self,
        request: Request<Body>,
        span: tracing::Span,
    ) -> Result<Response<Body>, HttpError> {
        let inner = &self.inner;
        let (parts, body) = request.into_parts();
        request::check_head(&parts)?;
        if websocket::is_upgrade(&parts.headers) {
            return self.websocket(parts, span).await;
        }
        let path = parts.uri.path();
        let (binding, segments) = match inner.bindings.router.lookup(&parts.method, path) {
            Lookup::Found { payload, segments } => (payload, segments),
            // What a path allows, asked for: 204 with `Allow`, not 405.
            Lookup::MethodNotAllowed { allow } if parts.method == http::Method::OPTIONS => {
                return Ok(options_response(&allow));
            }
            Lookup::MethodNotAllowed { allow } => {
                return Err(HttpError::method_not_allowed(&parts.method, path, allow));
            }
            Lookup::NotFound => return Err(HttpError::not_found(&parts.method, path)),
        };
        // The body's share of the budget is held until the call is answered.
        let (source, _body_share) = if binding.method.is_client_streaming() {
            // Before a line is read: empty only if known to be (no length,
            // or `Content-Length: 0`, or HTTP/2's end of stream at once).
            check_content_type(&parts.headers, BodyKind::Ndjson, body.is_end_stream())?;
            let payloads = RequestSource::Payloads {
                weaver: weaver(binding, &segments, &parts),
                unit: "line",
                payloads: ndjson::lines(
                    request::timed(body, inner.body_read_timeout),
                    inner.max_body_bytes,
                )
                .boxed(),
            };
            (payloads, BodyShare::default())
        } else {
            let body = request::timed(body, inner.body_read_timeout);
            let (body, share) = collect_body(
                body,
                &parts.headers,
                &binding.body,
                inner.max_body_bytes,
                &inner.body_budget,
            )
            .await?;
            (
                RequestSource::One(weave(binding, &segments, &parts, &body)?),
                share,
            )
        };
        let caller = caller(&parts, Face::Rest, span);
        let call = inner.calls.start(binding, caller, &parts.headers, source).await?;
        if !binding.method.is_server_streaming() {
            let (message, metadata) = call.single().await?;
            let mut response = inner.renderer.success(binding, &message)?;
            add_response_headers(&metadata, response.headers_mut());
            return Ok(response);
        }
        let framing = Framing::from_accept(&parts.headers);
        streaming::http_response(call, binding.clone(), inner.renderer.clone(), framing).await
    }

    /// A WebSocket upgrade on the path of a streaming binding, from a page
    /// allowed to open one; the call on the open socket runs in `span` too.
    async fn websocket(
        &self,
        parts: http::request::Parts,
        span: tracing::Span,
    ) -> Result<Response<Body>, HttpError> {
        let host = host_of(&parts);
        let host = host.as_ref().and_then(|host| host.to_str().ok());
        self.inner.socket_origins.check(&parts.headers, host)?;
        let path = parts.uri.path();
        let Some((binding, segments)) = websocket::find_binding(&self.inner.bindings.router, path) else {
            let message = format!("no streaming method to open as a WebSocket at {path}");
            return Err(tonic::Status::not_found(message).into());
        };
        let requests = if binding.method.is_client_streaming() {
            SocketRequests::Frames(weaver(binding, &segments, &parts))
        } else {
            SocketRequests::One(weave(binding, &segments, &parts, b"")?)
        };
        let binding = binding.clone();
        let headers = parts.headers.clone();
        let caller = caller(&parts, Face::WebSocket, span.clone());
        let gateway = self.clone();
        websocket::accept(parts, self.inner.max_body_bytes, move |socket| {
            gateway
                .serve_socket(socket, binding, caller, headers, requests)
                .instrument(span)
        })
        .await
    }

    /// Runs a streaming call on an open WebSocket.
    async fn serve_socket(
        self,
        socket: axum::extract::ws::WebSocket,
        binding: Arc<Binding>,
        caller: Caller,
        headers: http::HeaderMap,
        requests: SocketRequests,
    ) {
        let inner = &self.inner;
        let (sender, receiver) = socket.split();
        let source = match requests {
            SocketRequests::One(message) => RequestSource::One(message),
            SocketRequests::Frames(weaver) => RequestSource::Payloads {
                weaver,
                unit: "message",
                payloads: websocket::payloads(receiver).boxed(),
            },
        };
        let started = inner.calls.start(&binding, caller, &headers, source).await;
        let chunks = match started {
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

/// What a WebSocket call's requests will be once the socket is open.
enum SocketRequests {
    /// The one request, woven from the path and query (server streaming).
    One(bytes::Bytes),
    /// One request per client frame, each woven with the path and query.
    Frames(Weaver),
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
    request::weave(
        binding,
        &HttpRequestParts {
            segments,
            query: parts.uri.query(),
            body,
            if_match: parts.headers.get(header::IF_MATCH),
        },
    )
}

/// The answer to `OPTIONS` on a path: 204 with the methods it serves, and
/// `OPTIONS` itself, in `Allow`.
fn options_response(allow: &[http::Method]) -> Response<Body> {
    let mut names: Vec<&str> = allow.iter().map(http::Method::as_str).collect();
    names.push(http::Method::OPTIONS.as_str());
    let mut response = Response::new(Body::empty());
    *response.status_mut() = http::StatusCode::NO_CONTENT;
    if let Ok(value) = HeaderValue::from_str(&names.join(", ")) {
        response.headers_mut().insert(header::ALLOW, value);
    }
    response
}

/// The caller of a request that came through `face`: its address where
/// the server recorded it (`axum::extract::ConnectInfo`), what its TLS
/// connection told ([`OverTls`], [`ClientCertificate`]), and the span its
/// call runs in.
fn caller(parts: &http::request::Parts, face: Face, span: tracing::Span) -> Caller {
    let peer = parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|info| info.0);
    Caller {
        face,
        peer,
        host: host_of(parts),
        over_tls: parts.extensions.get::<OverTls>().is_some(),
        client_certificate: parts.extensions.get::<ClientCertificate>().cloned(),
        span,
    }
}

/// The host a request names: HTTP/2 in its authority, HTTP/1.1 in `Host`.
fn host_of(parts: &http::request::Parts) -> Option<HeaderValue> {
    match parts.uri.authority() {
        Some(authority) => HeaderValue::from_str(authority.as_str()).ok(),
        None => parts.headers.get(header::HOST).cloned(),
    }
}

/// What a streamed request message is woven with: the path and the query.
fn weaver(binding: &Arc<Binding>, segments: &[&str], parts: &http::request::Parts) -> Weaver {
    Weaver {
        binding: binding.clone(),
        segments: segments.iter().map(|segment| (*segment).to_owned()).collect(),
        query: parts.uri.query().map(str::to_owned),
    }
}
