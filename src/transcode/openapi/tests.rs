//! The document against the engine's own route table, and its shape on the
//! engine's test service (`gateway.test.Library`).

use prost_reflect::DescriptorPool;
use serde_json::{Value, json};

use super::*;
use crate::transcode::binding::read_bindings;
use crate::transcode::routing::{Lookup, RouterBuilder};
use crate::transcode::test_pool;

fn json_of(pool: &DescriptorPool) -> Value {
    serde_json::from_str(&to_json(&document(pool).expect("the document builds"))).expect("valid JSON")
}

/// A concrete request path for an OpenAPI path: each `{parameter}` → `x`.
fn concrete(path: &str) -> String {
    let mut out = String::new();
    let mut in_parameter = false;
    for c in path.chars() {
        match c {
            '{' => in_parameter = true,
            '}' => {
                in_parameter = false;
                out.push('x');
            }
            _ if !in_parameter => out.push(c),
            _ => {}
        }
    }
    out
}

/// Every route of the engine's table is one operation of the document, and
/// every operation of the document is served by the binding it describes.
fn assert_routes_match_document(pool: &DescriptorPool) {
    let bindings = read_bindings(pool).expect("the bindings read");
    let mut builder = RouterBuilder::new();
    for (index, binding) in bindings.iter().enumerate() {
        let (segments, _) = binding.template.flatten();
        builder
            .insert(
                binding.http_method.clone(),
                &segments,
                binding.template.verb.as_deref(),
                index,
            )
            .expect("no duplicate routes");
        assert!(
            http_method(&binding.http_method).is_some(),
            "{} is representable",
            binding.method.full_name()
        );
    }
    let router = builder.build();
    let document = json_of(pool);
    let mut served = vec![0; bindings.len()];
    for (path, item) in document["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("a path item") {
            let http_method = Method::from_bytes(method.to_uppercase().as_bytes()).expect("an HTTP method");
            let request_path = concrete(path);
            let Lookup::Found { payload, .. } = router.lookup(&http_method, &request_path) else {
                panic!("{method} {path} ({request_path}) is not in the route table");
            };
            let binding = &bindings[*payload];
            let id = operation["operationId"].as_str().expect("an operationId");
            let expected = format!(
                "{}_{}",
                binding.method.parent_service().name(),
                binding.method.name()
            );
            assert!(
                id.trim_end_matches(|c: char| c.is_ascii_digit()) == expected,
                "{method} {path}: {id} vs {expected}"
            );
            served[*payload] += 1;
        }
    }
    for (binding, count) in bindings.iter().zip(served) {
        assert_eq!(
            count, 1,
            "{} {} appears {count} times in the document",
            binding.http_method, binding.template
        );
    }
}

#[test]
fn the_route_table_and_the_document_agree() {
    assert_routes_match_document(&test_pool());
}

#[test]
fn the_document_is_deterministic() {
    let pool = test_pool();
    let first = to_json(&document(&pool).expect("builds"));
    let second = to_json(&document(&pool).expect("builds"));
    assert_eq!(first, second);
    assert!(first.starts_with("{\n  \"openapi\": \"3.1.0\""));
}

#[test]
fn operation_ids_are_unique_with_additional_bindings() {
    let document = json_of(&test_pool());
    let paths = &document["paths"];
    assert_eq!(
        paths["/v1/shelves/{shelf}/books/{book}"]["get"]["operationId"],
        "Library_GetBook"
    );
    assert_eq!(
        paths["/v1/books/{name}"]["get"]["operationId"],
        "Library_GetBook2"
    );
}

