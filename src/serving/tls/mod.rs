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

use tokio::task::JoinHandle;

use crate::config::TlsOptions;
use crate::reloading;

mod acceptor;
mod files;
mod subject;

pub(crate) use acceptor::handshake;
use files::TlsFiles;

/// The TLS files and the configuration read from them last.
#[derive(Clone)]
pub(crate) struct Tls {
    files: Arc<TlsFiles>,
    current: Arc<RwLock<Arc<rustls::ServerConfig>>>,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Tls")
            .field("files", &self.files)
            .finish_non_exhaustive()
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

    /// The TLS of `options` (none without a certificate), read once.
    pub(crate) fn start(options: &TlsOptions) -> Result<Option<Tls>, String> {
        let Some(files) = TlsFiles::of(options)? else {
            return Ok(None);
        };
        let current = Arc::new(RwLock::new(files.load()?));
        Ok(Some(Tls {
            files: Arc::new(files),
            current,
        }))
    }

    /// Reads the files again until the returned task is aborted: when one
    /// changes or on SIGHUP. A failed reload (logged by the watcher) keeps
    /// the configuration in use. Must be called inside a tokio runtime.
    pub(crate) fn watch(&self) -> JoinHandle<()> {
        let tls = self.clone();
        reloading::watch("the TLS files", self.files.paths(), move || tls.reload())
    }

    /// Reads the files; only a configuration that loads replaces the old one.
    fn reload(&self) -> Result<(), String> {
        let config = self.files.load()?;
        *self
            .current
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = config;
        Ok(())
    }

    /// The configuration new handshakes use.
    fn current(&self) -> Arc<rustls::ServerConfig> {
        self.current
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }
}
