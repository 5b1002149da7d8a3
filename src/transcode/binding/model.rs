//! The binding model: one HTTP binding of one RPC as the engine serves it,
//! every descriptor it needs resolved at start. `read` builds them; the
//! request, response and OpenAPI stages read them.

use std::sync::Arc;

use http::{Method, StatusCode};
use prost_reflect::{FieldDescriptor, MessageDescriptor, MethodDescriptor};

use super::conventions::UpdateMask;
use super::fields::{BodySelector, FieldPath};
use super::header_template::HeaderTemplate;
use crate::transcode::auth::Access;
use crate::transcode::interceptor::CallKind;
use crate::transcode::routing::{PathTemplate, VariableSpan};

/// One path variable: the segments it captures and the field it sets.
#[derive(Debug, Clone)]
pub(crate) struct PathVariable {
    pub(crate) span: VariableSpan,
    pub(crate) field: FieldPath,
}

/// The shape of a successful HTTP response.
#[derive(Debug, Clone)]
pub(crate) struct SuccessResponse {
    pub(crate) status: StatusCode,
    pub(crate) location: Option<HeaderTemplate>,
    /// The body message's `etag` field, sent as the `ETag` header.
    pub(crate) etag: Option<FieldDescriptor>,
}

/// One HTTP binding of one RPC, ready to serve.
#[derive(Debug, Clone)]
pub(crate) struct Binding {
    pub(crate) method: MethodDescriptor,
    pub(crate) http_method: Method,
    pub(crate) template: PathTemplate,
    pub(crate) path_variables: Vec<PathVariable>,
    pub(crate) body: BodySelector,
    pub(crate) response_body: Option<FieldDescriptor>,
    /// The message type of the HTTP response body (the output, or its
    /// `response_body` field); `None` when `response_body` names a scalar,
    /// list or map field.
    pub(crate) body_message: Option<MessageDescriptor>,
    pub(crate) success: SuccessResponse,
    /// The gRPC path, `/package.Service/Method`.
    pub(crate) grpc_path: Arc<str>,
    /// The method's call kind.
    pub(crate) kind: CallKind,
    /// The path template as written in the rule, e.g. `/v1/users/{id}`
    /// (a bounded label for metrics and logs, unlike the request path).
    pub(crate) route: Arc<str>,
    /// Field paths (proto names, dotted) bound by the path or by a body field;
    /// the query may set any other field.
    pub(crate) bound_fields: Vec<String>,
    /// The mask the engine supplies when the client sends none.
    pub(crate) update_mask: Option<UpdateMask>,
    /// The request's `etag` field, which the `If-Match` header sets.
    pub(crate) if_match: Option<FieldDescriptor>,
    /// Who may call the method (`gateway.v1.access`).
    pub(crate) access: Access,
}

impl Binding {
    /// Whether the field at `path` (dotted proto names) is, is inside, or
    /// contains a field bound by the path or by a body field, so that the
    /// query may not set it. With `body: "*"` the query may set nothing.
    pub(crate) fn binds_elsewhere(&self, path: &str) -> bool {
        let nested = |outer: &str, inner: &str| {
            inner.len() > outer.len() && inner.starts_with(outer) && inner.as_bytes()[outer.len()] == b'.'
        };
        matches!(self.body, BodySelector::Whole)
            || self
                .bound_fields
                .iter()
                .any(|bound| bound == path || nested(bound, path) || nested(path, bound))
    }
}
