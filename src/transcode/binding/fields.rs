//! Field paths and field shapes, resolved against the message descriptors
//! at start: the chain of fields a dotted path names, which part of the
//! request an HTTP body carries, and the shape tests every binding stage
//! shares.
//!
//! `resolve_field_path(Book, ["author", "name"])` is the field chain
//! `Book.author` → `Author.name`; JSON names (`publishedAt`) resolve too.

use prost_reflect::{FieldDescriptor, Kind, MessageDescriptor};

/// A chain of fields from a message down to a (nested) field.
#[derive(Debug, Clone)]
pub(crate) struct FieldPath(pub(crate) Vec<FieldDescriptor>);

impl FieldPath {
    /// The dotted proto-name path, e.g. `address.city`.
    pub(crate) fn proto_path(&self) -> String {
        let names: Vec<&str> = self.0.iter().map(FieldDescriptor::name).collect();
        names.join(".")
    }

    /// The field the path ends at.
    pub(crate) fn leaf(&self) -> &FieldDescriptor {
        self.0.last().expect("a field path is never empty")
    }
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
