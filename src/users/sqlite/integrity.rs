//! What the store checks before it serves a file: SQLite's `quick_check`
//! (every page readable, every b-tree well formed), so a damaged database
//! is refused at start with a message that says so, instead of serving
//! writes and answering reads with 500s. The check stops after
//! [`CHECK_BUDGET`] on a file too big to read in that time (logged; the
//! file is served).

use std::path::Path;
use std::sync::mpsc::RecvTimeoutError;
use std::time::Duration;

use rusqlite::{Connection, ErrorCode};

use crate::users::store::StoreError;

/// The longest the start-up check may take.
pub(super) const CHECK_BUDGET: Duration = Duration::from_secs(10);

/// Refuses a damaged database at `path`, open as `conn`.
pub(super) fn check(conn: &Connection, path: &Path, budget: Duration) -> Result<(), StoreError> {
    // A timer interrupts the check when the budget is spent; the check
    // ending first (its sender dropped) stops the timer.
    let interrupt = conn.get_interrupt_handle();
    let (finished, finish) = std::sync::mpsc::channel::<()>();
    let timer = std::thread::spawn(move || {
        if let Err(RecvTimeoutError::Timeout) = finish.recv_timeout(budget) {
            interrupt.interrupt();
        }
    });
    let checked = quick_check(conn);
    drop(finished);
    let _ = timer.join();
    let damaged = |detail: String| {
        StoreError::Internal(format!(
            "the database {} is damaged ({detail}); restore it from a backup",
            path.display()
        ))
    };
    match checked {
        Ok(problems) if problems.is_empty() => Ok(()),
        Ok(problems) => Err(damaged(problems.join("; "))),
        Err(error) if error.sqlite_error_code() == Some(ErrorCode::OperationInterrupted) => {
            tracing::warn!(path = %path.display(), ?budget, "the database is too big to check in time; serving it unchecked");
            Ok(())
        }
        Err(error) => Err(damaged(error.to_string())),
    }
}

/// The problems `quick_check` lists (none: the file is sound); at most a few.
fn quick_check(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut statement = conn.prepare("PRAGMA quick_check(5)")?;
    let rows = statement.query_map([], |row| row.get::<_, String>(0))?;
    let lines = rows.collect::<rusqlite::Result<Vec<String>>>()?;
    Ok(lines.into_iter().filter(|line| line != "ok").collect())
}
