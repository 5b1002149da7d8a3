//! A REST-to-gRPC transcoding gateway in one process.
//!
//! - [`server`] — `run(listener, config, shutdown)`: one port serving gRPC
//!   (tonic: `users.v1.UserService`, health, reflection) and HTTP/JSON.
//! - `serving` — the accept loop and connections: HTTP/1.1 and h2c on one
//!   port, the connection cap, timeouts, HTTP/2 limits, the drain.
//! - [`config`] — every knob, with defaults.
//! - `reloading` — files read again when they change or on SIGHUP (keys).
//! - [`edge`] — what every request and response passes on the wire: the
//!   loopback host check, CORS, response compression, request decompression.
//! - `health` — liveness and readiness (`/healthz`, `/readyz`, gRPC
//!   health), and readiness off when the drain begins.
//! - [`logging`] — text or JSON logs, one line per call, panics logged once.
//! - `metrics` — the call metrics (one interceptor in the policy chain,
//!   for gRPC and REST alike), served at `GET /metrics`.
//! - [`telemetry`] — traces exported over OTLP: each call's span, its
//!   caller's `traceparent` continued, and the store's spans under it.
//! - [`transcode`] — the generic engine: reads the `google.api.http`
//!   bindings from the embedded descriptors and transcodes HTTP/JSON
//!   requests onto the in-process gRPC services. It never imports `users`.
//! - `users` — the domain: the `UserService` implementation and its
//!   SQLite store.
//! - [`proto`] — the generated protobuf types and the descriptor set.
//!
//! ```text
//! HTTP/JSON ─► transcode::Gateway ─► route ─► request message ─┐ in-process
//! gRPC ──────► tonic ──────────────────────────────────────────┴► UserService ─► Store (SQLite)
//! ```

// Generated code names this crate `::gateway`, inside it as outside.
extern crate self as gateway;

pub mod config;
pub mod edge;
pub(crate) mod health;
pub mod logging;
pub(crate) mod metrics;
pub(crate) mod reloading;
pub mod server;
pub(crate) mod serving;
pub mod telemetry;
pub mod transcode;
pub(crate) mod users;

/// The protobuf types generated from `proto/`, and the descriptor set.
pub mod proto {
    /// The file descriptor set of `proto/` (with source info), which the
    /// engine and server reflection read at start.
    pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/descriptors.bin"));

    /// The users API.
    pub mod users {
        /// Version 1 of the users API.
        #[allow(clippy::large_enum_variant)] // generated: `SyncRequest.operation` holds a `User`
        pub mod v1 {
            tonic::include_proto!("users.v1");
        }
    }

    /// Google's API annotations and error model (the engine's own types,
    /// re-exported: `users.v1` refers to `google.rpc.Status`).
    pub use crate::transcode::proto::google;
}
