//! Reads the HTTP bindings out of the descriptor pool once, at start: every
//! `google.api.http` rule (and its `additional_bindings`) of every service,
//! with path variables, `body` and `response_body` resolved against the
//! message descriptors, plus this gateway's `gateway.v1.http_response`
//! option. A binding that cannot be served fails start-up with a message
//! naming the method.

use http::{Method, StatusCode};
use prost_reflect::{
    DescriptorPool, DynamicMessage, FieldDescriptor, Kind, MessageDescriptor, MethodDescriptor,
};

use super::conventions::{self, UpdateMask};
use super::response::HeaderTemplate;
use super::template::{PathTemplate, TemplateError, VariableSpan};
use crate::proto::gateway::v1::HttpResponse;
use crate::proto::google::api::{HttpRule, http_rule::Pattern};

const HTTP_RULE_EXTENSION: &str = "google.api.http";
const HTTP_RESPONSE_EXTENSION: &str = "gateway.v1.http_response";

/// A chain of fields from a message down to a (nested) field.
#[derive(Debug, Clone)]
pub(crate) struct FieldPath(pub(crate) Vec<FieldDescriptor>);

/// One path variable: the segments it captures and the field it sets.
#[derive(Debug, Clone)]
pub(crate) struct PathVariable {
    pub(crate) span: VariableSpan,
    pub(crate) field: FieldPath,
}

