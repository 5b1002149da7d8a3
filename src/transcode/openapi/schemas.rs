//! Message, enum and field descriptors → JSON Schemas of their proto3 JSON
//! form: lowerCamelCase property names, 64-bit integers as strings, enums by
//! name, bytes as base64, well-known types in their JSON shape (inline), and
//! every other message or enum as a `$ref` to a component named by its full
//! proto name. Recursive messages are fine: a component is registered before
//! its fields are walked.
//!
//! `gateway.test.Book.published_at` (a `Timestamp`, `OUTPUT_ONLY`) becomes
//! `{"type": "string", "format": "date-time", "readOnly": true, "description": …}`.

use std::collections::BTreeMap;

use prost_reflect::{
    DescriptorPool, EnumDescriptor, ExtensionDescriptor, FieldDescriptor, Kind, MessageDescriptor, Value,
};
use utoipa::openapi::schema::{
    AdditionalProperties, Array, KnownFormat, Object, Ref, Schema, SchemaFormat, SchemaType, Type,
};
use utoipa::openapi::{Deprecated, RefOr};

use super::comments::Commented as _;

const FIELD_BEHAVIOR_EXTENSION: &str = "google.api.field_behavior";
/// `google.api.FieldBehavior` numbers.
const REQUIRED: i32 = 2;
const OUTPUT_ONLY: i32 = 3;

/// The component schemas collected so far, and how to read field behavior.
pub(crate) struct Schemas {
    components: BTreeMap<String, RefOr<Schema>>,
    field_behavior: Option<ExtensionDescriptor>,
}

impl Schemas {
    pub(crate) fn new(pool: &DescriptorPool) -> Self {
        Schemas {
            components: BTreeMap::new(),
            field_behavior: pool.get_extension_by_name(FIELD_BEHAVIOR_EXTENSION),
        }
    }

    /// The collected component schemas, by full proto name.
    pub(crate) fn into_components(self) -> BTreeMap<String, RefOr<Schema>> {
        self.components
    }

    /// The schema of a message: inline for a well-known type, else a `$ref`.
    pub(crate) fn message(&mut self, message: &MessageDescriptor) -> RefOr<Schema> {
        if let Some(schema) = well_known(message) {
            return RefOr::T(schema);
        }
        let name = message.full_name().to_owned();
        if !self.components.contains_key(&name) {
            // A placeholder first, so that a recursive field finds the name.
            self.components.insert(name.clone(), RefOr::T(Schema::default()));
            let object = self.message_object(message, |_| false);
            self.components
                .insert(name.clone(), RefOr::T(Schema::Object(object)));
        }
        RefOr::Ref(Ref::from_schema_name(name))
    }

    /// The object schema of `message` itself, leaving out the fields for
    /// which `skip` is true (a body `*` leaves out the path's fields).
    pub(crate) fn message_object(
        &mut self,
        message: &MessageDescriptor,
        skip: impl Fn(&FieldDescriptor) -> bool,
    ) -> Object {
        let mut object = Object::with_type(Type::Object);
        object.description = message_description(message);
        for field in message.fields().filter(|field| !skip(field)) {
            let behaviors = self.behaviors(&field);
            if behaviors.contains(&REQUIRED) {
                object.required.push(field.json_name().to_owned());
            }
            let schema = self.field(&field, behaviors.contains(&OUTPUT_ONLY));
            object.properties.insert(field.json_name().to_owned(), schema);
        }
        object
    }

    /// The schema of a field with its description, `readOnly` when the field
    /// is `OUTPUT_ONLY`.
    pub(crate) fn field(&mut self, field: &FieldDescriptor, output_only: bool) -> RefOr<Schema> {
        let description = field_description(field);
        let mut schema = self.field_value(field);
        match &mut schema {
            RefOr::Ref(reference) => {
                reference.description = description.unwrap_or_default();
                reference.read_only = output_only.then_some(true);
            }
            RefOr::T(Schema::Object(object)) => {
                object.description = description;
                object.read_only = output_only.then_some(true);
            }
            RefOr::T(Schema::Array(array)) => array.description = description,
            RefOr::T(_) => {}
        }
        schema
    }

    /// A field's value: a map, a list or one element, without description.
    pub(crate) fn field_value(&mut self, field: &FieldDescriptor) -> RefOr<Schema> {
        if field.is_map() {
            let Kind::Message(entry) = field.kind() else {
                unreachable!("a map field is a message of entries")
            };
            let value = entry.map_entry_value_field();
            let mut object = Object::with_type(Type::Object);
            object.additional_properties =
                Some(Box::new(AdditionalProperties::RefOr(self.kind(&value.kind()))));
            return RefOr::T(Schema::Object(object));
        }
        let element = self.kind(&field.kind());
        if field.is_list() {
            return RefOr::T(Schema::Array(Array::new(element)));
        }
        element
    }

