//! How a binding reaches the service: in process, through tonic's own tower
//! service (`tonic::service::Routes`), with request messages as gRPC frames
//! and response messages read frame by frame as the service sends them. No
//! network hop and no hand-written per-method glue: every registered
//! service, with every interceptor and layer it has, sees a REST call as it
//! sees a gRPC call, and the engine needs only the method's gRPC path.
//!
//! A service that panics is caught here, wherever the panic surfaces (the
//! call, or a later message of its stream): the call ends with INTERNAL
//! and the process serves on.
//!
//! Unary methods of services also registered with
//! [`Backend::with_direct`] skip the framing and tonic's router and codec:
//! generated code calls the service trait with the decoded message (see
//! `direct`).
//!
//! - `frames` — the gRPC length-prefixed message framing.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use std::panic::AssertUnwindSafe;

use futures_util::stream::BoxStream;
use futures_util::{FutureExt as _, StreamExt as _};
use http::{Extensions, HeaderMap, HeaderValue, Request, header};
use http_body_util::{BodyExt as _, Full};
use tonic::service::Routes;
use tower::ServiceExt as _;

use self::direct::DirectService;
use self::frames::{FrameDecoder, encode_frame};

pub mod direct;
pub(crate) mod frames;

/// The request messages of a call, encoded: one, or a stream read as the
/// service asks for them.
pub(crate) enum Requests {
    One(Bytes),
    Stream(BoxStream<'static, Result<Bytes, tonic::Status>>),
}

/// The response messages of a call, as the service sends them.
pub(crate) enum Responses {
    /// The answer of a direct call, until it is taken.
    Direct(Option<Bytes>),
    Routed(ResponseMessages),
}

/// A call the service has taken: its response metadata (headers) and messages.
pub(crate) struct Started {
    pub(crate) metadata: HeaderMap,
    pub(crate) responses: Responses,
}

impl Responses {
    /// The trailing metadata the service sent, once the messages ended.
    pub(crate) fn trailers(&self) -> Option<&HeaderMap> {
        match self {
            Responses::Direct(_) => None,
            Responses::Routed(messages) => messages.trailers.as_ref(),
        }
    }

    /// The next message; the call's status if it failed; `None` at a
    /// successful end.
    pub(crate) async fn next(&mut self) -> Option<Result<Bytes, tonic::Status>> {
        match self {
            Responses::Direct(answer) => answer.take().map(Ok),
            Responses::Routed(messages) => messages.next().await,
        }
    }
}

/// The in-process gRPC services, callable with encoded messages.
#[derive(Clone)]
pub(crate) struct Backend {
    routes: Routes,
    /// The directly callable unary methods, by gRPC path.
    direct: HashMap<&'static str, Arc<dyn DirectService>>,
}

impl Backend {
    /// Calls go to `routes`, the same services the gRPC port serves, or
    /// for the unary methods in `direct` (by gRPC path) to those.
    pub(crate) fn new(routes: Routes, direct: HashMap<&'static str, Arc<dyn DirectService>>) -> Self {
        Backend { routes, direct }
    }

    /// Starts a call of any kind with `requests` and the gRPC `metadata`
    /// (see `transcode::metadata`): a single request to a directly callable
    /// unary method is called directly, anything else goes through
    /// `routes` as gRPC frames.
    pub(crate) async fn start(
        &self,
        grpc_path: &str,
        metadata: HeaderMap,
        extensions: Extensions,
        requests: Requests,
    ) -> Result<Started, tonic::Status> {
        match requests {
            Requests::One(message) => {
                if let Some(service) = self.direct.get(grpc_path) {
                    let metadata = tonic::metadata::MetadataMap::from_headers(metadata);
                    let request = tonic::Request::from_parts(metadata, extensions, message);
                    let answer = AssertUnwindSafe(service.call(grpc_path, request))
                        .catch_unwind()
                        .await
                        .map_err(|_| panicked())??;
                    let (metadata, message, _) = answer.into_parts();
                    return Ok(Started {
                        metadata: metadata.into_headers(),
                        responses: Responses::Direct(Some(message)),
                    });
                }
                let body = Full::new(encode_frame(&message)?);
                self.call(grpc_path, metadata, extensions, body).await
            }
            Requests::Stream(messages) => {
                let frames = messages.map(|message| encode_frame(&message?));
                // axum's body keeps the stream behind a `SyncWrapper`, as
                // tonic's router needs a `Sync` body.
                let body = axum::body::Body::from_stream(frames);
                self.call(grpc_path, metadata, extensions, body).await
            }
        }
    }

