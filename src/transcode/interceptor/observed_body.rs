//! The response body of a gRPC-face call, watched: it records the
//! `grpc-status` of the trailers for the policy chain, and ends the call
//! itself, with trailers of its own, when the service panics mid-stream or
//! the deadline passes (dropping the service's stream, which cancels it).

use std::future::Future as _;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::Body;
use bytes::Bytes;
use http::Response;
use http_body::Frame;
use tokio::time::{Instant, Sleep};

use super::CallGuard;
use crate::transcode::backend::panicked;
use crate::transcode::deadline::deadline_exceeded;

/// The response, its body reporting the call's end to `guard` and ending
/// at `deadline`.
pub(super) fn observe<B>(
    response: Response<B>,
    mut guard: CallGuard,
    deadline: Option<Instant>,
) -> Response<Body>
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    let (parts, body) = response.into_parts();
    // A trailers-only answer carries its status in the headers.
    if let Some(status) = tonic::Status::from_header_map(&parts.headers) {
        guard.finish(status.code());
    }
    let body = ObservedBody {
        inner: Body::new(body),
        guard: Some(guard),
        deadline: deadline.map(|deadline| Box::pin(tokio::time::sleep_until(deadline))),
        ended: false,
    };
    Response::from_parts(parts, Body::new(body))
}

struct ObservedBody {
    inner: Body,
    guard: Option<CallGuard>,
    deadline: Option<Pin<Box<Sleep>>>,
    /// Trailers of its own were sent.
    ended: bool,
}

impl ObservedBody {
    /// Ends the body with `status` in trailers, dropping the service's.
    fn end_with(&mut self, status: tonic::Status) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        self.ended = true;
        self.inner = Body::empty();
        self.finish(status.code());
        let mut trailers = status.into_http::<()>().into_parts().0.headers;
        trailers.remove(http::header::CONTENT_TYPE);
        Poll::Ready(Some(Ok(Frame::trailers(trailers))))
    }

    fn finish(&mut self, code: tonic::Code) {
        if let Some(guard) = self.guard.as_mut() {
            guard.finish(code);
        }
    }
}

impl http_body::Body for ObservedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        if self.ended {
            return Poll::Ready(None);
        }
        if let Some(deadline) = self.deadline.as_mut()
            && deadline.as_mut().poll(cx).is_ready()
        {
            return self.end_with(deadline_exceeded());
        }
        let inner = &mut self.inner;
        let Ok(polled) = std::panic::catch_unwind(AssertUnwindSafe(|| Pin::new(inner).poll_frame(cx))) else {
            return self.end_with(panicked());
        };
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(status) = frame.trailers_ref().and_then(tonic::Status::from_header_map) {
                    self.finish(status.code());
                }
            }
            Poll::Ready(Some(Err(_))) => self.finish(tonic::Code::Internal),
            // The end: a body without a status in its trailers ended well
            // only if the headers said so (recorded then); report now.
            Poll::Ready(None) => drop(self.guard.take()),
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.ended || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}
