//! The policy chain: interceptors that every call passes exactly once,
//! whichever face it came through. REST calls (unary on the direct path or
//! through tonic's routes, HTTP-streamed, WebSocket) meet the chain in the
//! engine's one call path; gRPC calls meet the same chain in a tower layer
//! around the tonic services ([`GrpcChainLayer`], from
//! [`Gateway::grpc_layer`](crate::transcode::Gateway::grpc_layer)).
//!
//! An interceptor sees the call before the service runs ([`CallInfo`]: the
//! gRPC method, its kind, the face, the peer, the call's span, inside which
//! it runs) with its metadata and extensions, which it may change, and may
//! reject the call with a `tonic::Status` (REST answers that as every other
//! error). It is told how the call ended (code and duration; for a stream,
//! when the stream ends).
//!
//! - `admission` — the caps on calls in flight and open streams, the
//!   chain's last step;
//! - `client_certificate` — what a TLS connection tells of a request
//!   (the verified client certificate's subject, TLS itself);
//! - `grpc_layer` — the chain as a tower layer for the gRPC face;
//! - `observed_body` — its response bodies, watched to the end.

mod admission;
mod client_certificate;
mod grpc_layer;
mod observed_body;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http::Extensions;
use tonic::metadata::MetadataMap;

pub use admission::CallLimits;
use admission::{Admission, Slots};
pub(crate) use admission::{RETRY_AFTER, unavailable_for};
pub use client_certificate::{ClientCertificate, OverTls};
pub use grpc_layer::{GrpcChain, GrpcChainLayer};

/// Which face a call came through (the `protocol` of metrics and logs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Face {
    Grpc,
    Rest,
    WebSocket,
}

impl Face {
    /// `grpc`, `rest` or `websocket`.
    pub fn as_str(self) -> &'static str {
        match self {
            Face::Grpc => "grpc",
            Face::Rest => "rest",
            Face::WebSocket => "websocket",
        }
    }
}

/// The four kinds of RPC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CallKind {
    Unary,
    ServerStreaming,
    ClientStreaming,
    Bidi,
}

impl CallKind {
    pub(crate) fn of(method: &prost_reflect::MethodDescriptor) -> Self {
        match (method.is_client_streaming(), method.is_server_streaming()) {
            (false, false) => CallKind::Unary,
            (false, true) => CallKind::ServerStreaming,
            (true, false) => CallKind::ClientStreaming,
            (true, true) => CallKind::Bidi,
        }
    }

    /// go-grpc-middleware's `grpc_type`: `unary`, `server_stream`,
    /// `client_stream`, `bidi_stream`.
    pub fn as_str(self) -> &'static str {
        match self {
            CallKind::Unary => "unary",
            CallKind::ServerStreaming => "server_stream",
            CallKind::ClientStreaming => "client_stream",
            CallKind::Bidi => "bidi_stream",
        }
    }
}

/// A method's gRPC path, `/package.Service/Method`: how calls name it on
/// both faces.
pub(crate) fn grpc_path(method: &prost_reflect::MethodDescriptor) -> Arc<str> {
    format!("/{}/{}", method.parent_service().full_name(), method.name()).into()
}

/// The service of a gRPC path, `users.v1.UserService` of
/// `/users.v1.UserService/GetUser` (empty when it names none).
pub(crate) fn service_of(grpc_path: &str) -> &str {
    grpc_path
        .trim_start_matches('/')
        .split_once('/')
        .map_or("", |(service, _)| service)
}

/// What an interceptor knows of a call.
#[derive(Debug, Clone)]
pub struct CallInfo {
    /// The gRPC path, `/package.Service/Method`.
    pub grpc_path: Arc<str>,
    pub kind: CallKind,
    pub face: Face,
    /// The client's address, when the server knows it.
    pub peer: Option<SocketAddr>,
    /// For REST calls, the binding's path template (`/v1/users/{id}`).
    pub route: Option<Arc<str>>,
    /// For REST calls, the binding's HTTP method.
    pub http_method: Option<http::Method>,
    /// The call's id (see the README's "Request ids").
    pub request_id: Option<http::HeaderValue>,
    /// The call's span: its log lines and the spans of the service's work
    /// belong to it. An interceptor may record on it (its `on_call` runs
    /// inside it); it declares `otel.name` and `otel.kind`, empty until
    /// recorded.
    pub span: tracing::Span,
}

