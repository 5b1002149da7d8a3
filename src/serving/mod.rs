//! The accept loop and everything about connections: how many may be open
//! (`--max-connections`; past it new clients wait in the kernel backlog
//! while idle connections are closed to make room), how long one may do
//! nothing useful (`watchdog.rs`), the HTTP/1.1 and HTTP/2 settings
//! (`connection.rs`), and the drain on shutdown: the server keeps serving
//! for the drain period, then stops accepting, closes its connections and
//! ends the gRPC streams still open with UNAVAILABLE (`response_body.rs`).
//! hyper's own answers to requests it cannot parse get a `google.rpc.Status`
//! body on the way out (`status_bodies.rs`). With `--tls-cert`, every
//! connection starts with a TLS handshake (`tls/`).
//!
//! ```text
//! accept ─► a place under the cap ─► [TLS handshake] ─► connection (auto: HTTP/1.1 | h2) ─► handler(request + ConnectInfo)
//!                                     └ watchdog: silent, slow head, idle ─► close
//! shutdown ─► on_drain() ─► drain period (still serving) ─► stop accepting ─► close ─► return
//! ```

use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use http::{Request, Response};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};

use crate::config::Config;

mod activity;
mod connection;
mod limits;
mod response_body;
mod status_bodies;
pub(crate) mod tls;
mod watchdog;

pub(crate) use limits::connection_cap;

/// How long the connections still open after the drain may take to close
/// before `serve` returns without them.
const CLOSE_LIMIT: Duration = Duration::from_secs(2);

/// The connection settings, from the [`Config`].
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    timeouts: watchdog::Timeouts,
    max_connections: usize,
    max_concurrent_streams: u32,
    keep_alive_interval: Option<Duration>,
    keep_alive_timeout: Duration,
    drain: Duration,
    /// TLS on every connection, when configured.
    tls: Option<tls::Tls>,
}

/// A zero duration turns a timeout off.
pub(crate) fn enabled(timeout: Duration) -> Option<Duration> {
    (!timeout.is_zero()).then_some(timeout)
}

impl Settings {
    pub(crate) fn of(config: &Config) -> Self {
        Settings {
            timeouts: watchdog::Timeouts {
                header_read: enabled(config.header_read_timeout),
                idle: enabled(config.idle_timeout),
            },
            max_connections: connection_cap(config.max_connections),
            max_concurrent_streams: config.max_concurrent_streams,
            keep_alive_interval: enabled(config.http2_keepalive_interval),
            keep_alive_timeout: config.http2_keepalive_timeout,
            drain: config.drain_timeout,
            tls: None,
        }
    }

    /// These settings, serving TLS with `tls`.
    pub(crate) fn with_tls(self, tls: Option<tls::Tls>) -> Self {
        Settings { tls, ..self }
    }
}

/// Set when the drain is over: connections close, and the calls still
/// open end (gRPC streams here, REST calls in the gateway, which watches
/// [`Stop::watch`]).
pub(crate) struct Stop(watch::Sender<bool>);

impl Stop {
    pub(crate) fn new() -> Self {
        Stop(watch::Sender::new(false))
    }

    /// Reads true once the drain is over.
    pub(crate) fn watch(&self) -> watch::Receiver<bool> {
        self.0.subscribe()
    }
}

/// Serves `listener` with `handler` until `shutdown` completes and the
/// drain is over, then sets `stop`. `on_drain` is called once, when the
/// drain begins.
pub(crate) async fn serve<H, F>(
    listener: TcpListener,
    settings: Settings,
    stop: Stop,
    handler: H,
    shutdown: impl Future<Output = ()>,
    on_drain: impl FnOnce(),
) where
    H: Fn(Request<Body>) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Response<Body>> + Send + 'static,
{
    let settings = Arc::new(settings);
    let builder = Arc::new(connection::builder(&settings));
    let places = Arc::new(Semaphore::new(settings.max_connections));
    let (pressure, pressure_rx) = watch::channel(false);
    let signals = connection::Signals {
        pressure: pressure_rx,
        closing: stop.watch(),
    };
    let mut shutdown = std::pin::pin!(shutdown);
    let mut on_drain = Some(on_drain);
    let drain_over = tokio::time::sleep(Duration::MAX);
    let mut drain_over = std::pin::pin!(drain_over);
    {
        let next = accept(&listener, &places, &pressure);
        let mut next = std::pin::pin!(next);
        loop {
            tokio::select! {
                () = &mut shutdown, if on_drain.is_some() => {
                    tracing::info!(drain = ?settings.drain, "draining: still serving, then closing");
                    if let Some(on_drain) = on_drain.take() {
                        on_drain();
                    }
                    drain_over.as_mut().reset(tokio::time::Instant::now() + settings.drain);
                }
                () = &mut drain_over, if on_drain.is_none() => break,
                accepted = &mut next => {
                    next.set(accept(&listener, &places, &pressure));
                    let (stream, peer, place) = match accepted {
                        Ok(accepted) => accepted,
                        Err(error) => {
                            backoff(&error).await;
                            continue;
                        }
                    };
                    let (builder, settings, handler, signals) =
                        (builder.clone(), settings.clone(), handler.clone(), signals.clone());
                    tokio::spawn(async move {
                        let Some(tls) = &settings.tls else {
                            let peer = connection::Peer::plain(peer);
                            connection::serve(stream, peer, place, &builder, &settings, handler, signals).await;
                            return;
                        };
                        let mut closing = signals.closing.clone();
                        let handshake = tokio::select! {
                            handshake = tls::handshake(tls, stream, peer, settings.timeouts.header_read) => handshake,
                            _ = closing.wait_for(|closing| *closing) => None,
                        };
                        if let Some((stream, client_certificate)) = handshake {
                            let peer = connection::Peer { addr: peer, tls: true, client_certificate };
                            connection::serve(stream, peer, place, &builder, &settings, handler, signals).await;
                        }
                    });
                }
            }
        }
    }
    drop(listener); // No more connections are accepted.
    tracing::info!("drain over: closing the connections");
    stop.0.send_replace(true);
    let all = u32::try_from(settings.max_connections).unwrap_or(u32::MAX);
    if tokio::time::timeout(CLOSE_LIMIT, places.acquire_many(all))
        .await
        .is_err()
    {
        tracing::warn!("some connections did not close in time");
    }
}

/// The next connection and its place under the cap. When the cap is
/// reached, idle connections are asked to close while this one waits.
async fn accept(
    listener: &TcpListener,
    places: &Arc<Semaphore>,
    pressure: &watch::Sender<bool>,
) -> io::Result<(TcpStream, std::net::SocketAddr, OwnedSemaphorePermit)> {
    let (stream, peer) = listener.accept().await?;
    // Answers and stream messages leave as they are written, not after
    // Nagle's wait for the peer's ACK (as gRPC servers do by default).
    if let Err(error) = stream.set_nodelay(true) {
        tracing::debug!(%error, "could not set TCP_NODELAY");
    }
    let place = match places.clone().try_acquire_owned() {
        Ok(place) => place,
        Err(_) => {
            pressure.send_replace(true);
            let place = places.clone().acquire_owned().await;
            pressure.send_replace(false);
            place.expect("the semaphore is never closed")
        }
    };
    Ok((stream, peer, place))
}

/// After a failed accept: per-connection errors are skipped, others (out
/// of file descriptors) wait a little before the next try.
async fn backoff(error: &io::Error) {
    use io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if !matches!(
        error.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        tracing::warn!(%error, "accepting a connection failed; trying again shortly");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
