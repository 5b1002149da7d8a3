//! The engine's per-request steps, one call each, for the criterion
//! benchmarks in `benches/`. Behind the `bench-support` feature; not part
//! of the supported API.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Body;
use bytes::Bytes;
use http::{HeaderMap, Method, Response};
use prost::Message as _;
use prost_reflect::DescriptorPool;
use tonic::service::Routes;

use super::backend::direct::DirectService;
use super::backend::{Backend, Requests};
use super::error::HttpError;
use super::gateway::Gateway;
use super::request::{HttpRequestParts, build_request};
use super::routing::Lookup;
use super::setup_error::SetupError;

/// The engine over a descriptor pool, with no service behind it.
pub struct EngineSteps {
    gateway: Gateway,
}

/// What a route lookup answered.
#[derive(Debug, PartialEq, Eq)]
pub enum RouteOutcome {
    Found,
    NotFound,
    MethodNotAllowed,
}

impl EngineSteps {
    pub fn new(pool: DescriptorPool) -> Result<Self, SetupError> {
        Ok(EngineSteps {
            gateway: Gateway::builder(pool, Routes::default()).build()?,
        })
    }

    /// Route lookup alone.
    pub fn lookup(&self, method: &Method, path: &str) -> RouteOutcome {
        match self.gateway.inner.bindings.router.lookup(method, path) {
            Lookup::Found { .. } => RouteOutcome::Found,
            Lookup::NotFound => RouteOutcome::NotFound,
            Lookup::MethodNotAllowed { .. } => RouteOutcome::MethodNotAllowed,
        }
    }

    /// Lookup plus the request weave: the encoded request message.
    pub fn weave(&self, method: &Method, path_and_query: &str, body: &[u8]) -> Vec<u8> {
        let (path, query) = match path_and_query.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (path_and_query, None),
        };
        let Lookup::Found { payload, segments } = self.gateway.inner.bindings.router.lookup(method, path)
        else {
            panic!("no route for {method} {path}");
        };
        let parts = HttpRequestParts {
            segments: &segments,
            query,
            body,
            if_match: None,
        };
        match build_request(payload, &parts) {
            Ok(message) => message.encode_to_vec(),
            Err(error) => panic!("{method} {path_and_query}: {}", error.message()),
        }
    }

    /// Rendering an encoded response message for the binding of `method path`.
    pub fn render(&self, method: &Method, path: &str, response: &[u8]) -> Response<Body> {
        let Lookup::Found { payload, .. } = self.gateway.inner.bindings.router.lookup(method, path) else {
            panic!("no route for {method} {path}");
        };
        match self.gateway.inner.renderer.success(payload, response) {
            Ok(response) => response,
            Err(error) => panic!("{method} {path}: {}", error.message()),
        }
    }

    /// Rendering a failed call as an HTTP error.
    pub fn render_error(&self, status: tonic::Status) -> Response<Body> {
        self.gateway.inner.renderer.error(HttpError::from(status))
    }
}

/// The engine's backend alone: unary calls with encoded messages.
pub struct Dispatcher {
    backend: Backend,
}

impl Dispatcher {
    /// Calls through `routes`, and directly where `direct` serves the method.
    pub fn new(routes: Routes, direct: Option<Arc<dyn DirectService>>) -> Self {
        let mut table = HashMap::new();
        if let Some(service) = direct {
            for path in service.unary_paths() {
                table.insert(*path, service.clone());
            }
        }
        Dispatcher {
            backend: Backend::new(routes, table),
        }
    }

    /// One unary call: the encoded response message.
    pub async fn unary(&self, grpc_path: &str, message: Bytes) -> Result<Bytes, tonic::Status> {
        let mut started = self
            .backend
            .start(
                grpc_path,
                HeaderMap::new(),
                Default::default(),
                Requests::One(message),
            )
            .await?;
        started
            .responses
            .next()
            .await
            .unwrap_or_else(|| Err(tonic::Status::internal("no response message")))
    }
}
