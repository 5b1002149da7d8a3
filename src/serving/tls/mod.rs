//! TLS on the one port (`--tls-cert`, `--tls-key`; mTLS with
//! `--tls-client-ca`): the configuration read from the files
//! (`files.rs`), kept current as they change or on SIGHUP (here: a reload
//! that fails keeps the old configuration), each new connection's
//! handshake under the current one (`acceptor.rs`), and the verified
//! client certificate's subject (`subject.rs`).
//!
//! ```text
//! files ─► ServerConfig ─► RwLock ◄─ reload (files changed, SIGHUP)
//! accept ─► handshake (current config, header read timeout) ─► connection (+ OverTls, ClientCertificate)
//! ```
//!
//! Connections already open keep the configuration they were made with.

use std::sync::{Arc, RwLock};

use crate::config::TlsOptions;
use crate::reloading::{self, Watch};

mod acceptor;
mod files;
mod subject;

pub(crate) use acceptor::handshake;
use files::TlsFiles;

/// The current TLS configuration, and the watch that reloads it.
#[derive(Clone)]
pub(crate) struct Tls {
    current: Arc<RwLock<Arc<rustls::ServerConfig>>>,
    _watch: Arc<Watch>,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("Tls").finish_non_exhaustive()
    }
}

impl Tls {
    /// Whether `options` go together and their files can be read.
    pub(crate) fn check(options: &TlsOptions) -> Result<(), String> {
        if let Some(files) = TlsFiles::of(options)? {
            files.load()?;
        }
        Ok(())
    }

    /// The TLS of `options` (none without a certificate), reloaded from
    /// then on. Must be called inside a tokio runtime.
    pub(crate) fn start(options: &TlsOptions) -> Result<Option<Tls>, String> {
        let Some(files) = TlsFiles::of(options)? else {
            return Ok(None);
        };
        let current = Arc::new(RwLock::new(files.load()?));
        let watch = {
            let current = current.clone();
            let paths = files.paths();
            reloading::watch("TLS files", paths, move || match files.load() {
                Ok(config) => {
                    *current.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = config;
                    tracing::info!("TLS configuration reloaded");
                }
                Err(error) => tracing::warn!(%error, "TLS reload failed; keeping the configuration in use"),
            })
        };
        Ok(Some(Tls {
            current,
            _watch: Arc::new(watch),
        }))
    }

    /// The configuration new handshakes use.
    fn current(&self) -> Arc<rustls::ServerConfig> {
        self.current
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }
}