    /// Calls through `routes`: `body` carries the request messages as gRPC
    /// frames; the answer yields the response messages as they come.
    async fn call<B>(
        &self,
        grpc_path: &str,
        metadata: HeaderMap,
        extensions: Extensions,
        body: B,
    ) -> Result<Started, tonic::Status>
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<tower::BoxError>,
    {
        let mut request = Request::post(grpc_path)
            .body(body)
            .map_err(|error| tonic::Status::internal(format!("building the call failed: {error}")))?;
        *request.extensions_mut() = extensions;
        let headers = request.headers_mut();
        *headers = metadata;
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
        headers.insert(header::TE, HeaderValue::from_static("trailers"));
        let response = AssertUnwindSafe(self.routes.clone().oneshot(request))
            .catch_unwind()
            .await
            .map_err(|_| panicked())?
            .unwrap_or_else(|infallible| match infallible {});
        let (parts, body) = response.into_parts();
        // A trailers-only response carries its status in the headers.
        if let Some(status) = tonic::Status::from_header_map(&parts.headers).filter(is_error) {
            return Err(status);
        }
        Ok(Started {
            metadata: parts.headers,
            responses: Responses::Routed(ResponseMessages {
                body,
                decoder: FrameDecoder::default(),
                finished: false,
                trailers: None,
            }),
        })
    }
}

/// The response messages of a call, read as the service sends them.
pub(crate) struct ResponseMessages {
    body: tonic::body::Body,
    decoder: FrameDecoder,
    finished: bool,
    /// The trailers, once read.
    trailers: Option<HeaderMap>,
}

impl ResponseMessages {
    /// The next message; the call's status if it failed; `None` at a
    /// successful end.
    pub(crate) async fn next(&mut self) -> Option<Result<Bytes, tonic::Status>> {
        loop {
            if self.finished {
                return None;
            }
            match self.decoder.next_message() {
                Ok(Some(message)) => return Some(Ok(message)),
                Ok(None) => {}
                Err(status) => return Some(Err(self.finish(status))),
            }
            let Ok(frame) = AssertUnwindSafe(self.body.frame()).catch_unwind().await else {
                return Some(Err(self.finish(panicked())));
            };
            match frame {
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(data) => self.decoder.push(&data),
                    Err(frame) => {
                        let status = frame.trailers_ref().and_then(tonic::Status::from_header_map);
                        if let Ok(trailers) = frame.into_trailers() {
                            self.trailers = Some(trailers);
                        }
                        if let Some(status) = status.filter(is_error) {
                            return Some(Err(self.finish(status)));
                        }
                    }
                },
                Some(Err(status)) => return Some(Err(self.finish(status))),
                None if self.decoder.has_partial_frame() => {
                    let status = tonic::Status::internal("the service sent a truncated message");
                    return Some(Err(self.finish(status)));
                }
                None => self.finished = true,
            }
        }
    }

    fn finish(&mut self, status: tonic::Status) -> tonic::Status {
        self.finished = true;
        status
    }
}

/// What a call whose service panicked answers: INTERNAL, with nothing of
/// the panic in it (the panic hook has logged it, in the call's context).
pub(crate) fn panicked() -> tonic::Status {
    tonic::Status::internal("the service failed while handling the call")
}

fn is_error(status: &tonic::Status) -> bool {
    status.code() != tonic::Code::Ok
}
