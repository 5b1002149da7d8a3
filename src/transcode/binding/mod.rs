//! Bindings: what the engine reads from the descriptors once, at start.
//! Every `google.api.http` rule (and its `additional_bindings`) of every
//! service becomes a [`Binding`] with its path variables, `body` and
//! `response_body` resolved against the message descriptors, the
//! conventions that apply to it, and this gateway's method options. The
//! validated bindings and their route table form a [`Bindings`], which
//! feeds both the gateway and the OpenAPI document.
//!
//! - `read` — `google.api.http` and `gateway.v1.http_response` → `Binding`;
//! - `fields` — field paths, body selectors and field-shape tests;
//! - `conventions` — update masks (AIP-134) and etags (AIP-154);
//! - `header_template` — `{field}` placeholders of response headers.

pub(crate) mod conventions;
mod fields;
mod header_template;
mod read;

use std::sync::Arc;

use http::{Method, StatusCode};
use prost_reflect::{DescriptorPool, FieldDescriptor, MessageDescriptor, MethodDescriptor};

use self::conventions::UpdateMask;
use crate::transcode::SetupError;
use crate::transcode::routing::{PathTemplate, Router, RouterBuilder, VariableSpan};

pub(crate) use fields::{BodySelector, FieldPath, resolve_field_path, singular_message};
pub(crate) use header_template::{HeaderTemplate, TemplatePart};
pub(crate) use read::read_bindings;

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
    pub(crate) grpc_path: String,
    /// Field paths (proto names, dotted) bound by the path or by a body field;
    /// the query may set any other field.
    pub(crate) bound_fields: Vec<String>,
    /// The mask the engine supplies when the client sends none.
    pub(crate) update_mask: Option<UpdateMask>,
    /// The request's `etag` field, which the `If-Match` header sets.
    pub(crate) if_match: Option<FieldDescriptor>,
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

/// Every HTTP binding of a descriptor pool, validated, with its route
/// table: read once at start and shared by the gateway and the OpenAPI
/// document. Cheap to clone.
#[derive(Clone)]
pub struct Bindings {
    pub(crate) pool: DescriptorPool,
    pub(crate) list: Arc<[Arc<Binding>]>,
    pub(crate) router: Arc<Router<Arc<Binding>>>,
}

impl Bindings {
    /// Reads and checks every `google.api.http` binding in `pool`: bad
    /// templates, unknown or unfit fields, bad options and duplicate routes
    /// fail here, each naming its method.
    pub fn read(pool: &DescriptorPool) -> Result<Self, SetupError> {
        let list: Vec<Arc<Binding>> = read_bindings(pool)?.into_iter().map(Arc::new).collect();
        let mut builder = RouterBuilder::new();
        for (index, binding) in list.iter().enumerate() {
            let (segments, _) = binding.template.flatten();
            let verb = binding.template.verb.as_deref();
            if let Err(duplicate) =
                builder.insert(binding.http_method.clone(), &segments, verb, binding.clone())
            {
                let existing = list[..index]
                    .iter()
                    .find(|earlier| same_route(earlier, binding))
                    .map_or_else(String::new, |earlier| earlier.method.full_name().to_owned());
                return Err(SetupError::DuplicateRoute {
                    method: binding.method.full_name().to_owned(),
                    route: format!("{} {}", duplicate.method, duplicate.shape),
                    existing,
                });
            }
        }
        Ok(Bindings {
            pool: pool.clone(),
            list: list.into(),
            router: Arc::new(builder.build()),
        })
    }

    /// The descriptor pool the bindings were read from.
    pub fn pool(&self) -> &DescriptorPool {
        &self.pool
    }

    /// How many bindings (routes) there are.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Whether the pool has no HTTP bindings at all.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
}

/// Whether two bindings have the same HTTP method, path shape and verb.
fn same_route(a: &Binding, b: &Binding) -> bool {
    a.http_method == b.http_method
        && a.template.verb == b.template.verb
        && a.template.flatten().0 == b.template.flatten().0
}
