//! The server in process: `server::run` on a real loopback socket, backed
//! by a SQLite file in a temporary directory, with graceful shutdown and
//! restart on the same file.

use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use gateway::config::Config;
use gateway::server::{self, ServerError};
use gateway::transcode::interceptor::Interceptor;
use tempfile::TempDir;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::endpoint::Endpoint;
use super::guard::guarded_for;

/// How long a graceful shutdown may take before the test fails.
const SHUTDOWN_GUARD: Duration = Duration::from_secs(30);

/// The database file inside `dir`, for the server and the binary's `--database`.
pub fn database_in(dir: &Path) -> PathBuf {
    dir.join("users.db")
}

/// A running server on `127.0.0.1:<ephemeral>`; its [`Endpoint`] is
/// reached through it (`server.http`, `server.url(..)`, `server.grpc()`).
pub struct TestServer {
    endpoint: Endpoint,
    dir: TempDir,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), ServerError>>,
}

impl Deref for TestServer {
    type Target = Endpoint;

    fn deref(&self) -> &Endpoint {
        &self.endpoint
    }
}

impl TestServer {
    /// Starts a server on a fresh, empty database.
    pub async fn start() -> TestServer {
        Self::start_with(Vec::new()).await
    }

    /// Starts a server on a fresh database with `interceptors` in its
    /// policy chain.
    pub async fn start_with(interceptors: Vec<Arc<dyn Interceptor>>) -> TestServer {
        let dir = tempfile::tempdir().expect("create a temporary directory");
        Self::start_in(dir, interceptors, |_| {}).await
    }

    /// Starts a server on a fresh database, its configuration changed by
    /// `configure`.
    pub async fn start_configured(configure: impl FnOnce(&mut Config)) -> TestServer {
        let dir = tempfile::tempdir().expect("create a temporary directory");
        Self::start_in(dir, Vec::new(), configure).await
    }

    /// Starts a server on `dir/users.db` (which may already hold data) and
    /// waits until it answers, failing with `run`'s error if it stops first.
    async fn start_in(
        dir: TempDir,
        interceptors: Vec<Arc<dyn Interceptor>>,
        configure: impl FnOnce(&mut Config),
    ) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
        let endpoint = Endpoint::new(listener.local_addr().expect("the listener's address"));
        let mut config = Config::with_database(database_in(dir.path()));
        // Tests stop their server at once; `tests/shutdown.rs` drains.
        config.drain_timeout = Duration::ZERO;
        configure(&mut config);
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(server::run_with(listener, config, interceptors, async {
            let _ = rx.await;
        }));
        if endpoint.wait_until_serving(|| task.is_finished()).await.is_err() {
            let result = task.await;
            panic!("server::run ended before it served: {result:?}");
        }
        TestServer {
            endpoint,
            dir,
            shutdown: Some(tx),
            task,
        }
    }

    pub fn database_path(&self) -> PathBuf {
        database_in(self.dir.path())
    }

    /// Triggers a graceful shutdown and asserts that `run` returned `Ok`.
    pub async fn shutdown(self) {
        drop(self.stop().await);
    }

    /// Shuts down gracefully, then starts a new server on the same file.
    pub async fn restart(self) -> TestServer {
        self.restart_configured(|_| {}).await
    }

    /// [`TestServer::restart`], the new server's configuration changed by
    /// `configure`.
    pub async fn restart_configured(self, configure: impl FnOnce(&mut Config)) -> TestServer {
        let dir = self.stop().await;
        Self::start_in(dir, Vec::new(), configure).await
    }

    async fn stop(mut self) -> TempDir {
        drop(self.endpoint); // No pooled connection keeps the server waiting.
        if let Some(tx) = self.shutdown.take() {
            tx.send(()).expect("the server is still waiting for shutdown");
        }
        let joined = guarded_for(SHUTDOWN_GUARD, "the server to shut down", self.task).await;
        let result = joined.expect("the server task panicked");
        assert!(result.is_ok(), "server::run returned an error: {result:?}");
        self.dir
    }
}
