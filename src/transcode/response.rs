//! Renders a successful gRPC response as HTTP: the `response_body`
//! selection, proto3 JSON (lowerCamelCase names, 64-bit integers as
//! strings, enums by name, unpopulated fields included so every response
//! has the same shape), the status code and the `Location` header that the
//! method's `gateway.v1.http_response` option declares.
//!
//! A `HeaderTemplate` such as `/v1/users/{id}` is filled from the body
//! message: with `id: "a b"` it renders `/v1/users/a%20b`.

use std::sync::Arc;

use http::{HeaderValue, header};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use prost_reflect::{DescriptorPool, DynamicMessage, MessageDescriptor, SerializeOptions};

use super::descriptor::{Binding, FieldPath, is_singular_scalar, resolve_field_path};
use super::status::HttpError;
use super::wire::{self, WireError};
use super::wire_json::JsonPlans;

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
            if !is_singular_scalar(leaf) {
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

    /// The header value for the message `bytes`, each field percent-encoded.
    pub(crate) fn render(&self, bytes: &[u8]) -> Option<HeaderValue> {
        let mut value = String::new();
        for part in &self.parts {
            match part {
                TemplatePart::Literal(text) => value.push_str(text),
                TemplatePart::Field(path) => {
                    let text = wire::scalar_text(bytes, &path.0).ok()?;
                    value.extend(utf8_percent_encode(&text, PATH_SEGMENT));
                }
            }
        }
        HeaderValue::from_str(&value).ok()
    }
}

/// Renders responses and errors: the descriptor pool (for error details)
/// and the JSON plans of its messages. Cheap to clone.
#[derive(Clone)]
pub(crate) struct Renderer {
    pool: DescriptorPool,
    plans: Arc<JsonPlans>,
}

impl Renderer {
    pub(crate) fn new(pool: DescriptorPool) -> Self {
        let plans = Arc::new(JsonPlans::new(&pool));
        Renderer { pool, plans }
    }

    /// The HTTP response for the gRPC response message `output` (protobuf bytes).
    pub(crate) fn success(
        &self,
        binding: &Binding,
        output: &[u8],
    ) -> Result<http::Response<axum::body::Body>, HttpError> {
        let (json, body_message) = self.message(binding, output)?;
        let mut response = http::Response::new(axum::body::Body::from(json));
        *response.status_mut() = binding.success.status;
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        let Some(body_message) = body_message else {
            return Ok(response);
        };
        if let Some(location) = &binding.success.location
            && let Some(value) = location.render(body_message)
        {
            headers.insert(header::LOCATION, value);
        }
        if let Some(etag_field) = &binding.success.etag
            && let Ok(tag) = wire::scalar_text(body_message, std::slice::from_ref(etag_field))
            && !tag.is_empty()
            && let Ok(value) = HeaderValue::from_str(&format!("\"{tag}\""))
        {
            headers.insert(header::ETAG, value);
        }
        Ok(response)
    }

    /// The HTTP body JSON of one response message (`response_body` applied),
    /// and the bytes of the body message when it is one, for headers.
    pub(crate) fn message<'o>(
        &self,
        binding: &Binding,
        output: &'o [u8],
    ) -> Result<(Vec<u8>, Option<&'o [u8]>), HttpError> {
        let undecodable = |error: WireError| undecodable_response(binding, error);
        let (Some(message_type), response_body) = (&binding.body_message, &binding.response_body) else {
            let field = binding
                .response_body
                .as_ref()
                .expect("only a response_body field can be a non-message");
            return Ok((render_field_with_reflection(binding, field, output)?, None));
        };
        let body = match response_body {
            None => output,
            Some(field) => wire::message_field(output, field.number()).map_err(undecodable)?,
        };
        let mut json = Vec::with_capacity(256 + output.len() * 2);
        self.plans
            .write(message_type, body, &mut json)
            .map_err(undecodable)?;
        Ok((json, Some(body)))
    }

    /// The HTTP response for a failure.
    pub(crate) fn error(&self, error: HttpError) -> http::Response<axum::body::Body> {
        error.into_response(&self.pool)
    }

    /// The `google.rpc.Status` JSON of a failure, for in-band stream errors.
    pub(crate) fn error_json(&self, error: &HttpError) -> Vec<u8> {
        error.to_json(&self.pool)
    }
}

/// A scalar, list or map `response_body`: the field's JSON in the whole message.
fn render_field_with_reflection(
    binding: &Binding,
    field: &prost_reflect::FieldDescriptor,
    output: &[u8],
) -> Result<Vec<u8>, HttpError> {
    let message = DynamicMessage::decode(binding.method.output(), output)
        .map_err(|error| undecodable_response(binding, error))?;
    let whole = message
        .serialize_with_options(serde_json::value::Serializer, &JSON_OPTIONS)
        .map_err(internal_json)?;
    let selected = whole
        .get(field.json_name())
        .cloned()
        .unwrap_or(serde_json::Value::Null);
    serde_json::to_vec(&selected).map_err(internal_json)
}

/// A response message the service sent that cannot be read: logged with
/// its method, answered as INTERNAL without the detail.
fn undecodable_response(binding: &Binding, error: impl std::fmt::Display) -> HttpError {
    tracing::error!(method = binding.method.full_name(), %error, "undecodable response message");
    tonic::Status::internal("the service returned an undecodable response").into()
}

fn internal_json(error: serde_json::Error) -> HttpError {
    tracing::error!(%error, "response not representable as JSON");
    tonic::Status::internal("the response could not be rendered as JSON").into()
}
