//! Field kind → schema, table-driven over `gateway.test.Everything`, plus
//! field behavior, recursion and the well-known types.

use serde_json::{Value, json};

use super::*;
use crate::transcode::test_pool;

fn schema_json(schema: &RefOr<Schema>) -> Value {
    serde_json::to_value(schema).expect("a schema serializes")
}

#[test]
fn every_field_kind_maps_to_its_proto3_json_schema() {
    let pool = test_pool();
    let everything = pool
        .get_message_by_name("gateway.test.Everything")
        .expect("Everything");
    let mut schemas = Schemas::new(&pool);
    let nullable = |scalar: &str, format: Option<&str>| {
        let mut schema = json!({"type": [scalar, "null"]});
        if let Some(format) = format {
            schema["format"] = json!(format);
        }
        schema
    };
    let cases: Vec<(&str, Value)> = vec![
        ("double_value", json!({"type": "number", "format": "double"})),
        ("float_value", json!({"type": "number", "format": "float"})),
        ("int32_value", json!({"type": "integer", "format": "int32"})),
        ("int64_value", json!({"type": "string", "format": "int64"})),
        (
            "uint32_value",
            json!({"type": "integer", "format": "uint32", "minimum": 0}),
        ),
        ("uint64_value", json!({"type": "string", "format": "uint64"})),
        ("bool_value", json!({"type": "boolean"})),
        ("string_value", json!({"type": "string"})),
        ("bytes_value", json!({"type": "string", "format": "byte"})),
        (
            "enum_value",
            json!({"$ref": "#/components/schemas/gateway.test.Color"}),
        ),
        (
            "repeated_int32",
            json!({"type": "array", "items": {"type": "integer", "format": "int32"}}),
        ),
        (
            "repeated_string",
            json!({"type": "array", "items": {"type": "string"}}),
        ),
        (
            "nested",
            json!({"$ref": "#/components/schemas/gateway.test.Nested"}),
        ),
        (
            "labels",
            json!({"type": "object", "additionalProperties": {"type": "string"}}),
        ),
        (
            "timestamp",
            json!({"type": "string", "format": "date-time",
                   "description": "An RFC 3339 timestamp in UTC, e.g. `2024-01-31T12:00:00Z`."}),
        ),
        (
            "duration",
            json!({"type": "string", "description": "A duration in seconds with an `s` suffix, e.g. `1.5s`."}),
        ),
        (
            "field_mask",
            json!({"type": "string",
                   "description": "Comma-separated field paths in lowerCamelCase, e.g. `name,address.city`."}),
        ),
        ("wrapped_int64", nullable("string", Some("int64"))),
        ("wrapped_bool", nullable("boolean", None)),
        ("wrapped_string", nullable("string", None)),
        (
            "repeated_enum",
            json!({"type": "array", "items": {"$ref": "#/components/schemas/gateway.test.Color"}}),
        ),
        (
            "repeated_nested",
            json!({"type": "array", "items": {"$ref": "#/components/schemas/gateway.test.Nested"}}),
        ),
    ];
    assert_eq!(cases.len(), everything.fields().len(), "every field has a case");
    for (name, expected) in cases {
        let field = everything.get_field_by_name(name).expect(name);
        assert_eq!(schema_json(&schemas.field_value(&field)), expected, "{name}");
    }
}

#[test]
fn messages_become_components_with_json_names() {
    let pool = test_pool();
    let mut schemas = Schemas::new(&pool);
    let everything = pool
        .get_message_by_name("gateway.test.Everything")
        .expect("Everything");
    assert_eq!(
        schema_json(&schemas.message(&everything)),
        json!({"$ref": "#/components/schemas/gateway.test.Everything"})
    );
    let components = schemas.into_components();
    let names: Vec<&String> = components.keys().collect();
    assert_eq!(
        names,
        [
            "gateway.test.Color",
            "gateway.test.Everything",
            "gateway.test.Nested"
        ]
    );
    // Properties keep the field order, under their JSON names.
    let RefOr::T(Schema::Object(object)) = &components["gateway.test.Everything"] else {
        panic!("Everything is an object schema");
    };
    let properties: Vec<&String> = object.properties.keys().take(4).collect();
    assert_eq!(
        properties,
        ["doubleValue", "floatValue", "int32Value", "int64Value"]
    );
    // Recursion: Nested.child refers back to its own component.
    let nested = schema_json(&components["gateway.test.Nested"]);
    assert_eq!(
        nested["properties"]["child"]["$ref"],
        "#/components/schemas/gateway.test.Nested"
    );
    assert_eq!(
        schema_json(&components["gateway.test.Color"])["enum"],
        json!(["COLOR_UNSPECIFIED", "COLOR_RED", "COLOR_GREEN"])
    );
}

#[test]
fn field_behavior_gives_required_and_read_only() {
    let pool = test_pool();
    let mut schemas = Schemas::new(&pool);
    let book = pool.get_message_by_name("gateway.test.Book").expect("Book");
    schemas.message(&book);
    let components = schemas.into_components();
    let object = schema_json(&components["gateway.test.Book"]);
    // REQUIRED fields, in field order, message-typed ones included.
    assert_eq!(object["required"], json!(["title", "author"]));
    // (property, readOnly): OUTPUT_ONLY fields only, whatever their kind.
    let cases = [
        ("name", None),
        ("title", None),
        ("pages", None),
        ("chapters", None),
        ("author", None),
        ("publishedAt", Some(true)),
        ("etag", Some(true)),
    ];
    let properties = object["properties"].as_object().expect("properties");
    let names: Vec<&String> = properties.keys().collect();
    let mut expected: Vec<&str> = cases.iter().map(|(name, _)| *name).collect();
    expected.sort_unstable(); // serde_json's map is sorted
    assert_eq!(
        names, expected,
        "Book's own fields only: Author's `country` stays in Author"
    );
    for (name, read_only) in cases {
        assert_eq!(
            properties[name].get("readOnly").and_then(Value::as_bool),
            read_only,
            "{name}"
        );
    }
    assert_eq!(
        properties["publishedAt"]["format"], "date-time",
        "still a Timestamp"
    );
}

#[test]
fn enums_list_their_documented_values() {
    let pool = test_pool();
    let mut schemas = Schemas::new(&pool);
    let color = pool.get_enum_by_name("gateway.test.Color").expect("Color");
    schemas.enumeration(&color);
    let components = schemas.into_components();
    let object = schema_json(&components["gateway.test.Color"]);
    assert_eq!(
        object["description"],
        "A color.\n\n- `COLOR_UNSPECIFIED`: Unset.\n- `COLOR_RED`: Red.\n- `COLOR_GREEN`: Green."
    );
}

#[test]
fn other_well_known_types_have_their_json_shape() {
    let cases: Vec<(&str, Value)> = vec![
        ("google.protobuf.Empty", json!({"type": "object"})),
        (
            "google.protobuf.Struct",
            json!({"type": "object", "additionalProperties": true}),
        ),
        ("google.protobuf.Value", json!({})),
        ("google.protobuf.ListValue", json!({"type": "array", "items": {}})),
        (
            "google.protobuf.BytesValue",
            json!({"type": ["string", "null"], "format": "byte"}),
        ),
    ];
    let pool = prost_reflect::DescriptorPool::global();
    for (name, expected) in cases {
        let message = pool.get_message_by_name(name).expect(name);
        let schema = well_known(&message).expect("a well-known type");
        assert_eq!(
            serde_json::to_value(&schema).expect("serializes"),
            expected,
            "{name}"
        );
    }
}
