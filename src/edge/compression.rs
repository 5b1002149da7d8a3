//! Compression on the wire, on by default:
//!
//! - **responses** are compressed as the client's `Accept-Encoding` asks
//!   (zstd, br or gzip; tower-http's `CompressionLayer` at its default
//!   levels), unless smaller than [`MIN_COMPRESSED_BYTES`], already
//!   encoded, an image, or gRPC or gRPC-Web (which compress their own
//!   messages). Streamed
//!   bodies (NDJSON, SSE) stay streamed: the encoder flushes whenever the
//!   stream has nothing more ready, so each message leaves as it is made.
//! - **request bodies** sent with `Content-Encoding: gzip`, `br` or `zstd`
//!   are decoded as they are read, so the gateway's body limit counts the
//!   decoded bytes (a small body that inflates past it is a 413); any other
//!   encoding reaches the gateway as it is, which refuses it (415).
//! - **gRPC messages**: the services accept gzip and zstd messages and
//!   send them to callers that accept them ([`GRPC_ENCODINGS`]).
//!
//! A request that names no encoding either way (no `Accept-Encoding`, no
//! `Content-Encoding`) skips the encoders, as gRPC does: they would pass it
//! through untouched anyway.
//!
//! `--no-response-compression` sends every response as it is (say, behind a
//! proxy that compresses); compressed requests are still accepted.

use axum::body::Body;
use futures_util::future::Either;
use http::{Request, Response};
use http_body_util::BodyExt as _;
use tonic::codec::CompressionEncoding;
use tower::util::BoxCloneSyncService;
use tower::{ServiceBuilder, ServiceExt as _};
use tower_http::compression::CompressionLayer;
use tower_http::compression::predicate::{NotForContentType, Predicate as _, SizeAbove};
use tower_http::decompression::RequestDecompressionLayer;

use super::{EdgeService, is_grpc};
use crate::config::Config;

/// Response bodies smaller than this (in bytes, when their size is known)
/// are sent as they are: compressing them saves little and costs a pass.
pub(crate) const MIN_COMPRESSED_BYTES: u16 = 1024;

/// The gRPC message encodings accepted, and sent when asked for.
pub(crate) const GRPC_ENCODINGS: [CompressionEncoding; 2] =
    [CompressionEncoding::Gzip, CompressionEncoding::Zstd];

/// The body of an answer as `RequestDecompression` returns it.
type DecodedRequestsAnswer = tower_http::body::UnsyncBoxBody<bytes::Bytes, axum::BoxError>;

/// The compression policy from the configuration.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Compression {
    responses: bool,
}

impl Compression {
    pub(crate) fn from_config(config: &Config) -> Self {
        Compression {
            responses: !config.no_response_compression,
        }
    }

    /// The gRPC message encodings to send to callers that accept them.
    pub(crate) fn grpc_sent(self) -> &'static [CompressionEncoding] {
        if self.responses { &GRPC_ENCODINGS } else { &[] }
    }

    /// `inner` with its requests decoded and its responses compressed;
    /// gRPC requests go straight to it.
    pub(crate) fn wrap<S>(self, inner: S) -> EdgeService
    where
        S: tower::Service<Request<Body>, Response = Response<Body>, Error = std::convert::Infallible>
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
    {
        // Every `application/grpc*` answer, gRPC-Web's too (tower-http's
        // own GRPC predicate compresses gRPC-Web).
        let worth_it = SizeAbove::new(MIN_COMPRESSED_BYTES)
            .and(NotForContentType::const_new("application/grpc"))
            .and(NotForContentType::IMAGES);
        let mut responses = CompressionLayer::new();
        if !self.responses {
            responses = responses.no_gzip().no_br().no_zstd();
        }
        let responses = responses.compress_when(worth_it);
        let encoded = ServiceBuilder::new()
            .map_response(|response: Response<_>| response.map(Body::new))
            .layer(responses)
            // The encoder polls a body once more after its end (for
            // trailers), which a streamed body must survive.
            .map_response(|response: Response<DecodedRequestsAnswer>| {
                response.map(|body| Body::new(body.fuse()))
            })
            .layer(RequestDecompressionLayer::new().pass_through_unaccepted(true))
            .map_request(|request: Request<_>| request.map(Body::new))
            .service(inner.clone());
        BoxCloneSyncService::new(tower::service_fn(move |request: Request<Body>| {
            if is_grpc(request.headers()) || !has_encodings(&request) {
                Either::Left(inner.clone().oneshot(request))
            } else {
                Either::Right(encoded.clone().oneshot(request))
            }
        }))
    }
}

/// gRPC (and gRPC-Web) compresses its own messages: its requests skip the
/// HTTP encoders altogether.
/// Whether the request names an encoding either way (`Accept-Encoding`
/// for its answer, `Content-Encoding` for its body); without either, the
/// encoders have nothing to do and are skipped.
fn has_encodings(request: &Request<Body>) -> bool {
    let headers = request.headers();
    headers.contains_key(http::header::ACCEPT_ENCODING)
        || headers.contains_key(http::header::CONTENT_ENCODING)
}
