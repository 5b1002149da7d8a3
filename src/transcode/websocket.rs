//! Streaming bindings as WebSockets, for browsers: a WebSocket upgrade (a
//! `GET` with `Upgrade: websocket`) on the path of any streaming binding,
//! whatever its HTTP method, opens that call. Each text (or binary) frame
//! from the client is one request message, woven with the path and query;
//! each response message is one text frame back. A failure is a last
//! `{"error": <google.rpc.Status>}` frame before the close.
//!
//! For a method whose requests do not stream, the request comes from the
//! path and query alone, and the client only listens.

use std::sync::Arc;

use super::response::Renderer;
use axum::body::Body;
use axum::extract::FromRequestParts as _;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade, close_code};
use bytes::Bytes;
use futures_util::{SinkExt as _, Stream, StreamExt as _};
use http::{HeaderMap, Method, Response, header};
use http_body::Frame;
use http_body_util::{Full, StreamBody};

use super::backend::Backend;
use super::descriptor::Binding;
use super::routing::{Lookup, Router};
use super::status::HttpError;
use super::streaming::{Framing, RequestFailure, ResponseStream, StreamingCall};

/// Methods tried, in order, to find the streaming binding of an upgrade.
const BINDING_METHODS: [Method; 5] = [
    Method::GET,
    Method::POST,
    Method::PUT,
    Method::PATCH,
    Method::DELETE,
];

/// Whether the request asks to become a WebSocket.
pub(crate) fn is_upgrade(headers: &HeaderMap) -> bool {
    headers
        .get(header::UPGRADE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.eq_ignore_ascii_case("websocket"))
}

/// The streaming binding on `path`, under any method.
pub(crate) fn find_binding<'r, 'p>(
    router: &'r Router<Arc<Binding>>,
    path: &'p str,
) -> Option<(&'r Arc<Binding>, Vec<&'p str>)> {
    BINDING_METHODS
        .iter()
        .find_map(|method| match router.lookup(method, path) {
            Lookup::Found { payload, segments }
                if payload.method.is_client_streaming() || payload.method.is_server_streaming() =>
            {
                Some((payload, segments))
            }
            _ => None,
        })
}

/// Accepts the upgrade and runs the call on the socket.
pub(crate) async fn serve(
    backend: Backend,
    renderer: Renderer,
    call: StreamingCall,
    mut parts: http::request::Parts,
    unary_request: Option<Bytes>,
) -> Result<Response<Body>, HttpError> {
    let upgrade = WebSocketUpgrade::from_request_parts(&mut parts, &())
        .await
        .map_err(|rejection| {
            tonic::Status::invalid_argument(format!("WebSocket upgrade failed: {rejection}"))
        })?;
    let max_message = call.max_line_bytes;
    Ok(upgrade
        .max_message_size(max_message)
        .on_upgrade(move |socket| run(socket, backend, renderer, call, unary_request)))
}

async fn run(
    socket: WebSocket,
    backend: Backend,
    renderer: Renderer,
    call: StreamingCall,
    unary_request: Option<Bytes>,
) {
    let (mut sender, receiver) = socket.split();
    let binding = call.binding.clone();
    let headers = call.headers.clone();
    let failure = RequestFailure::default();
    let started = match unary_request {
        Some(frame) => backend.call(&binding.grpc_path, &headers, Full::new(frame)).await,
        None => {
            let requests = socket_requests(call, receiver, failure.clone());
            backend
                .call(&binding.grpc_path, &headers, StreamBody::new(requests))
                .await
        }
    };
    let mut output = match started {
        Ok(messages) => ResponseStream::new(None, messages, binding, renderer, Framing::WebSocket, failure)
            .into_stream()
            .boxed(),
        Err(status) => {
            let error = super::streaming::take_failure(&failure).unwrap_or_else(|| status.into());
            let chunk = Framing::WebSocket.error(&renderer.error_json(&error));
            futures_util::stream::iter([Ok(chunk)]).boxed()
        }
    };
    while let Some(Ok(chunk)) = output.next().await {
        let Ok(text) = String::from_utf8(chunk.to_vec()) else {
            break;
        };
        if sender.send(Message::Text(text.into())).await.is_err() {
            return; // the client left: dropping the call cancels it
        }
    }
    let close = CloseFrame {
        code: close_code::NORMAL,
        reason: "".into(),
    };
    let _ = sender.send(Message::Close(Some(close))).await;
}

/// The client's frames as request messages, read when the service asks.
fn socket_requests(
    call: StreamingCall,
    receiver: futures_util::stream::SplitStream<WebSocket>,
    failure: RequestFailure,
) -> impl Stream<Item = Result<Frame<Bytes>, tonic::Status>> + Send + 'static {
    futures_util::stream::unfold(
        (receiver, call, failure, 0_usize, false),
        |(mut receiver, call, failure, mut number, stopped)| async move {
            if stopped {
                return None;
            }
            loop {
                let payload = match receiver.next().await? {
                    Ok(Message::Text(text)) => Bytes::copy_from_slice(text.as_bytes()),
                    Ok(Message::Binary(bytes)) => bytes,
                    Ok(Message::Ping(_) | Message::Pong(_)) => continue,
                    Ok(Message::Close(_)) | Err(_) => return None,
                };
                number += 1;
                return match call.weave(&payload, &format!("message {number}")) {
                    Ok(frame) => Some((Ok(Frame::data(frame)), (receiver, call, failure, number, false))),
                    Err(error) => {
                        let reported = tonic::Status::invalid_argument(error.message().to_owned());
                        *failure.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(error);
                        Some((Err(reported), (receiver, call, failure, number, true)))
                    }
                };
            }
        },
    )
}
