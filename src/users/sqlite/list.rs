//! Listings on the SQLite store: one parameterized `SELECT` per page (the
//! filter compiled by `filter_sql`, keyset resumption after the cursor),
//! with `total_size` kept in memory, counted in the same snapshot, or
//! skipped. Short pages in index order run on the calling thread like point
//! reads; the rest on the blocking pool.

use std::sync::atomic::Ordering;

use prost::Message as _;
use rusqlite::types::Value;
use rusqlite::{Connection, params_from_iter};

use super::SqliteStore;
use super::filter_sql::{Sql, after_sql, filter_sql, is_indexed, order_sql, sort_columns_sql};
use super::rows::{COLUMN_COUNT, COLUMNS, UserRow};
use super::schema::internal;
use crate::proto::users::v1::User;
use crate::users::listing::{Cursor, KeyValue, ListQuery};
use crate::users::store::{ListedPage, StoreError};

/// The largest page a bounded listing (see [`is_bounded`]) reads on the
/// calling thread.
const INLINE_PAGE_ROWS: usize = 128;

impl SqliteStore {
    /// One page of a listing, with its total when asked.
    pub(super) async fn list_page(&self, query: ListQuery) -> Result<ListedPage, StoreError> {
        let limit = i64::try_from(query.limit).unwrap_or(i64::MAX);
        let mut condition = Sql::default();
        if let Some(filter) = &query.filter {
            filter_sql(filter, &mut condition);
        } else {
            condition.text.push('1');
        }
        // Without a filter the count is the one kept in memory.
        let total = match (&query.filter, query.count_total) {
            (_, false) => Total::Skipped,
            (None, true) => Total::Kept(self.inner.user_count.load(Ordering::Relaxed)),
            (Some(_), true) => Total::Counted {
                sql: format!("SELECT COUNT(*) FROM users WHERE {}", condition.text),
                params: condition.params.clone(),
            },
        };
        if let Some(cursor) = &query.after {
            condition.text.push_str(" AND ");
            after_sql(&query.order_by, cursor, &mut condition)
                .ok_or_else(|| StoreError::Internal("the page cursor does not fit the order".into()))?;
        }
        let page_sql = format!(
            "SELECT {COLUMNS}{} FROM users WHERE {} ORDER BY {} LIMIT ?",
            sort_columns_sql(&query.order_by),
            condition.text,
            order_sql(&query.order_by),
        );
        let mut page_params = condition.params;
        page_params.push(Value::Integer(limit));
        let key_count = query.order_by.keys.len();
        let bounded = is_bounded(&query);
        let max_bytes = query.max_bytes;
        let read_page = move |conn: &Connection| {
            // One read transaction when counting too: the page and the
            // count see one snapshot.
            let snapshot = match &total {
                Total::Counted { .. } => Some(conn.unchecked_transaction().map_err(internal)?),
                Total::Kept(_) | Total::Skipped => None,
            };
            let mut stmt = conn.prepare_cached(&page_sql).map_err(internal)?;
            let rows = stmt
                .query_map(params_from_iter(page_params), |row| {
                    let user = UserRow::read(row)?;
                    let keys = (0..key_count)
                        .map(|index| match row.get::<_, Value>(COLUMN_COUNT + index)? {
                            Value::Integer(n) => Ok(KeyValue::Int(n)),
                            Value::Text(text) => Ok(KeyValue::Text(text)),
                            other => Err(rusqlite::Error::InvalidColumnType(
                                COLUMN_COUNT + index,
                                format!("sort key {other:?}"),
                                other.data_type(),
                            )),
                        })
                        .collect::<rusqlite::Result<Vec<_>>>()?;
                    Ok((user, keys))
                })
                .map_err(internal)?;
            let mut page = PageRows::new(max_bytes);
            for row in rows {
                let (user, keys) = row.map_err(internal)?;
                let user = user.into_user()?;
                let cursor = Cursor {
                    keys,
                    id: user.id.clone(),
                };
                if page.push(user, cursor) == Full::Yes {
                    break;
                }
            }
            let rows = page.rows;
            drop(stmt);
            let total_size = match total {
                Total::Counted { sql, params } => conn
                    .prepare_cached(&sql)
                    .and_then(|mut stmt| stmt.query_row(params_from_iter(params), |row| row.get(0)))
                    .map_err(internal)?,
                Total::Kept(count) => count,
                Total::Skipped => 0,
            };
            if let Some(snapshot) = snapshot {
                snapshot.commit().map_err(internal)?;
            }
            Ok(ListedPage { rows, total_size })
        };
        if bounded {
            self.read_point(read_page).await
        } else {
            self.read(read_page).await
        }
    }
}

/// The rows of a page read so far, and their encoded bytes.
struct PageRows {
    rows: Vec<(User, Cursor)>,
    bytes: usize,
    max_bytes: Option<usize>,
}

/// Whether a page has passed its bytes: read no more rows.
#[derive(Debug, PartialEq, Eq)]
enum Full {
    Yes,
    No,
}

impl PageRows {
    fn new(max_bytes: Option<usize>) -> Self {
        PageRows {
            rows: Vec::new(),
            bytes: 0,
            max_bytes,
        }
    }

    /// Adds a row; full once past the bytes with at least two rows (a
    /// page always has a first user, and the caller must see what follows).
    fn push(&mut self, user: User, cursor: Cursor) -> Full {
        self.bytes = self.bytes.saturating_add(user.encoded_len());
        self.rows.push((user, cursor));
        match self.max_bytes {
            Some(max_bytes) if self.bytes > max_bytes && self.rows.len() >= 2 => Full::Yes,
            _ => Full::No,
        }
    }
}

/// Where a listing's `total_size` comes from.
enum Total {
    /// Not asked for.
    Skipped,
    /// The user count kept in memory (no filter).
    Kept(i64),
    /// Counted in SQL, in the page's read transaction.
    Counted { sql: String, params: Vec<Value> },
}

/// Whether a listing is a short read in index order: no filter, at most
/// one sort key and an index for it, at most [`INLINE_PAGE_ROWS`] rows.
/// Its cost is bounded like a point read's, so it runs on the calling
/// thread too (sorting or filtering a whole table goes to the blocking pool).
fn is_bounded(query: &ListQuery) -> bool {
    let in_index_order = match query.order_by.keys.as_slice() {
        [] => true,
        [key] => is_indexed(key.field),
        _ => false,
    };
    query.filter.is_none() && in_index_order && query.limit <= INLINE_PAGE_ROWS
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::users::filter;
    use crate::users::listing::OrderBy;

    #[test]
    fn only_unfiltered_pages_in_index_order_are_bounded() {
        let cases = [
            ("", "", 51, true),
            ("", "created_at desc", 51, true),
            ("", "name", 101, true),
            ("", "address.city", 51, true),
            ("", "address.street", 51, false),
            ("", "name, role", 51, false),
            ("", "", 1001, false),
            ("name = \"Ada\"", "", 51, false),
        ];
        for (filter_text, order_by, limit, bounded) in cases {
            let query = ListQuery {
                filter: filter::parse(filter_text).unwrap(),
                order_by: OrderBy::parse(order_by).unwrap(),
                after: None,
                limit,
                max_bytes: None,
                count_total: true,
            };
            assert_eq!(
                is_bounded(&query),
                bounded,
                "{filter_text:?} {order_by:?} {limit}"
            );
        }
    }
}
