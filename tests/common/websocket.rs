//! WebSocket clients (tokio-tungstenite): connect to a path, read text
//! frames as JSON, send text frames.

use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;

use super::endpoint::Endpoint;
use super::guard::guarded;

pub type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>;

pub async fn connect_socket(server: &Endpoint, path: &str) -> Socket {
    let url = format!("ws://{}{path}", server.addr());
    let (socket, response) = guarded("the WebSocket handshake", tokio_tungstenite::connect_async(url))
        .await
        .unwrap_or_else(|error| panic!("{path}: the upgrade failed: {error}"));
    assert_eq!(response.status().as_u16(), 101);
    socket
}

/// Opens a socket as a page of `origin` would (`Origin: origin`); a
/// refused upgrade is its status and JSON body (`Null` if none).
pub async fn connect_socket_from(
    server: &Endpoint,
    path: &str,
    origin: &str,
) -> Result<Socket, (u16, Value)> {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
    let mut request = format!("ws://{}{path}", server.addr())
        .into_client_request()
        .expect("a WebSocket request");
    let origin = origin.parse().expect("an origin header value");
    request.headers_mut().insert("origin", origin);
    match guarded(
        "the WebSocket handshake",
        tokio_tungstenite::connect_async(request),
    )
    .await
    {
        Ok((socket, _)) => Ok(socket),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            let body = response.body().as_deref().unwrap_or_default();
            Err((
                response.status().as_u16(),
                serde_json::from_slice(body).unwrap_or(Value::Null),
            ))
        }
        Err(error) => panic!("{path}: the handshake failed: {error}"),
    }
}

/// The next frame: the JSON of a text frame, or `None` for a close frame.
pub async fn next_frame(socket: &mut Socket) -> Option<Value> {
    loop {
        let message = guarded("a WebSocket frame", socket.next())
            .await
            .expect("the socket ended without a close frame")
            .expect("a WebSocket frame");
        match message {
            Message::Text(text) => {
                return Some(serde_json::from_str(&text).unwrap_or_else(|error| panic!("{error}: {text}")));
            }
            Message::Close(_) => return None,
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("unexpected frame {other:?}"),
        }
    }
}

pub async fn send_text(socket: &mut Socket, text: String) {
    guarded("sending a frame", socket.send(Message::text(text)))
        .await
        .expect("send a frame");
}
