//! The knobs of TLS on the one port: the server's certificate and key, and
//! mTLS (the client CA and whether a client certificate is required). Part
//! of [`Config`](super::Config), flattened.

use std::path::PathBuf;

/// TLS and mTLS: with a certificate and its key, the port serves HTTPS and
/// gRPC over TLS (ALPN `h2` and `http/1.1`, TLS 1.2 and 1.3). The files are
/// read again when they change or on SIGHUP.
#[derive(Debug, Clone, Default, PartialEq, Eq, clap::Args)]
pub struct TlsOptions {
    /// The server's certificate, PEM, with its chain (leaf first); needs
    /// `--tls-key`.
    #[arg(long, env = "GATEWAY_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,

    /// The certificate's private key, PEM (PKCS#8, PKCS#1 or SEC1).
    #[arg(long, env = "GATEWAY_TLS_KEY")]
    pub tls_key: Option<PathBuf>,

    /// The CA certificates (PEM) that client certificates must chain to:
    /// turns on mTLS.
    #[arg(long, env = "GATEWAY_TLS_CLIENT_CA")]
    pub tls_client_ca: Option<PathBuf>,

    /// With `--tls-client-ca`: `required` (the default) refuses clients
    /// without a trusted certificate; `optional` also lets in clients with
    /// none (an untrusted one is still refused).
    #[arg(long, env = "GATEWAY_TLS_CLIENT_AUTH", value_enum)]
    pub tls_client_auth: Option<ClientAuth>,
}

/// Whether clients must present a certificate (mTLS).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ClientAuth {
    /// A client without a trusted certificate is refused.
    Required,
    /// A client without a certificate is let in; an untrusted one is not.
    Optional,
}
