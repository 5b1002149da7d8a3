//! Streaming bindings as WebSockets, for browsers: a WebSocket upgrade (a
//! `GET` with `Upgrade: websocket`) on the path of any streaming binding,
//! whatever its HTTP method, opens that call. Each text (or binary) frame
//! from the client is one request message, woven with the path and query;
//! each response message is one text frame back. A failure is a last
//! `{"error": <google.rpc.Status>}` frame before the close.
//!
//! For a method whose requests do not stream, the request comes from the
//! path and query alone, and the client only listens. Only pages the
//! gateway allows may open a socket (`origin.rs`, checked before this).

use std::future::Future;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::FromRequestParts as _;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade, close_code};
use bytes::Bytes;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt as _, Stream, StreamExt as _};
use http::{HeaderMap, Method, Response, header};

use crate::transcode::binding::Binding;
use crate::transcode::error::HttpError;
use crate::transcode::routing::{Lookup, Router};

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

/// Accepts the upgrade (messages of at most `max_message` bytes) and runs
/// `serve` on the socket once it is open.
pub(crate) async fn accept<F, Served>(
    mut parts: http::request::Parts,
    max_message: usize,
    serve: F,
) -> Result<Response<Body>, HttpError>
where
    F: FnOnce(WebSocket) -> Served + Send + 'static,
    Served: Future<Output = ()> + Send + 'static,
{
    let upgrade = WebSocketUpgrade::from_request_parts(&mut parts, &())
        .await
        .map_err(|rejection| {
            tonic::Status::invalid_argument(format!("WebSocket upgrade failed: {rejection}"))
        })?;
    Ok(upgrade.max_message_size(max_message).on_upgrade(serve))
}

/// The client's text (or binary) frames as request payloads, numbered from
/// 1, read when the service asks; the stream ends when the client closes.
pub(crate) fn payloads(
    receiver: SplitStream<WebSocket>,
) -> impl Stream<Item = Result<(Bytes, usize), HttpError>> + Send + 'static {
    futures_util::stream::unfold((receiver, 0_usize), |(mut receiver, mut number)| async move {
        loop {
            let payload = match receiver.next().await? {
                Ok(Message::Text(text)) => Bytes::copy_from_slice(text.as_bytes()),
                Ok(Message::Binary(bytes)) => bytes,
                Ok(Message::Ping(_) | Message::Pong(_)) => continue,
                Ok(Message::Close(_)) | Err(_) => return None,
            };
            number += 1;
            return Some((Ok((payload, number)), (receiver, number)));
        }
    })
}

/// Sends each chunk as a text frame, then a normal close. Returns early
/// when the client has gone (dropping the chunks' source cancels the call).
pub(crate) async fn send_all(
    mut sender: SplitSink<WebSocket, Message>,
    chunks: impl Stream<Item = Bytes> + Send,
) {
    let mut chunks = std::pin::pin!(chunks);
    while let Some(chunk) = chunks.next().await {
        let Ok(text) = String::from_utf8(chunk.to_vec()) else {
            break;
        };
        if sender.send(Message::Text(text.into())).await.is_err() {
            return;
        }
    }
    let close = CloseFrame {
        code: close_code::NORMAL,
        reason: "".into(),
    };
    let _ = sender.send(Message::Close(Some(close))).await;
}
