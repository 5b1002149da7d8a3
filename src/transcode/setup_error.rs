//! Why a gateway cannot be built: every configuration mistake is found at
//! start, before the first request, and names the method it is in.
//!
//! ```text
//! gateway.test.Library.GetBook: path variable "nmae": gateway.test.GetBookRequest has no field "nmae"
//! ```

/// A binding or option that cannot be served, named by its method.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SetupError {
    /// A path template that does not parse.
    #[error("{method}: invalid path template {template:?} at position {position}: {reason}")]
    Template {
        method: String,
        template: String,
        /// The byte offset in `template` where parsing failed.
        position: usize,
        reason: String,
    },
    /// Two bindings claim the same HTTP method, path shape and verb.
    #[error("{method}: duplicate route {route}, already bound by {existing}")]
    DuplicateRoute {
        method: String,
        /// e.g. `GET /v1/*/*`.
        route: String,
        /// The method that bound the route first.
        existing: String,
    },
    /// A path variable, `body`, `response_body` or header placeholder
    /// (the `role`) names a field the message does not have.
    #[error("{method}: {role} {path:?}: {reason}")]
    UnknownField {
        method: String,
        role: &'static str,
        path: String,
        reason: String,
    },
    /// A field that exists but cannot play its role (a path variable on a
    /// repeated or message field, say).
    #[error("{method}: {role} {path:?}: {reason}")]
    UnsupportedField {
        method: String,
        role: &'static str,
        path: String,
        reason: String,
    },
    /// A `body` the engine cannot read into the request.
    #[error("{method}: unsupported body: {reason}")]
    UnsupportedBody { method: String, reason: String },
    /// A `response_body` the engine cannot render.
    #[error("{method}: unsupported response_body: {reason}")]
    UnsupportedResponseBody { method: String, reason: String },
    /// An option (`google.api.http`, `gateway.v1.http_response`) with a
    /// value the engine cannot use.
    #[error("{method}: bad option {option}: {reason}")]
    BadOption {
        method: String,
        option: String,
        reason: String,
    },
}
