//! Turns the text of a path variable or query parameter into a field value,
//! typed by the field's descriptor: numbers, bools, strings, bytes
//! (base64), enums (name or number) and the well-known message types whose
//! JSON form is a single string or scalar (`Timestamp`, `Duration`,
//! `FieldMask`, the wrapper types).
//!
//! `parse_field_value(role_field, "USER_ROLE_ADMIN")` gives `Value::EnumNumber(1)`.

use base64::Engine as _;
use prost_reflect::{DynamicMessage, FieldDescriptor, Kind, MessageDescriptor, Value};

/// Parses `text` as one value of `field` (one element, for a repeated field).
/// The error says what was expected, without naming the field.
pub(crate) fn parse_field_value(field: &FieldDescriptor, text: &str) -> Result<Value, String> {
    parse_kind(&field.kind(), text)
}

fn parse_kind(kind: &Kind, text: &str) -> Result<Value, String> {
    let value = match kind {
        Kind::Double => Value::F64(parse_float(text)?),
        Kind::Float => Value::F32(parse_float(text)? as f32),
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => Value::I32(parse_integer(text, "a 32-bit integer")?),
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => Value::I64(parse_integer(text, "a 64-bit integer")?),
        Kind::Uint32 | Kind::Fixed32 => Value::U32(parse_integer(text, "an unsigned 32-bit integer")?),
        Kind::Uint64 | Kind::Fixed64 => Value::U64(parse_integer(text, "an unsigned 64-bit integer")?),
        Kind::Bool => Value::Bool(parse_bool(text)?),
        Kind::String => Value::String(text.to_owned()),
        Kind::Bytes => Value::Bytes(parse_bytes(text)?.into()),
        Kind::Enum(enumeration) => {
            let number = match text.parse::<i32>() {
                Ok(number) => enumeration.get_value(number).map(|value| value.number()),
                Err(_) => enumeration.get_value_by_name(text).map(|value| value.number()),
            };
            let names: Vec<String> = enumeration
                .values()
                .map(|value| value.name().to_owned())
                .collect();
            Value::EnumNumber(number.ok_or_else(|| format!("expected one of {}", names.join(", ")))?)
        }
        Kind::Message(message) => Value::Message(parse_well_known(message, text)?),
    };
    Ok(value)
}

fn parse_float(text: &str) -> Result<f64, String> {
    match text {
        "NaN" => Ok(f64::NAN),
        "Infinity" => Ok(f64::INFINITY),
        "-Infinity" => Ok(f64::NEG_INFINITY),
        _ if text
            .chars()
            .any(|c| c.is_ascii_alphabetic() && c != 'e' && c != 'E') =>
        {
            Err("expected a number".to_owned())
        }
        _ => text.parse().map_err(|_| "expected a number".to_owned()),
    }
}

fn parse_integer<T: std::str::FromStr>(text: &str, what: &str) -> Result<T, String> {
    text.parse().map_err(|_| format!("expected {what}"))
}

fn parse_bool(text: &str) -> Result<bool, String> {
    match text {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err("expected true or false".to_owned()),
    }
}

/// Standard or URL-safe base64, with or without padding, as proto3 JSON allows.
fn parse_bytes(text: &str) -> Result<Vec<u8>, String> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
        .iter()
        .find_map(|engine| engine.decode(text).ok())
        .ok_or_else(|| "expected base64-encoded bytes".to_owned())
}

