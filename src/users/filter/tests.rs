//! Tests of `filter`, table-driven.

use super::ast::*;
use super::*;

fn name(op: CompareOp, value: &str) -> Filter {
    Filter::Text {
        field: TextField::Name,
        op,
        value: value.into(),
    }
}

fn city(value: &str) -> Filter {
    Filter::Text {
        field: TextField::City,
        op: CompareOp::Eq,
        value: value.into(),
    }
}

fn tag(value: &str) -> Filter {
    Filter::HasTag(value.into())
}

#[test]
fn parses_valid_filters() {
    use CompareOp::*;
    let admin = Filter::Role {
        negated: false,
        role: 1,
    };
    let cases: Vec<(&str, Option<Filter>)> = vec![
        ("", None),
        ("   ", None),
        ("name = \"Ada\"", Some(name(Eq, "Ada"))),
        ("name=Ada", Some(name(Eq, "Ada"))),
        ("name = 'Ada'", Some(name(Eq, "Ada"))),
        ("name != \"Ada\"", Some(name(Ne, "Ada"))),
        ("name < b", Some(name(Lt, "b"))),
        ("name <= b", Some(name(Le, "b"))),
        ("name > b", Some(name(Gt, "b"))),
        ("name >= b", Some(name(Ge, "b"))),
        (r#"name = "say \"hi\"""#, Some(name(Eq, "say \"hi\""))),
        (r"name = 'it\'s'", Some(name(Eq, "it's"))),
        (r#"name = "back\\slash""#, Some(name(Eq, "back\\slash"))),
        ("name = \"x' OR 1=1 --\"", Some(name(Eq, "x' OR 1=1 --"))),
        (
            "name = \"Ada*\"",
            Some(Filter::Prefix {
                field: TextField::Name,
                negated: false,
                prefix: "Ada".into(),
            }),
        ),
        (
            "name != Ada*",
            Some(Filter::Prefix {
                field: TextField::Name,
                negated: true,
                prefix: "Ada".into(),
            }),
        ),
        (r#"name = "Ada\*""#, Some(name(Eq, "Ada*"))),
        (
            "name:ada",
            Some(Filter::Contains {
                field: TextField::Name,
                part: "ada".into(),
            }),
        ),
        (
            "email = \"A@B.co\"",
            Some(Filter::Text {
                field: TextField::Email,
                op: Eq,
                value: "A@B.co".into(),
            }),
        ),
        ("tags:\"vip\"", Some(tag("vip"))),
        ("role = USER_ROLE_ADMIN", Some(admin.clone())),
        (
            "role != USER_ROLE_VIEWER",
            Some(Filter::Role {
                negated: true,
                role: 3,
            }),
        ),
        ("address.city = Oslo", Some(city("Oslo"))),
        (
            "address.postalCode = \"0150\"",
            Some(Filter::Text {
                field: TextField::PostalCode,
                op: Eq,
                value: "0150".into(),
            }),
        ),
        (
            "createdAt > \"2024-01-01T00:00:00Z\"",
            Some(Filter::Time {
                field: TimeField::CreatedAt,
                op: Gt,
                nanos: 1_704_067_200_000_000_000,
            }),
        ),
        (
            "updated_at <= '1970-01-01T00:00:01.5Z'",
            Some(Filter::Time {
                field: TimeField::UpdatedAt,
                op: Le,
                nanos: 1_500_000_000,
            }),
        ),
        // OR binds tighter than AND (AIP-160).
        (
            "name = a AND name = b OR name = c",
            Some(Filter::And(vec![
                name(Eq, "a"),
                Filter::Or(vec![name(Eq, "b"), name(Eq, "c")]),
            ])),
        ),
        (
            "name = a OR name = b AND name = c",
            Some(Filter::And(vec![
                Filter::Or(vec![name(Eq, "a"), name(Eq, "b")]),
                name(Eq, "c"),
            ])),
        ),
        (
            "(name = a AND name = b) OR name = c",
            Some(Filter::Or(vec![
                Filter::And(vec![name(Eq, "a"), name(Eq, "b")]),
                name(Eq, "c"),
            ])),
        ),
        (
            "role = USER_ROLE_ADMIN AND (address.city = \"Oslo\" OR tags:\"vip\")",
            Some(Filter::And(vec![
                admin.clone(),
                Filter::Or(vec![city("Oslo"), tag("vip")]),
            ])),
        ),
        // Juxtaposition is an implicit AND.
        ("tags:a tags:b", Some(Filter::And(vec![tag("a"), tag("b")]))),
        ("NOT tags:a", Some(Filter::Not(Box::new(tag("a"))))),
        ("-tags:a", Some(Filter::Not(Box::new(tag("a"))))),
        (
            "NOT (tags:a OR tags:b)",
            Some(Filter::Not(Box::new(Filter::Or(vec![tag("a"), tag("b")])))),
        ),
        ("name = -5", Some(name(Eq, "-5"))),
        ("((tags:a))", Some(tag("a"))),
    ];
    for (text, expected) in cases {
        assert_eq!(parse(text), Ok(expected), "{text:?}");
    }
}

#[test]
fn rejects_malformed_filters_saying_where() {
    let cases: &[(&str, usize, &str)] = &[
        ("name", 5, "expected a comparison"),
        ("name =", 7, "expected a value after `=`"),
        ("name = a AND", 13, "expected a field name or `(`"),
        ("name = a OR", 12, "expected a field name or `(`"),
        ("AND name = a", 1, "expected a field name or `(`"),
        ("(name = a", 10, "expected `)` to close the `(` at position 1"),
        ("name = a)", 9, "unexpected `)`"),
        ("()", 2, "expected a field name or `(`"),
        ("name = \"Ada", 8, "no closing \""),
        ("name = 'Ada", 8, "no closing '"),
        ("name ! a", 6, "expected `=` after `!`"),
        ("nickname = a", 1, "unknown field \"nickname\""),
        ("address.zip = a", 1, "unknown field \"address.zip\""),
        ("id = a", 1, "unknown field \"id\""),
        ("\"name\" = a", 1, "expected a field name"),
        ("name = = a", 8, "expected a value after `=`"),
        ("tags = vip", 6, "`tags` is a list"),
        ("role = ADMIN", 8, "is not a role"),
        ("role > USER_ROLE_ADMIN", 6, "only be compared with `=` or `!=`"),
        ("created_at > yesterday", 14, "not an RFC 3339 timestamp"),
        ("created_at:2024", 11, "is a timestamp"),
        ("name > Ada*", 8, "only works with `=` and `!=`"),
        ("name = a b", 10, "unknown field \"b\""),
        ("name = a name", 14, "expected a comparison"),
        ("name = a OR OR name = b", 13, "expected a field name or `(`"),
        ("name = \"a\\", 10, "expected a character after `\\`"),
    ];
    for (text, position, words) in cases {
        let err = parse(text).expect_err(text);
        assert_eq!(err.position, *position, "{text:?}: {err}");
        assert!(err.message.contains(words), "{text:?}: {err}");
        assert!(
            err.to_string()
                .starts_with(&format!("invalid filter at position {position}: "))
        );
    }
}

#[test]
fn limits_depth_and_length() {
    let deep = format!("{}tags:a{}", "(".repeat(40), ")".repeat(40));
    assert!(parse(&deep).unwrap_err().message.contains("deeper"));
    let nots = format!("{}tags:a", "NOT ".repeat(40));
    assert!(parse(&nots).unwrap_err().message.contains("deeper"));
    let long = format!("name = \"{}\"", "a".repeat(5000));
    assert!(parse(&long).unwrap_err().message.contains("longer"));
}
