//! Every kind of [`SetupError`], each from a broken binding on a service
//! next to the test service (compiled in memory, importing
//! `testdata/library.proto` for its messages).

use prost_reflect::DescriptorPool;

use super::Bindings;
use crate::transcode::SetupError;

/// The proto under test: `gateway.broken.Broken` with one method `M(in)
/// returns (out)` carrying `options`.
fn pool_with(input: &str, output: &str, options: &str) -> DescriptorPool {
    let source = format!(
        r#"syntax = "proto3";
package gateway.broken;
import "google/api/annotations.proto";
import "gateway/v1/annotations.proto";
import "testdata/library.proto";
service Broken {{
  rpc M(gateway.test.{input}) returns (gateway.test.{output}) {{ {options} }}
}}
"#
    );
    crate::transcode::test_support::compile(&source).expect("the broken proto compiles")
}

const METHOD: &str = "gateway.broken.Broken.M";

fn owned(text: &str) -> String {
    text.to_owned()
}

#[test]
fn each_broken_binding_names_its_method_and_what_is_wrong() {
    let cases: Vec<(&str, &str, &str, SetupError)> = vec![
        (
            "GetBookRequest",
            "Book",
            r#"option (google.api.http) = {get: "/v1/{name=shelves/*"};"#,
            SetupError::Template {
                method: owned(METHOD),
                template: owned("/v1/{name=shelves/*"),
                position: 19,
                reason: owned("expected `}`, found the end of the template"),
            },
        ),
        (
            "GetBookRequest",
            "Book",
            r#"option (google.api.http) = {get: "/v1/books/{name}"};"#,
            SetupError::DuplicateRoute {
                method: owned(METHOD),
                route: owned("GET /v1/books/*"),
                existing: owned("gateway.test.Library.GetBook"),
            },
        ),
        (
            "GetBookRequest",
            "Book",
            r#"option (google.api.http) = {get: "/v2/{nmae}"};"#,
            SetupError::UnknownField {
                method: owned(METHOD),
                role: "path variable",
                path: owned("nmae"),
                reason: owned(r#"gateway.test.GetBookRequest has no field "nmae""#),
            },
        ),
        (
            "UpdateBookRequest",
            "Book",
            r#"option (google.api.http) = {get: "/v2/{book}"};"#,
            SetupError::UnsupportedField {
                method: owned(METHOD),
                role: "path variable",
                path: owned("book"),
                reason: owned("a path variable must be a singular scalar field"),
            },
        ),
        (
            "UpdateBookRequest",
            "Book",
            r#"option (google.api.http) = {post: "/v2/books" body: "bok"};"#,
            SetupError::UnknownField {
                method: owned(METHOD),
                role: "body",
                path: owned("bok"),
                reason: owned(r#"gateway.test.UpdateBookRequest has no field "bok""#),
            },
        ),
        (
            "UpdateBookRequest",
            "Book",
            r#"option (google.api.http) = {post: "/v2/books" body: "book.title"};"#,
            SetupError::UnsupportedBody {
                method: owned(METHOD),
                reason: owned("body must name a top-level field of gateway.test.UpdateBookRequest"),
            },
        ),
        (
            "GetBookRequest",
            "Book",
            r#"option (google.api.http) = {get: "/v2/books" response_body: "titel"};"#,
            SetupError::UnknownField {
                method: owned(METHOD),
                role: "response_body",
                path: owned("titel"),
                reason: owned(r#"gateway.test.Book has no field "titel""#),
            },
        ),
        (
            "GetBookRequest",
            "Book",
            r#"option (google.api.http) = {get: "/v2/books" response_body: "author.name"};"#,
            SetupError::UnsupportedResponseBody {
                method: owned(METHOD),
                reason: owned("response_body must name a top-level field of gateway.test.Book"),
            },
        ),
        (
            "GetBookRequest",
            "Book",
            r#"option (google.api.http) = {custom: {kind: "NOT A METHOD" path: "/v2/books"}};"#,
            SetupError::BadOption {
                method: owned(METHOD),
                option: owned("google.api.http"),
                reason: owned(r#"invalid custom method "NOT A METHOD""#),
            },
        ),
        (
            "GetBookRequest",
            "Book",
            r#"option (google.api.http) = {get: "/v2/a" additional_bindings {get: "/v2/b" additional_bindings {get: "/v2/c"}}};"#,
            SetupError::BadOption {
                method: owned(METHOD),
                option: owned("google.api.http"),
                reason: owned("additional_bindings cannot be nested"),
            },
        ),
        (
            "GetBookRequest",
            "Book",
            r#"option (google.api.http) = {get: "/v2/books"}; option (gateway.v1.http_response) = {status: 404};"#,
            SetupError::BadOption {
                method: owned(METHOD),
                option: owned("gateway.v1.http_response"),
                reason: owned("status 404 is not a 2xx code"),
            },
        ),
        (
            "GetBookRequest",
            "Book",
            r#"option (google.api.http) = {get: "/v2/books"}; option (gateway.v1.http_response) = {location: "/v2/{nmae}"};"#,
            SetupError::UnknownField {
                method: owned(METHOD),
                role: "http_response.location",
                path: owned("nmae"),
                reason: owned(r#"gateway.test.Book has no field "nmae""#),
            },
        ),
        (
            "GetBookRequest",
            "Book",
            r#"option (google.api.http) = {get: "/v2/books"}; option (gateway.v1.http_response) = {location: "/v2/{author}"};"#,
            SetupError::UnsupportedField {
                method: owned(METHOD),
                role: "http_response.location",
                path: owned("author"),
                reason: owned("a placeholder must be a singular scalar field"),
            },
        ),
    ];
    for (input, output, options, expected) in cases {
        let got = Bindings::read(&pool_with(input, output, options)).err();
        assert_eq!(got.as_ref(), Some(&expected), "{options}");
        assert!(expected.to_string().starts_with(METHOD), "{expected}");
    }
}

#[test]
fn a_sound_binding_reads() {
    let pool = pool_with(
        "GetBookRequest",
        "Book",
        r#"option (google.api.http) = {get: "/v2/{name=shelves/*/books/*}"};"#,
    );
    let bindings = Bindings::read(&pool).expect("the binding is sound");
    let found = match bindings
        .router
        .lookup(&http::Method::GET, "/v2/shelves/1/books/2")
    {
        crate::transcode::routing::Lookup::Found { payload, .. } => payload.method.full_name().to_owned(),
        _ => String::new(),
    };
    assert_eq!(found, METHOD);
}
