//! One binding → one OpenAPI operation: path parameters (see `paths`),
//! query parameters for every field the engine accepts from the query, the
//! request body, the success response with its real status and headers,
//! and the error responses, each a `google.rpc.Status`.
//!
//! Query parameters walk the request message as the engine reads it: every
//! field not bound by the path or the body (`Binding::binds_elsewhere`),
//! nested fields by dotted proto names (`address.city`), repeated fields as
//! repeated keys, well-known types whose JSON is one string or scalar as one
//! parameter; maps and repeated messages cannot be set from the query. A
//! recursive message is expanded at most twice along one path.

use http::StatusCode;
use prost_reflect::{FieldDescriptor, Kind, MessageDescriptor};
use utoipa::openapi::header::Header;
use utoipa::openapi::path::{Operation, Parameter, ParameterIn, ParameterStyle};
use utoipa::openapi::request_body::RequestBody;
use utoipa::openapi::response::{Response, Responses};
use utoipa::openapi::schema::{Object, Schema, Type};
use utoipa::openapi::{Content, RefOr, Required};

use super::comments::{Commented as _, first_sentence};
use super::paths::{ParameterRole, PathParameter, openapi_path};
use super::schemas::{Schemas, is_single_value};
use super::security;
use crate::transcode::binding::conventions::MaskDefault;
use crate::transcode::binding::{Binding, BodySelector};

const JSON: &str = "application/json";
const NDJSON: &str = "application/x-ndjson";
const EVENT_STREAM: &str = "text/event-stream";
/// How many times one message type may appear along one query-parameter path.
const MAX_RECURSION: usize = 2;

/// What an operation needs besides its binding.
pub(crate) struct OperationContext<'a> {
    pub(crate) operation_id: String,
    pub(crate) tag: String,
    /// The `google.rpc.Status` schema (a `$ref`), for every error response.
    pub(crate) status: &'a RefOr<Schema>,
    /// The `Location` template text, when the method declares one.
    pub(crate) location: Option<String>,
}

/// The OpenAPI path of `binding` and its operation.
pub(crate) fn operation(
    binding: &Binding,
    context: &OperationContext<'_>,
    schemas: &mut Schemas,
) -> (String, Operation) {
    let (path, path_parameters) = openapi_path(binding);
    let comments = binding.method.comments();
    let mut operation = Operation::new();
    operation.operation_id = Some(context.operation_id.clone());
    operation.tags = Some(vec![context.tag.clone()]);
    operation.summary = comments.as_deref().map(first_sentence);
    operation.description = Some(describe_rpc(binding, comments.as_deref()));
    let mut parameters: Vec<RefOr<Parameter>> = path_parameters
        .iter()
        .map(|parameter| RefOr::T(path_parameter(parameter, schemas)))
        .collect();
    parameters.extend(query_parameters(binding, schemas).into_iter().map(RefOr::T));
    if let Some(etag) = &binding.if_match {
        parameters.push(RefOr::T(if_match_parameter(etag)));
    }
    if !parameters.is_empty() {
        operation.parameters = Some(parameters);
    }
    operation.request_body = request_body(binding, schemas).map(RefOr::T);
    operation.responses = responses(binding, context, schemas);
    operation.security = security::requirements(&binding.access);
    (path, operation)
}

fn describe_rpc(binding: &Binding, comments: Option<&str>) -> String {
    let rpc = format!(
        "gRPC: `{}` (`{}` → `{}`).",
        &*binding.grpc_path,
        binding.method.input().full_name(),
        binding.method.output().full_name()
    );
    let rpc = match security::describe(&binding.access) {
        Some(access) => format!("{rpc} {access}"),
        None => rpc,
    };
    match comments {
        Some(text) => format!("{text}\n\n{rpc}"),
        None => rpc,
    }
}

fn path_parameter(parameter: &PathParameter, schemas: &mut Schemas) -> Parameter {
    let (schema, description) = match &parameter.role {
        ParameterRole::Field => {
            let schema = parameter
                .field
                .as_ref()
                .map_or_else(string_schema, |field| schemas.field_value(field));
            let description = parameter.field.as_ref().and_then(|field| field.comments());
            (schema, description)
        }
        ParameterRole::Segment {
            field_path,
            assembled,
        } => (
            segment_schema(),
            Some(format!(
                "One segment of `{field_path}`, which the gateway assembles as `{assembled}`."
            )),
        ),
        ParameterRole::Rest {
            field_path,
            assembled,
        } => {
            let target = match field_path {
                Some(field_path) => format!(" of `{field_path}` (assembled as `{assembled}`)"),
                None => String::new(),
            };
            (
                string_schema(),
                Some(format!(
                    "The rest of the path{target}; it may contain `/`, which must be sent unencoded \
                     (a client that percent-encodes it as `%2F` can only send one segment)."
                )),
            )
        }
        ParameterRole::Unbound => (
            segment_schema(),
            Some("Any one path segment; not bound to a field.".to_owned()),
        ),
    };
    let mut built = Parameter::new(parameter.name.clone());
    built.parameter_in = ParameterIn::Path;
    built.required = Required::True;
    built.description = description;
    built.schema = Some(schema);
    built
}

