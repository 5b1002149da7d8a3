//! SQL for listings in the SQLite store: a [`Filter`] as a parameterized
//! `WHERE` condition, the `ORDER BY` of an [`OrderBy`], and the keyset
//! condition that resumes after a [`Cursor`]. User input only ever becomes
//! a `?` parameter, never SQL text.

use rusqlite::types::Value;

use super::rows::email_key;
use crate::users::filter::{Filter, TextField, TimeField};
use crate::users::listing::{Cursor, KeyValue, OrderBy, SortField};

/// A SQL fragment and its parameters, in order.
#[derive(Debug, Default, PartialEq)]
pub(super) struct Sql {
    pub(super) text: String,
    pub(super) params: Vec<Value>,
}

impl Sql {
    fn push(&mut self, text: &str) {
        self.text.push_str(text);
    }

    fn param(&mut self, value: impl Into<Value>) {
        self.text.push('?');
        self.params.push(value.into());
    }
}

fn text_column(field: TextField) -> &'static str {
    match field {
        TextField::Name => "name",
        TextField::Email => "email_key",
        TextField::Street => "street",
        TextField::City => "city",
        TextField::State => "state",
        TextField::Country => "country",
        TextField::PostalCode => "postal_code",
    }
}

fn time_column(field: TimeField) -> &'static str {
    match field {
        TimeField::CreatedAt => "created_at_nanos",
        TimeField::UpdatedAt => "updated_at_nanos",
    }
}

/// The column a sort field orders by.
pub(super) fn sort_column(field: SortField) -> &'static str {
    match field {
        SortField::Name => "name",
        SortField::Email => "email_key",
        SortField::Role => "role",
        SortField::CreatedAt => "created_at_nanos",
        SortField::UpdatedAt => "updated_at_nanos",
        SortField::Street => "street",
        SortField::City => "city",
        SortField::State => "state",
        SortField::Country => "country",
        SortField::PostalCode => "postal_code",
    }
}

/// Whether an index orders the rows by this field, then id (the schema's
/// `users_by_*` indexes and the unique email index), so a page in this
/// order is read without sorting.
pub(super) fn is_indexed(field: SortField) -> bool {
    match field {
        SortField::Name
        | SortField::Email
        | SortField::Role
        | SortField::CreatedAt
        | SortField::UpdatedAt
        | SortField::City
        | SortField::Country => true,
        SortField::Street | SortField::State | SortField::PostalCode => false,
    }
}

/// Emails are stored and compared lower-cased.
fn normalize(field: TextField, value: &str) -> String {
    match field {
        TextField::Email => email_key(value),
        _ => value.to_owned(),
    }
}

/// Escapes `%`, `_` and the escape character itself for `LIKE ... ESCAPE '\'`.
fn like_escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    for c in value.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Appends `filter` as a parenthesized SQL condition.
pub(super) fn filter_sql(filter: &Filter, sql: &mut Sql) {
    match filter {
        Filter::And(parts) | Filter::Or(parts) => {
            let join = if matches!(filter, Filter::And(_)) {
                " AND "
            } else {
                " OR "
            };
            sql.push("(");
            for (index, part) in parts.iter().enumerate() {
                if index > 0 {
                    sql.push(join);
                }
                filter_sql(part, sql);
            }
            sql.push(")");
        }
        Filter::Not(inner) => {
            sql.push("(NOT ");
            filter_sql(inner, sql);
            sql.push(")");
        }
        Filter::Text { field, op, value } => {
            sql.push(&format!("({} {} ", text_column(*field), op.sql()));
            sql.param(normalize(*field, value));
            sql.push(")");
        }
        Filter::Prefix {
            field,
            negated,
            prefix,
        } => {
            let not = if *negated { "NOT " } else { "" };
            sql.push(&format!("({} {not}LIKE ", text_column(*field)));
            sql.param(format!("{}%", like_escape(&normalize(*field, prefix))));
            sql.push(" ESCAPE '\\')");
        }
        Filter::Contains { field, part } => {
            sql.push(&format!("({} LIKE ", text_column(*field)));
            sql.param(format!("%{}%", like_escape(&normalize(*field, part))));
            sql.push(" ESCAPE '\\')");
        }
        Filter::HasTag(element) => {
            sql.push("EXISTS (SELECT 1 FROM json_each(users.tags) WHERE json_each.value = ");
            sql.param(element.clone());
            sql.push(")");
        }
        Filter::Role { negated, role } => {
            sql.push(if *negated { "(role != " } else { "(role = " });
            sql.param(i64::from(*role));
            sql.push(")");
        }
        Filter::Time { field, op, nanos } => {
            sql.push(&format!("({} {} ", time_column(*field), op.sql()));
            sql.param(*nanos);
            sql.push(")");
        }
    }
}

/// The `ORDER BY` list: the keys, then the id.
pub(super) fn order_sql(order_by: &OrderBy) -> String {
    let mut parts: Vec<String> = order_by
        .keys
        .iter()
        .map(|key| {
            let direction = if key.descending { "DESC" } else { "ASC" };
            format!("{} {direction}", sort_column(key.field))
        })
        .collect();
    parts.push("id ASC".into());
    parts.join(", ")
}

