//! The request weave: builds the gRPC request message of a binding from the
//! HTTP body (proto3 JSON), the path variables and the query parameters, in
//! that order, each value typed by the descriptor.
//!
//! For `GET /v1/search/abc?nested.label=x&repeated_int32=1&repeated_int32=2`
//! bound to `/v1/search/{string_value}`, the message gets
//! `string_value: "abc"`, `nested { label: "x" }` and `repeated_int32: [1, 2]`.
//! A query parameter may set any field not bound by the path or the body.

use percent_encoding::percent_decode_str;
use prost_reflect::{DeserializeOptions, DynamicMessage, FieldDescriptor, MessageDescriptor, Value};

use self::field_value::parse_field_value;
use crate::transcode::binding::conventions::{fill_update_mask, if_match_tag};
use crate::transcode::binding::{Binding, BodySelector, FieldPath, resolve_field_path, singular_message};

mod body;
mod body_budget;
mod field_value;
mod head;
mod timed_body;

use crate::transcode::error::HttpError;
pub(crate) use body::{BodyKind, check_content_type, collect_body};
pub use body_budget::DEFAULT_MAX_IN_FLIGHT_BODY_BYTES;
pub(crate) use body_budget::{BodyBudget, BodyShare};
pub(crate) use head::check_head;
pub(crate) use timed_body::{is_stall, timed};

/// What the weave reads from the HTTP request.
pub(crate) struct HttpRequestParts<'a> {
    /// The path's segments, still percent-encoded, verb removed.
    pub(crate) segments: &'a [&'a str],
    pub(crate) query: Option<&'a str>,
    pub(crate) body: &'a [u8],
    /// The `If-Match` header, if any.
    pub(crate) if_match: Option<&'a http::HeaderValue>,
}

/// The encoded request message for `binding`: what every call, of every
/// kind, sends the service.
pub(crate) fn weave(binding: &Binding, parts: &HttpRequestParts<'_>) -> Result<bytes::Bytes, HttpError> {
    use prost::Message as _;
    Ok(build_request(binding, parts)?.encode_to_vec().into())
}

/// Builds the request message for `binding`.
pub(crate) fn build_request(
    binding: &Binding,
    parts: &HttpRequestParts<'_>,
) -> Result<DynamicMessage, HttpError> {
    let input = binding.method.input();
    let mut message = read_body(binding, &input, parts.body)?;
    bind_path(binding, parts.segments, &mut message)?;
    if let Some(query) = parts.query {
        bind_query(binding, &input, query, &mut message)?;
    }
    if let Some(rule) = &binding.update_mask {
        fill_update_mask(rule, &mut message, parts.body);
    }
    if let (Some(etag_field), Some(header)) = (&binding.if_match, parts.if_match) {
        bind_if_match(etag_field, header, &mut message)?;
    }
    Ok(message)
}

/// Puts the `If-Match` tag into the request's `etag` field, unless the
/// body or query already set a different one.
fn bind_if_match(
    etag_field: &FieldDescriptor,
    header: &http::HeaderValue,
    message: &mut DynamicMessage,
) -> Result<(), HttpError> {
    let header = header
        .to_str()
        .map_err(|_| HttpError::invalid_field("If-Match", "the If-Match header is not valid ASCII"))?;
    let Some(tag) = if_match_tag(header) else {
        return Ok(());
    };
    let current = message.get_field(etag_field);
    match current.as_str() {
        Some(existing) if !existing.is_empty() && existing != tag => Err(HttpError::invalid_field(
            etag_field.name(),
            &format!("the If-Match header and the {} field disagree", etag_field.name()),
        )),
        _ => {
            message.set_field(etag_field, Value::String(tag));
            Ok(())
        }
    }
}

fn read_body(binding: &Binding, input: &MessageDescriptor, body: &[u8]) -> Result<DynamicMessage, HttpError> {
    let empty = body.iter().all(u8::is_ascii_whitespace);
    match &binding.body {
        _ if empty => Ok(DynamicMessage::new(input.clone())),
        BodySelector::None => Err(tonic::Status::invalid_argument(format!(
            "{} {} takes no request body",
            binding.http_method, binding.template
        ))
        .into()),
        BodySelector::Whole => parse_json(input.clone(), body),
        BodySelector::Field(field) => match singular_message(field) {
            Some(body_type) => {
                let mut message = DynamicMessage::new(input.clone());
                message.set_field(field, Value::Message(parse_json(body_type, body)?));
                Ok(message)
            }
            None => {
                // A scalar, list or map body: parse it as that field of the request.
                let value: serde_json::Value = serde_json::from_slice(body).map_err(invalid_json)?;
                let wrapped = serde_json::json!({ field.name(): value });
                DynamicMessage::deserialize(input.clone(), wrapped).map_err(invalid_json)
            }
        },
    }
}