fn string_schema() -> RefOr<Schema> {
    RefOr::T(Schema::Object(Object::with_type(Type::String)))
}

fn segment_schema() -> RefOr<Schema> {
    let mut object = Object::with_type(Type::String);
    object.pattern = Some("^[^/]+$".to_owned());
    RefOr::T(Schema::Object(object))
}

/// Every query parameter the engine accepts for `binding`.
pub(crate) fn query_parameters(binding: &Binding, schemas: &mut Schemas) -> Vec<Parameter> {
    let mut parameters = Vec::new();
    if matches!(binding.body, BodySelector::Whole) {
        return parameters;
    }
    let input = binding.method.input();
    let mut stack = vec![input.full_name().to_owned()];
    walk_query(binding, &input, "", &mut stack, schemas, &mut parameters);
    parameters
}

fn walk_query(
    binding: &Binding,
    message: &MessageDescriptor,
    prefix: &str,
    stack: &mut Vec<String>,
    schemas: &mut Schemas,
    parameters: &mut Vec<Parameter>,
) {
    for field in message.fields() {
        let path = format!("{prefix}{}", field.name());
        if field.is_map() {
            continue;
        }
        match field.kind() {
            Kind::Message(inner) if !is_single_value(&inner) => {
                let expandable = !field.is_list()
                    && !inner.full_name().starts_with("google.protobuf.")
                    && stack.iter().filter(|name| *name == inner.full_name()).count() < MAX_RECURSION;
                if expandable {
                    stack.push(inner.full_name().to_owned());
                    walk_query(binding, &inner, &format!("{path}."), stack, schemas, parameters);
                    stack.pop();
                }
            }
            _ if binding.binds_elsewhere(&path) => {}
            _ => parameters.push(query_parameter(binding, &field, path, schemas)),
        }
    }
}

fn if_match_parameter(etag: &FieldDescriptor) -> Parameter {
    let mut parameter = Parameter::new("If-Match");
    parameter.parameter_in = ParameterIn::Header;
    parameter.required = Required::False;
    parameter.description = Some(format!(
        "An entity tag (as the `ETag` header gave it) that the gateway puts into the request's \
         `{}` field: the call fails with 409 if the resource changed since. `*` means any version.",
        etag.name()
    ));
    parameter.schema = Some(string_schema());
    parameter
}

fn query_parameter(
    binding: &Binding,
    field: &FieldDescriptor,
    name: String,
    schemas: &mut Schemas,
) -> Parameter {
    let mut parameter = Parameter::new(name);
    parameter.parameter_in = ParameterIn::Query;
    parameter.required = Required::False;
    parameter.description = field.comments();
    if let Some(rule) = &binding.update_mask
        && rule.field == *field
    {
        let omitted = match &rule.default {
            MaskDefault::KeysOf(body) => format!(
                "When omitted, the mask is the set of fields present in the JSON body (`{}`).",
                body.name()
            ),
            MaskDefault::Everything => "When omitted, the mask is `*`: every field is replaced.".to_owned(),
        };
        parameter.description = Some(match parameter.description {
            Some(text) => format!("{text}\n\n{omitted}"),
            None => omitted,
        });
    }
    parameter.schema = Some(schemas.field_value(field));
    if field.is_list() {
        parameter.style = Some(ParameterStyle::Form);
        parameter.explode = Some(true);
    }
    parameter
}

