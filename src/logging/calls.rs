//! One log line per call, at `info`, whichever face it came through: the
//! face, the gRPC method, the route template (REST), the gRPC code, the
//! latency (of the whole stream, for a stream), the request id and the
//! peer. Failures of the client's making (NOT_FOUND, INVALID_ARGUMENT, ...)
//! are not errors here; the server's own failures are logged once more, at
//! `error`, where they are answered.
//!
//! ```text
//! INFO call: face="rest" method="/users.v1.UserService/GetUser" route="/v1/users/{id}" code=NotFound latency_ms=0.41 request_id="019ad…" peer="127.0.0.1:53122"
//! ```

use std::time::Duration;

use gateway::transcode::interceptor::{CallInfo, Interceptor};

/// The per-call log line; first in the chain after the metrics.
#[derive(Debug, Default)]
pub struct CallLog;

impl Interceptor for CallLog {
    fn on_end(&self, call: &CallInfo, code: tonic::Code, elapsed: Duration) {
        let request_id = call
            .request_id
            .as_ref()
            .and_then(|id| id.to_str().ok())
            .unwrap_or("");
        let peer = call.peer.map(|peer| peer.to_string()).unwrap_or_default();
        tracing::info!(
            face = call.face.as_str(),
            method = &*call.grpc_path,
            route = call.route.as_deref().unwrap_or(""),
            code = ?code,
            latency_ms = elapsed.as_secs_f64() * 1000.0,
            request_id,
            peer,
            "call"
        );
    }
}
