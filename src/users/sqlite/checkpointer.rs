//! The background checkpointer. SQLite's automatic checkpoint (at 1,000
//! WAL pages) runs inside the writer's commit: it copies pages back into
//! the database file and syncs it while every write waits. This thread,
//! with a connection of its own, does most of that copying beforehand:
//! every [`COMMITS_PER_CHECKPOINT`] commits (a few hundred WAL pages) the
//! writer asks it for a PASSIVE checkpoint, which blocks neither the
//! writer nor readers. When the writer's automatic checkpoint comes due,
//! only the pages written since are left to copy, and the WAL starts over.

use std::sync::mpsc::{self, SyncSender, TrySendError};
use std::thread;

use rusqlite::Connection;

use super::schema::internal;
use crate::users::store::StoreError;

/// Commits between two checkpoint requests.
pub(super) const COMMITS_PER_CHECKPOINT: u32 = 16;

/// The handle to the checkpointer thread; the thread ends with the handle.
pub(super) struct Checkpointer {
    wake: SyncSender<()>,
    commits: u32,
}

impl Checkpointer {
    pub(super) fn spawn(conn: Connection) -> Result<Checkpointer, StoreError> {
        let (wake, woken) = mpsc::sync_channel(1);
        thread::Builder::new()
            .name("sqlite-checkpointer".to_owned())
            .spawn(move || {
                while woken.recv().is_ok() {
                    let checkpointed = conn
                        .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
                        .map_err(internal);
                    if let Err(error) = checkpointed {
                        tracing::warn!(%error, "a background checkpoint failed; the next one retries");
                    }
                }
            })
            .map_err(|error| StoreError::Internal(format!("starting the checkpointer thread: {error}")))?;
        Ok(Checkpointer { wake, commits: 0 })
    }

    /// Counts a commit; every [`COMMITS_PER_CHECKPOINT`] of them, asks for
    /// a checkpoint. Never blocks.
    pub(super) fn committed(&mut self) {
        self.commits += 1;
        if self.commits < COMMITS_PER_CHECKPOINT {
            return;
        }
        self.commits = 0;
        match self.wake.try_send(()) {
            Ok(()) | Err(TrySendError::Full(())) => {}
            Err(TrySendError::Disconnected(())) => {
                tracing::warn!("the checkpointer has stopped; the writer's own checkpoints take over");
            }
        }
    }
}