fn request_body(binding: &Binding, schemas: &mut Schemas) -> Option<RequestBody> {
    let input = binding.method.input();
    let (schema, description) = match &binding.body {
        BodySelector::None => return None,
        BodySelector::Whole if binding.path_variables.is_empty() => (schemas.message(&input), None),
        BodySelector::Whole => {
            let in_path: Vec<&FieldDescriptor> = binding
                .path_variables
                .iter()
                .filter(|variable| variable.field.0.len() == 1)
                .map(|variable| &variable.field.0[0])
                .collect();
            let object = schemas.message_object(&input, |field| in_path.contains(&field));
            let names: Vec<String> = binding
                .path_variables
                .iter()
                .map(|variable| format!("`{}`", variable.field.proto_path()))
                .collect();
            let description = format!(
                "`{}` without the fields the path sets ({}).",
                input.full_name(),
                names.join(", ")
            );
            (RefOr::T(Schema::Object(object)), Some(description))
        }
        BodySelector::Field(field) => (schemas.field_value(field), field.comments()),
    };
    let mut body = RequestBody::new();
    body.description = if binding.method.is_client_streaming() {
        let stream = "A stream of request messages, one JSON message per line.";
        Some(description.map_or_else(|| stream.to_owned(), |text| format!("{stream}\n\n{text}")))
    } else {
        description
    };
    body.required = Some(Required::True);
    let media_type = if binding.method.is_client_streaming() {
        NDJSON
    } else {
        JSON
    };
    body.content
        .insert(media_type.to_owned(), RefOr::T(Content::new(Some(schema))));
    Some(body)
}

fn responses(binding: &Binding, context: &OperationContext<'_>, schemas: &mut Schemas) -> Responses {
    let mut responses = Responses::new();
    let status = binding.success.status;
    let body = match &binding.response_body {
        Some(field) => schemas.field_value(field),
        None => schemas.message(&binding.method.output()),
    };
    let mut success = Response::new(status.canonical_reason().unwrap_or("Success"));
    if binding.method.is_server_streaming() {
        // OpenAPI 3.1 media types have no description: the response says it.
        success.description = format!(
            "{}: a stream of messages, one JSON message per line (`{NDJSON}`), or one per event \
             with `Accept: {EVENT_STREAM}`. An error after the first message arrives in-band.",
            success.description
        );
        success
            .content
            .insert(NDJSON.to_owned(), RefOr::T(Content::new(Some(body.clone()))));
        success
            .content
            .insert(EVENT_STREAM.to_owned(), RefOr::T(Content::new(Some(body))));
    } else {
        success
            .content
            .insert(JSON.to_owned(), RefOr::T(Content::new(Some(body))));
    }
    if binding.success.location.is_some() {
        let template = context.location.as_deref().unwrap_or("");
        let mut header = Header::new(Object::with_type(Type::String));
        header.description = Some(format!(
            "The path of the resource, `{template}` filled from the response body."
        ));
        success.headers.insert("Location".to_owned(), RefOr::T(header));
    }
    if let Some(etag) = &binding.success.etag {
        let mut header = Header::new(Object::with_type(Type::String));
        header.description = Some(format!(
            "The body's `{}`, quoted; send it back as `If-Match` to change only this version.",
            etag.json_name()
        ));
        success.headers.insert("ETag".to_owned(), RefOr::T(header));
    }
    responses
        .responses
        .insert(status.as_u16().to_string(), RefOr::T(success));
    for (code, description) in error_responses(binding) {
        let mut response = Response::new(description);
        response.content.insert(
            JSON.to_owned(),
            RefOr::T(Content::new(Some(context.status.clone()))),
        );
        responses.responses.insert(code, RefOr::T(response));
    }
    responses
}

/// The error responses an operation lists, besides `default`: 400 always,
/// 404 when the path names a resource, 409 for a POST (it may already
/// exist) and for a request with an `etag` (it may be stale).
fn error_responses(binding: &Binding) -> Vec<(String, String)> {
    let mut errors = vec![(
        StatusCode::BAD_REQUEST.as_str().to_owned(),
        "Bad request: malformed JSON, an unknown or invalid field or parameter, or a value the \
         service rejected (INVALID_ARGUMENT, FAILED_PRECONDITION, OUT_OF_RANGE)."
            .to_owned(),
    )];
    errors.extend(security::error_responses(&binding.access));
    if !binding.path_variables.is_empty() {
        errors.push((
            StatusCode::NOT_FOUND.as_str().to_owned(),
            "Not found: the resource the path names does not exist (NOT_FOUND).".to_owned(),
        ));
    }
    let mut conflicts = Vec::new();
    if binding.http_method == http::Method::POST {
        conflicts.push("the resource already exists (ALREADY_EXISTS)");
    }
    if binding.method.input().get_field_by_name("etag").is_some() {
        conflicts.push("the `etag` is stale: the resource changed since it was read (ABORTED)");
    }
    if !conflicts.is_empty() {
        errors.push((
            StatusCode::CONFLICT.as_str().to_owned(),
            format!("Conflict: {}.", conflicts.join("; or ")),
        ));
    }
    errors.push((
        "default".to_owned(),
        "An error, as a `google.rpc.Status`; the HTTP status follows the gRPC code.".to_owned(),
    ));
    errors
}
