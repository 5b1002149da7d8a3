//! The errors of the user domain and their one conversion to
//! `tonic::Status`. Invalid input carries a `google.rpc.BadRequest` detail
//! (in `grpc-status-details-bin`) listing every violation; internal
//! failures are logged and reported without detail.

use prost::Message as _;
use tonic::Status;

use super::store::StoreError;
use super::validation::Violation;
use crate::proto::google::rpc::Status as RpcStatus;

/// Why a user operation failed.
#[derive(Debug)]
pub(crate) enum UserError {
    /// The request is invalid; `message` summarizes `violations`.
    InvalidArgument {
        message: String,
        violations: Vec<Violation>,
    },
    /// No user has this id.
    NotFound { id: String },
    /// Another user already has this email.
    EmailTaken { email: String },
    /// The request's etag is stale, or a concurrent write won the race;
    /// nothing was written.
    Aborted(String),
    /// The caller may not make this change; the message names the field.
    PermissionDenied(String),
    /// Something failed on our side; the detail is only logged.
    Internal(String),
}

impl UserError {
    /// An invalid create request, naming every violation in the message.
    pub(crate) fn invalid_user(violations: Vec<Violation>) -> Self {
        let summary = violations
            .iter()
            .map(|v| format!("{}: {}", v.field, v.description))
            .collect::<Vec<_>>()
            .join("; ");
        Self::InvalidArgument {
            message: format!("invalid user: {summary}"),
            violations,
        }
    }

    /// One invalid request field, with its own message.
    pub(crate) fn invalid_field(
        message: impl Into<String>,
        field: &str,
        description: impl Into<String>,
    ) -> Self {
        Self::InvalidArgument {
            message: message.into(),
            violations: vec![Violation::new(field, description)],
        }
    }
}

impl UserError {
    /// The gRPC code it is answered with.
    pub(crate) fn code(&self) -> tonic::Code {
        match self {
            UserError::InvalidArgument { .. } => tonic::Code::InvalidArgument,
            UserError::NotFound { .. } => tonic::Code::NotFound,
            UserError::EmailTaken { .. } => tonic::Code::AlreadyExists,
            UserError::Aborted(_) => tonic::Code::Aborted,
            UserError::PermissionDenied(_) => tonic::Code::PermissionDenied,
            UserError::Internal(_) => tonic::Code::Internal,
        }
    }
}

impl From<StoreError> for UserError {
    fn from(err: StoreError) -> Self {
        // Callers that can name the email map DuplicateEmail themselves.
        Self::Internal(err.to_string())
    }
}

impl From<UserError> for Status {
    fn from(err: UserError) -> Self {
        match err {
            UserError::InvalidArgument { message, violations } => bad_request(message, violations),
            UserError::NotFound { id } => Status::not_found(format!("user {id:?} not found")),
            UserError::EmailTaken { email } => {
                Status::already_exists(format!("a user with email {email:?} already exists"))
            }
            UserError::Aborted(message) => Status::aborted(message),
            UserError::PermissionDenied(message) => Status::permission_denied(message),
            UserError::Internal(detail) => {
                tracing::error!(error = %detail, "user service internal error");
                Status::internal("internal error")
            }
        }
    }
}

/// A failed call as a `google.rpc.Status` message, with its details, for
/// responses that report per-item failures (bulk create, sync).
pub(crate) fn rpc_status(status: &Status) -> RpcStatus {
    let details = RpcStatus::decode(status.details())
        .map(|decoded| decoded.details)
        .unwrap_or_default();
    RpcStatus {
        code: status.code() as i32,
        message: status.message().to_owned(),
        details,
    }
}

fn bad_request(message: String, violations: Vec<Violation>) -> Status {
    crate::transcode::error::bad_request(message, violations.into_iter().map(|v| (v.field, v.description)))
}

#[cfg(test)]
mod tests {
    use tonic::Code;

    use super::*;
    use crate::proto::google::rpc::BadRequest;

    #[test]
    fn invalid_argument_carries_every_violation() {
        let status = Status::from(UserError::invalid_user(vec![
            Violation::new("name", "must not be empty"),
            Violation::new("email", "is not a valid email address"),
        ]));
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(
            status.message(),
            "invalid user: name: must not be empty; email: is not a valid email address"
        );
        let rpc = RpcStatus::decode(status.details()).unwrap();
        assert_eq!(rpc.code, 3);
        assert_eq!(rpc.message, status.message());
        assert_eq!(
            rpc.details[0].type_url,
            crate::transcode::error::BAD_REQUEST_TYPE_URL
        );
        let detail = BadRequest::decode(rpc.details[0].value.as_slice()).unwrap();
        let fields: Vec<_> = detail.field_violations.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["name", "email"]);
    }

    #[test]
    fn other_codes_and_messages() {
        let cases = [
            (
                UserError::NotFound { id: "abc".into() },
                Code::NotFound,
                r#"user "abc" not found"#,
            ),
            (
                UserError::EmailTaken {
                    email: "a@b.co".into(),
                },
                Code::AlreadyExists,
                r#"a user with email "a@b.co" already exists"#,
            ),
            (
                UserError::Internal("disk on fire".into()),
                Code::Internal,
                "internal error",
            ),
        ];
        for (err, code, message) in cases {
            let status = Status::from(err);
            assert_eq!((status.code(), status.message()), (code, message));
            assert!(status.details().is_empty());
        }
    }
}
