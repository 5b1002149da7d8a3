//! The one writer of the SQLite store: a thread that owns the write
//! connection and applies write jobs in batches, one transaction per batch
//! (group commit). Concurrent writes then share one WAL append instead of
//! queueing on a mutex each with its own commit, and no write hops through
//! the blocking pool.
//!
//! Each job runs inside its own savepoint, so a failing job is rolled back
//! alone; a job of one statement needs none (SQLite undoes a failing
//! statement by itself, a duplicate email say) and skips its cost. Every
//! caller gets its answer only after the batch's COMMIT: what was
//! acknowledged is in the WAL. A job may carry a hook that runs on this
//! thread right after the commit (the store keeps its cache and counts
//! there), and the thread runs one after every commit (the checkpointer).
//! A job whose caller stopped waiting before the writer reached it (a
//! deadline passed) is skipped, not applied.

use std::sync::{Arc, mpsc};
use std::thread;

use rusqlite::Connection;
use tokio::sync::oneshot;

use super::figures::StoreFigures;
use super::schema::internal;
use crate::users::store::StoreError;

/// The most jobs in one transaction.
const MAX_BATCH: usize = 128;

/// A write to run on the writer connection.
type WorkFn<T> = Box<dyn FnOnce(&mut Connection) -> Result<T, StoreError> + Send>;

/// What runs on the writer thread with a job's final answer, after the
/// commit and whether or not the caller is still waiting.
type AfterFn<T> = Box<dyn FnOnce(&Result<T, StoreError>) + Send>;

/// A job whose answer waits for the commit.
trait Job: Send {
    /// Runs the work (inside the batch's transaction).
    fn run(&mut self, conn: &mut Connection);
    /// Answers the caller: the work's result, unless the commit failed.
    fn finish(self: Box<Self>, committed: Result<(), String>);
}

struct TypedJob<T> {
    work: Option<WorkFn<T>>,
    scope: Scope,
    after: AfterFn<T>,
    result: Option<Result<T, StoreError>>,
    reply: oneshot::Sender<Result<T, StoreError>>,
}

impl<T: Send> Job for TypedJob<T> {
    fn run(&mut self, conn: &mut Connection) {
        let Some(work) = self.work.take() else {
            return;
        };
        // The caller has stopped waiting (its deadline passed, or it was
        // cancelled) and has been answered: the write must not happen
        // after that answer.
        if self.reply.is_closed() {
            return;
        }
        let result = match self.scope {
            Scope::Savepoint => in_savepoint(conn, work),
            Scope::OneStatement => work(conn),
        };
        self.result = Some(result);
    }

    fn finish(self: Box<Self>, committed: Result<(), String>) {
        let answer = match (committed, self.result) {
            (Ok(()), Some(result)) => result,
            (Err(error), Some(Ok(_))) => Err(StoreError::Internal(format!("commit failed: {error}"))),
            (_, Some(Err(error))) => Err(error),
            (_, None) => Err(StoreError::Internal("the write did not run".to_owned())),
        };
        (self.after)(&answer);
        let _ = self.reply.send(answer);
    }
}

/// What undoes a failed job.
#[derive(Clone, Copy)]
pub(super) enum Scope {
    /// A savepoint around the job: for jobs of several statements.
    Savepoint,
    /// Nothing more: the job runs a single write statement, which SQLite
    /// rolls back by itself when it fails.
    OneStatement,
}

/// Runs `work` so that an error undoes exactly what it did.
fn in_savepoint<T>(conn: &mut Connection, work: WorkFn<T>) -> Result<T, StoreError> {
    run_cached(conn, "SAVEPOINT job")?;
    let result = work(conn);
    if result.is_err() {
        run_cached(conn, "ROLLBACK TO job")?;
    }
    run_cached(conn, "RELEASE job")?;
    result
}

/// Runs a statement without parameters, prepared once per connection.
fn run_cached(conn: &Connection, sql: &str) -> Result<(), StoreError> {
    conn.prepare_cached(sql)
        .and_then(|mut statement| statement.execute([]))
        .map(drop)
        .map_err(internal)
}

