//! The SQLite schema of the user store: connection settings, the ordered
//! migration list (tracked with `PRAGMA user_version`) and the per-database
//! page-token key kept in the `meta` table.

use rusqlite::config::DbConfig;
use rusqlite::{Connection, OptionalExtension, params};

use crate::users::store::StoreError;

/// Applied in order; entry `i` moves the database to version `i + 1`.
/// Never edit an entry that has shipped: append a new one.
pub(super) const MIGRATIONS: &[&str] = &[
    // 1: users and the meta table.
    "CREATE TABLE users (
        id               TEXT PRIMARY KEY,
        name             TEXT NOT NULL,
        email            TEXT NOT NULL,
        email_key        TEXT NOT NULL UNIQUE,
        role             INTEGER NOT NULL,
        street           TEXT NOT NULL,
        city             TEXT NOT NULL,
        state            TEXT NOT NULL,
        country          TEXT NOT NULL,
        postal_code      TEXT NOT NULL,
        tags             TEXT NOT NULL,
        metadata         TEXT NOT NULL,
        created_at_nanos INTEGER NOT NULL,
        updated_at_nanos INTEGER NOT NULL
    );
    CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value BLOB NOT NULL
    );",
    // 2: a per-row revision (the etag's source, and the compare-and-swap
    // token of every write), and indexes for the listing orders and filters.
    "ALTER TABLE users ADD COLUMN revision INTEGER NOT NULL DEFAULT 1;
    CREATE INDEX users_by_name ON users (name, id);
    CREATE INDEX users_by_role ON users (role, id);
    CREATE INDEX users_by_created_at ON users (created_at_nanos, id);
    CREATE INDEX users_by_updated_at ON users (updated_at_nanos, id);
    CREATE INDEX users_by_city ON users (city, id);
    CREATE INDEX users_by_country ON users (country, id);",
];

const PAGE_TOKEN_KEY: &str = "page_token_key";
const BUSY_TIMEOUT_MS: u32 = 5_000;
const READER_CACHE_KIB: u32 = 512;
/// Prepared statements kept per connection (listings with different
/// filters and orders each have their own text).
const STATEMENT_CACHE_CAPACITY: usize = 64;

pub(super) fn internal(err: impl std::fmt::Display) -> StoreError {
    StoreError::Internal(err.to_string())
}

/// Settings every connection gets.
pub(super) fn configure(conn: &Connection) -> Result<(), StoreError> {
    conn.execute_batch(&format!(
        "PRAGMA busy_timeout = {BUSY_TIMEOUT_MS};
         PRAGMA foreign_keys = ON;
         PRAGMA synchronous = NORMAL;
         PRAGMA temp_store = MEMORY;"
    ))
    .map_err(internal)?;
    // Plans do not depend on bound values (this build has STAT4, which
    // would otherwise re-prepare `LIMIT ?` statements on every new value).
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)
        .map_err(internal)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE_CAPACITY);
    Ok(())
}

/// Settings of the read-only connections: point reads mostly hit the
/// store's read cache, so a small page cache each is enough.
pub(super) fn configure_reader(conn: &Connection) -> Result<(), StoreError> {
    conn.execute_batch(&format!(
        "PRAGMA query_only = ON;
         PRAGMA cache_size = -{READER_CACHE_KIB};"
    ))
    .map_err(internal)
}

/// Settings that belong to the database file; run on the writer first.
pub(super) fn enable_wal(conn: &Connection) -> Result<(), StoreError> {
    let mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
        .map_err(internal)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Internal(format!(
            "could not enable WAL journal mode (got {mode:?})"
        )));
    }
    Ok(())
}

/// Brings the schema up to date, in one transaction.
pub(super) fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let tx = conn.transaction().map_err(internal)?;
    let version: i64 = tx
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .map_err(internal)?;
    let known = MIGRATIONS.len() as i64;
    if version > known {
        return Err(StoreError::Internal(format!(
            "database schema version {version} is newer than this build ({known})"
        )));
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        tx.execute_batch(sql).map_err(internal)?;
        // PRAGMA takes no parameters; the value is our own integer.
        tx.execute_batch(&format!("PRAGMA user_version = {}", index + 1))
            .map_err(internal)?;
    }
    tx.commit().map_err(internal)
}

/// Returns the page-token key, creating it on first use.
pub(super) fn page_token_key(conn: &mut Connection) -> Result<[u8; 32], StoreError> {
    let tx = conn.transaction().map_err(internal)?;
    let mut fresh = [0u8; 32];
    getrandom::fill(&mut fresh).map_err(internal)?;
    tx.execute(
        "INSERT OR IGNORE INTO meta (key, value) VALUES (?1, ?2)",
        params![PAGE_TOKEN_KEY, &fresh[..]],
    )
    .map_err(internal)?;
    let stored: Option<Vec<u8>> = tx
        .query_row(
            "SELECT value FROM meta WHERE key = ?1",
            params![PAGE_TOKEN_KEY],
            |row| row.get(0),
        )
        .optional()
        .map_err(internal)?;
    tx.commit().map_err(internal)?;
    stored
        .and_then(|bytes| <[u8; 32]>::try_from(bytes.as_slice()).ok())
        .ok_or_else(|| StoreError::Internal("stored page token key is malformed".into()))
}
