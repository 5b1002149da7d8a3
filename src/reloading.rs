//! Files read again while the server runs (keys rotate without a restart):
//! [`watch`] calls a reload when any watched file changes (its modification
//! time, length or inode, looked at every [`POLL_EVERY`]) or when the process
//! gets SIGHUP. A reload that fails is logged and the old contents stay in
//! use; the next change tries again.
//!
//! ```ignore
//! let watcher = reloading::watch("the JWKS", vec![jwks], move || verifier.reload());
//! // … serve …
//! watcher.abort();
//! ```

use std::fmt::Display;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use tokio::task::JoinHandle;

/// How often the files are looked at.
pub(crate) const POLL_EVERY: Duration = Duration::from_secs(1);

/// What identifies one version of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stamp {
    modified: Option<SystemTime>,
    length: u64,
    inode: u64,
}

fn stamp(path: &PathBuf) -> Option<Stamp> {
    let metadata = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(&metadata);
    #[cfg(not(unix))]
    let inode = 0;
    Some(Stamp {
        modified: metadata.modified().ok(),
        length: metadata.len(),
        inode,
    })
}

/// Calls `reload` whenever one of `files` changes or on SIGHUP, until the
/// returned task is aborted. `what` names the files in the log.
pub(crate) fn watch<E: Display>(
    what: &'static str,
    files: Vec<PathBuf>,
    reload: impl Fn() -> Result<(), E> + Send + 'static,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut hangups = hangups();
        let mut seen: Vec<Option<Stamp>> = files.iter().map(stamp).collect();
        let mut ticks = tokio::time::interval(POLL_EVERY);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let hangup = tokio::select! {
                _ = ticks.tick() => false,
                Some(()) = next_hangup(&mut hangups) => true,
            };
            let now: Vec<Option<Stamp>> = files.iter().map(stamp).collect();
            if !hangup && now == seen {
                continue;
            }
            seen = now;
            match reload() {
                Ok(()) => tracing::info!(what, hangup, "reloaded"),
                Err(error) => {
                    tracing::warn!(what, %error, "reload failed; the previous version stays in use")
                }
            }
        }
    })
}

#[cfg(unix)]
type Hangups = Option<tokio::signal::unix::Signal>;
#[cfg(not(unix))]
type Hangups = Option<()>;

fn hangups() -> Hangups {
    #[cfg(unix)]
    {
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok()
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// The next SIGHUP; never, where there are none.
async fn next_hangup(hangups: &mut Hangups) -> Option<()> {
    #[cfg(unix)]
    if let Some(signal) = hangups {
        return signal.recv().await;
    }
    let _ = hangups;
    std::future::pending().await
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test]
    async fn a_changed_file_is_reloaded_and_an_unchanged_one_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys");
        std::fs::write(&path, "one").unwrap();
        let reloads = Arc::new(AtomicUsize::new(0));
        let counted = reloads.clone();
        let watcher = watch("test", vec![path.clone()], move || {
            counted.fetch_add(1, Ordering::SeqCst);
            Ok::<(), String>(())
        });
        tokio::time::sleep(POLL_EVERY * 2).await;
        assert_eq!(reloads.load(Ordering::SeqCst), 0, "nothing changed");
        std::fs::write(dir.path().join("keys.new"), "two, longer").unwrap();
        std::fs::rename(dir.path().join("keys.new"), &path).unwrap();
        tokio::time::sleep(POLL_EVERY * 2).await;
        assert_eq!(reloads.load(Ordering::SeqCst), 1, "one change, one reload");
        watcher.abort();
    }
}
