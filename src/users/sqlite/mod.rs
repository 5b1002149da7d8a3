//! [`SqliteStore`]: the SQLite implementation of [`Store`]. One writer
//! thread with group commit (`writer.rs`), a small pool of reader
//! connections, WAL journal. Point reads are answered from a write-coherent
//! read cache (`cache.rs`) or run on the calling thread, as do short pages
//! in index order; other listings run on the blocking pool. The unfiltered
//! user count is kept in memory. Each operation runs in a `debug` span of
//! its own (`traced.rs`), for trace export.

use std::path::Path;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, TryLockError};

use rusqlite::{Connection, ErrorCode, OptionalExtension, params};
use tokio::sync::Semaphore;

use self::cache::UserCache;
use self::checkpointer::Checkpointer;
pub(crate) use self::figures::StoreFigures;
use self::rows::{COLUMNS, NewRow, UserRow, email_key, etag};
use self::schema::internal;
use self::writer::{Scope, Writer};
use crate::proto::users::v1::User;
use crate::users::store::{StoreError, Versioned, Written};

mod cache;
mod checkpointer;
mod figures;
mod files;
mod filter_sql;
mod integrity;
mod list;
mod rows;
mod schema;
#[cfg(test)]
mod tests;
mod traced;
mod writer;

/// Reader connections: one per core the process may run on, within
/// these bounds (each costs a page cache and, while busy, a thread).
const MIN_READERS: usize = 2;
const MAX_READERS: usize = 8;

/// The read cache keeps every user of a working set up to this size, and
/// never more than twice as many (about 0.4 KiB each), nor more than its
/// bytes.
const CACHE_GENERATION: usize = 16_384;
/// The read cache's bytes of the tests' stores (64 MiB, the server's default).
#[cfg(test)]
const DEFAULT_CACHE_BYTES: usize = 64 * 1024 * 1024;

/// A user store in one SQLite database file.
#[derive(Clone)]
pub(crate) struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    writer: Writer,
    readers: Vec<Mutex<Connection>>,
    /// A permit per reader: reads wait for one here, asynchronously,
    /// rather than on a blocking thread each.
    free_readers: Arc<Semaphore>,
    next_reader: AtomicUsize,
    page_token_key: [u8; 32],
    cache: UserCache,
    /// How many users are stored, as of the last commit.
    user_count: AtomicI64,
    figures: Arc<StoreFigures>,
}

impl SqliteStore {
    /// [`SqliteStore::open_with_cache_bytes`], with the default cache.
    #[cfg(test)]
    pub(crate) fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        Self::open_with_cache_bytes(path, DEFAULT_CACHE_BYTES)
    }

    /// Opens (creating if needed) the database at `path`, with its parent
    /// directory, and brings the schema up to date; its read cache keeps at
    /// most `cache_bytes` (0 disables it).
    pub(crate) fn open_with_cache_bytes(path: &Path, cache_bytes: usize) -> Result<SqliteStore, StoreError> {
        files::create_private(path)?;
        let open = || -> Result<Connection, StoreError> {
            let conn = Connection::open(path)
                .map_err(|err| StoreError::Internal(format!("opening {}: {err}", path.display())))?;
            schema::configure(&conn)?;
            Ok(conn)
        };
        let mut writer = open()?;
        integrity::check(&writer, path, integrity::CHECK_BUDGET)?;
        schema::enable_wal(&writer)?;
        schema::migrate(&mut writer)?;
        let page_token_key = schema::page_token_key(&mut writer)?;
        let user_count: i64 = writer
            .query_row("SELECT COUNT(*) FROM users", [], |row| row.get(0))
            .map_err(internal)?;
        let mut checkpointer = Checkpointer::spawn(open()?)?;
        let reader_count = std::thread::available_parallelism()
            .map_or(MIN_READERS, std::num::NonZero::get)
            .clamp(MIN_READERS, MAX_READERS);
        let readers = (0..reader_count)
            .map(|_| {
                let conn = open()?;
                schema::configure_reader(&conn)?;
                Ok(Mutex::new(conn))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let figures = Arc::new(StoreFigures::default());
        figures.set_readers(reader_count);
        Ok(SqliteStore {
            inner: Arc::new(Inner {
                writer: Writer::spawn(writer, figures.clone(), move || checkpointer.committed())?,
                readers,
                free_readers: Arc::new(Semaphore::new(reader_count)),
                next_reader: AtomicUsize::new(0),
                page_token_key,
                cache: UserCache::new(CACHE_GENERATION, cache_bytes / 2),
                user_count: AtomicI64::new(user_count),
                figures,
            }),
        })
    }

    /// Runs a write of the existing user `id` in the next group commit,
    /// keeping the read cache coherent: the id is pinned before the job is
    /// queued and released on the writer thread right after the commit.
    async fn write_user<T, F>(&self, id: &str, work: F, outcome: AfterWrite<T>) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        let id = id.to_owned();
        inner.cache.begin_write(&id);
        let after = {
            let inner = Arc::clone(&inner);
            move |answer: &Result<T, StoreError>| {
                let (committed, count_change) = outcome(answer);
                inner.user_count.fetch_add(count_change, Ordering::Relaxed);
                inner.cache.end_write(&id, committed);
            }
        };
        inner.writer.write_then(Scope::Savepoint, work, after).await
    }

    async fn read<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        // Held by the blocking task, so a caller that stops waiting does
        // not free the permit before the reader is free.
        let permit = Arc::clone(&self.inner.free_readers)
            .acquire_owned()
            .await
            .map_err(|_| StoreError::Internal("the store is closed".to_owned()))?;
        let inner = Arc::clone(&self.inner);
        blocking(move || {
            let _permit = permit;
            let index = inner.next_reader.fetch_add(1, Ordering::Relaxed) % inner.readers.len();
            let conn = lock(&inner.readers[index]);
            let _in_use = inner.figures.reader_taken();
            work(&conn)
        })
        .await
    }
}

