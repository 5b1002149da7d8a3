//! Table-driven tests of the request weave, run against the engine's own test
//! service `gateway.test.Library` (proto/testdata/library.proto).

use http::Method;
use serde_json::json;

use super::*;
use crate::transcode::binding::read_bindings;
use crate::transcode::routing::{Lookup, Router, RouterBuilder};
use crate::transcode::test_pool;

fn router() -> Router<Binding> {
    let mut builder = RouterBuilder::new();
    for binding in read_bindings(&test_pool()).expect("the test bindings are valid") {
        let (segments, _) = binding.template.flatten();
        let verb = binding.template.verb.clone();
        builder
            .insert(binding.http_method.clone(), &segments, verb.as_deref(), binding)
            .unwrap();
    }
    builder.build()
}

/// Weaves `METHOD /path?query` with `body`; the message as compact proto3 JSON,
/// or the error message.
fn weave(request: &str, body: &str) -> Result<serde_json::Value, String> {
    weave_with_if_match(request, body, None)
}

fn weave_with_if_match(
    request: &str,
    body: &str,
    if_match: Option<&str>,
) -> Result<serde_json::Value, String> {
    let router = router();
    let if_match = if_match.map(|value| http::HeaderValue::from_str(value).unwrap());
    let (method, target) = request.split_once(' ').unwrap();
    let (path, query) = match target.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (target, None),
    };
    let method = Method::from_bytes(method.as_bytes()).unwrap();
    let Lookup::Found { payload, segments } = router.lookup(&method, path) else {
        panic!("no route for {request}");
    };
    let parts = HttpRequestParts {
        segments: &segments,
        query,
        body: body.as_bytes(),
        if_match: if_match.as_ref(),
    };
    build_request(payload, &parts)
        .map(|message| serde_json::to_value(&message).unwrap())
        .map_err(|error| error.message().to_owned())
}

#[test]
fn path_variables_follow_the_decoding_rules() {
    let cases = [
        ("GET /v1/books/a%2Fb", json!({"name": "a/b"})),
        (
            "GET /v1/books/caf%C3%A9%20au%20lait",
            json!({"name": "café au lait"}),
        ),
        (
            "GET /v1/shelves/s%201/books/b%2Fc",
            json!({"name": "shelves/s 1/books/b%2Fc"}),
        ),
        (
            "GET /v1/files/a/b%2Fc/d%20e",
            json!({"path": "files/a/b%2Fc/d e"}),
        ),
        ("GET /v1/files", json!({"path": "files"})),
        ("GET /v1/books/100%", json!({"name": "100%"})),
        ("POST /v1/search/42:archive", json!({"int64Value": "42"})),
    ];
    for (request, expected) in cases {
        assert_eq!(weave(request, ""), Ok(expected), "{request}");
    }
}

#[test]
fn query_parameters_bind_typed_fields() {
    let cases = [
        (
            "?int32_value=-3&int64Value=12",
            json!({"int32Value": -3, "int64Value": "12"}),
        ),
        (
            "?nested.label=x&nested.child.count=2",
            json!({"nested": {"label": "x", "child": {"count": 2}}}),
        ),
        (
            "?repeated_int32=1&repeated_int32=2",
            json!({"repeatedInt32": [1, 2]}),
        ),
        (
            "?repeated_enum=COLOR_RED&repeated_enum=2",
            json!({"repeatedEnum": ["COLOR_RED", "COLOR_GREEN"]}),
        ),
        (
            "?enum_value=COLOR_GREEN&bool_value=true",
            json!({"enumValue": "COLOR_GREEN", "boolValue": true}),
        ),
        (
            "?double_value=2.5&float_value=NaN",
            json!({"doubleValue": 2.5, "floatValue": "NaN"}),
        ),
        ("?bytes_value=aGk%3D", json!({"bytesValue": "aGk="})),
        (
            "?timestamp=2024-01-31T12:00:00Z",
            json!({"timestamp": "2024-01-31T12:00:00Z"}),
        ),
        (
            "?duration=90s&field_mask=a,b.c",
            json!({"duration": "90s", "fieldMask": "a,b.c"}),
        ),
        (
            "?wrapped_int64=5&wrapped_bool=false",
            json!({"wrappedInt64": "5", "wrappedBool": false}),
        ),
        (
            "?repeated_string=a+b&repeated_string=c%26d",
            json!({"repeatedString": ["a b", "c&d"]}),
        ),
        ("?&int32_value=1&", json!({"int32Value": 1})),
    ];
    for (query, expected) in cases {
        let mut expected = expected;
        expected["stringValue"] = json!("s");
        assert_eq!(
            weave(&format!("GET /v1/search/s{query}"), ""),
            Ok(expected),
            "{query}"
        );
    }
}

#[test]
fn bad_query_parameters_are_named() {
    let cases = [
        (
            "GET /v1/search/s?nope=1",
            r#"query parameter "nope": unknown parameter"#,
        ),
        (
            "GET /v1/search/s?nested.nope=1",
            r#"query parameter "nested.nope": unknown parameter"#,
        ),
        (
            "GET /v1/search/s?int32_value=x",
            r#"query parameter "int32_value": expected a 32-bit integer"#,
        ),
        (
            "GET /v1/search/s?int32_value=1&int32_value=2",
            "given more than once",
        ),
        ("GET /v1/search/s?string_value=x", "already bound by the path"),
        ("GET /v1/search/s?labels=x", "map fields cannot be set"),
        ("GET /v1/search/s?nested=x", "set its fields one by one"),
        ("GET /v1/search/s?int32_value.x=1", "has no sub-fields"),
        (
            "POST /v1/search/1:archive?int32_value=1",
            "the request body carries every field",
        ),
        (
            "PATCH /v1/shelves/1/books/2?book.title=x",
            "already bound by the path or the body",
        ),
    ];
    for (request, expected) in cases {
        let error = weave(request, "").expect_err(request);
        assert!(error.contains(expected), "{request}: {error}");
    }
}

