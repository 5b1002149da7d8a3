//! How a binding reaches the service: in process, through tonic's own tower
//! service (`tonic::service::Routes`), with request messages as gRPC frames
//! and response messages read frame by frame as the service sends them. No
//! network hop and no hand-written per-method glue: every registered
//! service, with every interceptor and layer it has, sees a REST call as it
//! sees a gRPC call, and the engine needs only the method's gRPC path.
//!
//! Unary methods of services also registered with
//! [`Backend::with_direct`] skip the framing and tonic's router and codec:
//! generated code calls the service trait with the decoded message (see
//! `direct.rs`).

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use http::{Extensions, HeaderMap, HeaderName, HeaderValue, Request, header};
use http_body_util::{BodyExt as _, Full};
use tonic::service::Routes;
use tower::ServiceExt as _;

use super::direct::DirectService;
use super::frames::{FrameDecoder, encode_frame};

/// HTTP request headers passed on to the service as gRPC metadata as they are;
/// `grpc-metadata-<key>` headers are passed on as `<key>`.
const FORWARDED_HEADERS: &[&str] = &["authorization", "x-request-id", "traceparent", "tracestate"];
const METADATA_PREFIX: &str = "grpc-metadata-";

/// The in-process gRPC services, callable with encoded messages.
#[derive(Clone)]
pub struct Backend {
    routes: Routes,
    /// The directly callable unary methods, by gRPC path.
    direct: HashMap<&'static str, Arc<dyn DirectService>>,
}

impl Backend {
    /// Calls go to `routes`, the same services the gRPC port serves.
    pub fn new(routes: Routes) -> Self {
        Backend {
            routes,
            direct: HashMap::new(),
        }
    }

    /// Calls the unary methods of `service` directly instead of through
    /// `routes`; it must be the same service that `routes` holds.
    pub fn with_direct(mut self, service: impl DirectService) -> Self {
        let service: Arc<dyn DirectService> = Arc::new(service);
        for path in service.unary_paths() {
            self.direct.insert(path, service.clone());
        }
        self
    }

    /// Calls the unary method at `grpc_path` with an encoded request message;
    /// returns the encoded response message or the call's status.
    pub async fn unary(
        &self,
        grpc_path: &str,
        http_headers: &HeaderMap,
        message: Bytes,
    ) -> Result<Bytes, tonic::Status> {
        if let Some(service) = self.direct.get(grpc_path) {
            let mut metadata = HeaderMap::new();
            forward_metadata(http_headers, &mut metadata);
            let metadata = tonic::metadata::MetadataMap::from_headers(metadata);
            let request = tonic::Request::from_parts(metadata, Extensions::default(), message);
            return service.call(grpc_path, request).await;
        }
        let body = Full::new(encode_frame(&message)?);
        let mut messages = self.call(grpc_path, http_headers, body).await?;
        let response = messages
            .next()
            .await
            .unwrap_or_else(|| Err(tonic::Status::internal("the service sent no response message")))?;
        match messages.next().await {
            None => Ok(response),
            Some(Err(status)) => Err(status),
            Some(Ok(_)) => Err(tonic::Status::internal(
                "the service sent more than one response message",
            )),
        }
    }

    /// Starts a call of any kind: `body` carries the request messages as gRPC
    /// frames; the answer yields the response messages as they come.
    pub(crate) async fn call<B>(
        &self,
        grpc_path: &str,
        http_headers: &HeaderMap,
        body: B,
    ) -> Result<ResponseMessages, tonic::Status>
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<tower::BoxError>,
    {
        let mut request = Request::post(grpc_path)
            .header(header::CONTENT_TYPE, "application/grpc")
            .header(header::TE, "trailers")
            .body(body)
            .map_err(|error| tonic::Status::internal(format!("building the call failed: {error}")))?;
        forward_metadata(http_headers, request.headers_mut());
        let response = self
            .routes
            .clone()
            .oneshot(request)
            .await
            .unwrap_or_else(|infallible| match infallible {});
        let (parts, body) = response.into_parts();
        // A trailers-only response carries its status in the headers.
        if let Some(status) = tonic::Status::from_header_map(&parts.headers).filter(is_error) {
            return Err(status);
        }
        Ok(ResponseMessages {
            body,
            decoder: FrameDecoder::default(),
            finished: false,
        })
    }
}

/// The response messages of a call, read as the service sends them.
pub(crate) struct ResponseMessages {
    body: tonic::body::Body,
    decoder: FrameDecoder,
    finished: bool,
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
            match self.body.frame().await {
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(data) => self.decoder.push(&data),
                    Err(frame) => {
                        let status = frame.trailers_ref().and_then(tonic::Status::from_header_map);
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

fn is_error(status: &tonic::Status) -> bool {
    status.code() != tonic::Code::Ok
}

fn forward_metadata(http_headers: &HeaderMap, metadata: &mut HeaderMap) {
    for (name, value) in http_headers {
        let name = name.as_str();
        if FORWARDED_HEADERS.contains(&name) {
            metadata.append(
                HeaderName::from_bytes(name.as_bytes()).expect("a known header name"),
                value.clone(),
            );
        } else if let Some(key) = name.strip_prefix(METADATA_PREFIX)
            && let Ok(key) = HeaderName::from_bytes(key.as_bytes())
            && !key.as_str().starts_with("grpc-")
        {
            metadata.append(key, value.clone());
        }
    }
    metadata.insert("x-forwarded-proto", HeaderValue::from_static("http"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_chosen_headers_become_metadata() {
        let mut headers = HeaderMap::new();
        headers.insert("authorization", HeaderValue::from_static("Bearer t"));
        headers.insert("grpc-metadata-tenant", HeaderValue::from_static("acme"));
        headers.insert("grpc-metadata-grpc-status", HeaderValue::from_static("0"));
        headers.insert("cookie", HeaderValue::from_static("secret"));
        let mut metadata = HeaderMap::new();
        forward_metadata(&headers, &mut metadata);
        let mut names: Vec<&str> = metadata.keys().map(HeaderName::as_str).collect();
        names.sort();
        assert_eq!(names, ["authorization", "tenant", "x-forwarded-proto"]);
    }
}
