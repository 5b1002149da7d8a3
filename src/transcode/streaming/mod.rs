//! Streaming RPCs over HTTP, for any binding whose method streams.
//!
//! - Responses of a server stream are NDJSON (`application/x-ndjson`, one
//!   message per line), or Server-Sent Events with `Accept:
//!   text/event-stream`. A failure before the first message is an ordinary
//!   HTTP error; after it, a final `{"error": <google.rpc.Status>}` line (or an
//!   `event: error`).
//! - Requests of a client stream or a bidi call are an NDJSON body, one
//!   request message per line (blank lines ignored); each line is woven with
//!   the path and query like a unary body. A bad line fails the call with
//!   INVALID_ARGUMENT naming the line.
//! - Bidi responses start at once and flow while the request body is still
//!   being read.
//!
//! Nothing is buffered beyond one message: request lines are read when the
//! service asks for the next message, and response messages are read when
//! the client's connection takes more, so a slow reader slows the service.
//!
//! - `ndjson` — an NDJSON request body as request payloads;
//! - `websocket` — the same calls over a WebSocket;
//! - `origin` — which pages may open one.
//!
//! SSE framing is written here rather than with axum's `Sse`: each event is
//! one line of compact JSON (which never holds a newline) between two fixed
//! strings, and one framing path serves NDJSON, SSE and WebSocket frames.

use std::sync::Arc;

use axum::body::Body;
use bytes::Bytes;
use futures_util::Stream;
use http::{HeaderMap, HeaderValue, Response, StatusCode, header};

use crate::transcode::binding::Binding;
use crate::transcode::call::Call;
use crate::transcode::error::HttpError;
use crate::transcode::metadata::add_response_headers;
use crate::transcode::response::Renderer;

pub(crate) mod ndjson;
mod origin;
pub(crate) mod websocket;

pub(crate) use origin::SocketOrigins;

/// How response messages are written to the HTTP body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    Ndjson,
    ServerSentEvents,
    /// One JSON document per chunk, for WebSocket text frames.
    WebSocket,
}

impl Framing {
    pub(crate) fn from_accept(headers: &HeaderMap) -> Self {
        let wants_events = headers
            .get_all(header::ACCEPT)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .any(|value| value.contains("text/event-stream"));
        if wants_events {
            Framing::ServerSentEvents
        } else {
            Framing::Ndjson
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Framing::Ndjson => "application/x-ndjson",
            Framing::ServerSentEvents => "text/event-stream",
            Framing::WebSocket => "application/json",
        }
    }

    fn message(self, json: &[u8]) -> Bytes {
        match self {
            Framing::Ndjson => [json, b"\n"].concat().into(),
            Framing::ServerSentEvents => [b"data: ", json, b"\n\n"].concat().into(),
            Framing::WebSocket => Bytes::copy_from_slice(json),
        }
    }

    pub(crate) fn error(self, status_json: &[u8]) -> Bytes {
        match self {
            Framing::Ndjson => [br#"{"error":"#, status_json, b"}\n"].concat().into(),
            Framing::ServerSentEvents => [b"event: error\ndata: ", status_json, b"\n\n"].concat().into(),
            Framing::WebSocket => [br#"{"error":"#, status_json, b"}"].concat().into(),
        }
    }
}

/// The HTTP response of a call whose responses stream. A server stream's
/// first message is awaited, so that a failure before it is an ordinary
/// HTTP error; a bidi call answers at once and reports errors in-band.
pub(crate) async fn http_response(
    mut call: Call,
    binding: Arc<Binding>,
    renderer: Renderer,
    framing: Framing,
) -> Result<Response<Body>, HttpError> {
    let first = if binding.method.is_client_streaming() {
        None
    } else {
        match call.next().await {
            Some(Ok(message)) => Some(message),
            Some(Err(error)) => return Err(error),
            None => None,
        }
    };
    let mut metadata = HeaderMap::new();
    add_response_headers(call.metadata(), &mut metadata);
    let output = ResponseStream::new(first, call, binding, renderer, framing);
    let mut response = Response::new(Body::from_stream(output.into_stream()));
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    headers.extend(metadata);
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(framing.content_type()),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Ok(response)
}

/// Response messages as framed chunks, ending with an in-band error when
/// the call fails.
pub(crate) struct ResponseStream {
    first: Option<Bytes>,
    call: Call,
    binding: Arc<Binding>,
    renderer: Renderer,
    framing: Framing,
    finished: bool,
}

impl ResponseStream {
    pub(crate) fn new(
        first: Option<Bytes>,
        call: Call,
        binding: Arc<Binding>,
        renderer: Renderer,
        framing: Framing,
    ) -> Self {
        ResponseStream {
            first,
            call,
            binding,
            renderer,
            framing,
            finished: false,
        }
    }

    pub(crate) fn into_stream(
        self,
    ) -> impl Stream<Item = Result<Bytes, std::convert::Infallible>> + Send + 'static {
        futures_util::stream::unfold(self, |mut state| async move {
            let chunk = state.next_chunk().await?;
            Some((Ok(chunk), state))
        })
    }

    async fn next_chunk(&mut self) -> Option<Bytes> {
        if self.finished {
            return None;
        }
        let next = match self.first.take() {
            Some(message) => Some(Ok(message)),
            None => self.call.next().await,
        };
        let error = match next? {
            Ok(message) => match self.renderer.message(&self.binding, &message) {
                Ok((json, _)) => return Some(self.framing.message(&json)),
                Err(error) => error,
            },
            Err(error) => error,
        };
        self.finished = true;
        Some(self.framing.error(&self.renderer.error_json(&error)))
    }
}

#[cfg(test)]
mod tests;
