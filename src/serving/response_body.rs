//! The body of every response the server sends: it holds its request's
//! [`RequestGuard`] (the connection is busy until the body is sent or
//! dropped), and a gRPC body ends with status UNAVAILABLE in its trailers
//! when the drain is over, so a stream still open then (an idle bidi sync)
//! gets an answer instead of a reset connection.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::Body;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue};
use http_body::{Frame, SizeHint};
use tokio::sync::watch;

use crate::serving::activity::RequestGuard;

/// What a gRPC stream open at the end of the drain is told.
const DRAINED_MESSAGE: &str = "the server is shutting down";
/// `UNAVAILABLE`: the client may retry on another server.
const UNAVAILABLE: &str = "14";

type Ending = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A response body, with the request's guard and, for gRPC, the drain.
pub(crate) struct ServedBody {
    inner: Body,
    _guard: RequestGuard,
    /// gRPC only: completes when the drain is over.
    drain_over: Option<Ending>,
    done: bool,
}

impl ServedBody {
    pub(crate) fn new(inner: Body, guard: RequestGuard) -> Self {
        ServedBody {
            inner,
            _guard: guard,
            drain_over: None,
            done: false,
        }
    }

    /// A gRPC body: it ends with UNAVAILABLE once `closing` says so.
    pub(crate) fn grpc(inner: Body, guard: RequestGuard, mut closing: watch::Receiver<bool>) -> Self {
        let drain_over = Box::pin(async move {
            if closing.wait_for(|closing| *closing).await.is_err() {
                std::future::pending::<()>().await;
            }
        });
        ServedBody {
            drain_over: Some(drain_over),
            ..Self::new(inner, guard)
        }
    }
}

fn unavailable_trailers() -> HeaderMap {
    let mut trailers = HeaderMap::new();
    trailers.insert("grpc-status", HeaderValue::from_static(UNAVAILABLE));
    trailers.insert("grpc-message", HeaderValue::from_static(DRAINED_MESSAGE));
    trailers
}

impl http_body::Body for ServedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        if this.done {
            return Poll::Ready(None);
        }
        if let Some(drain_over) = &mut this.drain_over
            && drain_over.as_mut().poll(cx).is_ready()
        {
            this.done = true;
            this.inner = Body::empty(); // The call's stream is dropped, and the call with it.
            return Poll::Ready(Some(Ok(Frame::trailers(unavailable_trailers()))));
        }
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(None) => this.done = true,
            Poll::Ready(Some(Ok(frame))) if frame.is_trailers() => this.done = true,
            _ => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.done || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