    /// The schema of one value of `kind`.
    pub(crate) fn kind(&mut self, kind: &Kind) -> RefOr<Schema> {
        match kind {
            Kind::Message(message) => self.message(message),
            Kind::Enum(enumeration) => self.enumeration(enumeration),
            scalar => RefOr::T(Schema::Object(scalar_object(scalar))),
        }
    }

    /// A `$ref` to the enum's component: a string with the value names.
    pub(crate) fn enumeration(&mut self, enumeration: &EnumDescriptor) -> RefOr<Schema> {
        let name = enumeration.full_name().to_owned();
        if !self.components.contains_key(&name) {
            self.components
                .insert(name.clone(), RefOr::T(Schema::Object(enum_object(enumeration))));
        }
        RefOr::Ref(Ref::from_schema_name(name))
    }

    /// The `google.api.field_behavior` values of `field`.
    fn behaviors(&self, field: &FieldDescriptor) -> Vec<i32> {
        let Some(extension) = &self.field_behavior else {
            return Vec::new();
        };
        let options = field.options();
        if !options.has_extension(extension) {
            return Vec::new();
        }
        match options.get_extension(extension).as_ref() {
            Value::List(values) => values.iter().filter_map(Value::as_enum_number).collect(),
            Value::EnumNumber(number) => vec![*number],
            _ => Vec::new(),
        }
    }
}

/// A scalar kind's schema: 64-bit integers are strings in proto3 JSON.
pub(crate) fn scalar_object(kind: &Kind) -> Object {
    let (schema_type, format) = match kind {
        Kind::Double => (Type::Number, known(KnownFormat::Double)),
        Kind::Float => (Type::Number, known(KnownFormat::Float)),
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => (Type::Integer, known(KnownFormat::Int32)),
        Kind::Uint32 | Kind::Fixed32 => (Type::Integer, custom("uint32")),
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => (Type::String, known(KnownFormat::Int64)),
        Kind::Uint64 | Kind::Fixed64 => (Type::String, custom("uint64")),
        Kind::Bool => (Type::Boolean, None),
        Kind::String => (Type::String, None),
        Kind::Bytes => (Type::String, known(KnownFormat::Byte)),
        Kind::Enum(_) | Kind::Message(_) => unreachable!("not a scalar kind"),
    };
    let mut object = Object::with_type(schema_type);
    object.format = format;
    if matches!(kind, Kind::Uint32 | Kind::Fixed32) {
        object.minimum = Some(0.into());
    }
    object
}

fn known(format: KnownFormat) -> Option<SchemaFormat> {
    Some(SchemaFormat::KnownFormat(format))
}

fn custom(format: &str) -> Option<SchemaFormat> {
    Some(SchemaFormat::Custom(format.to_owned()))
}

/// A string schema listing the enum's value names, each documented.
fn enum_object(enumeration: &EnumDescriptor) -> Object {
    let mut object = Object::with_type(Type::String);
    object.enum_values = Some(
        enumeration
            .values()
            .map(|value| serde_json::Value::String(value.name().to_owned()))
            .collect(),
    );
    let mut lines: Vec<String> = enumeration.comments().into_iter().collect();
    let documented: Vec<String> = enumeration
        .values()
        .filter_map(|value| {
            value
                .comments()
                .map(|text| format!("- `{}`: {text}", value.name()))
        })
        .collect();
    if !documented.is_empty() {
        lines.push(documented.join("\n"));
    }
    object.description = (!lines.is_empty()).then(|| lines.join("\n\n"));
    if enumeration
        .options()
        .get_field_by_name("deprecated")
        .is_some_and(|value| value.as_bool() == Some(true))
    {
        object.deprecated = Some(Deprecated::True);
    }
    object
}

/// The message comment, plus which fields are mutually exclusive (proto3
/// JSON flattens a `oneof`, so it is documented rather than modelled).
fn message_description(message: &MessageDescriptor) -> Option<String> {
    let mut parts: Vec<String> = message.comments().into_iter().collect();
    for oneof in message.oneofs().filter(|oneof| !oneof.is_synthetic()) {
        let names: Vec<String> = oneof
            .fields()
            .map(|field| format!("`{}`", field.json_name()))
            .collect();
        parts.push(format!(
            "At most one of {} is set (oneof `{}`).",
            names.join(", "),
            oneof.name()
        ));
    }
    (!parts.is_empty()).then(|| parts.join("\n\n"))
}