impl SqliteStore {
    /// A short read (one row by key, or a bounded page: microseconds) on the
    /// calling thread when a reader connection is free: cheaper than the hop
    /// to the blocking pool and back. Falls back to `read` when all are busy.
    async fn read_point<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let inner = &self.inner;
        let start = inner.next_reader.fetch_add(1, Ordering::Relaxed);
        for offset in 0..inner.readers.len() {
            let reader = &inner.readers[(start + offset) % inner.readers.len()];
            let conn = match reader.try_lock() {
                Ok(conn) => conn,
                Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
                Err(TryLockError::WouldBlock) => continue,
            };
            let _in_use = inner.figures.reader_taken();
            return work(&conn);
        }
        self.read(work).await
    }

    /// Reads one row's worth of the users table on a reader connection
    /// (through the blocking pool, as listings do, so a store whose readers
    /// are all stuck does not answer).
    async fn ping_reader(&self) -> Result<(), StoreError> {
        self.read(|conn| {
            conn.prepare_cached("SELECT 1 FROM users LIMIT 1")
                .and_then(|mut stmt| stmt.query_row([], |_| Ok(())).optional())
                .map(drop)
                .map_err(internal)
        })
        .await
    }

    /// The store's own figures, for the metrics.
    pub(crate) fn figures(&self) -> Arc<StoreFigures> {
        self.inner.figures.clone()
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

/// The store's operations, which `traced.rs` offers as [`Store`], each in
/// its span.
impl SqliteStore {
    async fn insert_user(&self, user: &User) -> Result<User, StoreError> {
        let mut user = user.clone();
        let row = NewRow::from_user(&user)?;
        let inner = Arc::clone(&self.inner);
        let count_after_commit = move |answer: &Result<User, StoreError>| {
            if answer.is_ok() {
                inner.user_count.fetch_add(1, Ordering::Relaxed);
            }
        };
        let work = move |conn: &mut Connection| {
            let mut stmt = conn
                .prepare_cached(
                    "INSERT INTO users (id, name, email, email_key, role, street, city, \
                     state, country, postal_code, tags, metadata, created_at_nanos, \
                     updated_at_nanos, revision) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
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
                FIRST_REVISION,
            ]);
            match result {
                Ok(_) => {
                    user.etag = etag(&user.id, FIRST_REVISION);
                    Ok(user)
                }
                Err(err) if is_duplicate_email(&err) => Err(StoreError::DuplicateEmail),
                Err(err) => Err(internal(err)),
            }
        };
        self.inner
            .writer
            .write_then(Scope::OneStatement, work, count_after_commit)
            .await
    }

    async fn get_user(&self, id: &str) -> Result<Option<Versioned>, StoreError> {
        let cached = self.inner.cache.get(id);
        self.inner.figures.cache_lookup(cached.is_ok());
        let miss = match cached {
            Ok(cached) => return Ok(Some(cached)),
            Err(miss) => miss,
        };
        let id = id.to_owned();
        let found = self.read_point(move |conn| get_versioned(conn, &id)).await?;
        if let Some(found) = &found {
            self.inner.cache.fill(miss, found);
        }
        Ok(found)
    }

    async fn get_user_by_email(&self, email: &str) -> Result<Option<Versioned>, StoreError> {
        let key = email_key(email);
        self.read_point(move |conn| {
            let id: Option<String> = conn
                .prepare_cached("SELECT id FROM users WHERE email_key = ?1")
                .and_then(|mut stmt| stmt.query_row(params![key], |row| row.get(0)).optional())
                .map_err(internal)?;
            id.map_or(Ok(None), |id| get_versioned(conn, &id))
        })
        .await
    }

    async fn update_user(&self, user: &User, revision: i64) -> Result<Written<User>, StoreError> {
        let user = user.clone();
        let id = user.id.clone();
        let row = NewRow::from_user(&user)?;
        let work = move |conn: &mut Connection| {
            let tx = conn.savepoint().map_err(internal)?;
            let changed = {
                let mut stmt = tx
                    .prepare_cached(
                        "UPDATE users SET name = ?3, email = ?4, email_key = ?5, role = ?6, \
                         street = ?7, city = ?8, state = ?9, country = ?10, postal_code = ?11, \
                         tags = ?12, metadata = ?13, updated_at_nanos = ?14, revision = revision + 1 \
                         WHERE id = ?1 AND revision = ?2",
                    )
                    .map_err(internal)?;
                let address = &row.address;
                let result = stmt.execute(params![
                    user.id,
                    revision,
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
                    row.updated_at_nanos,
                ]);
                match result {
                    Ok(changed) => changed,
                    Err(err) if is_duplicate_email(&err) => return Err(StoreError::DuplicateEmail),
                    Err(err) => return Err(internal(err)),
                }
            };
            if changed == 0 {
                return missing_or_conflict(&tx, &user.id);
            }
            // Read back what was stored, so the answer is the row as it is.
            let stored = get_versioned(&tx, &user.id)?
                .ok_or_else(|| StoreError::Internal("updated row vanished".into()))?;
            tx.commit().map_err(internal)?;
            Ok(Written::Done(stored))
        };
        let written = self.write_user(&id, work, after_update).await?;
        Ok(match written {
            Written::Done(stored) => Written::Done(stored.user),
            Written::NotFound => Written::NotFound,
            Written::Conflict => Written::Conflict,
        })
    }

    async fn delete_user(&self, id: &str, revision: Option<i64>) -> Result<Written<()>, StoreError> {
        let target = id;
        let id = id.to_owned();
        let work = move |conn: &mut Connection| {
            let tx = conn.savepoint().map_err(internal)?;
            let changed = match revision {
                None => tx
                    .prepare_cached("DELETE FROM users WHERE id = ?1")
                    .and_then(|mut stmt| stmt.execute(params![id])),
                Some(revision) => tx
                    .prepare_cached("DELETE FROM users WHERE id = ?1 AND revision = ?2")
                    .and_then(|mut stmt| stmt.execute(params![id, revision])),
            }
            .map_err(internal)?;
            if changed == 0 {
                return missing_or_conflict(&tx, &id);
            }
            tx.commit().map_err(internal)?;
            Ok(Written::Done(()))
        };
        self.write_user(target, work, after_delete).await
    }
}

