//! The headers of a successful response that come from its body message:
//! `Location` from the binding's header template and `ETag` from the
//! message's `etag` field.
//!
//! With the template `/v1/users/{id}` and `id: "a b"`, `Location` is
//! `/v1/users/a%20b`; with `etag: "x1"`, `ETag` is `"x1"`.

use http::{HeaderMap, HeaderValue, header};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use super::wire;
use crate::transcode::binding::{HeaderTemplate, SuccessResponse, TemplatePart};

/// Characters kept as they are in a path segment (RFC 3986 unreserved).
const PATH_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Adds `Location` and `ETag` where the binding declares them and the body
/// message (`bytes`) has the values.
pub(super) fn insert_success_headers(success: &SuccessResponse, bytes: &[u8], headers: &mut HeaderMap) {
    if let Some(location) = &success.location
        && let Some(value) = render(location, bytes)
    {
        headers.insert(header::LOCATION, value);
    }
    if let Some(etag_field) = &success.etag
        && let Ok(tag) = wire::scalar_text(bytes, std::slice::from_ref(etag_field))
        && !tag.is_empty()
        && let Ok(value) = HeaderValue::from_str(&format!("\"{tag}\""))
    {
        headers.insert(header::ETAG, value);
    }
}

/// The header value for the message `bytes`, each field percent-encoded.
fn render(template: &HeaderTemplate, bytes: &[u8]) -> Option<HeaderValue> {
    let mut value = String::new();
    for part in &template.parts {
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
