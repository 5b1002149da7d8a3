//! How a [`Gateway`] is put together: the bindings (read from a descriptor
//! pool, or already read), the tonic services that serve them, and the
//! options, each with a default.
//!
//! ```no_run
//! # fn routes() -> tonic::service::Routes { tonic::service::Routes::default() }
//! # fn main() -> Result<(), gateway::transcode::SetupError> {
//! use gateway::transcode::Gateway;
//! let pool = prost_reflect::DescriptorPool::decode(gateway::proto::FILE_DESCRIPTOR_SET).unwrap();
//! let gateway = Gateway::builder(pool, routes()).max_body_bytes(64 * 1024).build()?;
//! # Ok(()) }
//! ```

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use prost_reflect::DescriptorPool;
use tokio::sync::watch;
use tonic::service::Routes;

use crate::transcode::backend::Backend;
use crate::transcode::backend::direct::DirectService;
use crate::transcode::binding::Bindings;
use crate::transcode::call::CallPath;
use crate::transcode::deadline::Deadlines;
use crate::transcode::gateway::{Gateway, Inner};
use crate::transcode::interceptor::{CallLimits, Chain, Interceptor};
use crate::transcode::request::{BodyBudget, DEFAULT_MAX_IN_FLIGHT_BODY_BYTES};
use crate::transcode::response::Renderer;
use crate::transcode::setup_error::SetupError;
use crate::transcode::streaming::SocketOrigins;

/// The largest HTTP request body (and NDJSON line, and WebSocket message)
/// the gateway reads unless told otherwise: 1 MiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;

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
}

/// Builds a [`Gateway`]; see [`Gateway::builder`].
#[must_use]
pub struct GatewayBuilder {
    bindings: BindingSource,
    routes: Routes,
    direct: Vec<Arc<dyn DirectService>>,
    interceptors: Vec<Arc<dyn Interceptor>>,
    deadlines: Deadlines,
    max_body_bytes: usize,
    call_limits: CallLimits,
    max_in_flight_body_bytes: usize,
    body_read_timeout: Option<Duration>,
    shutdown: Option<watch::Receiver<bool>>,
    socket_origins: SocketOrigins,
}

enum BindingSource {
    Pool(DescriptorPool),
    Read(Bindings),
}

impl GatewayBuilder {
    fn new(bindings: BindingSource, routes: Routes) -> Self {
        GatewayBuilder {
            bindings,
            routes,
            direct: Vec::new(),
            interceptors: Vec::new(),
            deadlines: Deadlines::default(),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            call_limits: CallLimits::default(),
            max_in_flight_body_bytes: DEFAULT_MAX_IN_FLIGHT_BODY_BYTES,
            body_read_timeout: None,
            shutdown: None,
            socket_origins: SocketOrigins::default(),
        }
    }

    pub(crate) fn from_pool(pool: DescriptorPool, routes: Routes) -> Self {
        Self::new(BindingSource::Pool(pool), routes)
    }

    pub(crate) fn from_bindings(bindings: Bindings, routes: Routes) -> Self {
        Self::new(BindingSource::Read(bindings), routes)
    }

    /// The largest request body, NDJSON line or WebSocket message, in
    /// bytes; larger ones get 413 (or INVALID_ARGUMENT naming the line).
    pub fn max_body_bytes(mut self, limit: usize) -> Self {
        self.max_body_bytes = limit;
        self
    }

    /// The caps on calls in flight and streams open, on both faces (the
    /// gRPC face where wrapped in [`Gateway::grpc_layer`]); past one a call
    /// is shed with UNAVAILABLE and `Retry-After` (REST 503). By default no
    /// caps.
    pub fn call_limits(mut self, limits: CallLimits) -> Self {
        self.call_limits = limits;
        self
    }

    /// The bytes of REST request bodies held at once, across requests; a
    /// body that does not fit is refused with 503 and `Retry-After`.
    /// Default [`DEFAULT_MAX_IN_FLIGHT_BODY_BYTES`] (32 MiB).
    pub fn max_in_flight_body_bytes(mut self, limit: usize) -> Self {
        self.max_in_flight_body_bytes = limit;
        self
    }

    /// How long a request body may send nothing while the gateway waits
    /// for it: a stalled body fails the call with 408 (DEADLINE_EXCEEDED
    /// in-band once a stream answers). By default no limit.
    pub fn body_read_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.body_read_timeout = timeout;
        self
    }

    /// The server's stop: once `shutdown` reads true, every call still
    /// open ends with UNAVAILABLE ("the server is shutting down"), in-band
    /// for a stream that has answered (an NDJSON or SSE error frame, a
    /// WebSocket error frame and close). By default calls are never ended.
    pub fn shutdown(mut self, shutdown: watch::Receiver<bool>) -> Self {
        self.shutdown = Some(shutdown);
        self
    }

    /// The origins (`scheme://host[:port]`, as browsers send `Origin`;
    /// `*` for any) whose pages may open a WebSocket besides the server's
    /// own; an upgrade from any other page is refused with 403
    /// PERMISSION_DENIED. An upgrade with no `Origin` (not a browser) is
    /// always accepted. By default only the server's own origin.
    pub fn websocket_origins<O: Into<String>>(mut self, origins: impl IntoIterator<Item = O>) -> Self {
        self.socket_origins = SocketOrigins::new(origins.into_iter().map(Into::into));
        self
    }

    /// Calls the unary methods of `service` directly, without gRPC framing
    /// or tonic's router; it must wrap the same service instance as the
    /// routes do. Streaming methods always go through the routes.
    pub fn direct(mut self, service: impl DirectService) -> Self {
        self.direct.push(Arc::new(service));
        self
    }

    /// The timeout of a call that names none (`grpc-timeout`); by default
    /// none.
    pub fn default_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.deadlines.default = timeout;
        self
    }

    /// The longest timeout any call gets, whatever it asks for; by default
    /// no limit.
    pub fn max_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.deadlines.max = timeout;
        self
    }

    /// Adds `interceptor` to the end of the policy chain, which every REST
    /// call passes, and every gRPC call too where the tonic services are
    /// wrapped in [`Gateway::grpc_layer`].
    pub fn interceptor(self, interceptor: impl Interceptor) -> Self {
        self.interceptor_arc(Arc::new(interceptor))
    }

    /// [`GatewayBuilder::interceptor`], for one already shared.
    pub fn interceptor_arc(mut self, interceptor: Arc<dyn Interceptor>) -> Self {
        self.interceptors.push(interceptor);
        self
    }

    /// Reads the bindings (unless given) and builds the route table.
    pub fn build(self) -> Result<Gateway, SetupError> {
        let bindings = match self.bindings {
            BindingSource::Pool(pool) => Bindings::read(&pool)?,
            BindingSource::Read(bindings) => bindings,
        };
        let mut direct = HashMap::new();
        for service in self.direct {
            for path in service.unary_paths() {
                direct.insert(*path, service.clone());
            }
        }
        Ok(Gateway {
            inner: Arc::new(Inner {
                renderer: Renderer::new(bindings.pool.clone()),
                calls: CallPath {
                    backend: Backend::new(self.routes, direct),
                    chain: Chain::new(self.interceptors, self.call_limits),
                    deadlines: self.deadlines,
                    shutdown: self.shutdown,
                },
                bindings,
                max_body_bytes: self.max_body_bytes,
                body_budget: BodyBudget::new(self.max_in_flight_body_bytes),
                body_read_timeout: self.body_read_timeout,
                socket_origins: self.socket_origins,
            }),
        })
    }
}
