//! Every failure of the HTTP side, and how it is rendered: one table from
//! gRPC code to HTTP status, and one body, the `google.rpc.Status` JSON
//! `{"code": 3, "message": "...", "details": [{"@type": ...}]}`, whether the
//! error came from the service or from the gateway itself (404, 405, 413, 415,
//! a bad query parameter).

use http::{HeaderValue, Method, StatusCode, header};
use prost::Message as _;
use prost_reflect::{DescriptorPool, DynamicMessage, SerializeOptions};
use serde::Serialize;
use tonic::Code;

use crate::transcode::auth::WWW_AUTHENTICATE;
use crate::transcode::interceptor::RETRY_AFTER;

/// Failure metadata that REST answers as an HTTP header of its own.
const HEADERS_OF_THEIR_OWN: [(&str, http::HeaderName); 2] = [
    (RETRY_AFTER, header::RETRY_AFTER),
    (WWW_AUTHENTICATE, header::WWW_AUTHENTICATE),
];
use crate::transcode::metadata::add_response_headers;
use crate::transcode::proto::google::rpc::Status as RpcStatus;

mod details;

#[cfg(test)]
pub(crate) use details::BAD_REQUEST_TYPE_URL;
pub(crate) use details::{bad_request, retry_after};

/// The `Any` type URL of `google.rpc.RequestInfo`.
const REQUEST_INFO_TYPE_URL: &str = "type.googleapis.com/google.rpc.RequestInfo";

/// The HTTP status for a gRPC code (the table of `google/rpc/code.proto`).
pub(crate) fn http_status(code: Code) -> StatusCode {
    match code {
        Code::Ok => StatusCode::OK,
        Code::Cancelled => StatusCode::from_u16(499).expect("499 is a valid status code"),
        Code::Unknown | Code::Internal | Code::DataLoss => StatusCode::INTERNAL_SERVER_ERROR,
        Code::InvalidArgument | Code::FailedPrecondition | Code::OutOfRange => StatusCode::BAD_REQUEST,
        Code::DeadlineExceeded => StatusCode::GATEWAY_TIMEOUT,
        Code::NotFound => StatusCode::NOT_FOUND,
        Code::AlreadyExists | Code::Aborted => StatusCode::CONFLICT,
        Code::PermissionDenied => StatusCode::FORBIDDEN,
        Code::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
        Code::Unimplemented => StatusCode::NOT_IMPLEMENTED,
        Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        Code::Unauthenticated => StatusCode::UNAUTHORIZED,
    }
}

/// A failed HTTP request: a gRPC status, and the HTTP status when the
/// gateway knows better than the table (405, 408, 413, 414, 415, 431).
#[derive(Debug)]
pub(crate) struct HttpError {
    status: tonic::Status,
    http_status: StatusCode,
    allow: Vec<Method>,
    /// What went wrong inside, for the log only; never rendered.
    cause: Option<String>,
    /// The call's id, rendered as a `google.rpc.RequestInfo` detail.
    request_id: Option<HeaderValue>,
}

impl From<tonic::Status> for HttpError {
    fn from(status: tonic::Status) -> Self {
        HttpError {
            http_status: http_status(status.code()),
            status,
            allow: Vec::new(),
            cause: None,
            request_id: None,
        }
    }
}

impl HttpError {
    /// `status`, answered with `http_status` instead of the table's.
    fn answered_as(status: tonic::Status, http_status: StatusCode) -> Self {
        HttpError {
            http_status,
            ..status.into()
        }
    }

    pub(crate) fn not_found(method: &Method, path: &str) -> Self {
        tonic::Status::not_found(format!("no route for {method} {path}")).into()
    }

    pub(crate) fn method_not_allowed(method: &Method, path: &str, allow: Vec<Method>) -> Self {
        let message = format!("method {method} is not allowed on {path}");
        HttpError {
            allow,
            ..Self::answered_as(
                tonic::Status::unimplemented(message),
                StatusCode::METHOD_NOT_ALLOWED,
            )
        }
    }

    /// A body sent as `content_type`, or with none, when `expected` is read.
    pub(crate) fn unsupported_media_type(content_type: Option<&str>, expected: &str) -> Self {
        let message = match content_type {
            Some(content_type) => {
                format!("unsupported content type {content_type:?}: send the body as {expected}")
            }
            None => format!("the request body has no Content-Type: send it as {expected}"),
        };
        Self::answered_as(
            tonic::Status::invalid_argument(message),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        )
    }

    pub(crate) fn unsupported_content_encoding(encoding: &str) -> Self {
        let message = format!("unsupported content encoding {encoding:?}: send the body unencoded");
        Self::answered_as(
            tonic::Status::invalid_argument(message),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        )
    }

    pub(crate) fn payload_too_large(limit: usize) -> Self {
        let message = format!("the request body is larger than the limit of {limit} bytes");
        Self::answered_as(
            tonic::Status::resource_exhausted(message),
            StatusCode::PAYLOAD_TOO_LARGE,
        )
    }

