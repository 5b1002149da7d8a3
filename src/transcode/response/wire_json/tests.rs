//! `write_message` against `prost-reflect`'s serializer, message by message:
//! the same JSON (compared as values, since map order is free).

use prost::Message as _;
use prost_reflect::{DynamicMessage, SerializeOptions};
use serde_json::json;

use super::*;
use crate::transcode::test_pool;

/// Renders with plans built for the message's own pool.
fn write_message(descriptor: &MessageDescriptor, bytes: &[u8], out: &mut Vec<u8>) -> Result<(), WireError> {
    JsonPlans::new(descriptor.parent_pool()).write(descriptor, bytes, out)
}

/// (message type in the test pool, the message as proto3 JSON input)
fn cases() -> Vec<(&'static str, serde_json::Value)> {
    vec![
        ("gateway.test.Everything", json!({})),
        (
            "gateway.test.Everything",
            json!({
                "doubleValue": 1.5, "floatValue": 2.25, "int32Value": -7, "int64Value": "-9007199254740993",
                "uint32Value": 4294967295u32, "uint64Value": "18446744073709551615", "boolValue": true,
                "stringValue": "a \"quoted\" \u{e9}\n", "bytesValue": "AAEC/w==", "enumValue": "COLOR_GREEN",
                "repeatedInt32": [1, -2, 300000], "repeatedString": ["x", ""], "repeatedEnum": ["COLOR_RED", 2],
                "nested": {"label": "n", "child": {"count": 3}}, "labels": {"k": "v", "": "empty"},
                "timestamp": "2024-01-31T12:00:00.120Z", "duration": "-1.000000500s",
                "fieldMask": "a.bC,dEF", "wrappedInt64": "0", "wrappedBool": true, "wrappedString": "w"
            }),
        ),
        (
            "gateway.test.Everything",
            json!({"doubleValue": "NaN", "floatValue": "-Infinity"}),
        ),
        (
            "gateway.test.Everything",
            json!({"enumValue": 9, "repeatedEnum": [7]}),
        ),
        (
            "gateway.test.Everything",
            json!({"timestamp": "1970-01-01T00:00:00Z", "duration": "0s"}),
        ),
        (
            "gateway.test.Everything",
            json!({"nested": {}, "wrappedString": ""}),
        ),
        (
            "gateway.test.Book",
            json!({"name": "b", "author": {"name": "a"}, "chapters": ["1", "2"]}),
        ),
        (
            "gateway.test.Book",
            json!({
                "name": "shelves/1/books/2", "title": "Dune", "pages": "412", "chapters": ["Book One", "Book Two"],
                "author": {"name": "Frank Herbert"}, "publishedAt": "2026-11-22T02:58:08.987779662Z", "etag": "e"
            }),
        ),
        (
            "gateway.test.Everything",
            json!({
                "repeatedNested": [{"label": "1"}, {"label": "2", "child": {"count": 1}}, {}],
                "int32Value": 2
            }),
        ),
        (
            "google.rpc.Status",
            json!({"code": 3, "message": "m", "details": [
                {"@type": "type.googleapis.com/google.rpc.BadRequest", "fieldViolations": [{"field": "f"}]}
            ]}),
        ),
    ]
}

#[test]
fn renders_what_prost_reflect_renders() {
    let pool = test_pool();
    for (name, input) in cases() {
        let descriptor = pool.get_message_by_name(name).unwrap();
        let message = DynamicMessage::deserialize(descriptor.clone(), input.clone())
            .unwrap_or_else(|error| panic!("{name} {input}: {error}"));
        let bytes = message.encode_to_vec();
        let options = SerializeOptions::new().skip_default_fields(false);
        let expected = message
            .serialize_with_options(serde_json::value::Serializer, &options)
            .unwrap();
        let mut out = Vec::new();
        write_message(&descriptor, &bytes, &mut out)
            .unwrap_or_else(|error| panic!("{name} {input}: {error}"));
        let got: serde_json::Value = serde_json::from_slice(&out).unwrap_or_else(|error| {
            panic!("{name}: invalid JSON {}: {error}", String::from_utf8_lossy(&out))
        });
        assert_eq!(got, expected, "{name} {input}");
    }
}

#[test]
fn unpacked_repeated_scalars_render_like_packed_ones() {
    let descriptor = test_pool()
        .get_message_by_name("gateway.test.Everything")
        .unwrap();
    // repeated_int32 (field 11) as two unpacked varints: key 11<<3|0 = 88.
    let bytes = [88, 1, 88, 2];
    let mut out = Vec::new();
    write_message(&descriptor, &bytes, &mut out).unwrap();
    let got: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(got["repeatedInt32"], json!([1, 2]));
}

#[test]
fn malformed_bytes_are_errors_not_panics() {
    let descriptor = test_pool()
        .get_message_by_name("gateway.test.Everything")
        .unwrap();
    let cases: [&[u8]; 6] = [
        &[0x80],              // truncated varint key
        &[8, 0x80],           // truncated varint value
        &[66, 5, b'a'],       // string (field 8) longer than the rest
        &[9, 1, 2],           // double (field 1) as a truncated fixed64
        &[66, 2, 0xff, 0xfe], // string that is not UTF-8
        &[8, 1, 7],           // wire type 7 does not exist
    ];
    for bytes in cases {
        let mut out = Vec::new();
        assert!(write_message(&descriptor, bytes, &mut out).is_err(), "{bytes:?}");
    }
}

#[test]
fn fields_out_of_number_order_and_repeated_singulars_render_as_decoded() {
    let descriptor = test_pool()
        .get_message_by_name("gateway.test.Everything")
        .unwrap();
    // (bytes, what they hold)
    let cases: [(&[u8], &str); 3] = [
        (
            &[88, 5, 66, 1, b'a', 88, 6, 66, 1, b'b'],
            "interleaved: a list and a twice-set string",
        ),
        (
            &[88, 7, 9, 0, 0, 0, 0, 0, 0, 240, 63],
            "a higher field number before a lower one",
        ),
        (
            &[66, 1, b'a', 66, 1, b'b'],
            "in order, a string set twice (last one wins)",
        ),
    ];
    let options = SerializeOptions::new().skip_default_fields(false);
    for (bytes, what) in cases {
        let decoded = DynamicMessage::decode(descriptor.clone(), bytes).unwrap();
        let expected = decoded
            .serialize_with_options(serde_json::value::Serializer, &options)
            .unwrap();
        let mut out = Vec::new();
        write_message(&descriptor, bytes, &mut out).unwrap();
        let got: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(got, expected, "{what}");
    }
}