enum Message {
    Write(Box<dyn Job>),
    /// Checkpoints the WAL into the database file (outside any transaction).
    Checkpoint(oneshot::Sender<Result<(), StoreError>>),
}

/// The handle to the writer thread; the thread ends when the handle is dropped.
pub(super) struct Writer {
    sender: mpsc::Sender<Message>,
    figures: Arc<StoreFigures>,
}

impl Writer {
    /// Starts the writer thread on `conn`; `after_commit` runs on it after
    /// every commit; the queue and the batches are counted in `figures`.
    pub(super) fn spawn(
        conn: Connection,
        figures: Arc<StoreFigures>,
        after_commit: impl FnMut() + Send + 'static,
    ) -> Result<Writer, StoreError> {
        let (sender, receiver) = mpsc::channel();
        let counted = figures.clone();
        thread::Builder::new()
            .name("sqlite-writer".to_owned())
            .spawn(move || run(conn, &receiver, &counted, after_commit))
            .map_err(|error| StoreError::Internal(format!("starting the writer thread: {error}")))?;
        Ok(Writer { sender, figures })
    }

    /// Runs `work` in the next batch; answers after its commit.
    #[cfg(test)]
    pub(super) async fn write<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        self.write_then(Scope::Savepoint, work, |_| {}).await
    }

    /// Like [`Writer::write`], and runs `after` with the answer on the
    /// writer thread once the batch is committed (or failed), even if the
    /// caller has stopped waiting: what must follow every commit goes here.
    pub(super) async fn write_then<T, F, A>(&self, scope: Scope, work: F, after: A) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
        A: FnOnce(&Result<T, StoreError>) + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job = TypedJob {
            work: Some(Box::new(work) as WorkFn<T>),
            scope,
            after: Box::new(after) as AfterFn<T>,
            result: None,
            reply,
        };
        self.figures.write_queued();
        if self.sender.send(Message::Write(Box::new(job))).is_err() {
            self.figures.write_taken();
            return Err(StoreError::Internal("the writer has stopped".to_owned()));
        }
        answer
            .await
            .map_err(|_| StoreError::Internal("the writer dropped a write".to_owned()))?
    }

    /// Checkpoints the WAL after the writes sent before it.
    pub(super) async fn checkpoint(&self) -> Result<(), StoreError> {
        let (reply, answer) = oneshot::channel();
        self.sender
            .send(Message::Checkpoint(reply))
            .map_err(|_| StoreError::Internal("the writer has stopped".to_owned()))?;
        answer
            .await
            .map_err(|_| StoreError::Internal("the writer stopped before the checkpoint".to_owned()))?
    }
}

fn run(
    mut conn: Connection,
    receiver: &mpsc::Receiver<Message>,
    figures: &StoreFigures,
    mut after_commit: impl FnMut(),
) {
    let mut batch: Vec<Box<dyn Job>> = Vec::with_capacity(MAX_BATCH);
    while let Ok(message) = receiver.recv() {
        // Let the writers that are about to send join this batch: on a
        // busy core the request threads run before the commit does.
        thread::yield_now();
        let mut next = Some(message);
        while let Some(message) = next.take() {
            match message {
                Message::Write(job) => {
                    figures.write_taken();
                    batch.push(job);
                }
                Message::Checkpoint(reply) => {
                    commit_batch(&mut conn, &mut batch, figures);
                    let checkpointed = conn
                        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
                        .map_err(internal);
                    let _ = reply.send(checkpointed);
                }
            }
            if batch.len() < MAX_BATCH {
                next = receiver.try_recv().ok();
            }
        }
        if commit_batch(&mut conn, &mut batch, figures) {
            after_commit();
        }
    }
}