    pub(crate) fn uri_too_long(limit: usize) -> Self {
        let message = format!("the request URL is longer than the limit of {limit} bytes");
        Self::answered_as(tonic::Status::invalid_argument(message), StatusCode::URI_TOO_LONG)
    }

    /// `what` names the limit passed.
    pub(crate) fn headers_too_large(what: &str) -> Self {
        Self::answered_as(
            tonic::Status::invalid_argument(format!("the request has {what}")),
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        )
    }

    /// Reading the request body failed: 408 if it stalled (DEADLINE_EXCEEDED
    /// in a stream already answering), else INVALID_ARGUMENT.
    pub(crate) fn body_read_failed(error: &(dyn std::error::Error + 'static)) -> Self {
        if !crate::transcode::request::is_stall(error) {
            return tonic::Status::invalid_argument(format!("reading the request body failed: {error}"))
                .into();
        }
        let message = format!("{error}; the body must arrive without stalling");
        Self::answered_as(
            tonic::Status::deadline_exceeded(message),
            StatusCode::REQUEST_TIMEOUT,
        )
    }

    /// INVALID_ARGUMENT with a `google.rpc.BadRequest` naming `field`; the
    /// description is also the message, so it should name the field too.
    pub(crate) fn invalid_field(field: &str, description: &str) -> Self {
        let violation = (field.to_owned(), description.to_owned());
        bad_request(description.to_owned(), [violation]).into()
    }

    /// The same error with `context: ` before its message.
    pub(crate) fn in_context(self, context: &str) -> Self {
        let message = format!("{context}: {}", self.status.message());
        HttpError {
            status: tonic::Status::with_details(
                self.status.code(),
                message,
                self.status.details().to_vec().into(),
            ),
            ..self
        }
    }

    /// The same error, naming the call's id (once named, it stays).
    pub(crate) fn with_request_id(mut self, id: &HeaderValue) -> Self {
        self.request_id.get_or_insert_with(|| id.clone());
        self
    }

    /// The HTTP status this error is answered with.
    #[cfg(test)]
    pub(crate) fn http_status(&self) -> StatusCode {
        self.http_status
    }

    pub(crate) fn code(&self) -> Code {
        self.status.code()
    }

    /// INTERNAL with a message for the client and a `cause` for the log.
    pub(crate) fn internal(message: &str, cause: impl std::fmt::Display) -> Self {
        HttpError {
            cause: Some(cause.to_string()),
            ..tonic::Status::internal(message).into()
        }
    }

    /// Logs a failure of the server's own (INTERNAL, UNKNOWN, DATA_LOSS)
    /// at `error`, with its cause; the renderer calls this once for every
    /// failure it answers, so each is logged once. Client errors are not
    /// logged here.
    pub(crate) fn log(&self) {
        if matches!(
            self.status.code(),
            Code::Internal | Code::Unknown | Code::DataLoss
        ) {
            let cause = self.cause.as_deref().unwrap_or("");
            let request_id = self
                .request_id
                .as_ref()
                .and_then(|id| id.to_str().ok())
                .unwrap_or("");
            tracing::error!(
                code = ?self.status.code(),
                message = self.status.message(),
                cause,
                request_id,
                "request failed"
            );
        }
    }

    pub(crate) fn message(&self) -> &str {
        self.status.message()
    }

    /// The HTTP response: status, `Allow` where it applies, and the JSON body.
    pub(crate) fn into_response(self, pool: &DescriptorPool) -> http::Response<axum::body::Body> {
        let json = self.to_json(pool);
        let mut response = http::Response::new(axum::body::Body::from(json));
        *response.status_mut() = self.http_status;
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        // What the service set on its failure comes back as on a success.
        add_response_headers(self.status.metadata().as_ref(), headers);
        // A shed call's retry delay and a refused caller's challenge are
        // HTTP's own headers.
        for (key, name) in HEADERS_OF_THEIR_OWN {
            if let Some(value) = self.status.metadata().as_ref().get(key) {
                headers.insert(name, value.clone());
            }
        }
        if !self.allow.is_empty() {
            let names: Vec<&str> = self.allow.iter().map(Method::as_str).collect();
            if let Ok(value) = HeaderValue::from_str(&names.join(", ")) {
                headers.insert(header::ALLOW, value);
            }
        }
        response
    }
}

impl HttpError {
    /// The `google.rpc.Status` JSON of this error, also used in-band in streams.
    pub(crate) fn to_json(&self, pool: &DescriptorPool) -> Vec<u8> {
        let mut details = render_details(&self.status, pool);
        if let Some(id) = &self.request_id {
            let info = serde_json::json!({
                "@type": REQUEST_INFO_TYPE_URL,
                "requestId": String::from_utf8_lossy(id.as_bytes()),
                "servingData": "",
            });
            details.extend(serde_json::value::to_raw_value(&info).ok());
        }
        let body = ErrorBody {
            code: self.status.code() as i32,
            message: self.status.message(),
            details,
        };
        serde_json::to_vec(&body).expect("an error body always serializes")
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    code: i32,
    message: &'a str,
    details: Vec<Box<serde_json::value::RawValue>>,
}

/// The `google.rpc.Status` details carried in `grpc-status-details-bin`,
/// each rendered in proto3 JSON form with its `@type`. A detail whose type
/// the pool does not know is left out rather than shown half-decoded.
fn render_details(status: &tonic::Status, pool: &DescriptorPool) -> Vec<Box<serde_json::value::RawValue>> {
    if status.details().is_empty() {
        return Vec::new();
    }
    let Ok(decoded) = RpcStatus::decode(status.details()) else {
        tracing::warn!("undecodable grpc-status-details-bin");
        return Vec::new();
    };
    let Some(any_descriptor) = pool.get_message_by_name("google.protobuf.Any") else {
        return Vec::new();
    };
    let options = SerializeOptions::new().skip_default_fields(false);
    decoded
        .details
        .iter()
        .filter_map(|detail| {
            let message =
                DynamicMessage::decode(any_descriptor.clone(), detail.encode_to_vec().as_slice()).ok()?;
            let mut json = Vec::new();
            let rendered =
                message.serialize_with_options(&mut serde_json::Serializer::new(&mut json), &options);
            match rendered.map(|()| String::from_utf8(json)) {
                Ok(Ok(json)) => serde_json::value::RawValue::from_string(json).ok(),
                Ok(Err(error)) => {
                    tracing::warn!(type_url = %detail.type_url, %error, "error detail left out");
                    None
                }
                Err(error) => {
                    tracing::warn!(type_url = %detail.type_url, %error, "error detail left out");
                    None
                }
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_maps_to_the_standard_http_status() {
        let table = [
            (Code::Ok, 200),
            (Code::Cancelled, 499),
            (Code::Unknown, 500),
            (Code::InvalidArgument, 400),
            (Code::DeadlineExceeded, 504),
            (Code::NotFound, 404),
            (Code::AlreadyExists, 409),
            (Code::PermissionDenied, 403),
            (Code::ResourceExhausted, 429),
            (Code::FailedPrecondition, 400),
            (Code::Aborted, 409),
            (Code::OutOfRange, 400),
            (Code::Unimplemented, 501),
            (Code::Internal, 500),
            (Code::Unavailable, 503),
            (Code::DataLoss, 500),
            (Code::Unauthenticated, 401),
        ];
        for (code, expected) in table {
            assert_eq!(http_status(code).as_u16(), expected, "{code:?}");
        }
    }

    fn rendered(error: HttpError) -> (u16, Option<String>, serde_json::Value) {
        let pool = crate::transcode::test_pool();
        let response = error.into_response(&pool);
        let status = response.status().as_u16();
        let allow = response
            .headers()
            .get(header::ALLOW)
            .map(|value| value.to_str().unwrap().to_owned());
        let body = futures_body(response);
        (status, allow, serde_json::from_slice(&body).unwrap())
    }

    fn futures_body(response: http::Response<axum::body::Body>) -> Vec<u8> {
        use http_body_util::BodyExt as _;
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        runtime
            .block_on(response.into_body().collect())
            .unwrap()
            .to_bytes()
            .to_vec()
    }

    #[test]
    fn errors_render_as_google_rpc_status_json() {
        let cases = [
            (
                HttpError::not_found(&Method::GET, "/nowhere"),
                404,
                None,
                serde_json::json!({"code": 5, "message": "no route for GET /nowhere", "details": []}),
            ),
            (
                HttpError::method_not_allowed(&Method::PUT, "/v1/x", vec![Method::GET, Method::POST]),
                405,
                Some("GET, POST"),
                serde_json::json!({"code": 12, "message": "method PUT is not allowed on /v1/x", "details": []}),
            ),
            (
                HttpError::payload_too_large(10),
                413,
                None,
                serde_json::json!({"code": 8, "message": "the request body is larger than the limit of 10 bytes", "details": []}),
            ),
            (
                HttpError::invalid_field(
                    "page_size",
                    "query parameter \"page_size\": expected a 32-bit integer",
                ),
                400,
                None,
                serde_json::json!({
                    "code": 3,
                    "message": "query parameter \"page_size\": expected a 32-bit integer",
                    "details": [{
                        "@type": "type.googleapis.com/google.rpc.BadRequest",
                        "fieldViolations": [{"field": "page_size", "description": "query parameter \"page_size\": expected a 32-bit integer", "reason": ""}]
                    }]
                }),
            ),
            (
                tonic::Status::already_exists("taken").into(),
                409,
                None,
                serde_json::json!({"code": 6, "message": "taken", "details": []}),
            ),
        ];
        for (error, status, allow, body) in cases {
            let (got_status, got_allow, got_body) = rendered(error);
            assert_eq!(got_status, status, "{body}");
            assert_eq!(got_allow.as_deref(), allow, "{body}");
            assert_eq!(got_body, body);
        }
    }
}
