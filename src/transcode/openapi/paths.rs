//! A binding's path template → an OpenAPI path and its path parameters.
//!
//! An OpenAPI path parameter cannot contain `/`, and clients percent-encode
//! one that does (`%2F`), which the engine's router then treats as part of a
//! single segment. So a variable over several segments is *expanded*: its
//! literals stay literals and each wildcard becomes a parameter of its own,
//! named after the literal before it (singular), so every parameter is one
//! segment that any client, Swagger UI included, can fill in:
//!
//! ```text
//! /v1/{name=shelves/*/books/*}:publish  →  /v1/shelves/{shelf}/books/{book}:publish
//! /v1/{user.id}                         →  /v1/{user.id}
//! /v1/{path=files/**}                   →  /v1/files/{file}   (the rest of the path; may hold `/`)
//! ```
//!
//! The gateway joins the segments back into the field (`name =
//! shelves/1/books/2`); each parameter's description says so.

use prost_reflect::FieldDescriptor;

use crate::transcode::binding::Binding;
use crate::transcode::routing::Segment;

/// One path parameter of an OpenAPI path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PathParameter {
    pub(crate) name: String,
    /// The field the parameter sets on its own, for a one-segment variable.
    pub(crate) field: Option<FieldDescriptor>,
    /// What the parameter is, for the description.
    pub(crate) role: ParameterRole,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ParameterRole {
    /// The whole value of a field (`{id}`).
    Field,
    /// One segment of a multi-segment variable: (field path, the field's
    /// template with parameters, e.g. `shelves/{shelf}/books/{book}`).
    Segment { field_path: String, assembled: String },
    /// The rest of the path, for `**`: may contain `/`.
    Rest {
        field_path: Option<String>,
        assembled: String,
    },
    /// A `*` outside any variable: any one segment, bound to nothing.
    Unbound,
}

/// The OpenAPI path of `binding` and its parameters, in path order.
pub(crate) fn openapi_path(binding: &Binding) -> (String, Vec<PathParameter>) {
    let mut path = String::new();
    let mut parameters: Vec<PathParameter> = Vec::new();
    let mut previous_literal: Option<String> = None;
    for segment in &binding.template.segments {
        path.push('/');
        match segment {
            Segment::Literal(text) => {
                path.push_str(text);
                previous_literal = Some(text.clone());
            }
            Segment::Single | Segment::Multi => {
                let name = unique(&parameters, &format!("segment{}", parameters.len() + 1));
                let role = if *segment == Segment::Multi {
                    ParameterRole::Rest {
                        field_path: None,
                        assembled: "**".to_owned(),
                    }
                } else {
                    ParameterRole::Unbound
                };
                push_parameter(&mut path, &mut parameters, name, None, role);
                previous_literal = None;
            }
            Segment::Variable { field_path, segments } => {
                let dotted = field_path.join(".");
                if segments.as_slice() == [Segment::Single] {
                    let field = binding
                        .path_variables
                        .iter()
                        .find(|variable| variable.span.field_path == *field_path)
                        .and_then(|variable| variable.field.0.last().cloned());
                    push_parameter(&mut path, &mut parameters, dotted, field, ParameterRole::Field);
                    previous_literal = None;
                    continue;
                }
                let (names, assembled) = expand(segments, &dotted, previous_literal.as_deref(), &parameters);
                let mut names = names.into_iter();
                for (index, inner) in segments.iter().enumerate() {
                    if index > 0 {
                        path.push('/');
                    }
                    match inner {
                        Segment::Literal(text) => path.push_str(text),
                        Segment::Single | Segment::Multi => {
                            let name = names.next().expect("one name per wildcard");
                            let role = if *inner == Segment::Multi {
                                ParameterRole::Rest {
                                    field_path: Some(dotted.clone()),
                                    assembled: assembled.clone(),
                                }
                            } else {
                                ParameterRole::Segment {
                                    field_path: dotted.clone(),
                                    assembled: assembled.clone(),
                                }
                            };
                            push_parameter(&mut path, &mut parameters, name, None, role);
                        }
                        Segment::Variable { .. } => unreachable!("the grammar does not nest variables"),
                    }
                }
                previous_literal = None;
            }
        }
    }
    if let Some(verb) = &binding.template.verb {
        path.push(':');
        path.push_str(verb);
    }
    (path, parameters)
}

fn push_parameter(
    path: &mut String,
    parameters: &mut Vec<PathParameter>,
    name: String,
    field: Option<FieldDescriptor>,
    role: ParameterRole,
) {
    path.push('{');
    path.push_str(&name);
    path.push('}');
    parameters.push(PathParameter { name, field, role });
}

