//! Admission: the caps on calls in flight and on open streams, checked in
//! the policy chain after the interceptors let a call through (so shed
//! calls are counted and logged like any other). Past a cap a call is shed
//! at once with UNAVAILABLE and a `retry-after` (REST: 503 with
//! `Retry-After`), never queued.
//!
//! Every call holds a call slot until it ends; a streaming call (server,
//! client or bidi) holds a stream slot too, for its whole life: until its
//! last message is sent, or it fails or is cancelled. Health checks and
//! reflection (`grpc.health.*`, `grpc.reflection.*`) are never shed.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use super::{CallInfo, CallKind};

/// The caps of [`GatewayBuilder::call_limits`](crate::transcode::GatewayBuilder::call_limits);
/// `None` is no cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallLimits {
    /// Calls in flight at once, of every kind, on both faces.
    pub max_concurrent_calls: Option<usize>,
    /// Streaming calls open at once.
    pub max_open_streams: Option<usize>,
    /// What a shed call is told to wait before retrying (`Retry-After`, in
    /// whole seconds, at least 1).
    pub retry_after: Duration,
}

impl Default for CallLimits {
    /// No caps; shed calls (were there any) told to retry after a second.
    fn default() -> Self {
        CallLimits {
            max_concurrent_calls: None,
            max_open_streams: None,
            retry_after: Duration::from_secs(1),
        }
    }
}

/// The metadata key, and REST header, of a shed call's retry delay.
pub(crate) const RETRY_AFTER: &str = "retry-after";

/// The counters behind [`CallLimits`]; shared by both faces.
#[derive(Debug, Default)]
pub(crate) struct Admission {
    limits: CallLimits,
    calls: Arc<AtomicUsize>,
    streams: Arc<AtomicUsize>,
}

/// The slots a call holds (none where no cap applies); given back when
/// dropped. No allocation: it is taken on every call.
#[derive(Debug, Default)]
pub(crate) struct Slots {
    call: Option<Arc<AtomicUsize>>,
    stream: Option<Arc<AtomicUsize>>,
}

impl Drop for Slots {
    fn drop(&mut self) {
        for counter in [&self.call, &self.stream].into_iter().flatten() {
            counter.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

impl Admission {
    pub(crate) fn new(limits: CallLimits) -> Self {
        Admission {
            limits,
            ..Admission::default()
        }
    }

    /// The slots `call` needs, or the UNAVAILABLE status that sheds it.
    pub(crate) fn admit(&self, call: &CallInfo) -> Result<Slots, tonic::Status> {
        let mut slots = Slots::default();
        if is_never_shed(&call.grpc_path) {
            return Ok(slots);
        }
        slots.call = take(&self.calls, self.limits.max_concurrent_calls)
            .map_err(|limit| self.shed(format!("{limit} calls are in flight")))?;
        if call.kind != CallKind::Unary {
            slots.stream = take(&self.streams, self.limits.max_open_streams)
                .map_err(|limit| self.shed(format!("{limit} streams are open")))?;
        }
        Ok(slots)
    }

    fn shed(&self, what: String) -> tonic::Status {
        unavailable_for(
            &format!("the server is at its limit: {what}"),
            self.limits.retry_after,
        )
    }
}

/// UNAVAILABLE saying `what`, with `retry-after` metadata (whole seconds,
/// at least 1), which REST answers as 503 with `Retry-After`.
pub(crate) fn unavailable_for(what: &str, retry_after: Duration) -> tonic::Status {
    let seconds = retry_after.as_secs().max(1);
    let mut status = tonic::Status::unavailable(format!("{what}; retry in {seconds} s"));
    status.metadata_mut().insert(
        RETRY_AFTER,
        seconds.to_string().parse().expect("digits are a valid value"),
    );
    status
}

/// Takes a slot of `counter` unless `limit` are taken (then `Err(limit)`);
/// nothing to take without a limit.
fn take(counter: &Arc<AtomicUsize>, limit: Option<usize>) -> Result<Option<Arc<AtomicUsize>>, usize> {
    let Some(limit) = limit else { return Ok(None) };
    counter
        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |taken| {
            (taken < limit).then_some(taken + 1)
        })
        .map_err(|_| limit)?;
    Ok(Some(counter.clone()))
}

/// Health checks and reflection: what tells a balancer or a tool that the
/// server is there must answer even when it is full.
fn is_never_shed(grpc_path: &str) -> bool {
    grpc_path.starts_with("/grpc.health.") || grpc_path.starts_with("/grpc.reflection.")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transcode::interceptor::Face;

    fn call(grpc_path: &str, kind: CallKind) -> CallInfo {
        CallInfo {
            grpc_path: grpc_path.into(),
            kind,
            face: Face::Grpc,
            peer: None,
            route: None,
            http_method: None,
            request_id: None,
            span: tracing::Span::none(),
        }
    }

    const GET: &str = "/users.v1.UserService/GetUser";
    const STREAM: &str = "/users.v1.UserService/StreamUsers";
    const HEALTH: &str = "/grpc.health.v1.Health/Check";
    const REFLECTION: &str = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo";

    #[test]
    fn calls_past_a_cap_are_shed_until_a_slot_is_given_back() {
        let limits = CallLimits {
            max_concurrent_calls: Some(3),
            max_open_streams: Some(1),
            retry_after: Duration::from_secs(2),
        };
        // (calls already admitted and held, the next call, admitted)
        let cases = [
            (vec![], (GET, CallKind::Unary), true),
            (vec![(GET, CallKind::Unary); 2], (GET, CallKind::Unary), true),
            (vec![(GET, CallKind::Unary); 3], (GET, CallKind::Unary), false),
            (vec![(GET, CallKind::Unary); 3], (HEALTH, CallKind::Unary), true),
            (
                vec![(GET, CallKind::Unary); 3],
                (REFLECTION, CallKind::Bidi),
                true,
            ),
            (
                vec![(STREAM, CallKind::ServerStreaming)],
                (GET, CallKind::Unary),
                true,
            ),
            (
                vec![(STREAM, CallKind::ServerStreaming)],
                (STREAM, CallKind::ServerStreaming),
                false,
            ),
            (vec![(GET, CallKind::Unary); 3], (STREAM, CallKind::Bidi), false),
        ];
        for (held, (path, kind), admitted) in cases {
            let admission = Admission::new(limits);
            let slots: Vec<Slots> = held
                .iter()
                .map(|(path, kind)| admission.admit(&call(path, *kind)).expect("under the cap"))
                .collect();
            let answer = admission.admit(&call(path, kind));
            assert_eq!(answer.is_ok(), admitted, "{path} after {held:?}");
            if let Err(status) = answer {
                assert_eq!(status.code(), tonic::Code::Unavailable);
                assert_eq!(status.metadata().get(RETRY_AFTER).unwrap(), "2");
            }
            drop(slots);
            assert!(
                admission.admit(&call(path, kind)).is_ok(),
                "{path}: the slots came back"
            );
        }
    }

    #[test]
    fn a_shed_stream_gives_its_call_slot_back() {
        let admission = Admission::new(CallLimits {
            max_concurrent_calls: Some(2),
            max_open_streams: Some(1),
            ..CallLimits::default()
        });
        let _stream = admission.admit(&call(STREAM, CallKind::ServerStreaming)).unwrap();
        assert!(admission.admit(&call(STREAM, CallKind::ServerStreaming)).is_err());
        assert!(admission.admit(&call(GET, CallKind::Unary)).is_ok());
    }
}