/// Commits the batch's jobs in one transaction and answers them; whether
/// anything was committed.
fn commit_batch(conn: &mut Connection, batch: &mut Vec<Box<dyn Job>>, figures: &StoreFigures) -> bool {
    if batch.is_empty() {
        return false;
    }
    let committed = run_cached(conn, "BEGIN IMMEDIATE")
        .map_err(|error| error.to_string())
        .and_then(|()| {
            for job in batch.iter_mut() {
                job.run(conn);
            }
            run_cached(conn, "COMMIT").map_err(|error| {
                let _ = conn.execute_batch("ROLLBACK");
                error.to_string()
            })
        });
    if let Err(error) = &committed {
        tracing::error!(%error, "a write batch failed to commit");
    }
    let succeeded = committed.is_ok();
    if succeeded {
        figures.batch_committed(batch.len());
    }
    for job in batch.drain(..) {
        job.finish(committed.clone());
    }
    succeeded
}

#[cfg(test)]
mod tests {
    use super::*;

    /// How many rows table `t` holds, read through the writer.
    async fn rows_in_t(writer: &Writer) -> i64 {
        writer
            .write(|conn| {
                conn.query_row("SELECT COUNT(*) FROM t", [], |row| row.get(0))
                    .map_err(internal)
            })
            .await
            .unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failing_job_is_rolled_back_alone() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (k TEXT PRIMARY KEY)").unwrap();
        let writer = std::sync::Arc::new(Writer::spawn(conn, Arc::default(), || {}).unwrap());
        // 200 concurrent inserts of 100 distinct keys: each key once wins, once fails.
        let tasks: Vec<_> = (0..200)
            .map(|n| {
                let writer = writer.clone();
                tokio::spawn(async move {
                    writer
                        .write(move |conn| {
                            conn.execute("INSERT INTO t (k) VALUES (?1)", [format!("k{}", n % 100)])
                                .map_err(internal)
                        })
                        .await
                })
            })
            .collect();
        let mut succeeded = 0;
        for task in tasks {
            succeeded += usize::from(task.await.unwrap().is_ok());
        }
        assert_eq!(succeeded, 100);
        let count = rows_in_t(&writer).await;
        assert_eq!(count, 100);
    }

    #[tokio::test]
    async fn a_job_with_several_statements_is_all_or_nothing() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (k TEXT PRIMARY KEY)").unwrap();
        let writer = Writer::spawn(conn, Arc::default(), || {}).unwrap();
        let failed = writer
            .write(|conn| {
                conn.execute("INSERT INTO t (k) VALUES ('a')", [])
                    .map_err(internal)?;
                conn.execute("INSERT INTO t (k) VALUES ('a')", [])
                    .map_err(internal)
            })
            .await;
        assert!(failed.is_err());
        let count = rows_in_t(&writer).await;
        assert_eq!(count, 0, "the first insert was rolled back with the second");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_write_whose_caller_gave_up_is_not_applied() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (k TEXT PRIMARY KEY)").unwrap();
        let writer = std::sync::Arc::new(Writer::spawn(conn, Arc::default(), || {}).unwrap());
        // A first write holds the writer until it is let go.
        let (started, running) = std::sync::mpsc::channel();
        let (release, released) = std::sync::mpsc::channel::<()>();
        let first = tokio::spawn({
            let writer = writer.clone();
            async move {
                writer
                    .write(move |conn| {
                        started.send(()).unwrap();
                        released.recv().unwrap();
                        conn.execute("INSERT INTO t (k) VALUES ('kept')", [])
                            .map_err(internal)
                    })
                    .await
            }
        });
        tokio::task::spawn_blocking(move || running.recv().unwrap())
            .await
            .unwrap();
        // A second one is queued behind it, and its caller gives up.
        let gave_up = tokio::time::timeout(
            std::time::Duration::from_millis(20),
            writer.write(|conn| {
                conn.execute("INSERT INTO t (k) VALUES ('late')", [])
                    .map_err(internal)
            }),
        )
        .await;
        assert!(gave_up.is_err(), "the second write waits behind the first");
        release.send(()).unwrap();
        first.await.unwrap().unwrap();
        let kept: Vec<String> = writer
            .write(|conn| {
                let mut statement = conn.prepare("SELECT k FROM t ORDER BY k").map_err(internal)?;
                let rows = statement.query_map([], |row| row.get(0)).map_err(internal)?;
                rows.collect::<Result<_, _>>().map_err(internal)
            })
            .await
            .unwrap();
        assert_eq!(kept, ["kept"]);
    }
}