/// What a write of one user leaves, read from its answer: the user as
/// committed (for the read cache), and the change in the user count.
type AfterWrite<T> = fn(&Result<T, StoreError>) -> (Option<&Versioned>, i64);

/// What an update leaves: the user as committed, and no change in count.
fn after_update(answer: &Result<Written<Versioned>, StoreError>) -> (Option<&Versioned>, i64) {
    match answer {
        Ok(Written::Done(stored)) => (Some(stored), 0),
        _ => (None, 0),
    }
}

/// What a delete leaves: no user, and one fewer if it happened.
fn after_delete(answer: &Result<Written<()>, StoreError>) -> (Option<&Versioned>, i64) {
    match answer {
        Ok(Written::Done(())) => (None, -1),
        _ => (None, 0),
    }
}

/// The revision a new row starts at.
const FIRST_REVISION: i64 = 1;

fn get_versioned(conn: &Connection, id: &str) -> Result<Option<Versioned>, StoreError> {
    let mut stmt = conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM users WHERE id = ?1"))
        .map_err(internal)?;
    let row = stmt
        .query_row(params![id], UserRow::read)
        .optional()
        .map_err(internal)?;
    row.map(|row| {
        let revision = row.revision();
        Ok(Versioned {
            user: row.into_user()?,
            revision,
        })
    })
    .transpose()
}

/// After a conditional write changed nothing: was the row gone, or at
/// another revision? (Same transaction, so the answer is consistent.)
fn missing_or_conflict<T>(conn: &Connection, id: &str) -> Result<Written<T>, StoreError> {
    let exists = conn
        .prepare_cached("SELECT 1 FROM users WHERE id = ?1")
        .and_then(|mut stmt| stmt.exists(params![id]))
        .map_err(internal)?;
    Ok(if exists {
        Written::Conflict
    } else {
        Written::NotFound
    })
}

fn is_duplicate_email(err: &rusqlite::Error) -> bool {
    matches!(
        err,
        rusqlite::Error::SqliteFailure(failure, Some(message))
            if failure.code == ErrorCode::ConstraintViolation
                && message.contains("users.email_key")
    )
}
