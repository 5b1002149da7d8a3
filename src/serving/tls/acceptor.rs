//! One connection's TLS handshake, under the configuration current when
//! it starts and within a time limit (the header read timeout), so a
//! silent client cannot hold a place under the connection cap. A failed
//! handshake is the client's problem: logged at debug level.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use super::Tls;
use super::subject::client_certificate;
use crate::transcode::ClientCertificate;

/// The encrypted stream and the verified client certificate, if any;
/// `None` if the handshake failed or took longer than `timeout`.
pub(crate) async fn handshake(
    tls: &Tls,
    stream: TcpStream,
    peer: SocketAddr,
    timeout: Option<Duration>,
) -> Option<(TlsStream<TcpStream>, Option<ClientCertificate>)> {
    let accepting = TlsAcceptor::from(tls.current()).accept(stream);
    let accepted = match timeout {
        Some(timeout) => match tokio::time::timeout(timeout, accepting).await {
            Ok(accepted) => accepted,
            Err(_) => {
                tracing::debug!(%peer, ?timeout, "TLS handshake timed out");
                return None;
            }
        },
        None => accepting.await,
    };
    let stream = match accepted {
        Ok(stream) => stream,
        Err(error) => {
            tracing::debug!(%peer, %error, "TLS handshake failed");
            return None;
        }
    };
    let client = stream
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|chain| chain.first())
        .and_then(|leaf| client_certificate(leaf));
    Some((stream, client))
}