impl CallInfo {
    /// The service's full name, e.g. `users.v1.UserService`.
    pub fn service(&self) -> &str {
        service_of(&self.grpc_path)
    }

    /// The method's name, e.g. `GetUser`.
    pub fn method(&self) -> &str {
        self.grpc_path.rsplit_once('/').map_or("", |(_, method)| method)
    }
}

/// A step of the policy chain. Both methods have defaults that do nothing.
pub trait Interceptor: Send + Sync + 'static {
    /// Before the service runs: may add or change metadata and extensions
    /// (the service sees them), or reject the call.
    fn on_call(
        &self,
        call: &CallInfo,
        metadata: &mut MetadataMap,
        extensions: &mut Extensions,
    ) -> Result<(), tonic::Status> {
        let _ = (call, metadata, extensions);
        Ok(())
    }

    /// After the call ended with `code`, `elapsed` after it started (for a
    /// stream, when the stream ended). Also called for a call this or a
    /// later interceptor rejected.
    fn on_end(&self, call: &CallInfo, code: tonic::Code, elapsed: Duration) {
        let _ = (call, code, elapsed);
    }
}

/// The interceptors, in order, then admission. Cheap to clone.
#[derive(Clone, Default)]
pub(crate) struct Chain {
    interceptors: Arc<[Arc<dyn Interceptor>]>,
    admission: Arc<Admission>,
}

impl Chain {
    pub(crate) fn new(interceptors: Vec<Arc<dyn Interceptor>>, limits: CallLimits) -> Self {
        Chain {
            interceptors: interceptors.into(),
            admission: Arc::new(Admission::new(limits)),
        }
    }

    /// Runs every interceptor's `on_call`; the first rejection stops the
    /// call. Then the call takes its slots, or is shed. The guard reports
    /// the end to every interceptor that saw the start, whatever happens
    /// next, and gives the slots back.
    pub(crate) fn start(
        &self,
        call: CallInfo,
        metadata: &mut MetadataMap,
        extensions: &mut Extensions,
    ) -> Result<CallGuard, tonic::Status> {
        let mut guard = CallGuard {
            chain: self.clone(),
            call,
            started: Instant::now(),
            code: None,
            seen: 0,
            _slots: Slots::default(),
        };
        for interceptor in self.interceptors.iter() {
            guard.seen += 1;
            if let Err(status) = interceptor.on_call(&guard.call, metadata, extensions) {
                guard.finish(status.code());
                return Err(status);
            }
        }
        match self.admission.admit(&guard.call) {
            Ok(slots) => guard._slots = slots,
            Err(status) => {
                guard.finish(status.code());
                return Err(status);
            }
        }
        Ok(guard)
    }
}

/// A call in progress: reports its end once, when finished or dropped (a
/// call dropped before it finished was cancelled).
pub(crate) struct CallGuard {
    chain: Chain,
    call: CallInfo,
    started: Instant,
    code: Option<tonic::Code>,
    seen: usize,
    /// Held for the call's whole life (a stream's too).
    _slots: Slots,
}

impl CallGuard {
    /// Records how the call ended; the first code recorded wins.
    pub(crate) fn finish(&mut self, code: tonic::Code) {
        self.code.get_or_insert(code);
    }
}

impl Drop for CallGuard {
    fn drop(&mut self) {
        let code = self.code.unwrap_or(tonic::Code::Cancelled);
        let elapsed = self.started.elapsed();
        for interceptor in self.chain.interceptors.iter().take(self.seen) {
            interceptor.on_end(&self.call, code, elapsed);
        }
    }
}
