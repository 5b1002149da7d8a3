//! The audit trail of writes: one `info` line (target `audit`) per create,
//! update and delete, and per item of a bulk create or a sync, naming the
//! caller, the method, the user id and the outcome's gRPC code. It is
//! written inside the call's span, so it carries the request id.
//!
//! ```text
//! INFO request{request_id=4bf9…}: audit: write principal="ada" method="UpdateUser" user_id="0193…" outcome="Ok"
//! ```

use super::caller::Caller;

/// Records one write of `method` on `user_id` that ended with `outcome`.
pub(crate) fn write(caller: &Caller, method: &'static str, user_id: &str, outcome: tonic::Code) {
    tracing::info!(
        target: "audit",
        principal = caller.subject(),
        method,
        user_id,
        outcome = ?outcome,
        "write"
    );
}
