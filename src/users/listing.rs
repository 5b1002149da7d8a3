//! What a `ListUsers` call asks the store for: the parsed `order_by`
//! ([`OrderBy`]), the keyset cursor a page resumes after ([`Cursor`]) and
//! the whole query ([`ListQuery`]). Backend-neutral: the SQLite store turns
//! it into SQL in `filter_sql`.

use super::field_names::snake_case_path;
use super::filter::Filter;

/// A field `order_by` may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SortField {
    Name,
    /// Ordered case-insensitively (by the lower-cased email).
    Email,
    Role,
    CreatedAt,
    UpdatedAt,
    Street,
    City,
    State,
    Country,
    PostalCode,
}

impl SortField {
    const ALL: [(&'static str, SortField); 10] = [
        ("name", SortField::Name),
        ("email", SortField::Email),
        ("role", SortField::Role),
        ("created_at", SortField::CreatedAt),
        ("updated_at", SortField::UpdatedAt),
        ("address.street", SortField::Street),
        ("address.city", SortField::City),
        ("address.state", SortField::State),
        ("address.country", SortField::Country),
        ("address.postal_code", SortField::PostalCode),
    ];

    /// The field named `path` (proto or JSON names per segment).
    fn from_path(path: &str) -> Option<SortField> {
        let path = snake_case_path(path);
        Self::ALL
            .iter()
            .find(|(name, _)| *name == path)
            .map(|(_, field)| *field)
    }

    fn names() -> String {
        Self::ALL.map(|(name, _)| name).join(", ")
    }
}

/// One `order_by` key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SortKey {
    pub(crate) field: SortField,
    pub(crate) descending: bool,
}

/// A parsed `order_by`: the keys in order; the id (creation order,
/// ascending) always follows as the final tiebreaker.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct OrderBy {
    pub(crate) keys: Vec<SortKey>,
}

impl OrderBy {
    /// Parses `field [asc|desc], ...`; empty means creation order.
    pub(crate) fn parse(text: &str) -> Result<OrderBy, String> {
        let mut keys: Vec<SortKey> = Vec::new();
        if text.trim().is_empty() {
            return Ok(OrderBy { keys });
        }
        for (index, item) in text.split(',').enumerate() {
            let words: Vec<&str> = item.split_whitespace().collect();
            let (path, descending) = match words.as_slice() {
                [path] => (*path, false),
                [path, direction] if direction.eq_ignore_ascii_case("asc") => (*path, false),
                [path, direction] if direction.eq_ignore_ascii_case("desc") => (*path, true),
                [] => return Err(format!("item {} is empty", index + 1)),
                [path, other, ..] => {
                    return Err(format!(
                        "after {path:?} expected `asc`, `desc`, `,` or the end, found {other:?}"
                    ));
                }
            };
            let field = SortField::from_path(path).ok_or_else(|| {
                format!(
                    "cannot order by {path:?} (expected one of {})",
                    SortField::names()
                )
            })?;
            if keys.iter().any(|key| key.field == field) {
                return Err(format!("{path:?} is named more than once"));
            }
            keys.push(SortKey { field, descending });
        }
        Ok(OrderBy { keys })
    }
}

/// One sort-key value of a row, as the cursor keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum KeyValue {
    Int(i64),
    Text(String),
}

/// Where a page ends: the sort-key values of its last row, then its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Cursor {
    pub(crate) keys: Vec<KeyValue>,
    pub(crate) id: String,
}

/// One page's worth of a listing.
#[derive(Debug, Clone, Default)]
pub(crate) struct ListQuery {
    pub(crate) filter: Option<Filter>,
    pub(crate) order_by: OrderBy,
    /// Resume strictly after this row (in `order_by` order).
    pub(crate) after: Option<Cursor>,
    pub(crate) limit: usize,
    /// The encoded bytes of the page's users: the store stops reading after
    /// the first user that passes it (so the caller sees there is more).
    pub(crate) max_bytes: Option<usize>,
    /// Whether to count every matching user (`ListedPage::total_size`);
    /// a stream walking page after page does not need it.
    pub(crate) count_total: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(field: SortField, descending: bool) -> SortKey {
        SortKey { field, descending }
    }

    #[test]
    fn parses_order_by() {
        use SortField::*;
        let cases: Vec<(&str, Result<Vec<SortKey>, &str>)> = vec![
            ("", Ok(vec![])),
            ("   ", Ok(vec![])),
            ("name", Ok(vec![key(Name, false)])),
            ("name desc", Ok(vec![key(Name, true)])),
            (
                "name desc, created_at",
                Ok(vec![key(Name, true), key(CreatedAt, false)]),
            ),
            (
                " role  ASC ,updatedAt DESC ",
                Ok(vec![key(Role, false), key(UpdatedAt, true)]),
            ),
            (
                "address.postalCode, email desc",
                Ok(vec![key(PostalCode, false), key(Email, true)]),
            ),
            ("address.city", Ok(vec![key(City, false)])),
            ("nickname", Err("cannot order by \"nickname\"")),
            ("id", Err("cannot order by \"id\"")),
            ("tags", Err("cannot order by \"tags\"")),
            ("name up", Err("expected `asc`, `desc`")),
            ("name desc desc", Err("expected `asc`, `desc`")),
            ("name,", Err("item 2 is empty")),
            (",name", Err("item 1 is empty")),
            ("name, name desc", Err("named more than once")),
        ];
        for (text, expected) in cases {
            match (OrderBy::parse(text), expected) {
                (Ok(got), Ok(keys)) => assert_eq!(got.keys, keys, "{text:?}"),
                (Err(got), Err(words)) => assert!(got.contains(words), "{text:?}: {got}"),
                (got, expected) => panic!("{text:?}: got {got:?}, expected {expected:?}"),
            }
        }
    }
}
