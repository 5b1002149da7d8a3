//! The transcoding engine: serves every `google.api.http` binding found in a
//! descriptor pool by calling the in-process gRPC services. It knows nothing
//! of any particular service; add an annotated service to the pool and the
//! routes appear. Its folders are the stages of a request's walk:
//!
//! ```text
//! binding/   descriptors → bindings, read once at start (+ conventions)
//! routing/   method + path → binding, or 404 / 405 with Allow
//! request/   body under limits, content type, path + query + body → message
//! call       the one call path: a request source → the chain → the service
//! interceptor/ the policy chain every call passes once, REST and gRPC alike
//! backend/   in-process calls: direct for unary, tonic's routes otherwise
//! response/  response_body, proto3 JSON from wire bytes, headers
//! streaming/ NDJSON / SSE / WebSocket framing, with in-band errors
//! deadline   grpc-timeout on both faces, a default and a maximum
//! request_id one id per call, kept or made, returned and logged
//! error/     one HttpError, one code → HTTP table, one google.rpc.Status body
//! openapi/   bindings → OpenAPI 3.1 document
//! ```
//!
//! The public face is [`Gateway`], a `tower::Service` built with
//! [`Gateway::builder`] (`builder.rs`); `gateway.rs` holds it and the
//! dispatch.

pub mod auth;
mod backend;
#[cfg(feature = "bench-support")]
#[doc(hidden)]
pub mod bench_support;
mod binding;
mod builder;
mod call;
mod deadline;
pub(crate) mod error;
mod gateway;
pub mod interceptor;
pub(crate) mod metadata;
pub mod openapi;
pub mod proto;
mod request;
mod request_id;
mod response;
mod routing;
mod setup_error;
mod streaming;
#[cfg(test)]
mod test_support;

pub use backend::direct;
pub use binding::Bindings;
pub use builder::{DEFAULT_MAX_BODY_BYTES, GatewayBuilder};
pub use gateway::Gateway;
pub use interceptor::{CallLimits, ClientCertificate, OverTls};
pub use request::DEFAULT_MAX_IN_FLIGHT_BODY_BYTES;
pub use setup_error::SetupError;

/// The engine's own test service, `gateway.test.Library`, for unit tests.
#[cfg(test)]
pub(crate) fn test_pool() -> prost_reflect::DescriptorPool {
    static POOL: std::sync::OnceLock<prost_reflect::DescriptorPool> = std::sync::OnceLock::new();
    POOL.get_or_init(|| {
        prost_reflect::DescriptorPool::decode(
            &include_bytes!(concat!(env!("OUT_DIR"), "/test_descriptors.bin"))[..],
        )
        .expect("the test descriptor set decodes")
    })
    .clone()
}