/// Which part of the request message the HTTP body carries.
#[derive(Debug, Clone)]
pub(crate) enum BodySelector {
    None,
    /// `body: "*"`: every field not bound by the path.
    Whole,
    /// `body: "field"`: one top-level field.
    Field(FieldDescriptor),
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

/// Why a binding cannot be served.
#[derive(Debug, thiserror::Error)]
pub(crate) enum BindingError {
    #[error("{method}: {source}")]
    Template { method: String, source: TemplateError },
    #[error("{method}: {message}")]
    Invalid { method: String, message: String },
}

/// Reads every HTTP binding of every service in the pool.
pub(crate) fn read_bindings(pool: &DescriptorPool) -> Result<Vec<Binding>, BindingError> {
    let Some(http_extension) = pool.get_extension_by_name(HTTP_RULE_EXTENSION) else {
        return Ok(Vec::new());
    };
    let response_extension = pool.get_extension_by_name(HTTP_RESPONSE_EXTENSION);
    let mut bindings = Vec::new();
    for service in pool.services() {
        for method in service.methods() {
            let options = method.options();
            if !options.has_extension(&http_extension) {
                continue;
            }
            let rule: HttpRule = transcode(&method, &options, &http_extension)?;
            let success: HttpResponse = match &response_extension {
                Some(extension) if options.has_extension(extension) => {
                    transcode(&method, &options, extension)?
                }
                _ => HttpResponse::default(),
            };
            bindings.push(read_binding(&method, &rule, &success)?);
            for additional in &rule.additional_bindings {
                if !additional.additional_bindings.is_empty() {
                    return Err(invalid(&method, "additional_bindings cannot be nested"));
                }
                bindings.push(read_binding(&method, additional, &success)?);
            }
        }
    }
    Ok(bindings)
}

fn transcode<T: prost::Message + Default>(
    method: &MethodDescriptor,
    options: &DynamicMessage,
    extension: &prost_reflect::ExtensionDescriptor,
) -> Result<T, BindingError> {
    match options.get_extension(extension).as_message() {
        Some(message) => message
            .transcode_to()
            .map_err(|error| invalid(method, &format!("unreadable {}: {error}", extension.full_name()))),
        None => Err(invalid(
            method,
            &format!("{} is not a message", extension.full_name()),
        )),
    }
}

fn read_success(
    method: &MethodDescriptor,
    body_message: Option<&MessageDescriptor>,
    option: &HttpResponse,
) -> Result<SuccessResponse, BindingError> {
    let status = match option.status {
        0 => StatusCode::OK,
        code => u16::try_from(code)
            .ok()
            .and_then(|code| StatusCode::from_u16(code).ok())
            .filter(StatusCode::is_success)
            .ok_or_else(|| invalid(method, &format!("http_response.status {code} is not a 2xx code")))?,
    };
    let location = if option.location.is_empty() {
        None
    } else {
        let body_message = body_message.ok_or_else(|| {
            invalid(
                method,
                "http_response.location needs a message as the response body",
            )
        })?;
        let template = HeaderTemplate::parse(&option.location, body_message)
            .map_err(|message| invalid(method, &format!("http_response.location: {message}")))?;
        Some(template)
    };
    Ok(SuccessResponse {
        status,
        location,
        // A stream's messages share one set of headers: no per-message ETag.
        etag: body_message
            .filter(|_| !method.is_server_streaming())
            .and_then(conventions::etag_field),
    })
}

/// The message the HTTP response body holds: the output, or its
/// `response_body` field when that is a singular message.
fn response_message(method: &MethodDescriptor, response_body: &str) -> Option<MessageDescriptor> {
    let output = method.output();
    if response_body.is_empty() {
        return Some(output);
    }
    singular_message(&output.get_field_by_name(response_body)?)
}

fn read_binding(
    method: &MethodDescriptor,
    rule: &HttpRule,
    success_option: &HttpResponse,
) -> Result<Binding, BindingError> {
    let body_message = response_message(method, &rule.response_body);
    let success = read_success(method, body_message.as_ref(), success_option)?;
    let (http_method, template_text) = match &rule.pattern {
        Some(Pattern::Get(path)) => (Method::GET, path),
        Some(Pattern::Put(path)) => (Method::PUT, path),
        Some(Pattern::Post(path)) => (Method::POST, path),
        Some(Pattern::Delete(path)) => (Method::DELETE, path),
        Some(Pattern::Patch(path)) => (Method::PATCH, path),
        Some(Pattern::Custom(custom)) => {
            let http_method = Method::from_bytes(custom.kind.as_bytes())
                .map_err(|_| invalid(method, &format!("invalid custom method {:?}", custom.kind)))?;
            (http_method, &custom.path)
        }
        None => return Err(invalid(method, "the http rule has no pattern")),
    };
    let template = PathTemplate::parse(template_text).map_err(|source| BindingError::Template {
        method: method.full_name().to_owned(),
        source,
    })?;
    let input = method.input();
    let (_, spans) = template.flatten();
    let mut bound_fields = Vec::new();
    let mut path_variables = Vec::new();
    for span in spans {
        let field = resolve_field_path(&input, &span.field_path)
            .map_err(|message| invalid(method, &format!("path variable: {message}")))?;
        let leaf = field.0.last().expect("a field path is never empty");
        if !is_singular_scalar(leaf) {
            let message = format!(
                "path variable {} must be a singular scalar field",
                span.field_path.join(".")
            );
            return Err(invalid(method, &message));
        }
        bound_fields.push(span.field_path.join("."));
        path_variables.push(PathVariable { span, field });
    }
    let body = match rule.body.as_str() {
        "" => BodySelector::None,
        "*" => BodySelector::Whole,
        name => {
            let field = input.get_field_by_name(name).ok_or_else(|| {
                invalid(
                    method,
                    &format!("body field {name:?} does not exist in {}", input.full_name()),
                )
            })?;
            bound_fields.push(name.to_owned());
            BodySelector::Field(field)
        }
    };
    let response_body = match rule.response_body.as_str() {
        "" => None,
        name => Some(method.output().get_field_by_name(name).ok_or_else(|| {
            invalid(
                method,
                &format!(
                    "response_body field {name:?} does not exist in {}",
                    method.output().full_name()
                ),
            )
        })?),
    };
    Ok(Binding {
        grpc_path: format!("/{}/{}", method.parent_service().full_name(), method.name()),
        update_mask: conventions::update_mask(&http_method, &input, &body),
        if_match: conventions::etag_field(&input),
        method: method.clone(),
        http_method,
        template,
        path_variables,
        body,
        response_body,
        body_message,
        success,
        bound_fields,
    })
}

/// The message type of a singular (neither repeated nor map) message field.
pub(crate) fn singular_message(field: &FieldDescriptor) -> Option<MessageDescriptor> {
    match field.kind() {
        Kind::Message(message) if !field.is_list() && !field.is_map() => Some(message),
        _ => None,
    }
}

/// Whether a field holds exactly one scalar or enum value.
pub(crate) fn is_singular_scalar(field: &FieldDescriptor) -> bool {
    !field.is_list() && !field.is_map() && !matches!(field.kind(), Kind::Message(_))
}

/// Resolves `a.b.c` (proto names, or JSON names) from `message` down.
pub(crate) fn resolve_field_path<S: AsRef<str>>(
    message: &MessageDescriptor,
    parts: &[S],
) -> Result<FieldPath, String> {
    let mut current = message.clone();
    let mut fields = Vec::with_capacity(parts.len());
    for (index, part) in parts.iter().enumerate() {
        let part = part.as_ref();
        let field = current
            .get_field_by_name(part)
            .or_else(|| current.get_field_by_json_name(part))
            .ok_or_else(|| format!("{} has no field {part:?}", current.full_name()))?;
        if index + 1 < parts.len() {
            current = singular_message(&field).ok_or_else(|| {
                format!("{part:?} is not a singular message field, so it has no sub-fields")
            })?;
        }
        fields.push(field);
    }
    if fields.is_empty() {
        return Err("empty field path".to_owned());
    }
    Ok(FieldPath(fields))
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

impl FieldPath {
    /// The dotted proto-name path, e.g. `address.city`.
    pub(crate) fn proto_path(&self) -> String {
        let names: Vec<&str> = self.0.iter().map(FieldDescriptor::name).collect();
        names.join(".")
    }
}

fn invalid(method: &MethodDescriptor, message: &str) -> BindingError {
    BindingError::Invalid {
        method: method.full_name().to_owned(),
        message: message.to_owned(),
    }
}