fn parse_well_known(message: &MessageDescriptor, text: &str) -> Result<DynamicMessage, String> {
    match message.full_name() {
        "google.protobuf.Timestamp" | "google.protobuf.Duration" | "google.protobuf.FieldMask" => {
            let json = serde_json::Value::String(text.to_owned());
            DynamicMessage::deserialize(message.clone(), json).map_err(|_| {
                let expected = match message.name() {
                    "Timestamp" => "an RFC 3339 timestamp such as 2024-01-31T12:00:00Z",
                    "Duration" => "a duration in seconds such as 1.5s",
                    _ => "comma-separated field paths",
                };
                format!("expected {expected}")
            })
        }
        "google.protobuf.DoubleValue"
        | "google.protobuf.FloatValue"
        | "google.protobuf.Int64Value"
        | "google.protobuf.UInt64Value"
        | "google.protobuf.Int32Value"
        | "google.protobuf.UInt32Value"
        | "google.protobuf.BoolValue"
        | "google.protobuf.StringValue"
        | "google.protobuf.BytesValue" => {
            let value_field = message
                .get_field_by_name("value")
                .ok_or_else(|| format!("{} has no value field", message.full_name()))?;
            let mut wrapper = DynamicMessage::new(message.clone());
            wrapper.set_field(&value_field, parse_field_value(&value_field, text)?);
            Ok(wrapper)
        }
        name => Err(format!(
            "{name} is a message; set its fields one by one with dotted names"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transcode::test_pool;

    /// A field of the test message `gateway.test.Everything` by name.
    fn field(name: &str) -> FieldDescriptor {
        test_pool()
            .get_message_by_name("gateway.test.Everything")
            .unwrap()
            .get_field_by_name(name)
            .unwrap_or_else(|| panic!("no field {name}"))
    }

    #[test]
    fn texts_parse_by_kind() {
        let cases: Vec<(&str, &str, Value)> = vec![
            ("double_value", "1.5", Value::F64(1.5)),
            ("double_value", "-Infinity", Value::F64(f64::NEG_INFINITY)),
            ("float_value", "2", Value::F32(2.0)),
            ("int32_value", "-7", Value::I32(-7)),
            (
                "int64_value",
                "9007199254740993",
                Value::I64(9_007_199_254_740_993),
            ),
            ("uint32_value", "7", Value::U32(7)),
            ("uint64_value", "18446744073709551615", Value::U64(u64::MAX)),
            ("bool_value", "true", Value::Bool(true)),
            ("bool_value", "0", Value::Bool(false)),
            ("string_value", "a b/c", Value::String("a b/c".into())),
            ("bytes_value", "aGk=", Value::Bytes(b"hi".as_slice().into())),
            ("bytes_value", "aGk", Value::Bytes(b"hi".as_slice().into())),
            ("bytes_value", "-_8", Value::Bytes(vec![0xfb, 0xff].into())),
            ("enum_value", "COLOR_RED", Value::EnumNumber(1)),
            ("enum_value", "2", Value::EnumNumber(2)),
            ("repeated_int32", "5", Value::I32(5)),
        ];
        for (name, text, expected) in cases {
            let parsed = parse_field_value(&field(name), text)
                .unwrap_or_else(|error| panic!("{name}={text}: {error}"));
            assert_eq!(parsed, expected, "{name}={text}");
        }
    }

    #[test]
    fn well_known_types_parse_from_their_json_text() {
        let cases = [
            ("timestamp", "2024-01-31T12:00:00Z", r#""2024-01-31T12:00:00Z""#),
            ("duration", "1.5s", r#""1.500s""#),
            ("field_mask", "name,address.city", r#""name,address.city""#),
            ("wrapped_int64", "42", r#""42""#),
            ("wrapped_bool", "true", "true"),
            ("wrapped_string", "x", r#""x""#),
        ];
        for (name, text, json) in cases {
            let Value::Message(message) = parse_field_value(&field(name), text)
                .unwrap_or_else(|error| panic!("{name}={text}: {error}"))
            else {
                panic!("{name} is not a message");
            };
            assert_eq!(serde_json::to_string(&message).unwrap(), json, "{name}={text}");
        }
    }

    #[test]
    fn wrong_texts_say_what_was_expected() {
        let cases = [
            ("int32_value", "abc", "expected a 32-bit integer"),
            ("int32_value", "4294967296", "expected a 32-bit integer"),
            ("uint64_value", "-1", "expected an unsigned 64-bit integer"),
            ("double_value", "one", "expected a number"),
            ("bool_value", "yes", "expected true or false"),
            ("bytes_value", "***", "expected base64"),
            (
                "enum_value",
                "COLOR_PINK",
                "expected one of COLOR_UNSPECIFIED, COLOR_RED, COLOR_GREEN",
            ),
            ("enum_value", "9", "expected one of"),
            ("timestamp", "yesterday", "expected an RFC 3339 timestamp"),
            ("duration", "5 minutes", "expected a duration"),
            ("wrapped_int64", "x", "expected a 64-bit integer"),
            ("nested", "x", "is a message; set its fields one by one"),
        ];
        for (name, text, expected) in cases {
            let error = parse_field_value(&field(name), text).expect_err(name);
            assert!(error.contains(expected), "{name}={text}: {error}");
        }
    }
}
