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

use std::sync::{Arc, Mutex};

use axum::body::{Body, BodyDataStream};
use bytes::{Bytes, BytesMut};
use futures_util::{Stream, StreamExt as _};
use http::{HeaderMap, HeaderValue, Response, StatusCode, header};
use http_body::Frame;
use http_body_util::{Full, StreamBody};
use prost::Message as _;

use super::backend::{Backend, ResponseMessages};
use super::descriptor::Binding;
use super::frames::encode_frame;
use super::request::{HttpRequestParts, build_request};
use super::response::Renderer;
use super::status::HttpError;

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

/// What a streaming call needs from the HTTP request, owned so that request
/// lines can be woven while the call runs.
pub(crate) struct StreamingCall {
    pub(crate) binding: Arc<Binding>,
    pub(crate) segments: Vec<String>,
    pub(crate) query: Option<String>,
    pub(crate) headers: HeaderMap,
    pub(crate) max_line_bytes: usize,
}

/// The first failure of the request side (a bad line), which outranks the
/// status the service reports after its input broke off.
pub(crate) type RequestFailure = Arc<Mutex<Option<HttpError>>>;

impl StreamingCall {
    /// Weaves one request message (path, query and `body`) into a frame;
    /// errors start with `position`, e.g. `line 3`.
    pub(crate) fn weave(&self, body: &[u8], position: &str) -> Result<Bytes, HttpError> {
        let segments: Vec<&str> = self.segments.iter().map(String::as_str).collect();
        let parts = HttpRequestParts {
            segments: &segments,
            query: self.query.as_deref(),
            body,
            if_match: None,
        };
        let message = build_request(&self.binding, &parts).map_err(|error| error.in_context(position))?;
        Ok(encode_frame(&message.encode_to_vec())?)
    }
}

/// Serves a streaming binding; `body` is the HTTP request body.
pub(crate) async fn serve(
    backend: &Backend,
    renderer: &Renderer,
    call: StreamingCall,
    body: Body,
    unary_request: Option<Bytes>,
) -> Result<Response<Body>, HttpError> {
    let framing = Framing::from_accept(&call.headers);
    let method = call.binding.method.clone();
    let grpc_path = call.binding.grpc_path.clone();
    let headers = call.headers.clone();
    let binding = call.binding.clone();
    let failure = RequestFailure::default();

    let started = match unary_request {
        Some(frame) => backend.call(&grpc_path, &headers, Full::new(frame)).await,
        None => {
            let frames = ndjson_requests(call, body, failure.clone());
            backend.call(&grpc_path, &headers, StreamBody::new(frames)).await
        }
    };
    let mut messages = started.map_err(|status| take_failure(&failure).unwrap_or_else(|| status.into()))?;

    if !method.is_server_streaming() {
        // Client streaming: one response once the input is consumed.
        let response = messages.next().await;
        if let Some(error) = take_failure(&failure) {
            return Err(error);
        }
        let message = response
            .unwrap_or_else(|| Err(tonic::Status::internal("the service sent no response message")))?;
        return renderer.success(&binding, &message);
    }
    let first = if method.is_client_streaming() {
        None // bidi: answer at once, errors go in-band
    } else {
        match messages.next().await {
            Some(Ok(message)) => Some(message),
            Some(Err(status)) => return Err(status.into()),
            None => None,
        }
    };
    let output = ResponseStream::new(first, messages, binding, renderer.clone(), framing, failure);
    let mut response = Response::new(Body::from_stream(output.into_stream()));
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(framing.content_type()),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Ok(response)
}

pub(crate) fn take_failure(failure: &RequestFailure) -> Option<HttpError> {
    failure
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .take()
}

