//! How a binding reaches the service: in process, through tonic's own tower
//! service (`tonic::service::Routes`), with the request message as one gRPC
//! frame. No network hop and no per-method glue: every registered service,
//! with every interceptor and layer it has, sees a REST call exactly as it
//! sees a gRPC call, and the engine needs only the method's gRPC path.

use bytes::{BufMut, Bytes, BytesMut};
use http::{HeaderMap, HeaderName, HeaderValue, Request, header};
use http_body_util::{BodyExt as _, Full};
use tonic::service::Routes;
use tower::ServiceExt as _;

/// HTTP request headers passed on to the service as gRPC metadata as they are;
/// `grpc-metadata-<key>` headers are passed on as `<key>`.
const FORWARDED_HEADERS: &[&str] = &["authorization", "x-request-id", "traceparent", "tracestate"];
const METADATA_PREFIX: &str = "grpc-metadata-";
const FRAME_HEADER_LEN: usize = 5;

/// The in-process gRPC services, callable with encoded messages.
#[derive(Clone)]
pub struct Backend {
    routes: Routes,
}

impl Backend {
    /// Calls go to `routes`, the same services the gRPC port serves.
    pub fn new(routes: Routes) -> Self {
        Backend { routes }
    }

    /// Calls the unary method at `grpc_path` with an encoded request message;
    /// returns the encoded response message or the call's status.
    pub async fn unary(
        &self,
        grpc_path: &str,
        http_headers: &HeaderMap,
        message: &[u8],
    ) -> Result<Bytes, tonic::Status> {
        let request = grpc_request(grpc_path, http_headers, message)?;
        let response = self
            .routes
            .clone()
            .oneshot(request)
            .await
            .unwrap_or_else(|infallible| match infallible {});
        let (parts, body) = response.into_parts();
        if let Some(status) = tonic::Status::from_header_map(&parts.headers).filter(is_error) {
            return Err(status);
        }
        let collected = body
            .collect()
            .await
            .map_err(|error| tonic::Status::internal(format!("reading the response failed: {error}")))?;
        let trailers = collected.trailers().cloned().unwrap_or_default();
        if let Some(status) = tonic::Status::from_header_map(&trailers).filter(is_error) {
            return Err(status);
        }
        single_frame(collected.to_bytes())
    }
}

fn is_error(status: &tonic::Status) -> bool {
    status.code() != tonic::Code::Ok
}

fn grpc_request(
    grpc_path: &str,
    http_headers: &HeaderMap,
    message: &[u8],
) -> Result<Request<Full<Bytes>>, tonic::Status> {
    let length = u32::try_from(message.len())
        .map_err(|_| tonic::Status::resource_exhausted("request message too large"))?;
    let mut frame = BytesMut::with_capacity(FRAME_HEADER_LEN + message.len());
    frame.put_u8(0);
    frame.put_u32(length);
    frame.put_slice(message);

    let mut request = Request::post(grpc_path)
        .header(header::CONTENT_TYPE, "application/grpc")
        .header(header::TE, "trailers")
        .body(Full::new(frame.freeze()))
        .map_err(|error| tonic::Status::internal(format!("building the call failed: {error}")))?;
    forward_metadata(http_headers, request.headers_mut());
    Ok(request)
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

/// The message of a unary response body: exactly one uncompressed frame.
fn single_frame(mut body: Bytes) -> Result<Bytes, tonic::Status> {
    let malformed = || tonic::Status::internal("the service sent a malformed response");
    if body.len() < FRAME_HEADER_LEN || body[0] != 0 {
        return Err(malformed());
    }
    let length = u32::from_be_bytes([body[1], body[2], body[3], body[4]]) as usize;
    if body.len() != FRAME_HEADER_LEN + length {
        return Err(malformed());
    }
    Ok(body.split_off(FRAME_HEADER_LEN))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_read_only_when_well_formed() {
        let cases: [(&[u8], Option<&[u8]>); 5] = [
            (&[0, 0, 0, 0, 2, 8, 1], Some(&[8, 1])),
            (&[0, 0, 0, 0, 0], Some(&[])),
            (&[1, 0, 0, 0, 2, 8, 1], None),
            (&[0, 0, 0, 0, 3, 8, 1], None),
            (&[0, 0], None),
        ];
        for (body, expected) in cases {
            let got = single_frame(Bytes::copy_from_slice(body)).ok();
            assert_eq!(got.as_deref(), expected, "{body:?}");
        }
    }

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
