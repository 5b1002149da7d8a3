//! What a connection is doing, as its watchdog needs to know: bytes read
//! (through [`Watched`], the socket wrapper), requests open (through
//! [`RequestGuard`], held by each request's response), and whether it was
//! upgraded (WebSocket). The watchdog (`watchdog.rs`) turns this into
//! deadlines.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{Notify, OwnedSemaphorePermit};
use tokio::time::Instant;

/// The protocol a connection speaks, known from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Protocol {
    /// Nothing read yet.
    Unknown,
    Http1,
    /// HTTP/2 with prior knowledge (its preface starts with `PRI`).
    Http2,
}

/// A connection's state, as of its last event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Snapshot {
    pub(crate) accepted: Instant,
    pub(crate) protocol: Protocol,
    /// Requests whose response has not been sent (or dropped) yet.
    pub(crate) open_requests: usize,
    /// When the last request ended (or the connection was accepted).
    pub(crate) idle_since: Instant,
    /// HTTP/1.1: when the first byte of the next request's head arrived,
    /// while no request was open.
    pub(crate) head_started: Option<Instant>,
    /// Switched to another protocol (WebSocket): no HTTP timeout applies.
    pub(crate) upgraded: bool,
}

/// Shared by the socket wrapper, the requests and the watchdog.
#[derive(Debug)]
pub(crate) struct Activity {
    state: Mutex<Snapshot>,
    /// Woken when a deadline may have come closer or gone.
    pub(crate) changed: Notify,
}

impl Activity {
    pub(crate) fn new() -> Arc<Activity> {
        let now = Instant::now();
        Arc::new(Activity {
            state: Mutex::new(Snapshot {
                accepted: now,
                protocol: Protocol::Unknown,
                open_requests: 0,
                idle_since: now,
                head_started: None,
                upgraded: false,
            }),
            changed: Notify::new(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Snapshot> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn snapshot(&self) -> Snapshot {
        *self.lock()
    }

    /// `bytes` were read from the peer.
    fn read(&self, bytes: &[u8]) {
        let mut state = self.lock();
        if state.protocol == Protocol::Unknown {
            state.protocol = if bytes.starts_with(b"PRI") {
                Protocol::Http2
            } else {
                Protocol::Http1
            };
        }
        // Between HTTP/1.1 requests, a byte starts the next head. (HTTP/2
        // connections exchange frames of their own between requests.)
        if state.protocol == Protocol::Http1 && state.open_requests == 0 && state.head_started.is_none() {
            state.head_started = Some(Instant::now());
            drop(state);
            self.changed.notify_one();
        }
    }

    /// A request arrived; it is open until the guard is dropped.
    pub(crate) fn request_started(self: &Arc<Self>) -> RequestGuard {
        let mut state = self.lock();
        state.open_requests += 1;
        state.head_started = None;
        drop(state);
        self.changed.notify_one();
        RequestGuard {
            activity: self.clone(),
        }
    }

    pub(crate) fn upgraded(&self) {
        self.lock().upgraded = true;
        self.changed.notify_one();
    }
}

/// An open request; dropped when its response is sent or abandoned.
#[derive(Debug)]
pub(crate) struct RequestGuard {
    activity: Arc<Activity>,
}

impl RequestGuard {
    pub(crate) fn activity(&self) -> &Activity {
        &self.activity
    }
}

impl Drop for RequestGuard {
    fn drop(&mut self) {
        let mut state = self.activity.lock();
        state.open_requests -= 1;
        if state.open_requests == 0 {
            state.idle_since = Instant::now();
        }
        drop(state);
        self.activity.changed.notify_one();
    }
}

/// A socket whose reads are reported to its [`Activity`], holding its
/// place under the connection cap until it is dropped (which, for an
/// upgraded connection, is when the WebSocket closes).
pub(crate) struct Watched<S> {
    inner: S,
    activity: Arc<Activity>,
    _place: OwnedSemaphorePermit,
}

impl<S> Watched<S> {
    pub(crate) fn new(inner: S, activity: Arc<Activity>, place: OwnedSemaphorePermit) -> Self {
        Watched {
            inner,
            activity,
            _place: place,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            this.activity.read(&buf.filled()[before..]);
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}
