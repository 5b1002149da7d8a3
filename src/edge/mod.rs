//! The HTTP edge: what happens to every request and response on the wire,
//! before and after the faces (REST, gRPC, gRPC-Web) see them. Built once
//! from the [`Config`](crate::config::Config) and wrapped around the
//! server's front service:
//!
//! ```text
//! request ─► the host check on a loopback listener (host.rs: 421 for a
//!            name that is not loopback or allowed, against DNS rebinding)
//!         ─► CORS (cors.rs: preflights answered here, headers on every answer)
//!         ─► response compression, request decompression (compression.rs;
//!            gRPC and gRPC-Web requests go past them)
//!         ─► the front (gRPC / docs / gateway)
//! ```
//!
//! gRPC-Web is not here: it is a translation on the gRPC face (tonic-web,
//! in `server.rs`) outside the policy chain's gRPC layer, so its calls pass
//! the chain like any gRPC call; its answers get the CORS headers.

mod compression;
mod cors;
mod host;

use std::convert::Infallible;

use axum::body::Body;
use http::{Request, Response};
use tower::util::BoxCloneSyncService;

pub(crate) use compression::{Compression, GRPC_ENCODINGS};
pub(crate) use cors::{Cors, MethodsAt, parse_header_name, parse_origin};
pub(crate) use host::{AllowedHosts, parse_allowed_host};

/// Whether a request or response is gRPC (or gRPC-Web) by its
/// `content-type`: what goes to tonic, skips the HTTP encoders, and ends
/// with a gRPC status when the server stops.
pub(crate) fn is_grpc(headers: &http::HeaderMap) -> bool {
    headers
        .get(http::header::CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(b"application/grpc"))
}

/// Why the edge cannot be built from the configuration.
#[derive(Debug, thiserror::Error)]
pub enum EdgeError {
    #[error(
        "--cors-allow-origin '*' cannot be combined with --cors-allow-credentials \
         (browsers refuse credentials from a wildcard origin): list the origins instead"
    )]
    WildcardWithCredentials,
}

/// The front service behind the edge, as one boxed service.
pub(crate) type EdgeService = BoxCloneSyncService<Request<Body>, Response<Body>, Infallible>;

/// `front` behind `compression`, when configured `cors` (whose preflights
/// learn from `methods_at` what each path serves), and outermost, on a
/// loopback listener, the check of `hosts`.
pub(crate) fn wrap<S>(
    front: S,
    methods_at: MethodsAt,
    cors: Option<&Cors>,
    compression: Compression,
    hosts: Option<&AllowedHosts>,
) -> EdgeService
where
    S: tower::Service<Request<Body>, Response = Response<Body>, Error = Infallible>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
{
    let compressed = compression.wrap(front);
    let served = match cors {
        Some(cors) => BoxCloneSyncService::new(cors.wrap(compressed, methods_at)),
        None => compressed,
    };
    match hosts {
        Some(hosts) => BoxCloneSyncService::new(hosts.wrap(served)),
        None => served,
    }
}
