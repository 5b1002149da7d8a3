//! The one way to build a `tonic::Status` that carries a detail in
//! `grpc-status-details-bin` (as a packed `google.rpc.Status`): an
//! INVALID_ARGUMENT with a `google.rpc.BadRequest`, used by the engine and
//! the domain alike, or any code with a `google.rpc.RetryInfo`.

use prost::Message as _;
use tonic::Code;

use crate::transcode::proto::google::rpc::{
    BadRequest, RetryInfo, Status as RpcStatus, bad_request::FieldViolation,
};

/// The `Any` type URL of `google.rpc.BadRequest`.
pub(crate) const BAD_REQUEST_TYPE_URL: &str = "type.googleapis.com/google.rpc.BadRequest";

/// The `Any` type URL of `google.rpc.RetryInfo`.
pub(crate) const RETRY_INFO_TYPE_URL: &str = "type.googleapis.com/google.rpc.RetryInfo";

/// `code` with `message`, telling the client to wait `delay` first.
pub(crate) fn retry_after(code: Code, message: String, delay: std::time::Duration) -> tonic::Status {
    let detail = RetryInfo {
        retry_delay: prost_types::Duration::try_from(delay).ok(),
    };
    with_detail(code, message, RETRY_INFO_TYPE_URL, detail.encode_to_vec())
}

fn with_detail(code: Code, message: String, type_url: &str, value: Vec<u8>) -> tonic::Status {
    let status = RpcStatus {
        code: code as i32,
        message: message.clone(),
        details: vec![prost_types::Any {
            type_url: type_url.to_owned(),
            value,
        }],
    };
    tonic::Status::with_details(code, message, status.encode_to_vec().into())
}

/// INVALID_ARGUMENT with `message`, detailing every `(field, description)`.
pub(crate) fn bad_request(
    message: String,
    violations: impl IntoIterator<Item = (String, String)>,
) -> tonic::Status {
    let detail = BadRequest {
        field_violations: violations
            .into_iter()
            .map(|(field, description)| FieldViolation {
                field,
                description,
                reason: String::new(),
            })
            .collect(),
    };
    with_detail(
        Code::InvalidArgument,
        message,
        BAD_REQUEST_TYPE_URL,
        detail.encode_to_vec(),
    )
}