/// The selected sort-key columns, after the user columns (none for the
/// default order).
pub(super) fn sort_columns_sql(order_by: &OrderBy) -> String {
    order_by
        .keys
        .iter()
        .map(|key| format!(", {}", sort_column(key.field)))
        .collect()
}

/// Appends the condition "strictly after `cursor` in `order_by` order":
/// `(k1 > v1 OR (k1 = v1 AND (k2 < v2 OR (k2 = v2 AND id > vid))))`, with
/// `<` for descending keys. `None` when the cursor does not fit the order.
pub(super) fn after_sql(order_by: &OrderBy, cursor: &Cursor, sql: &mut Sql) -> Option<()> {
    if cursor.keys.len() != order_by.keys.len() {
        return None;
    }
    let mut closing = String::new();
    for (key, value) in order_by.keys.iter().zip(&cursor.keys) {
        let column = sort_column(key.field);
        let op = if key.descending { "<" } else { ">" };
        let value = match value {
            KeyValue::Int(n) => Value::Integer(*n),
            KeyValue::Text(text) => Value::Text(text.clone()),
        };
        sql.push(&format!("({column} {op} "));
        sql.param(value.clone());
        sql.push(&format!(" OR ({column} = "));
        sql.param(value);
        sql.push(" AND ");
        closing.push_str("))");
    }
    sql.push("id > ");
    sql.param(cursor.id.clone());
    sql.push(&closing);
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::users::filter::parse;
    use crate::users::listing::SortKey;

    fn compile(filter: &str) -> (String, Vec<Value>) {
        let mut sql = Sql::default();
        filter_sql(&parse(filter).unwrap().unwrap(), &mut sql);
        (sql.text, sql.params)
    }

    fn text(value: &str) -> Value {
        Value::Text(value.into())
    }

    #[test]
    fn compiles_filters_to_parameterized_sql() {
        let tags = "EXISTS (SELECT 1 FROM json_each(users.tags) WHERE json_each.value = ?)";
        let cases: Vec<(&str, String, Vec<Value>)> = vec![
            ("name = \"Ada\"", "(name = ?)".into(), vec![text("Ada")]),
            (
                "name = \"x' OR 1=1 --\"",
                "(name = ?)".into(),
                vec![text("x' OR 1=1 --")],
            ),
            (
                "email = \"Ada@X.org\"",
                "(email_key = ?)".into(),
                vec![text("ada@x.org")],
            ),
            (
                "name = \"50%_off\\\\*\"",
                "(name LIKE ? ESCAPE '\\')".into(),
                vec![text("50\\%\\_off\\\\%")],
            ),
            (
                "name != Ada*",
                "(name NOT LIKE ? ESCAPE '\\')".into(),
                vec![text("Ada%")],
            ),
            (
                "name:ada",
                "(name LIKE ? ESCAPE '\\')".into(),
                vec![text("%ada%")],
            ),
            ("tags:vip", tags.into(), vec![text("vip")]),
            (
                "role = USER_ROLE_EDITOR",
                "(role = ?)".into(),
                vec![Value::Integer(2)],
            ),
            (
                "created_at >= \"1970-01-01T00:00:02Z\"",
                "(created_at_nanos >= ?)".into(),
                vec![Value::Integer(2_000_000_000)],
            ),
            (
                "address.city = Oslo AND (tags:a OR NOT role = USER_ROLE_ADMIN)",
                format!("((city = ?) AND ({tags} OR (NOT (role = ?))))"),
                vec![text("Oslo"), text("a"), Value::Integer(1)],
            ),
        ];
        for (filter, sql, params) in cases {
            assert_eq!(compile(filter), (sql, params), "{filter:?}");
        }
    }

    #[test]
    fn keyset_conditions_follow_each_direction() {
        let order_by = OrderBy {
            keys: vec![
                SortKey {
                    field: SortField::Name,
                    descending: true,
                },
                SortKey {
                    field: SortField::CreatedAt,
                    descending: false,
                },
            ],
        };
        let cursor = Cursor {
            keys: vec![KeyValue::Text("Ada".into()), KeyValue::Int(7)],
            id: "id-1".into(),
        };
        let mut sql = Sql::default();
        after_sql(&order_by, &cursor, &mut sql).unwrap();
        assert_eq!(
            sql.text,
            "(name < ? OR (name = ? AND (created_at_nanos > ? OR (created_at_nanos = ? AND id > ?))))"
        );
        assert_eq!(
            sql.params,
            vec![
                text("Ada"),
                text("Ada"),
                Value::Integer(7),
                Value::Integer(7),
                text("id-1")
            ]
        );
        assert_eq!(order_sql(&order_by), "name DESC, created_at_nanos ASC, id ASC");
        assert_eq!(sort_columns_sql(&order_by), ", name, created_at_nanos");

        let mut plain = Sql::default();
        after_sql(
            &OrderBy::default(),
            &Cursor {
                keys: vec![],
                id: "x".into(),
            },
            &mut plain,
        )
        .unwrap();
        assert_eq!((plain.text.as_str(), plain.params), ("id > ?", vec![text("x")]));
        assert!(
            after_sql(
                &order_by,
                &Cursor {
                    keys: vec![],
                    id: "x".into()
                },
                &mut Sql::default()
            )
            .is_none()
        );
    }
}