/// The field comment, plus its oneof when it belongs to one.
fn field_description(field: &FieldDescriptor) -> Option<String> {
    let mut parts: Vec<String> = field.comments().into_iter().collect();
    if let Some(oneof) = field.containing_oneof().filter(|oneof| !oneof.is_synthetic()) {
        let others: Vec<String> = oneof
            .fields()
            .filter(|other| other.number() != field.number())
            .map(|other| format!("`{}`", other.json_name()))
            .collect();
        parts.push(format!(
            "Part of oneof `{}`: not to be set together with {}.",
            oneof.name(),
            others.join(", ")
        ));
    }
    (!parts.is_empty()).then(|| parts.join("\n\n"))
}

/// The inline JSON shape of a well-known type, or `None` for other messages.
pub(crate) fn well_known(message: &MessageDescriptor) -> Option<Schema> {
    let string = |format: Option<SchemaFormat>, description: &str| {
        let mut object = Object::with_type(Type::String);
        object.format = format;
        object.description = Some(description.to_owned());
        Schema::Object(object)
    };
    let schema = match message.full_name() {
        "google.protobuf.Timestamp" => string(
            known(KnownFormat::DateTime),
            "An RFC 3339 timestamp in UTC, e.g. `2024-01-31T12:00:00Z`.",
        ),
        "google.protobuf.Duration" => string(None, "A duration in seconds with an `s` suffix, e.g. `1.5s`."),
        "google.protobuf.FieldMask" => string(
            None,
            "Comma-separated field paths in lowerCamelCase, e.g. `name,address.city`.",
        ),
        "google.protobuf.Empty" => Schema::Object(Object::with_type(Type::Object)),
        "google.protobuf.Struct" => {
            let mut object = Object::with_type(Type::Object);
            object.additional_properties = Some(Box::new(AdditionalProperties::FreeForm(true)));
            Schema::Object(object)
        }
        "google.protobuf.Value" => Schema::Object(Object::with_type(SchemaType::AnyValue)),
        "google.protobuf.ListValue" => Schema::Array(Array::new(Object::with_type(SchemaType::AnyValue))),
        "google.protobuf.Any" => {
            let mut object = Object::with_type(Type::Object);
            let mut type_url = Object::with_type(Type::String);
            type_url.description =
                Some("The type of the message, e.g. `type.googleapis.com/google.rpc.BadRequest`.".to_owned());
            object
                .properties
                .insert("@type".to_owned(), RefOr::T(Schema::Object(type_url)));
            object.required.push("@type".to_owned());
            object.additional_properties = Some(Box::new(AdditionalProperties::FreeForm(true)));
            object.description = Some("A message of any type, named by `@type`, with its fields.".to_owned());
            Schema::Object(object)
        }
        name => {
            let wrapped = wrapper_kind(name)?;
            let mut object = scalar_object(&wrapped);
            if let SchemaType::Type(scalar) = object.schema_type.clone() {
                object.schema_type = SchemaType::Array(vec![scalar, Type::Null]);
            }
            Schema::Object(object)
        }
    };
    Some(schema)
}

/// The scalar a `google.protobuf.*Value` wrapper holds.
fn wrapper_kind(full_name: &str) -> Option<Kind> {
    Some(match full_name {
        "google.protobuf.DoubleValue" => Kind::Double,
        "google.protobuf.FloatValue" => Kind::Float,
        "google.protobuf.Int64Value" => Kind::Int64,
        "google.protobuf.UInt64Value" => Kind::Uint64,
        "google.protobuf.Int32Value" => Kind::Int32,
        "google.protobuf.UInt32Value" => Kind::Uint32,
        "google.protobuf.BoolValue" => Kind::Bool,
        "google.protobuf.StringValue" => Kind::String,
        "google.protobuf.BytesValue" => Kind::Bytes,
        _ => return None,
    })
}

/// Whether a message-typed value can be given as one query parameter (its
/// JSON form is a single string or scalar).
pub(crate) fn is_single_value(message: &MessageDescriptor) -> bool {
    matches!(
        message.full_name(),
        "google.protobuf.Timestamp" | "google.protobuf.Duration" | "google.protobuf.FieldMask"
    ) || wrapper_kind(message.full_name()).is_some()
}

#[cfg(test)]
#[path = "schemas_tests.rs"]
mod tests;