/// The parameter names of a multi-segment variable's wildcards, and the
/// variable's template with them, e.g. `shelves/{shelf}/books/{book}`.
fn expand(
    segments: &[Segment],
    field_path: &str,
    literal_before: Option<&str>,
    existing: &[PathParameter],
) -> (Vec<String>, String) {
    let mut names: Vec<String> = Vec::new();
    let mut assembled: Vec<String> = Vec::new();
    let mut previous = literal_before.map(str::to_owned);
    for segment in segments {
        match segment {
            Segment::Literal(text) => {
                assembled.push(text.clone());
                previous = Some(text.clone());
            }
            Segment::Single | Segment::Multi => {
                let base = previous
                    .as_deref()
                    .and_then(singular)
                    .unwrap_or_else(|| format!("{}_segment", field_path.replace('.', "_")));
                let taken: Vec<PathParameter> = existing
                    .iter()
                    .cloned()
                    .chain(names.iter().map(|name| PathParameter {
                        name: name.clone(),
                        field: None,
                        role: ParameterRole::Unbound,
                    }))
                    .collect();
                let name = unique(&taken, &base);
                assembled.push(format!("{{{name}}}"));
                names.push(name);
                previous = None;
            }
            Segment::Variable { .. } => unreachable!("the grammar does not nest variables"),
        }
    }
    (names, assembled.join("/"))
}

/// `base`, or `base2`, `base3`… if a parameter already has that name.
fn unique(parameters: &[PathParameter], base: &str) -> String {
    let taken = |name: &str| parameters.iter().any(|parameter| parameter.name == name);
    if !taken(base) {
        return base.to_owned();
    }
    (2..)
        .map(|suffix| format!("{base}{suffix}"))
        .find(|name| !taken(name))
        .expect("some suffix is free")
}

/// A collection's name in the singular (`shelves` → `shelf`, `books` →
/// `book`, `categories` → `category`), or `None` when it is not a plain
/// identifier.
fn singular(collection: &str) -> Option<String> {
    if collection.is_empty() || !collection.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return None;
    }
    let rules: [(&str, &str); 6] = [
        ("ies", "y"),
        ("ves", "f"),
        ("sses", "ss"),
        ("xes", "x"),
        ("ches", "ch"),
        ("shes", "sh"),
    ];
    for (suffix, replacement) in rules {
        if let Some(stem) = collection.strip_suffix(suffix)
            && !stem.is_empty()
        {
            return Some(format!("{stem}{replacement}"));
        }
    }
    match collection.strip_suffix('s') {
        Some(stem) if !stem.is_empty() && !stem.ends_with('s') => Some(stem.to_owned()),
        _ => Some(format!("{collection}_id")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transcode::binding::read_bindings;
    use crate::transcode::test_pool;

    #[test]
    fn collections_are_made_singular() {
        let cases = [
            ("shelves", "shelf"),
            ("books", "book"),
            ("users", "user"),
            ("categories", "category"),
            ("addresses", "address"),
            ("boxes", "box"),
            ("batches", "batch"),
            ("files", "file"),
            ("data", "data_id"),
            ("class", "class_id"),
        ];
        for (collection, expected) in cases {
            assert_eq!(singular(collection).as_deref(), Some(expected), "{collection}");
        }
        assert_eq!(singular("v1.2"), None);
    }

    #[test]
    fn templates_become_openapi_paths() {
        let bindings = read_bindings(&test_pool()).expect("the test bindings read");
        let mut paths: Vec<(String, Vec<String>)> = bindings
            .iter()
            .map(|binding| {
                let (path, parameters) = openapi_path(binding);
                (
                    path,
                    parameters.into_iter().map(|parameter| parameter.name).collect(),
                )
            })
            .collect();
        paths.sort();
        let expected: Vec<(&str, Vec<&str>)> = vec![
            ("/v1/books/{name}", vec!["name"]),
            ("/v1/files/{file}", vec!["file"]),
            ("/v1/search/{int64_value}:archive", vec!["int64_value"]),
            ("/v1/search/{string_value}", vec!["string_value"]),
            ("/v1/shelves/{shelf}/books/{book}", vec!["shelf", "book"]),
            ("/v1/shelves/{shelf}/books/{book}", vec!["shelf", "book"]),
        ];
        let actual: Vec<(&str, Vec<&str>)> = paths
            .iter()
            .map(|(path, names)| (path.as_str(), names.iter().map(String::as_str).collect()))
            .collect();
        assert_eq!(actual, expected);
    }

    #[test]
    fn multi_segment_parameters_say_how_they_are_assembled() {
        let bindings = read_bindings(&test_pool()).expect("the test bindings read");
        let update = bindings
            .iter()
            .find(|binding| binding.method.name() == "UpdateBook")
            .expect("UpdateBook");
        let (_, parameters) = openapi_path(update);
        assert_eq!(
            parameters[0].role,
            ParameterRole::Segment {
                field_path: "book.name".to_owned(),
                assembled: "shelves/{shelf}/books/{book}".to_owned(),
            }
        );
        let file = bindings
            .iter()
            .find(|binding| binding.method.name() == "GetFile")
            .expect("GetFile");
        let (_, parameters) = openapi_path(file);
        assert_eq!(
            parameters[0].role,
            ParameterRole::Rest {
                field_path: Some("path".to_owned()),
                assembled: "files/{file}".to_owned(),
            }
        );
    }
}