#[test]
fn bodies_are_proto3_json() {
    let cases = [
        (
            "POST /v1/search/7:archive",
            r#"{"stringValue": "a", "repeated_int32": [1], "enumValue": 2}"#,
            Ok(
                json!({"int64Value": "7", "stringValue": "a", "repeatedInt32": [1], "enumValue": "COLOR_GREEN"}),
            ),
        ),
        (
            "POST /v1/search/7:archive",
            r#"{"int64Value": "9"}"#,
            Ok(json!({"int64Value": "7"})),
        ),
        (
            "PATCH /v1/shelves/1/books/2?update_mask=title",
            r#"{"title": "T", "pages": "300"}"#,
            Ok(
                json!({"book": {"name": "shelves/1/books/2", "title": "T", "pages": "300"}, "updateMask": "title"}),
            ),
        ),
        (
            "POST /v1/search/7:archive",
            "  \n",
            Ok(json!({"int64Value": "7"})),
        ),
        (
            "POST /v1/search/7:archive",
            r#"{"bogus": 1}"#,
            Err("unrecognized field name 'bogus'"),
        ),
        (
            "POST /v1/search/7:archive",
            r#"{"int32Value": "x"}"#,
            Err("invalid JSON body"),
        ),
        (
            "POST /v1/search/7:archive",
            r#"{"stringValue": "a"} x"#,
            Err("trailing characters at line 1 column 22"),
        ),
        (
            "POST /v1/search/7:archive",
            r#"{"stringValue": "#,
            Err("EOF while parsing a value at line 1 column 16"),
        ),
        (
            "GET /v1/books/b",
            r#"{"name": "x"}"#,
            Err("takes no request body"),
        ),
    ];
    for (request, body, expected) in cases {
        match (weave(request, body), expected) {
            (Ok(got), Ok(want)) => assert_eq!(got, want, "{request} {body}"),
            (Err(got), Err(want)) => assert!(got.contains(want), "{request} {body}: {got}"),
            (got, want) => panic!("{request} {body}: got {got:?}, want {want:?}"),
        }
    }
}

#[test]
fn multi_segment_decoding_keeps_encoded_slashes_only() {
    let cases = [
        ("a/b", Some("a/b")),
        ("a%2Fb%2fc", Some("a%2Fb%2fc")),
        ("a%20b", Some("a b")),
        ("100%", Some("100%")),
        ("%zz", Some("%zz")),
        ("%C3%A9", Some("é")),
        ("%FF", None),
    ];
    for (captured, expected) in cases {
        assert_eq!(
            decode_keeping_slashes(captured).as_deref(),
            expected,
            "{captured}"
        );
    }
}

#[test]
fn update_masks_and_etags_follow_the_conventions() {
    let patch = "PATCH /v1/shelves/1/books/2";
    let book = json!({"name": "shelves/1/books/2", "title": "T"});
    let cases = [
        (
            patch,
            r#"{"title": "T"}"#,
            None,
            Ok(json!({"book": book, "updateMask": "title"})),
        ),
        (
            patch,
            r#"{"title": "T", "author": {"name": "A"}}"#,
            None,
            Ok(
                json!({"book": {"name": "shelves/1/books/2", "title": "T", "author": {"name": "A"}}, "updateMask": "author.name,title"}),
            ),
        ),
        (
            "PATCH /v1/shelves/1/books/2?update_mask=pages",
            r#"{"title": "T"}"#,
            None,
            Ok(json!({"book": book, "updateMask": "pages"})),
        ),
        (
            patch,
            r#"{"title": "T"}"#,
            Some(r#""v7""#),
            Ok(json!({"book": book, "updateMask": "title", "etag": "v7"})),
        ),
        (
            patch,
            r#"{"title": "T"}"#,
            Some(r#"W/"v7""#),
            Ok(json!({"book": book, "updateMask": "title", "etag": "v7"})),
        ),
        (
            patch,
            r#"{"title": "T"}"#,
            Some("*"),
            Ok(json!({"book": book, "updateMask": "title"})),
        ),
        (
            "PATCH /v1/shelves/1/books/2?etag=v7",
            r#"{"title": "T"}"#,
            Some(r#""v7""#),
            Ok(json!({"book": book, "updateMask": "title", "etag": "v7"})),
        ),
        (
            "PATCH /v1/shelves/1/books/2?etag=v6",
            r#"{"title": "T"}"#,
            Some(r#""v7""#),
            Err("the If-Match header and the etag field disagree"),
        ),
    ];
    for (request, body, if_match, expected) in cases {
        match (weave_with_if_match(request, body, if_match), expected) {
            (Ok(got), Ok(want)) => assert_eq!(got, want, "{request} {body} {if_match:?}"),
            (Err(got), Err(want)) => assert!(got.contains(want), "{request} {body}: {got}"),
            (got, want) => panic!("{request} {body}: got {got:?}, want {want:?}"),
        }
    }
}
