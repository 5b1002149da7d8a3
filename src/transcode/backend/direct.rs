//! Direct unary calls: a service's unary methods called in process with
//! encoded messages, skipping what a call through tonic's tower service
//! costs (gRPC framing, tonic's router, its codec and body streams).
//!
//! The implementations are generated, not written per method: `build.rs`
//! emits, next to tonic's server for every service, a `…Direct` wrapper
//! that implements [`DirectService`] by decoding the request, calling the
//! same trait method tonic would call and encoding the response. The engine
//! only ever sees gRPC paths and bytes.
//!
//! A directly called method does not pass through tower layers or
//! interceptors added around the tonic server; register a service here only
//! when its behaviour does not depend on them (streaming methods always go
//! through tonic).

use std::future::Future;
use std::pin::Pin;

use bytes::Bytes;
use prost::Message;

/// A pending direct call: the encoded response message with the metadata
/// the service set, or the status.
pub type DirectCall = Pin<Box<dyn Future<Output = Result<tonic::Response<Bytes>, tonic::Status>> + Send>>;

/// A service whose unary methods can be called without gRPC framing.
pub trait DirectService: Send + Sync + 'static {
    /// The gRPC paths of the unary methods [`DirectService::call`] serves,
    /// e.g. `/users.v1.UserService/GetUser`.
    fn unary_paths(&self) -> &'static [&'static str];

    /// Starts the call of the unary method at `grpc_path` (an unknown path
    /// answers `UNIMPLEMENTED`).
    fn call(&self, grpc_path: &str, request: tonic::Request<Bytes>) -> DirectCall;
}

/// Decodes the request message, calls `method` with it and encodes the
/// answer (its metadata kept): the body of every generated direct method.
pub async fn call_unary<Req, Res, Method, Answer>(
    request: tonic::Request<Bytes>,
    method: Method,
) -> Result<tonic::Response<Bytes>, tonic::Status>
where
    Req: Message + Default,
    Res: Message,
    Method: FnOnce(tonic::Request<Req>) -> Answer,
    Answer: Future<Output = Result<tonic::Response<Res>, tonic::Status>>,
{
    let (metadata, extensions, encoded) = request.into_parts();
    let message = Req::decode(encoded)
        .map_err(|error| tonic::Status::internal(format!("decoding the request message failed: {error}")))?;
    let response = method(tonic::Request::from_parts(metadata, extensions, message)).await?;
    let (metadata, message, extensions) = response.into_parts();
    Ok(tonic::Response::from_parts(
        metadata,
        Bytes::from(message.encode_to_vec()),
        extensions,
    ))
}