fn parse_json(descriptor: MessageDescriptor, body: &[u8]) -> Result<DynamicMessage, HttpError> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let message =
        DynamicMessage::deserialize_with_options(descriptor, &mut deserializer, &DeserializeOptions::new())
            .map_err(invalid_json)?;
    deserializer.end().map_err(invalid_json)?;
    Ok(message)
}

fn invalid_json(error: serde_json::Error) -> HttpError {
    tonic::Status::invalid_argument(format!("invalid JSON body: {error}")).into()
}

fn bind_path(binding: &Binding, segments: &[&str], message: &mut DynamicMessage) -> Result<(), HttpError> {
    for variable in &binding.path_variables {
        let span = &variable.span;
        let captured = match span.end {
            Some(end) => segments[span.start..end].join("/"),
            None => segments[span.start..].join("/"),
        };
        let name = variable.field.proto_path();
        let text = if span.is_multi_segment() {
            decode_keeping_slashes(&captured)
        } else {
            percent_decode_str(&captured)
                .decode_utf8()
                .map(|text| text.into_owned())
                .ok()
        }
        .ok_or_else(|| {
            HttpError::invalid_field(&name, &format!("path variable {name:?} is not valid UTF-8"))
        })?;
        let leaf = variable.field.0.last().expect("a field path is never empty");
        let value = parse_field_value(leaf, &text)
            .map_err(|error| HttpError::invalid_field(&name, &format!("path variable {name:?}: {error}")))?;
        *field_slot(message, &variable.field.0) = value;
    }
    Ok(())
}

/// Percent-decodes a multi-segment capture, leaving `%2F` as it is so that
/// an encoded slash stays distinguishable from a segment separator.
fn decode_keeping_slashes(captured: &str) -> Option<String> {
    let mut decoded = Vec::with_capacity(captured.len());
    let mut rest = captured;
    while let Some(index) = rest.find('%') {
        decoded.extend_from_slice(&rest.as_bytes()[..index]);
        let escape = &rest[index..];
        let byte = escape.get(1..3).and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match byte {
            Some(b'/') | None => {
                let kept = if byte.is_some() { 3 } else { 1 };
                decoded.extend_from_slice(&escape.as_bytes()[..kept]);
                rest = &escape[kept..];
            }
            Some(byte) => {
                decoded.push(byte);
                rest = &escape[3..];
            }
        }
    }
    decoded.extend_from_slice(rest.as_bytes());
    String::from_utf8(decoded).ok()
}

fn bind_query(
    binding: &Binding,
    input: &MessageDescriptor,
    query: &str,
    message: &mut DynamicMessage,
) -> Result<(), HttpError> {
    let mut seen: Vec<String> = Vec::new();
    for (key, text) in form_urlencoded::parse(query.as_bytes()) {
        if key.is_empty() {
            continue;
        }
        let reject = |description: String| {
            HttpError::invalid_field(&key, &format!("query parameter {key:?}: {description}"))
        };
        if matches!(binding.body, BodySelector::Whole) {
            return Err(reject(
                "not accepted: the request body carries every field".to_owned(),
            ));
        }
        let parts: Vec<&str> = key.split('.').collect();
        let field = resolve_field_path(input, &parts)
            .map_err(|error| reject(format!("unknown parameter ({error})")))?;
        let proto_path = field.proto_path();
        if binding.binds_elsewhere(&proto_path) {
            return Err(reject("already bound by the path or the body".to_owned()));
        }
        let leaf = field.0.last().expect("a field path is never empty");
        if leaf.is_map() {
            return Err(reject("map fields cannot be set from the query".to_owned()));
        }
        let value = parse_field_value(leaf, &text).map_err(reject)?;
        set_from_query(message, &field, leaf, value, &mut seen, &proto_path).map_err(reject)?;
    }
    Ok(())
}

fn set_from_query(
    message: &mut DynamicMessage,
    field: &FieldPath,
    leaf: &FieldDescriptor,
    value: Value,
    seen: &mut Vec<String>,
    proto_path: &str,
) -> Result<(), String> {
    let slot = field_slot(message, &field.0);
    if leaf.is_list() {
        slot.as_list_mut()
            .expect("a repeated field holds a list")
            .push(value);
        return Ok(());
    }
    if seen.iter().any(|path| path == proto_path) {
        return Err("given more than once, but the field is not repeated".to_owned());
    }
    seen.push(proto_path.to_owned());
    *slot = value;
    Ok(())
}

/// The value slot at `path`, creating the parent messages on the way.
fn field_slot<'m>(message: &'m mut DynamicMessage, path: &[FieldDescriptor]) -> &'m mut Value {
    let (leaf, parents) = path.split_last().expect("a field path is never empty");
    let mut current = message;
    for parent in parents {
        current = current
            .get_field_mut(parent)
            .as_message_mut()
            .expect("field paths only pass through singular message fields");
    }
    current.get_field_mut(leaf)
}

#[cfg(test)]
mod tests;
