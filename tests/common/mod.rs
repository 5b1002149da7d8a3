//! Shared harness for the integration tests, one job a file:
//!
//! - `server.rs`: [`TestServer`], the real server in process on a loopback
//!   socket, backed by a SQLite file in a temporary directory;
//! - `child.rs`: [`GatewayProcess`], the real `gateway` binary as a child;
//! - `collector.rs`: [`Collector`], an OTLP trace collector in process;
//! - `engine.rs`: [`serve_engine`], the engine alone in front of a service
//!   of the test's choosing (typically the stub);
//! - `stub.rs`: [`StubService`], a configurable in-memory `UserService`
//!   (also used by `benches/dispatch.rs`, so it depends on nothing here);
//! - `endpoint.rs`: [`Endpoint`], where a server listens and its clients;
//! - `ready.rs`: waiting until a server answers;
//! - `rest.rs`: REST requests and reading their answers;
//! - `users.rs`: creating users over gRPC; `sync.rs`: a `SyncUsers` call;
//! - `framing.rs`: NDJSON and SSE bodies; `raw_http.rs`: HTTP/1.1 by hand;
//!   `websocket.rs`: WebSocket clients;
//! - `tls.rs`: [`TlsServer`], the server over TLS, and test certificates;
//! - `tokens.rs`: [`TokenIssuer`], keys, key files and signed bearer tokens;
//! - `guard.rs`: [`guarded`], so a hung wait fails instead of hanging.
// Each test binary uses a different subset of the harness and its re-exports.
#![allow(dead_code, unused_imports)]

mod child;
mod collector;
mod endpoint;
mod engine;
mod framing;
mod guard;
mod raw_http;
mod ready;
mod rest;
mod server;
mod stub;
mod sync;
mod tls;
mod tokens;
mod users;
mod websocket;

pub use child::GatewayProcess;
pub use collector::{CollectedSpan, Collector};
pub use endpoint::Endpoint;
pub use engine::{serve_both_faces, serve_engine};
pub use framing::{ndjson, sse};
pub use guard::{GUARD, guarded, guarded_for};
pub use raw_http::{RawResponse, body_chunk};
pub use rest::{RequestBody, assert_error_body, form_encode, json_body, json_response};
pub use server::{TestServer, database_in};
pub use stub::{StreamMode, StubService, stub_user};
pub use sync::{SyncCall, upsert};
pub use tls::{Authority, Issued, TlsServer};
pub use tokens::{KeyFiles, SigningKey, TokenIssuer, claims, now};
pub use users::{bulk_create, create_request, full_request, large_request};
pub use websocket::{Socket, connect_socket, connect_socket_from, next_frame, send_text};
