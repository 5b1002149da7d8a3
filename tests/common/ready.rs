//! Readiness: a server is ready when it answers an HTTP request, not when
//! its port accepts a connection (the kernel accepts those into the backlog
//! as soon as the socket listens, before anything serves it).

use std::time::Duration;

use super::endpoint::Endpoint;
use super::guard::guarded_for;

/// How long a server may take to start serving.
const READY_LIMIT: Duration = Duration::from_secs(20);
/// The pause between two probes.
const READY_INTERVAL: Duration = Duration::from_millis(25);
/// What is probed: any path will do, as any HTTP answer (a 404 included)
/// shows the server serves; this one touches no store.
const PROBE_PATH: &str = "/openapi.json";

/// The server stopped before it answered.
#[derive(Debug)]
pub struct Stopped;

impl Endpoint {
    /// Probes `GET /openapi.json` until it answers at all (bounded by
    /// [`READY_LIMIT`]), or until `stopped()` says the server is gone.
    pub async fn wait_until_serving(&self, mut stopped: impl FnMut() -> bool) -> Result<(), Stopped> {
        let probing = async {
            loop {
                if stopped() {
                    return Err(Stopped);
                }
                if self.http.get(self.url(PROBE_PATH)).send().await.is_ok() {
                    return Ok(());
                }
                tokio::time::sleep(READY_INTERVAL).await;
            }
        };
        guarded_for(READY_LIMIT, &format!("{} to serve", self.base_url()), probing).await
    }
}
