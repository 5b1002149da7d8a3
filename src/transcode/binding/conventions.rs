//! The resource conventions the engine applies to any service, found from
//! the descriptors at start: update masks (AIP-134) and etags (AIP-154).
//!
//! - A PATCH binding whose body is one message field and whose request has a
//!   top-level `google.protobuf.FieldMask` field: when the client sends no
//!   mask, the mask is the set of JSON keys it sent, nested objects included
//!   (`{"address": {"city": "Oslo"}}` → `address.city`).
//! - A PUT binding whose request has such a field: no mask means `*`.
//! - A request with a top-level string field `etag` takes the `If-Match`
//!   header there; a response body with a top-level string field `etag`
//!   gives the `ETag` header.

use http::Method;
use prost_reflect::{DynamicMessage, FieldDescriptor, Kind, MessageDescriptor, Value};

use super::fields::{BodySelector, singular_message};

const FIELD_MASK: &str = "google.protobuf.FieldMask";
const ETAG_FIELD: &str = "etag";

/// What the engine fills in when a request carries no update mask.
#[derive(Debug, Clone)]
pub(crate) struct UpdateMask {
    /// The request's `FieldMask` field.
    pub(crate) field: FieldDescriptor,
    pub(crate) default: MaskDefault,
}

#[derive(Debug, Clone)]
pub(crate) enum MaskDefault {
    /// PATCH: the keys present in the JSON body of this message field.
    KeysOf(FieldDescriptor),
    /// PUT: `*`, every field.
    Everything,
}

/// The update-mask rule of a binding, if the convention applies to it.
pub(crate) fn update_mask(
    http_method: &Method,
    input: &MessageDescriptor,
    body: &BodySelector,
) -> Option<UpdateMask> {
    let field = input.fields().find(|field| {
        !field.is_list() && matches!(field.kind(), Kind::Message(m) if m.full_name() == FIELD_MASK)
    })?;
    let default = match (http_method, body) {
        (&Method::PATCH, BodySelector::Field(body_field)) if is_plain_message(body_field) => {
            MaskDefault::KeysOf(body_field.clone())
        }
        (&Method::PUT, _) => MaskDefault::Everything,
        _ => return None,
    };
    Some(UpdateMask { field, default })
}

/// A top-level singular string field named `etag`.
pub(crate) fn etag_field(message: &MessageDescriptor) -> Option<FieldDescriptor> {
    message
        .get_field_by_name(ETAG_FIELD)
        .filter(|field| !field.is_list() && field.kind() == Kind::String)
}

/// The entity tag of an `If-Match` header, without quotes or `W/`; `None`
/// for `*` (any version) or an empty header. Of a list, the first tag.
pub(crate) fn if_match_tag(header: &str) -> Option<String> {
    let first = header.split(',').next()?.trim();
    let tag = first.strip_prefix("W/").unwrap_or(first);
    let tag = tag
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(tag);
    (!tag.is_empty() && tag != "*").then(|| tag.to_owned())
}

/// Sets the request's mask from the body when the client gave none.
/// `body_json` is the HTTP body, already known to be valid JSON.
pub(crate) fn fill_update_mask(rule: &UpdateMask, message: &mut DynamicMessage, body_json: &[u8]) {
    if message.has_field(&rule.field) {
        return;
    }
    let paths = match &rule.default {
        MaskDefault::Everything => vec!["*".to_owned()],
        MaskDefault::KeysOf(body_field) => {
            let Kind::Message(body_type) = body_field.kind() else {
                return;
            };
            let mut paths = Vec::new();
            if let Ok(serde_json::Value::Object(object)) = serde_json::from_slice(body_json) {
                collect_paths(&body_type, &object, "", &mut paths);
            }
            paths
        }
    };
    let Kind::Message(mask_type) = rule.field.kind() else {
        return;
    };
    let mut mask = DynamicMessage::new(mask_type);
    let paths = paths.into_iter().map(Value::String).collect();
    mask.set_field_by_name("paths", Value::List(paths));
    message.set_field(&rule.field, Value::Message(mask));
}

