//! Whether the process should get traffic, told the same way on both
//! faces: `GET /healthz` (liveness: the process serves), `GET /readyz`
//! (readiness: not draining, and the store answers a trivial query) and
//! `grpc.health.v1` (tonic-health), whose statuses follow the same check.
//!
//! - `readiness` — [`Health`]: the check, the drain flag, and the task that
//!   keeps the gRPC health statuses in step with them;
//! - `routes` — the two HTTP endpoints.

mod readiness;
mod routes;

pub(crate) use readiness::{Health, Probe};
pub(crate) use routes::{LIVENESS_PATH, READINESS_PATH, routes};
