//! [`SqliteStore`]: the SQLite implementation of [`Store`]. One writer
//! connection behind a mutex and a small pool of reader connections, WAL
//! journal; every database call runs on the blocking thread pool.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use rusqlite::{Connection, ErrorCode, OptionalExtension, params};

use super::rows::{COLUMNS, NewRow, UserRow};
use super::schema::{self, internal};
use super::store::{Store, StoreError};
use crate::proto::users::v1::User;

const READERS: usize = 4;

/// A user store in one SQLite database file.
#[derive(Clone)]
pub(crate) struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    writer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
    page_token_key: [u8; 32],
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path`, with its parent
    /// directory, and brings the schema up to date.
    pub(crate) fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(|err| StoreError::Internal(format!("creating {}: {err}", parent.display())))?;
        }
        let open = || -> Result<Connection, StoreError> {
            let conn = Connection::open(path)
                .map_err(|err| StoreError::Internal(format!("opening {}: {err}", path.display())))?;
            schema::configure(&conn)?;
            Ok(conn)
        };
        let mut writer = open()?;
        schema::enable_wal(&writer)?;
        schema::migrate(&mut writer)?;
        let page_token_key = schema::page_token_key(&mut writer)?;
        let readers = (0..READERS)
            .map(|_| {
                let conn = open()?;
                conn.execute_batch("PRAGMA query_only = ON").map_err(internal)?;
                Ok(Mutex::new(conn))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(SqliteStore {
            inner: Arc::new(Inner {
                writer: Mutex::new(writer),
                readers,
                next_reader: AtomicUsize::new(0),
                page_token_key,
            }),
        })
    }

    async fn write<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        blocking(move || work(&mut lock(&inner.writer))).await
    }

    async fn read<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        blocking(move || {
            let index = inner.next_reader.fetch_add(1, Ordering::Relaxed) % inner.readers.len();
            work(&lock(&inner.readers[index]))
        })
        .await
    }
}

fn lock(conn: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    // A panic while holding the lock leaves no half-done transaction behind
    // (rusqlite rolls back on drop), so the connection is still usable.
    conn.lock().unwrap_or_else(PoisonError::into_inner)
}

async fn blocking<T, F>(work: F) -> Result<T, StoreError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, StoreError> + Send + 'static,
{
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|err| StoreError::Internal(format!("database task failed: {err}")))?
}

#[tonic::async_trait]
impl Store for SqliteStore {
    fn page_token_key(&self) -> [u8; 32] {
        self.inner.page_token_key
    }

    async fn insert(&self, user: &User) -> Result<(), StoreError> {
        let user = user.clone();
        let row = NewRow::from_user(&user)?;
        self.write(move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "INSERT INTO users (id, name, email, email_key, role, street, city, \
                     state, country, postal_code, tags, metadata, created_at_nanos, \
                     updated_at_nanos) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
                )
                .map_err(internal)?;
            let address = &row.address;
            let result = stmt.execute(params![
                user.id,
                user.name,
                user.email,
                row.email_key,
                user.role,
                address.street,
                address.city,
                address.state,
                address.country,
                address.postal_code,
                row.tags,
                row.metadata,
                row.created_at_nanos,
                row.updated_at_nanos,
            ]);
            match result {
                Ok(_) => Ok(()),
                Err(err) if is_duplicate_email(&err) => Err(StoreError::DuplicateEmail),
                Err(err) => Err(internal(err)),
            }
        })
        .await
    }

    async fn get(&self, id: &str) -> Result<Option<User>, StoreError> {
        let id = id.to_owned();
        self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached(&format!("SELECT {COLUMNS} FROM users WHERE id = ?1"))
                .map_err(internal)?;
            let row = stmt
                .query_row(params![id], UserRow::read)
                .optional()
                .map_err(internal)?;
            row.map(UserRow::into_user).transpose()
        })
        .await
    }

    async fn delete(&self, id: &str) -> Result<bool, StoreError> {
        let id = id.to_owned();
        self.write(move |conn| {
            let mut stmt = conn
                .prepare_cached("DELETE FROM users WHERE id = ?1")
                .map_err(internal)?;
            Ok(stmt.execute(params![id]).map_err(internal)? > 0)
        })
        .await
    }

    async fn list_after(&self, after_id: Option<&str>, limit: usize) -> Result<Vec<User>, StoreError> {
        let after_id = after_id.unwrap_or("").to_owned();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.read(move |conn| {
            // Every id is non-empty, so "" selects from the first user.
            let mut stmt = conn
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM users WHERE id > ?1 ORDER BY id LIMIT ?2"
                ))
                .map_err(internal)?;
            let rows = stmt
                .query_map(params![after_id, limit], UserRow::read)
                .map_err(internal)?;
            rows.map(|row| row.map_err(internal)?.into_user()).collect()
        })
        .await
    }

    async fn close(&self) -> Result<(), StoreError> {
        self.write(|conn| {
            conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
                .map_err(internal)
        })
        .await
    }
}

fn is_duplicate_email(err: &rusqlite::Error) -> bool {
    matches!(
        err,
        rusqlite::Error::SqliteFailure(failure, Some(message))
            if failure.code == ErrorCode::ConstraintViolation
                && message.contains("users.email_key")
    )
}
