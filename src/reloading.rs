//! Reloading from files: [`watch`] calls a closure whenever one of some
//! files changes (its modification time or length, polled every
//! [`POLL_INTERVAL`]) or the process gets SIGHUP, until the returned
//! [`Watch`] is dropped. The closure does the reading and decides what a
//! failed reload means (typically: log a warning, keep the old state).
//!
//! ```ignore
//! let _watch = reloading::watch("TLS certificate", vec![cert, key], move || tls.reload());
//! ```

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

/// How often the files' metadata are looked at.
pub(crate) const POLL_INTERVAL: Duration = Duration::from_secs(1);

/// Watching until dropped.
#[derive(Debug)]
pub(crate) struct Watch(tokio::task::JoinHandle<()>);

impl Drop for Watch {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// What is compared between two looks at a file (`None`: missing).
type Stamp = Option<(Option<SystemTime>, u64)>;

fn stamps(paths: &[PathBuf]) -> Vec<Stamp> {
    paths
        .iter()
        .map(|path| {
            std::fs::metadata(path)
                .ok()
                .map(|metadata| (metadata.modified().ok(), metadata.len()))
        })
        .collect()
}

/// Calls `reload` when any of `paths` changes or on SIGHUP; `what` names
/// the watched thing in the log. Must be called inside a tokio runtime.
pub(crate) fn watch(what: &'static str, paths: Vec<PathBuf>, mut reload: impl FnMut() + Send + 'static) -> Watch {
    Watch(tokio::spawn(async move {
        let mut hangup = hangups();
        let mut last = stamps(&paths);
        let mut ticks = tokio::time::interval(POLL_INTERVAL);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let signalled = tokio::select! {
                _ = ticks.tick() => false,
                () = next_hangup(&mut hangup) => true,
            };
            let now = stamps(&paths);
            if signalled || now != last {
                tracing::info!(what, signalled, "reloading");
                last = now;
                reload();
            }
        }
    }))
}

#[cfg(unix)]
type Hangups = Option<tokio::signal::unix::Signal>;
#[cfg(not(unix))]
type Hangups = ();

#[cfg(unix)]
fn hangups() -> Hangups {
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
        Ok(signal) => Some(signal),
        Err(error) => {
            tracing::warn!(%error, "cannot listen for SIGHUP; reloading on file changes only");
            None
        }
    }
}

#[cfg(not(unix))]
fn hangups() -> Hangups {}

/// Completes on the next SIGHUP (never, where there is none).
#[cfg(unix)]
async fn next_hangup(hangups: &mut Hangups) {
    let received = match hangups {
        Some(signal) => signal.recv().await.is_some(),
        None => false,
    };
    if !received {
        // No more signals will come.
        *hangups = None;
        std::future::pending::<()>().await;
    }
}

#[cfg(not(unix))]
async fn next_hangup(_: &mut Hangups) {
    std::future::pending().await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn a_changed_file_is_reloaded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("watched");
        std::fs::write(&path, "one").unwrap();
        let calls = Arc::new(AtomicUsize::new(0));
        let counted = calls.clone();
        let _watch = watch("test file", vec![path.clone()], move || {
            counted.fetch_add(1, Ordering::SeqCst);
        });
        tokio::time::sleep(POLL_INTERVAL * 2).await;
        assert_eq!(calls.load(Ordering::SeqCst), 0, "nothing changed yet");
        std::fs::write(&path, "two, longer").unwrap();
        for _ in 0..50 {
            if calls.load(Ordering::SeqCst) > 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the change was not seen");
    }
}
