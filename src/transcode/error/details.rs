//! The one way to build an INVALID_ARGUMENT `tonic::Status` that carries a
//! `google.rpc.BadRequest` in `grpc-status-details-bin` (as a packed
//! `google.rpc.Status`), used by the engine and the domain alike.

use prost::Message as _;
use tonic::Code;

use crate::transcode::proto::google::rpc::{BadRequest, Status as RpcStatus, bad_request::FieldViolation};

/// The `Any` type URL of `google.rpc.BadRequest`.
pub(crate) const BAD_REQUEST_TYPE_URL: &str = "type.googleapis.com/google.rpc.BadRequest";

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
    let status = RpcStatus {
        code: Code::InvalidArgument as i32,
        message: message.clone(),
        details: vec![prost_types::Any {
            type_url: BAD_REQUEST_TYPE_URL.to_owned(),
            value: detail.encode_to_vec(),
        }],
    };
    tonic::Status::with_details(Code::InvalidArgument, message, status.encode_to_vec().into())
}