/// The proto-name paths of the keys in `object`, descending into objects
/// that are plain (not well-known) singular message fields.
fn collect_paths(
    message: &MessageDescriptor,
    object: &serde_json::Map<String, serde_json::Value>,
    prefix: &str,
    paths: &mut Vec<String>,
) {
    for (key, value) in object {
        let Some(field) = message
            .get_field_by_json_name(key)
            .or_else(|| message.get_field_by_name(key))
        else {
            continue;
        };
        let path = format!("{prefix}{}", field.name());
        match (value, field.kind()) {
            (serde_json::Value::Object(inner), Kind::Message(inner_type))
                if is_plain_message(&field) && !inner.is_empty() =>
            {
                collect_paths(&inner_type, inner, &format!("{path}."), paths);
            }
            _ => paths.push(path),
        }
    }
}

fn is_plain_message(field: &FieldDescriptor) -> bool {
    singular_message(field).is_some_and(|message| !message.full_name().starts_with("google.protobuf."))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transcode::test_pool;

    #[test]
    fn if_match_headers_give_the_bare_tag() {
        let cases = [
            (r#""abc""#, Some("abc")),
            (r#"W/"abc""#, Some("abc")),
            ("abc", Some("abc")),
            (r#""a", "b""#, Some("a")),
            ("*", None),
            ("", None),
            (r#""""#, None),
        ];
        for (header, expected) in cases {
            assert_eq!(if_match_tag(header).as_deref(), expected, "{header}");
        }
    }

    #[test]
    fn masks_are_inferred_from_the_keys_sent() {
        let pool = test_pool();
        let request = pool
            .get_message_by_name("gateway.test.UpdateBookRequest")
            .unwrap();
        let body_field = request.get_field_by_name("book").unwrap();
        let rule = update_mask(&Method::PATCH, &request, &BodySelector::Field(body_field.clone())).unwrap();
        let cases: [(&str, &[&str]); 5] = [
            (r#"{"title": "T"}"#, &["title"]),
            (r#"{"title": "T", "pages": "3"}"#, &["title", "pages"]),
            (
                r#"{"chapters": [], "author": {"name": "A"}}"#,
                &["chapters", "author.name"],
            ),
            (
                r#"{"author": {}, "publishedAt": null}"#,
                &["author", "published_at"],
            ),
            (r#"{"published_at": "2024-01-01T00:00:00Z"}"#, &["published_at"]),
        ];
        for (body, expected) in cases {
            let mut message = DynamicMessage::new(request.clone());
            fill_update_mask(&rule, &mut message, body.as_bytes());
            let mask = message.get_field(&rule.field);
            let paths = mask.as_message().unwrap().get_field_by_name("paths").unwrap();
            let mut paths: Vec<&str> = paths
                .as_list()
                .unwrap()
                .iter()
                .map(|p| p.as_str().unwrap())
                .collect();
            let mut expected = expected.to_vec();
            paths.sort_unstable();
            expected.sort_unstable();
            assert_eq!(paths, expected, "{body}");
        }
    }

    #[test]
    fn the_convention_applies_only_where_it_fits() {
        let pool = test_pool();
        let update = pool
            .get_message_by_name("gateway.test.UpdateBookRequest")
            .unwrap();
        let book = BodySelector::Field(update.get_field_by_name("book").unwrap());
        let get = pool.get_message_by_name("gateway.test.GetBookRequest").unwrap();
        let cases = [
            (Method::PATCH, &update, &book, Some("keys")),
            (Method::PUT, &update, &book, Some("everything")),
            (Method::PATCH, &update, &BodySelector::Whole, None),
            (Method::POST, &update, &book, None),
            (Method::PATCH, &get, &BodySelector::None, None),
        ];
        for (method, input, body, expected) in cases {
            let got = update_mask(&method, input, body).map(|rule| match rule.default {
                MaskDefault::KeysOf(_) => "keys",
                MaskDefault::Everything => "everything",
            });
            assert_eq!(got, expected, "{method} {}", input.name());
        }
    }
}
