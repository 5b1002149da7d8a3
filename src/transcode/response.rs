//! Renders a successful gRPC response as HTTP: the `response_body`
//! selection, proto3 JSON (lowerCamelCase names, 64-bit integers as
//! strings, enums by name, unpopulated fields included so every response
//! has the same shape), the status code and the `Location` header that the
//! method's `gateway.v1.http_response` option declares.
//!
//! A `HeaderTemplate` such as `/v1/users/{id}` is filled from the body
//! message: with `id: "a b"` it renders `/v1/users/a%20b`.

use http::{HeaderValue, header};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use prost_reflect::{DynamicMessage, Kind, MessageDescriptor, ReflectMessage, SerializeOptions, Value};

use super::descriptor::{Binding, FieldPath, resolve_field_path};
use super::status::HttpError;

/// Characters kept as they are in a path segment (RFC 3986 unreserved).
const PATH_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

const JSON_OPTIONS: SerializeOptions = SerializeOptions::new().skip_default_fields(false);

/// A header value with `{field.path}` placeholders, resolved at start.
#[derive(Debug, Clone)]
pub(crate) struct HeaderTemplate {
    parts: Vec<TemplatePart>,
}

#[derive(Debug, Clone)]
enum TemplatePart {
    Literal(String),
    Field(FieldPath),
}

impl HeaderTemplate {
    /// Parses `text`, resolving each placeholder against `message`.
    pub(crate) fn parse(text: &str, message: &MessageDescriptor) -> Result<Self, String> {
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(open) = rest.find('{') {
            if open > 0 {
                parts.push(TemplatePart::Literal(rest[..open].to_owned()));
            }
            let close = rest[open..]
                .find('}')
                .ok_or_else(|| format!("unclosed `{{` in {text:?}"))?;
            let name = &rest[open + 1..open + close];
            let path: Vec<&str> = name.split('.').collect();
            let field = resolve_field_path(message, &path)?;
            let leaf = field.0.last().expect("a field path is never empty");
            if leaf.is_list() || leaf.is_map() || matches!(leaf.kind(), Kind::Message(_)) {
                return Err(format!("placeholder {name:?} must be a singular scalar field"));
            }
            parts.push(TemplatePart::Field(field));
            rest = &rest[open + close + 1..];
        }
        if !rest.is_empty() {
            parts.push(TemplatePart::Literal(rest.to_owned()));
        }
        Ok(HeaderTemplate { parts })
    }

    /// The header value for `message`, each field percent-encoded.
    pub(crate) fn render(&self, message: &DynamicMessage) -> Option<HeaderValue> {
        let mut value = String::new();
        for part in &self.parts {
            match part {
                TemplatePart::Literal(text) => value.push_str(text),
                TemplatePart::Field(path) => {
                    let text = scalar_text(message, path)?;
                    value.extend(utf8_percent_encode(&text, PATH_SEGMENT));
                }
            }
        }
        HeaderValue::from_str(&value).ok()
    }
}

fn scalar_text(message: &DynamicMessage, path: &FieldPath) -> Option<String> {
    let (leaf, parents) = path.0.split_last()?;
    let mut current = message.clone();
    for parent in parents {
        current = current.get_field(parent).as_message()?.clone();
    }
    let value = current.get_field(leaf);
    Some(match (value.as_ref(), leaf.kind()) {
        (Value::String(text), _) => text.clone(),
        (Value::EnumNumber(number), Kind::Enum(enumeration)) => enumeration
            .get_value(*number)
            .map_or_else(|| number.to_string(), |value| value.name().to_owned()),
        (Value::I32(n), _) => n.to_string(),
        (Value::I64(n), _) => n.to_string(),
        (Value::U32(n), _) => n.to_string(),
        (Value::U64(n), _) => n.to_string(),
        (Value::Bool(b), _) => b.to_string(),
        (Value::F32(n), _) => n.to_string(),
        (Value::F64(n), _) => n.to_string(),
        _ => return None,
    })
}

/// Renders the gRPC response message `output` (protobuf bytes) for `binding`.
pub(crate) fn render_success(
    binding: &Binding,
    output: &[u8],
) -> Result<http::Response<axum::body::Body>, HttpError> {
    let (json, body_message) = render_message(binding, output)?;
    let mut response = http::Response::new(axum::body::Body::from(json));
    *response.status_mut() = binding.success.status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let (Some(location), Some(body_message)) = (&binding.success.location, &body_message)
        && let Some(value) = location.render(body_message)
    {
        headers.insert(header::LOCATION, value);
    }
    if let (Some(etag_field), Some(body_message)) = (&binding.success.etag, &body_message)
        && let Some(tag) = body_message
            .get_field(etag_field)
            .as_str()
            .filter(|tag| !tag.is_empty())
        && let Ok(value) = HeaderValue::from_str(&format!("\"{tag}\""))
    {
        headers.insert(header::ETAG, value);
    }
    Ok(response)
}

/// The HTTP body JSON of one response message (`response_body` applied),
/// and the body message itself when it is one, for headers.
pub(crate) fn render_message(
    binding: &Binding,
    output: &[u8],
) -> Result<(Vec<u8>, Option<DynamicMessage>), HttpError> {
    let message = DynamicMessage::decode(binding.method.output(), output).map_err(|error| {
        tracing::error!(method = binding.method.full_name(), %error, "undecodable response message");
        tonic::Status::internal("the service returned an undecodable response")
    })?;
    Ok(match &binding.response_body {
        None => (to_json(&message)?, Some(message)),
        Some(field) => match message.get_field(field).into_owned() {
            Value::Message(inner) => (to_json(&inner)?, Some(inner)),
            _ => {
                // A scalar, list or map body: the field's JSON in the whole message.
                let whole = message
                    .serialize_with_options(serde_json::value::Serializer, &JSON_OPTIONS)
                    .map_err(internal_json)?;
                let selected = whole
                    .get(field.json_name())
                    .cloned()
                    .unwrap_or(serde_json::Value::Null);
                (serde_json::to_vec(&selected).map_err(internal_json)?, None)
            }
        },
    })
}

fn to_json(message: &DynamicMessage) -> Result<Vec<u8>, HttpError> {
    let mut buffer = Vec::with_capacity(256);
    let mut serializer = serde_json::Serializer::new(&mut buffer);
    message
        .serialize_with_options(&mut serializer, &JSON_OPTIONS)
        .map_err(|error| internal_json_for(message, error))?;
    Ok(buffer)
}

fn internal_json_for(message: &DynamicMessage, error: serde_json::Error) -> HttpError {
    tracing::error!(message = message.descriptor().full_name(), %error, "response not representable as JSON");
    internal_json(error)
}

fn internal_json(error: serde_json::Error) -> HttpError {
    tracing::error!(%error, "response not representable as JSON");
    tonic::Status::internal("the response could not be rendered as JSON").into()
}
