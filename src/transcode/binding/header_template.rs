//! Response header templates, parsed at start: a header value with
//! `{field.path}` placeholders resolved against the response body message,
//! as the `gateway.v1.http_response` option's `location` declares them.
//!
//! `/v1/users/{id}` is the literal `/v1/users/` and the field `id`; the
//! response stage fills it from each response (`response::headers`).

use prost_reflect::MessageDescriptor;

use super::fields::{FieldPath, is_singular_scalar, resolve_field_path};

/// A header value with `{field.path}` placeholders, resolved at start.
#[derive(Debug, Clone)]
pub(crate) struct HeaderTemplate {
    pub(crate) parts: Vec<TemplatePart>,
}

/// A piece of a header template.
#[derive(Debug, Clone)]
pub(crate) enum TemplatePart {
    Literal(String),
    /// A singular scalar field of the body message.
    Field(FieldPath),
}

/// Why a header template cannot be used.
#[derive(Debug)]
pub(crate) enum HeaderTemplateError {
    Syntax(String),
    /// The placeholder, and why it does not resolve.
    UnknownField(String, String),
    /// The placeholder names a field that is not a singular scalar.
    NotScalar(String),
}

impl HeaderTemplate {
    /// Parses `text`, resolving each placeholder against `message`.
    pub(crate) fn parse(text: &str, message: &MessageDescriptor) -> Result<Self, HeaderTemplateError> {
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(open) = rest.find('{') {
            if open > 0 {
                parts.push(TemplatePart::Literal(rest[..open].to_owned()));
            }
            let close = rest[open..]
                .find('}')
                .ok_or_else(|| HeaderTemplateError::Syntax(format!("unclosed `{{` in {text:?}")))?;
            let name = &rest[open + 1..open + close];
            let path: Vec<&str> = name.split('.').collect();
            let field = resolve_field_path(message, &path)
                .map_err(|reason| HeaderTemplateError::UnknownField(name.to_owned(), reason))?;
            if !is_singular_scalar(field.leaf()) {
                return Err(HeaderTemplateError::NotScalar(name.to_owned()));
            }
            parts.push(TemplatePart::Field(field));
            rest = &rest[open + close + 1..];
        }
        if !rest.is_empty() {
            parts.push(TemplatePart::Literal(rest.to_owned()));
        }
        Ok(HeaderTemplate { parts })
    }
}
