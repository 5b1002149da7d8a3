//! The policy chain on the gRPC face: a tower layer around tonic's
//! services that runs the chain's `on_call` before the service sees the
//! request (a rejection is a trailers-only gRPC answer) and reports the end
//! when the response body ends, with the `grpc-status` it carried. A
//! service that panics answers INTERNAL, before or during its stream.
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
use http_body::Frame;
use prost_reflect::DescriptorPool;
use tonic::metadata::MetadataMap;
use tracing::Instrument as _;

use super::{CallGuard, CallInfo, CallKind, Chain, Face};
use crate::transcode::backend::panicked;
use crate::transcode::request_id::{self, X_REQUEST_ID};

/// Applies the policy chain to the gRPC services it wraps.
#[derive(Clone)]
pub struct GrpcChainLayer {
    chain: Chain,
    kinds: Arc<HashMap<String, CallKind>>,
}

impl GrpcChainLayer {
    pub(crate) fn new(chain: Chain, pool: &DescriptorPool) -> Self {
        GrpcChainLayer {
            chain,
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
                let path = format!("/{}/{}", service.full_name(), method.name());
                kinds.insert(path, CallKind::of(&method));
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
        let path = request.uri().path();
        let call = CallInfo {
            kind: self.layer.kinds.get(path).copied().unwrap_or(CallKind::Unary),
            grpc_path: path.into(),
            face: Face::Grpc,
            peer: request
                .extensions()
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(addr)| *addr),
            route: None,
        };
        let mut metadata = MetadataMap::from_headers(std::mem::take(request.headers_mut()));
        let mut extensions = std::mem::take(request.extensions_mut());
        let started = self.layer.chain.start(call, &mut metadata, &mut extensions);
        *request.headers_mut() = metadata.into_headers();
        *request.extensions_mut() = extensions;
        let guard = match started {
            Ok(guard) => guard,
            Err(status) => {
                let mut response = status.into_http::<Body>();
                response.headers_mut().insert(X_REQUEST_ID, request_id);
                return Box::pin(std::future::ready(Ok(response)));
            }
        };
        // The service that was polled ready takes the call; a clone waits.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let span = tracing::info_span!("request", request_id = request_id.to_str().unwrap_or(""));
        let call = async move {
            let mut response = match AssertUnwindSafe(inner.call(request)).catch_unwind().await {
                Ok(response) => observe(response.unwrap_or_else(|never| match never {}), guard),
                Err(_) => observe(panicked().into_http::<Body>(), guard),
            };
            response.headers_mut().insert(X_REQUEST_ID, request_id);
            Ok(response)
        };
        Box::pin(call.instrument(span))
    }
}

/// The response, its body reporting the call's end to `guard`.
fn observe<B>(response: Response<B>, mut guard: CallGuard) -> Response<Body>
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    let (parts, body) = response.into_parts();
    // A trailers-only answer carries its status in the headers.
    if let Some(status) = tonic::Status::from_header_map(&parts.headers) {
        guard.finish(status.code());
    }
    let body = ObservedBody {
        inner: Body::new(body),
        guard: Some(guard),
        failed: false,
    };
    Response::from_parts(parts, Body::new(body))
}

/// A response body that records the `grpc-status` of its trailers, and
/// ends with INTERNAL trailers if the service panics while it streams.
struct ObservedBody {
    inner: Body,
    guard: Option<CallGuard>,
    failed: bool,
}

impl http_body::Body for ObservedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        if self.failed {
            return Poll::Ready(None);
        }
        let inner = &mut self.inner;
        let Ok(polled) = std::panic::catch_unwind(AssertUnwindSafe(|| Pin::new(inner).poll_frame(cx))) else {
            self.failed = true;
            if let Some(guard) = self.guard.as_mut() {
                guard.finish(tonic::Code::Internal);
            }
            let mut trailers = panicked().into_http::<()>().into_parts().0.headers;
            trailers.remove(http::header::CONTENT_TYPE);
            return Poll::Ready(Some(Ok(Frame::trailers(trailers))));
        };
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(status) = frame.trailers_ref().and_then(tonic::Status::from_header_map)
                    && let Some(guard) = self.guard.as_mut()
                {
                    guard.finish(status.code());
                }
            }
            Poll::Ready(Some(Err(_))) => {
                if let Some(guard) = self.guard.as_mut() {
                    guard.finish(tonic::Code::Internal);
                }
            }
            // The end: a body without a status in its trailers ended well
            // only if the headers said so (recorded then); report now.
            Poll::Ready(None) => drop(self.guard.take()),
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}
