//! Where log lines go: a queue in memory that a thread of its own writes
//! out every [`FLUSH_EVERY`], in one write call, or sooner once
//! [`WAKE_AT`] bytes are waiting. A request's thread only appends its line
//! (no system call, no thread woken for it), which matters at one line per
//! call: a writer thread woken for every line, as `tracing-appender`'s is,
//! costs two context switches per call on a busy core.
//!
//! Nothing is dropped: past [`MAX_QUEUED`] bytes (the output is slower than
//! the lines, or blocked) writers wait for the queue to drain. Dropping
//! the [`FlushGuard`] writes what is queued and stops the thread; a process
//! killed outright loses at most the last [`FLUSH_EVERY`] of lines.

use std::io::{self, Write};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

/// How long a line may wait in the queue.
const FLUSH_EVERY: Duration = Duration::from_millis(20);

/// Queued bytes that wake the writer thread before its time.
const WAKE_AT: usize = 64 * 1024;

/// Queued bytes past which writers wait.
const MAX_QUEUED: usize = 4 * 1024 * 1024;

/// The log lines' writer (a `MakeWriter` for tracing's subscriber). Cheap to clone.
#[derive(Clone)]
pub(crate) struct QueuedWriter {
    shared: Arc<Shared>,
}

struct Shared {
    state: Mutex<State>,
    /// Signalled when the queue passes [`WAKE_AT`] or the guard is dropped.
    wake: Condvar,
    /// Signalled when the writer thread took the queue.
    drained: Condvar,
}

#[derive(Default)]
struct State {
    queue: Vec<u8>,
    closed: bool,
}

/// Stops the writer thread when dropped, after it wrote what is queued.
#[must_use = "dropping the guard stops the log writer"]
pub struct FlushGuard {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

/// A writer whose lines a new thread writes to `output`.
pub(crate) fn queued(output: impl Write + Send + 'static) -> io::Result<(QueuedWriter, FlushGuard)> {
    let shared = Arc::new(Shared {
        state: Mutex::new(State::default()),
        wake: Condvar::new(),
        drained: Condvar::new(),
    });
    let thread = {
        let shared = shared.clone();
        std::thread::Builder::new()
            .name("log-writer".into())
            .spawn(move || write_out(&shared, output))?
    };
    let guard = FlushGuard {
        shared: shared.clone(),
        thread: Some(thread),
    };
    Ok((QueuedWriter { shared }, guard))
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The writer thread: takes the whole queue at each turn and writes it.
fn write_out(shared: &Shared, mut output: impl Write) {
    let mut batch = Vec::new();
    loop {
        let closed = {
            let mut state = shared.lock();
            if !state.closed && state.queue.len() < WAKE_AT {
                state = shared
                    .wake
                    .wait_timeout(state, FLUSH_EVERY)
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .0;
            }
            let was_full = state.queue.len() >= MAX_QUEUED;
            std::mem::swap(&mut state.queue, &mut batch);
            if was_full {
                shared.drained.notify_all();
            }
            state.closed
        };
        if !batch.is_empty() {
            // A failing output (a closed pipe) loses the lines: there is
            // nowhere left to say so.
            let _ = output.write_all(&batch).and_then(|()| output.flush());
            batch.clear();
        }
        if closed && shared.lock().queue.is_empty() {
            return;
        }
    }
}

impl Write for &QueuedWriter {
    fn write(&mut self, line: &[u8]) -> io::Result<usize> {
        let shared = &self.shared;
        let mut state = shared.lock();
        while state.queue.len() >= MAX_QUEUED && !state.closed {
            state = shared
                .drained
                .wait(state)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
        let before = state.queue.len();
        state.queue.extend_from_slice(line);
        if before < WAKE_AT && state.queue.len() >= WAKE_AT {
            shared.wake.notify_one();
        }
        Ok(line.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for QueuedWriter {
    type Writer = &'a QueuedWriter;

    fn make_writer(&'a self) -> Self::Writer {
        self
    }
}

impl Drop for FlushGuard {
    fn drop(&mut self) {
        self.shared.lock().closed = true;
        self.shared.wake.notify_one();
        self.shared.drained.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An output that keeps what it is given, and counts the write calls.
    #[derive(Clone, Default)]
    struct Kept {
        bytes: Arc<Mutex<Vec<u8>>>,
        writes: Arc<Mutex<usize>>,
    }

    impl Write for Kept {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.bytes.lock().unwrap().extend_from_slice(bytes);
            *self.writes.lock().unwrap() += 1;
            Ok(bytes.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn every_line_arrives_in_order_in_few_writes() {
        // (threads, lines each, line length): a trickle, many small lines,
        // and lines that overflow the queue so writers must wait.
        let cases = [(1, 100, 10), (4, 2_000, 60), (2, 40, 300_000)];
        for (threads, lines, length) in cases {
            let kept = Kept::default();
            let (writer, guard) = queued(kept.clone()).unwrap();
            std::thread::scope(|scope| {
                for thread in 0..threads {
                    let writer = writer.clone();
                    scope.spawn(move || {
                        for line in 0..lines {
                            let text = format!("{thread} {line} {}\n", "x".repeat(length));
                            (&writer).write_all(text.as_bytes()).unwrap();
                        }
                    });
                }
            });
            drop(guard);
            let bytes = kept.bytes.lock().unwrap();
            let text = std::str::from_utf8(&bytes).unwrap();
            let mut next = vec![0; threads];
            for line in text.lines() {
                let mut words = line.split(' ');
                let thread: usize = words.next().unwrap().parse().unwrap();
                let number: usize = words.next().unwrap().parse().unwrap();
                assert_eq!(
                    number, next[thread],
                    "{threads} threads: lines of one thread in order"
                );
                next[thread] += 1;
            }
            assert_eq!(
                next,
                vec![lines; threads],
                "{threads} threads × {lines}: none lost"
            );
            let writes = *kept.writes.lock().unwrap();
            assert!(
                writes < threads * lines,
                "{writes} writes for {} lines",
                threads * lines
            );
        }
    }
}
