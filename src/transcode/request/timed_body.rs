//! A request body that fails when it stalls: if no data arrives for the
//! body read timeout while the gateway waits for it, reading fails with
//! [`BodyStalled`], which the gateway answers with 408 (or, in a stream
//! already answering, an in-band DEADLINE_EXCEEDED). The wait restarts
//! with every frame, so a large body sent steadily is never cut.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use bytes::Bytes;
use http_body::{Frame, SizeHint};
use tokio::time::{Instant, Sleep};

/// The request body sent nothing for this long.
#[derive(Debug, thiserror::Error)]
#[error("the request body sent nothing for {0:?}")]
pub(crate) struct BodyStalled(pub(crate) Duration);

/// `body`, failing with [`BodyStalled`] when it stalls for `timeout`.
pub(crate) fn timed(body: Body, timeout: Option<Duration>) -> Body {
    match timeout {
        Some(timeout) if !http_body::Body::is_end_stream(&body) => Body::new(TimedBody {
            inner: body,
            timeout,
            stall: None,
        }),
        _ => body,
    }
}

struct TimedBody {
    inner: Body,
    timeout: Duration,
    /// Armed while the reader waits for data.
    stall: Option<Pin<Box<Sleep>>>,
}

impl http_body::Body for TimedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(frame) => {
                this.stall = None;
                Poll::Ready(frame)
            }
            Poll::Pending => {
                let timeout = this.timeout;
                let stall = this
                    .stall
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(Instant::now() + timeout)));
                match stall.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Some(Err(axum::Error::new(BodyStalled(timeout))))),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Whether reading a body failed because it stalled.
pub(crate) fn is_stall(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(error);
    while let Some(error) = cause {
        if error.is::<BodyStalled>() {
            return true;
        }
        cause = error.source();
    }
    false
}
