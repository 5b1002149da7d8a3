//! Liveness guards: a wait that hangs fails the test, naming what it was
//! waiting for, instead of hanging the test binary.

use std::time::Duration;

/// How long any single wait on the network may take before the test fails.
pub const GUARD: Duration = Duration::from_secs(10);

/// Awaits `future`, failing the test after [`GUARD`].
pub async fn guarded<T>(what: &str, future: impl Future<Output = T>) -> T {
    guarded_for(GUARD, what, future).await
}

/// Awaits `future`, failing the test after `limit`.
pub async fn guarded_for<T>(limit: Duration, what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(limit, future)
        .await
        .unwrap_or_else(|_| panic!("timed out after {limit:?} waiting for {what}"))
}
