//! The policy chain on the gRPC face: a tower layer around tonic's
//! services that runs the chain's `on_call` before the service sees the
//! request (a rejection is a trailers-only gRPC answer) and reports the end
//! when the response body ends, with the `grpc-status` it carried. The
//! call's deadline (`grpc-timeout`, or the gateway's default and maximum)
//! ends it with DEADLINE_EXCEEDED; a service that panics answers INTERNAL,
//! before or during its stream.
//!
//! ```ignore
//! let app = routes.into_axum_router().layer(gateway.grpc_layer());
//! ```

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::extract::ConnectInfo;
use bytes::Bytes;
use futures_util::FutureExt as _;
use http::{Request, Response};
use prost_reflect::DescriptorPool;
use tokio::time::Instant;
use tonic::metadata::MetadataMap;
use tracing::Instrument as _;

use super::observed_body::observe;
use super::{CallInfo, CallKind, Chain, Face, grpc_path};
use crate::transcode::backend::panicked;
use crate::transcode::deadline::{self, Deadlines, GRPC_TIMEOUT, deadline_exceeded};
use crate::transcode::request_id::{self, X_REQUEST_ID};

/// Applies the policy chain to the gRPC services it wraps.
#[derive(Clone)]
pub struct GrpcChainLayer {
    chain: Chain,
    deadlines: Deadlines,
    /// By gRPC path (kept, so a call's `CallInfo` shares it).
    kinds: Arc<HashMap<Arc<str>, CallKind>>,
}

impl GrpcChainLayer {
    pub(crate) fn new(chain: Chain, deadlines: Deadlines, pool: &DescriptorPool) -> Self {
        GrpcChainLayer {
            chain,
            deadlines,
            kinds: Arc::new(HashMap::new()),
        }
        .describe(pool)
    }

    /// Learns the call kinds of every method in `pool` (say, health and
    /// reflection, which a gateway's own pool does not hold); a method it
    /// does not know is taken as unary.
    pub fn describe(mut self, pool: &DescriptorPool) -> Self {
        let kinds = Arc::make_mut(&mut self.kinds);
        for service in pool.services() {
            for method in service.methods() {
                kinds.insert(grpc_path(&method), CallKind::of(&method));
            }
        }
        self
    }
}

impl<S> tower::Layer<S> for GrpcChainLayer {
    type Service = GrpcChain<S>;

    fn layer(&self, inner: S) -> GrpcChain<S> {
        GrpcChain {
            inner,
            layer: self.clone(),
        }
    }
}

/// A gRPC service behind the policy chain.
#[derive(Clone)]
pub struct GrpcChain<S> {
    inner: S,
    layer: GrpcChainLayer,
}

type BoxedResponse = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

impl<S, ResBody> tower::Service<Request<Body>> for GrpcChain<S>
where
    S: tower::Service<Request<Body>, Response = Response<ResBody>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    ResBody: http_body::Body<Data = Bytes> + Send + 'static,
    ResBody::Error: Into<axum::BoxError>,
{
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = BoxedResponse;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<Body>) -> BoxedResponse {
        let request_id = request_id::ensure(request.headers_mut());
        let span = request_id::span(&request_id);
        let path = request.uri().path();
        let (grpc_path, kind) = match self.layer.kinds.get_key_value(path) {
            Some((known, kind)) => (known.clone(), *kind),
            None => (path.into(), CallKind::Unary),
        };
        let call = CallInfo {
            kind,
            grpc_path,
            face: Face::Grpc,
            peer: request
                .extensions()
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(addr)| *addr),
            route: None,
            http_method: None,
            request_id: Some(request_id.clone()),
            span: span.clone(),
        };
        let timeout = self.layer.deadlines.timeout(request.headers());
        let mut metadata = MetadataMap::from_headers(std::mem::take(request.headers_mut()));
        let mut extensions = std::mem::take(request.extensions_mut());
        let started = span.in_scope(|| self.layer.chain.start(call, &mut metadata, &mut extensions));
        *request.headers_mut() = metadata.into_headers();
        *request.extensions_mut() = extensions;
        let answered = |status: tonic::Status, request_id| -> BoxedResponse {
            let mut response = status.into_http::<Body>();
            response.headers_mut().insert(X_REQUEST_ID, request_id);
            Box::pin(std::future::ready(Ok(response)))
        };
        let mut guard = match started {
            Ok(guard) => guard,
            Err(status) => return answered(status, request_id),
        };
        let deadline = match timeout {
            Ok(timeout) => timeout.map(|timeout| {
                // The service learns how long it has.
                request
                    .headers_mut()
                    .insert(GRPC_TIMEOUT, deadline::encode(timeout));
                Instant::now() + timeout
            }),
            Err(status) => {
                guard.finish(status.code());
                return answered(status, request_id);
            }
        };
        // The service that was polled ready takes the call; a clone waits.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let call = async move {
            let called = AssertUnwindSafe(inner.call(request))
                .catch_unwind()
                .map(|called| {
                    called.map(|response| response.unwrap_or_else(|never| match never {}).map(Body::new))
                });
            let called = match deadline {
                Some(deadline) => tokio::time::timeout_at(deadline, called)
                    .await
                    .unwrap_or_else(|_| Ok(deadline_exceeded().into_http::<Body>())),
                None => called.await,
            };
            let mut response = match called {
                Ok(response) => observe(response, guard, deadline),
                Err(_) => observe(panicked().into_http::<Body>(), guard, deadline),
            };
            response.headers_mut().insert(X_REQUEST_ID, request_id);
            Ok(response)
        };
        Box::pin(call.instrument(span))
    }
}
