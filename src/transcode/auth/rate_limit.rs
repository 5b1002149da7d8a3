//! Calls per caller over time, a step of the chain after the
//! [`Authenticator`](super::Authenticator): each caller (its token's
//! subject, else its address) may make `per_second` calls a second on
//! average and `burst` at once (GCRA, by `governor`). Past that a call is
//! RESOURCE_EXHAUSTED with a `google.rpc.RetryInfo` detail and
//! `retry-after` metadata (REST: 429 with `Retry-After`). Open services
//! (health checks) are not counted. Callers not seen for a while are
//! forgotten, so the table stays small.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use http::Extensions;
use tonic::metadata::{MetadataMap, MetadataValue};

use super::Principal;
use crate::transcode::error::retry_after;
use crate::transcode::interceptor::{CallInfo, Interceptor, RETRY_AFTER};

/// How often callers that are back to a full burst are dropped.
const FORGET_EVERY: Duration = Duration::from_secs(60);

/// Who a call is counted against.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum CallerKey {
    Subject(Arc<str>),
    Address(IpAddr),
    Unknown,
}

/// The chain's rate-limit step.
pub struct RateLimit {
    limiter: Arc<DefaultKeyedRateLimiter<CallerKey>>,
    clock: DefaultClock,
    exempt_services: Vec<String>,
}

impl RateLimit {
    /// `per_second` calls a second per caller, `burst` at once. Spawns the
    /// task that forgets idle callers (it ends with the limiter).
    pub fn new(per_second: NonZeroU32, burst: NonZeroU32) -> Self {
        let limiter = Arc::new(DefaultKeyedRateLimiter::keyed(
            Quota::per_second(per_second).allow_burst(burst),
        ));
        let weak = Arc::downgrade(&limiter);
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(FORGET_EVERY);
            ticks.tick().await;
            loop {
                ticks.tick().await;
                let Some(limiter) = weak.upgrade() else { return };
                limiter.retain_recent();
                limiter.shrink_to_fit();
            }
        });
        RateLimit {
            limiter,
            clock: DefaultClock::default(),
            exempt_services: Vec::new(),
        }
    }

    /// Does not count calls to `service` (a full name).
    pub fn exempt(mut self, service: impl Into<String>) -> Self {
        self.exempt_services.push(service.into());
        self
    }
}

impl Interceptor for RateLimit {
    fn on_call(
        &self,
        call: &CallInfo,
        _metadata: &mut MetadataMap,
        extensions: &mut Extensions,
    ) -> Result<(), tonic::Status> {
        if self
            .exempt_services
            .iter()
            .any(|service| service == call.service())
        {
            return Ok(());
        }
        let key = match (extensions.get::<Principal>(), call.peer) {
            (Some(principal), _) => CallerKey::Subject(principal.subject().into()),
            (None, Some(peer)) => CallerKey::Address(peer.ip()),
            (None, None) => CallerKey::Unknown,
        };
        let Err(not_until) = self.limiter.check_key(&key) else {
            return Ok(());
        };
        let wait = not_until.wait_time_from(self.clock.now());
        Err(over_the_limit(wait))
    }
}

/// RESOURCE_EXHAUSTED, retry after `wait` (`retry-after` in whole seconds,
/// at least one).
fn over_the_limit(wait: Duration) -> tonic::Status {
    let mut status = retry_after(
        tonic::Code::ResourceExhausted,
        "too many calls: the rate limit was reached".to_owned(),
        wait,
    );
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    status
        .metadata_mut()
        .insert(RETRY_AFTER, MetadataValue::from(seconds.max(1)));
    status
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use super::*;
    use crate::transcode::interceptor::{CallKind, Face};

    fn call(service: &str, peer: &str) -> CallInfo {
        CallInfo {
            grpc_path: format!("/{service}/M").into(),
            kind: CallKind::Unary,
            face: Face::Rest,
            peer: Some(peer.parse::<SocketAddr>().unwrap()),
            route: None,
            http_method: None,
            request_id: None,
            span: tracing::Span::none(),
        }
    }

    #[tokio::test]
    async fn each_caller_has_its_own_burst_and_open_services_are_not_counted() {
        let one = NonZeroU32::new(1).unwrap();
        let limit = RateLimit::new(one, NonZeroU32::new(2).unwrap()).exempt("h.Health");
        let metadata = MetadataMap::new();
        let check = |service: &str, peer: &str, subject: Option<&str>| {
            let mut extensions = Extensions::new();
            if let Some(subject) = subject {
                extensions.insert(Principal::new(subject, []));
            }
            limit.on_call(&call(service, peer), &mut metadata.clone(), &mut extensions)
        };
        let cases = [
            ("s.S", "10.0.0.1:1", None, true),
            ("s.S", "10.0.0.1:2", None, true),
            ("s.S", "10.0.0.1:3", None, false),
            ("s.S", "10.0.0.2:1", None, true),
            ("h.Health", "10.0.0.1:4", None, true),
            ("s.S", "10.0.0.1:5", Some("ada"), true),
            ("s.S", "10.0.0.3:1", Some("ada"), true),
            ("s.S", "10.0.0.4:1", Some("ada"), false),
        ];
        for (service, peer, subject, allowed) in cases {
            let checked = check(service, peer, subject);
            assert_eq!(checked.is_ok(), allowed, "{service} {peer} {subject:?}");
            if let Err(status) = checked {
                assert_eq!(status.code(), tonic::Code::ResourceExhausted);
                assert_eq!(status.metadata().get(RETRY_AFTER).unwrap(), "1");
                assert!(!status.details().is_empty(), "carries a RetryInfo");
            }
        }
    }
}