/// The request messages of an NDJSON body, as gRPC frames, read lazily.
fn ndjson_requests(
    call: StreamingCall,
    body: Body,
    failure: RequestFailure,
) -> impl Stream<Item = Result<Frame<Bytes>, tonic::Status>> + Send + 'static {
    let lines = NdjsonLines {
        data: body.into_data_stream(),
        buffer: BytesMut::new(),
        line_number: 0,
        ended: false,
        max_line_bytes: call.max_line_bytes,
    };
    futures_util::stream::unfold(
        (lines, call, failure, false),
        |(mut lines, call, failure, stopped)| async move {
            if stopped {
                return None;
            }
            let next = match lines.next_line().await {
                Ok(None) => return None,
                Ok(Some((line, number))) => call.weave(&line, &format!("line {number}")),
                Err(error) => Err(error),
            };
            match next {
                Ok(frame) => Some((Ok(Frame::data(frame)), (lines, call, failure, false))),
                Err(error) => {
                    let reported = tonic::Status::invalid_argument(error.message().to_owned());
                    *failure.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(error);
                    Some((Err(reported), (lines, call, failure, true)))
                }
            }
        },
    )
}

/// Splits a body into non-blank lines, each at most `max_line_bytes`.
struct NdjsonLines {
    data: BodyDataStream,
    buffer: BytesMut,
    line_number: usize,
    ended: bool,
    max_line_bytes: usize,
}

impl NdjsonLines {
    /// The next non-blank line and its 1-based number.
    async fn next_line(&mut self) -> Result<Option<(Bytes, usize)>, HttpError> {
        loop {
            if let Some(newline) = self.buffer.iter().position(|&byte| byte == b'\n') {
                let mut line = self.buffer.split_to(newline + 1).freeze();
                // Without its terminator, so JSON errors point into the line itself.
                let content = line
                    .strip_suffix(b"\r\n")
                    .or_else(|| line.strip_suffix(b"\n"))
                    .map(<[u8]>::len);
                line.truncate(content.unwrap_or(line.len()));
                self.line_number += 1;
                if !line.iter().all(u8::is_ascii_whitespace) {
                    return Ok(Some((line, self.line_number)));
                }
                continue;
            }
            if self.buffer.len() > self.max_line_bytes {
                let number = self.line_number + 1;
                let limit = self.max_line_bytes;
                return Err(tonic::Status::invalid_argument(format!(
                    "line {number}: longer than the limit of {limit} bytes"
                ))
                .into());
            }
            if self.ended {
                if self.buffer.iter().all(u8::is_ascii_whitespace) {
                    return Ok(None);
                }
                self.line_number += 1;
                let line = self.buffer.split().freeze();
                return Ok(Some((line, self.line_number)));
            }
            match self.data.next().await {
                Some(Ok(chunk)) => self.buffer.extend_from_slice(&chunk),
                Some(Err(error)) => {
                    let message = format!("reading the request body failed: {error}");
                    return Err(tonic::Status::invalid_argument(message).into());
                }
                None => self.ended = true,
            }
        }
    }
}

/// Response messages as HTTP body chunks, ending with an in-band error when
/// the call fails.
pub(crate) struct ResponseStream {
    first: Option<Bytes>,
    messages: ResponseMessages,
    binding: Arc<Binding>,
    renderer: Renderer,
    framing: Framing,
    failure: RequestFailure,
    finished: bool,
}

impl ResponseStream {
    pub(crate) fn new(
        first: Option<Bytes>,
        messages: ResponseMessages,
        binding: Arc<Binding>,
        renderer: Renderer,
        framing: Framing,
        failure: RequestFailure,
    ) -> Self {
        ResponseStream {
            first,
            messages,
            binding,
            renderer,
            framing,
            failure,
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
            None => self.messages.next().await,
        };
        let error = match next {
            Some(Ok(message)) => match self.renderer.message(&self.binding, &message) {
                Ok((json, _)) => return Some(self.framing.message(&json)),
                Err(error) => error,
            },
            Some(Err(status)) => take_failure(&self.failure).unwrap_or_else(|| status.into()),
            None => take_failure(&self.failure)?,
        };
        self.finished = true;
        Some(self.framing.error(&self.renderer.error_json(&error)))
    }
}

#[cfg(test)]
#[path = "streaming_tests.rs"]
mod tests;
