//! Renders a successful gRPC response as HTTP: the `response_body`
//! selection, proto3 JSON (lowerCamelCase names, 64-bit integers as
//! strings, enums by name, unpopulated fields included so every response
//! has the same shape), the status code and the `Location` header that the
//! method's `gateway.v1.http_response` option declares.
//!
//! - `headers` — `Location` and `ETag` from the body message;
//! - `wire` — reading the protobuf wire format;
//! - `wire_json` — proto3 JSON straight from wire bytes, with plans built
//!   once per message type.

use std::sync::Arc;

use http::{HeaderValue, header};
use prost_reflect::{DescriptorPool, DynamicMessage, SerializeOptions};

use self::wire::WireError;
use self::wire_json::JsonPlans;
use crate::transcode::binding::Binding;
use crate::transcode::error::HttpError;

mod headers;
pub(crate) mod wire;
mod wire_json;

const JSON_OPTIONS: SerializeOptions = SerializeOptions::new().skip_default_fields(false);

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
        let response_headers = response.headers_mut();
        response_headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        if let Some(body_message) = body_message {
            headers::insert_success_headers(&binding.success, body_message, response_headers);
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
        error.log();
        error.into_response(&self.pool)
    }

    /// The `google.rpc.Status` JSON of a failure, for in-band stream errors.
    pub(crate) fn error_json(&self, error: &HttpError) -> Vec<u8> {
        error.log();
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

/// A response message the service sent that cannot be read: answered as
/// INTERNAL, the method and the detail kept for the log.
fn undecodable_response(binding: &Binding, error: impl std::fmt::Display) -> HttpError {
    let cause = format!(
        "undecodable response message of {}: {error}",
        binding.method.full_name()
    );
    HttpError::internal("the service returned an undecodable response", cause)
}

fn internal_json(error: serde_json::Error) -> HttpError {
    let cause = format!("response not representable as JSON: {error}");
    HttpError::internal("the response could not be rendered as JSON", cause)
}