fn parameter_names(operation: &Value, location: &str) -> Vec<String> {
    operation["parameters"]
        .as_array()
        .map(|parameters| {
            parameters
                .iter()
                .filter(|parameter| parameter["in"] == location)
                .map(|parameter| parameter["name"].as_str().expect("a name").to_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn query_parameters_are_the_fields_the_engine_accepts() {
    let document = json_of(&test_pool());
    let search = &document["paths"]["/v1/search/{string_value}"]["get"];
    let expected = [
        "double_value",
        "float_value",
        "int32_value",
        "int64_value",
        "uint32_value",
        "uint64_value",
        "bool_value",
        "bytes_value",
        "enum_value",
        "repeated_int32",
        "repeated_string",
        "nested.label",
        "nested.child.label",
        "nested.child.count",
        "nested.count",
        "timestamp",
        "duration",
        "field_mask",
        "wrapped_int64",
        "wrapped_bool",
        "wrapped_string",
        "repeated_enum",
    ];
    assert_eq!(parameter_names(search, "query"), expected);
    assert_eq!(parameter_names(search, "path"), ["string_value"]);
    let repeated = search["parameters"]
        .as_array()
        .expect("parameters")
        .iter()
        .find(|parameter| parameter["name"] == "repeated_enum")
        .expect("repeated_enum");
    assert_eq!(repeated["style"], "form");
    assert_eq!(repeated["explode"], true);
    assert_eq!(
        repeated["schema"],
        json!({"type": "array", "items": {"$ref": "#/components/schemas/gateway.test.Color"}})
    );

    // `book` is the body and `book.name` the path: only the rest is left.
    let update = &document["paths"]["/v1/shelves/{shelf}/books/{book}"]["patch"];
    assert_eq!(parameter_names(update, "query"), ["update_mask", "etag"]);
    assert_eq!(parameter_names(update, "header"), ["If-Match"]);
    // `body: "*"`: the query sets nothing.
    let archive = &document["paths"]["/v1/search/{int64_value}:archive"]["post"];
    assert_eq!(parameter_names(archive, "query"), Vec::<String>::new());
}

#[test]
fn request_bodies_follow_the_body_selector() {
    let document = json_of(&test_pool());
    let paths = &document["paths"];
    let update = &paths["/v1/shelves/{shelf}/books/{book}"]["patch"]["requestBody"];
    assert_eq!(
        update["content"]["application/json"]["schema"],
        json!({"$ref": "#/components/schemas/gateway.test.Book"})
    );
    let archive = &paths["/v1/search/{int64_value}:archive"]["post"]["requestBody"];
    let properties = archive["content"]["application/json"]["schema"]["properties"]
        .as_object()
        .expect("an inline object");
    assert!(
        !properties.contains_key("int64Value"),
        "the path sets int64_value"
    );
    assert!(properties.contains_key("stringValue"));
    assert!(paths["/v1/books/{name}"]["get"].get("requestBody").is_none());
}

fn keys(value: &Value) -> Vec<&str> {
    value
        .as_object()
        .map(|object| object.keys().map(String::as_str).collect())
        .unwrap_or_default()
}

#[test]
fn responses_have_the_real_status_headers_and_errors() {
    let document = json_of(&test_pool());
    let book = json!({"$ref": "#/components/schemas/gateway.test.Book"});
    // (path, method, response codes, success headers, success body schema)
    let cases = [
        (
            "/v1/search/{int64_value}:archive",
            "post",
            vec!["202", "400", "404", "409", "default"],
            vec!["Location"],
            json!({"type": "object"}),
        ),
        (
            "/v1/shelves/{shelf}/books/{book}",
            "get",
            vec!["200", "400", "404", "default"],
            vec!["ETag"],
            book.clone(),
        ),
        (
            "/v1/shelves/{shelf}/books/{book}",
            "patch",
            vec!["200", "400", "404", "409", "default"],
            vec!["ETag"],
            book,
        ),
        (
            "/v1/search/{string_value}",
            "get",
            vec!["200", "400", "404", "default"],
            vec![],
            json!({"$ref": "#/components/schemas/gateway.test.Nested"}),
        ),
    ];
    let status = json!({"$ref": "#/components/schemas/google.rpc.Status"});
    for (path, method, codes, headers, body) in cases {
        let responses = &document["paths"][path][method]["responses"];
        assert_eq!(keys(responses), codes, "{method} {path}");
        let (success, errors) = codes.split_first().expect("a success code");
        assert_eq!(keys(&responses[success]["headers"]), headers, "{method} {path}");
        assert_eq!(
            responses[success]["content"]["application/json"]["schema"], body,
            "{method} {path}"
        );
        for code in errors {
            assert_eq!(
                responses[code]["content"]["application/json"]["schema"], status,
                "{method} {path} {code}"
            );
        }
    }
    let archived = &document["paths"]["/v1/search/{int64_value}:archive"]["post"]["responses"]["202"];
    assert!(
        archived["headers"]["Location"]["description"]
            .as_str()
            .expect("a description")
            .contains("`/v1/archives`"),
        "the Location template"
    );
    let status = &document["components"]["schemas"]["google.rpc.Status"]["properties"];
    assert_eq!(status["code"]["type"], "integer");
    assert_eq!(status["message"]["type"], "string");
    assert_eq!(
        status["details"]["items"]["properties"]["@type"]["type"],
        "string"
    );
}

#[test]
fn summaries_and_tags_come_from_the_proto() {
    let document = json_of(&test_pool());
    let cases = [
        (
            "/v1/shelves/{shelf}/books/{book}",
            "get",
            "Reads a book by its two-level name.",
        ),
        (
            "/v1/search/{int64_value}:archive",
            "post",
            "Takes the whole request as the body, with a custom verb.",
        ),
    ];
    for (path, method, summary) in cases {
        let operation = &document["paths"][path][method];
        assert_eq!(operation["summary"], summary, "{method} {path}");
        assert_eq!(
            operation["tags"],
            json!(["gateway.test.Library"]),
            "{method} {path}"
        );
    }
    assert_eq!(
        document["tags"],
        json!([{"name": "gateway.test.Library", "description": "Books on shelves and files in folders."}])
    );
}
