//! One connection: HTTP/1.1 or HTTP/2 with prior knowledge (h2c, or h2
//! over TLS), told apart by its first bytes (hyper-util's `auto` builder),
//! its requests handed to the handler with the peer's address (and, over
//! TLS, [`OverTls`] and the verified [`ClientCertificate`]), its watchdog, and its
//! close: at once for a slow head, gracefully (HTTP/2 GOAWAY, HTTP/1.1
//! after the response in flight) when idle or when the drain is over.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use http::{Request, Response, StatusCode};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{OwnedSemaphorePermit, watch};

use crate::edge::is_grpc;
use crate::serving::Settings;
use crate::serving::activity::{Activity, Watched};
use crate::serving::response_body::ServedBody;
use crate::serving::status_bodies::StatusBodies;
use crate::serving::watchdog::{self, Closing};
use crate::transcode::{ClientCertificate, OverTls};

/// How long a connection told to close gracefully may take to finish what
/// it is sending before it is dropped.
const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// HTTP/2 flow-control windows. h2 charges each small DATA frame (under
/// 256 bytes) against a per-connection budget of half the connection
/// window, given back only when the application reads the frame, and sends
/// `GOAWAY ENHANCE_YOUR_CALM` when it runs out. gRPC clients that send each
/// message in its own frame (grpcio does) fill a stream's window with
/// small frames whenever the handler reads slower than they send: with
/// hyper's defaults (1 MiB for the stream and for the connection), 1 MiB of
/// 45-byte messages costs about 4.7 MiB of budget against 512 KiB, and a
/// bulk create of a few thousand users was cut off. With a 64 KiB stream
/// window and an 8 MiB connection window (a 4 MiB budget), one stream can
/// buffer at most 64 KiB unread, which costs at most 3.2 MiB of budget even
/// for empty messages (5-byte frames), and about 350 KiB for typical ones:
/// a single stream can never exhaust the budget, and about ten streams of
/// typical small messages at once cannot either, however slowly their
/// handlers read. A stream still buffers no more than 64 KiB, and a
/// connection no more than 8 MiB. (Streams that read promptly give their
/// budget back at once; `BulkCreateUsers` reads in batches for that.)
const HTTP2_STREAM_WINDOW: u32 = 64 * 1024;
const HTTP2_CONNECTION_WINDOW: u32 = 8 * 1024 * 1024;

/// hyper's own head limits, above the gateway's (`transcode/request/head.rs`)
/// so that the gateway answers heads between the two with a
/// `google.rpc.Status` body; past these, hyper answers 431 with no body
/// (HTTP/1.1) or resets the stream (HTTP/2).
const HARD_MAX_HEADERS: usize = 200;
const HARD_MAX_HEADER_LIST_BYTES: u32 = 64 * 1024;

/// The protocol settings every connection shares.
pub(crate) fn builder(settings: &Settings) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // The watchdog times heads itself, from their first byte (hyper would
    // time the wait for the next request too).
    builder
        .http1()
        .header_read_timeout(None)
        .keep_alive(true)
        .max_headers(HARD_MAX_HEADERS);
    builder
        .http2()
        .timer(TokioTimer::new())
        // CONNECT protocol, for WebSockets over HTTP/2.
        .enable_connect_protocol()
        .max_concurrent_streams(settings.max_concurrent_streams)
        .initial_stream_window_size(HTTP2_STREAM_WINDOW)
        .initial_connection_window_size(HTTP2_CONNECTION_WINDOW)
        .keep_alive_interval(settings.keep_alive_interval)
        .keep_alive_timeout(settings.keep_alive_timeout)
        .max_header_list_size(HARD_MAX_HEADER_LIST_BYTES);
    builder
}

/// What every connection listens to.
#[derive(Clone)]
pub(crate) struct Signals {
    /// True while a new client waits for a place under the cap.
    pub(crate) pressure: watch::Receiver<bool>,
    /// True once the drain is over: connections close, gRPC streams end.
    pub(crate) closing: watch::Receiver<bool>,
}

/// Who is at the other end of a connection.
#[derive(Debug, Clone)]
pub(crate) struct Peer {
    pub(crate) addr: SocketAddr,
    /// Whether the connection is TLS.
    pub(crate) tls: bool,
    /// The client certificate its TLS handshake verified (mTLS).
    pub(crate) client_certificate: Option<ClientCertificate>,
}

impl Peer {
    /// A peer on a plain connection.
    pub(crate) fn plain(addr: SocketAddr) -> Self {
        Peer {
            addr,
            tls: false,
            client_certificate: None,
        }
    }

    fn describe(&self, request: &mut Request<Body>) {
        let extensions = request.extensions_mut();
        extensions.insert(ConnectInfo(self.addr));
        if self.tls {
            extensions.insert(OverTls);
        }
        if let Some(certificate) = &self.client_certificate {
            extensions.insert(certificate.clone());
        }
    }
}

/// Serves `stream` until it closes, is closed by its watchdog, or the
/// drain is over.
pub(crate) async fn serve<S, H, F>(
    stream: S,
    client: Peer,
    place: OwnedSemaphorePermit,
    builder: &auto::Builder<TokioExecutor>,
    settings: &Settings,
    handler: H,
    mut signals: Signals,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    H: Fn(Request<Body>) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Response<Body>> + Send + 'static,
{
    let peer = client.addr;
    let activity = Activity::new();
    let io = TokioIo::new(StatusBodies::new(Watched::new(stream, activity.clone(), place)));
    let service = {
        let activity = activity.clone();
        let closing = signals.closing.clone();
        hyper::service::service_fn(move |request: Request<Incoming>| {
            let guard = activity.request_started();
            let handler = handler.clone();
            let closing = closing.clone();
            let client = client.clone();
            async move {
                let mut request = request.map(Body::new);
                client.describe(&mut request);
                let response = handler(request).await;
                if response.status() == StatusCode::SWITCHING_PROTOCOLS {
                    guard.activity().upgraded();
                }
                let grpc = is_grpc(response.headers());
                Ok::<_, Infallible>(response.map(|body| {
                    if grpc {
                        ServedBody::grpc(body, guard, closing)
                    } else {
                        ServedBody::new(body, guard)
                    }
                }))
            }
        })
    };
    let connection = builder.serve_connection_with_upgrades(io, service);
    tokio::pin!(connection);
    tokio::select! {
        served = connection.as_mut() => {
            if let Err(error) = served {
                tracing::debug!(%peer, %error, "connection ended with an error");
            }
            return;
        }
        closing = watchdog::watch(&activity, settings.timeouts, signals.pressure.clone()) => {
            tracing::debug!(%peer, ?closing, "closing the connection");
            if closing == Closing::SlowHead {
                return;
            }
        }
        _ = signals.closing.wait_for(|closing| *closing) => {}
    }
    connection.as_mut().graceful_shutdown();
    let _ = tokio::time::timeout(CLOSE_GRACE, connection).await;
}
