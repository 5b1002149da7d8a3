//! [`Health`]: one answer to "may this process take calls?", computed from
//! the drain flag and a probe of the store, for `/readyz` and for the gRPC
//! health service alike.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

/// A trivial query of the store: `Ok` when it answers, else why not (kept
/// out of responses: it may name internals).
pub(crate) type Probe =
    Box<dyn Fn() -> Pin<Box<dyn Future<Output = Result<(), String>> + Send>> + Send + Sync>;

/// How often the gRPC health statuses are brought up to date between
/// changes of the drain flag (which updates them at once).
const WATCH_INTERVAL: Duration = Duration::from_secs(1);

/// The answer of one readiness check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Readiness {
    Serving,
    /// Shutting down: in-flight and new calls are still served, but load
    /// balancers should send new traffic elsewhere.
    Draining,
    /// The store did not answer the probe (in time).
    StoreUnavailable,
}

impl Readiness {
    /// The gRPC health status this maps to.
    fn serving_status(self) -> ServingStatus {
        match self {
            Readiness::Serving => ServingStatus::Serving,
            Readiness::Draining | Readiness::StoreUnavailable => ServingStatus::NotServing,
        }
    }

    /// Why the process is not ready, for the `/readyz` body.
    pub(crate) fn reason(self) -> Option<&'static str> {
        match self {
            Readiness::Serving => None,
            Readiness::Draining => Some("the server is shutting down"),
            Readiness::StoreUnavailable => Some("the store does not answer"),
        }
    }
}

/// The process's readiness: the probe, the drain flag and the gRPC health
/// reporter of the services it speaks for.
pub(crate) struct Health {
    probe: Probe,
    /// How long the store has to answer the probe before it counts as down.
    probe_timeout: Duration,
    draining: AtomicBool,
    reporter: HealthReporter,
    /// The gRPC service names whose health is reported ("" is the server
    /// as a whole and is always reported).
    services: Vec<String>,
}

impl Health {
    /// Health for `services` (full gRPC names), reported through
    /// `reporter`; a task keeps their statuses in step with `probe` (which
    /// fails if it takes longer than `probe_timeout`) for as long as the
    /// returned `Health` lives.
    pub(crate) async fn start(
        probe: Probe,
        probe_timeout: Duration,
        reporter: HealthReporter,
        services: Vec<String>,
    ) -> Arc<Health> {
        let health = Arc::new(Health {
            probe,
            probe_timeout,
            draining: AtomicBool::new(false),
            reporter,
            services,
        });
        health.report(health.check().await).await;
        tokio::spawn(watch(Arc::downgrade(&health)));
        health
    }

    /// Checks readiness now: draining, or else whether the store answers.
    pub(crate) async fn check(&self) -> Readiness {
        if self.draining.load(Ordering::Acquire) {
            return Readiness::Draining;
        }
        match tokio::time::timeout(self.probe_timeout, (self.probe)()).await {
            Ok(Ok(())) => Readiness::Serving,
            Ok(Err(error)) => {
                tracing::warn!(%error, "readiness probe: the store failed");
                Readiness::StoreUnavailable
            }
            Err(_) => {
                tracing::warn!(timeout = ?self.probe_timeout, "readiness probe: the store did not answer in time");
                Readiness::StoreUnavailable
            }
        }
    }

    /// Marks the process as draining: `/readyz` answers 503 from now on,
    /// and every gRPC health status turns NOT_SERVING as soon as the
    /// returned task has run.
    pub(crate) fn start_draining(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        self.draining.store(true, Ordering::Release);
        let health = self.clone();
        tokio::spawn(async move { health.report(Readiness::Draining).await })
    }

    async fn report(&self, readiness: Readiness) {
        let status = readiness.serving_status();
        self.reporter.set_service_status("", status).await;
        for service in &self.services {
            self.reporter.set_service_status(service, status).await;
        }
    }
}

/// Re-checks every [`WATCH_INTERVAL`] until the health is dropped (the
/// reporter only tells watchers of changes).
async fn watch(health: Weak<Health>) {
    let mut ticks = tokio::time::interval(WATCH_INTERVAL);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticks.tick().await;
    loop {
        ticks.tick().await;
        let Some(health) = health.upgrade() else { return };
        let readiness = health.check().await;
        health.report(readiness).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic_health::pb::HealthCheckRequest;
    use tonic_health::pb::health_check_response::ServingStatus as Reported;
    use tonic_health::pb::health_server::Health as _;

    fn probe_answering(answer: Option<Result<(), String>>) -> Probe {
        Box::new(move || {
            let answer = answer.clone();
            Box::pin(async move {
                match answer {
                    Some(answer) => answer,
                    None => std::future::pending().await,
                }
            })
        })
    }

    #[tokio::test]
    async fn readiness_follows_the_probe_and_the_drain_flag() {
        let cases = [
            (Some(Ok(())), false, Readiness::Serving, Reported::Serving),
            (
                Some(Err("disk I/O error".to_owned())),
                false,
                Readiness::StoreUnavailable,
                Reported::NotServing,
            ),
            (None, false, Readiness::StoreUnavailable, Reported::NotServing),
            (Some(Ok(())), true, Readiness::Draining, Reported::NotServing),
        ];
        for (answer, drain, expected, expected_status) in cases {
            let (reporter, _server) = tonic_health::server::health_reporter();
            let service = tonic_health::server::HealthService::from_health_reporter(reporter.clone());
            let health = Health::start(
                probe_answering(answer.clone()),
                Duration::from_millis(20),
                reporter,
                vec!["users.v1.UserService".to_owned()],
            )
            .await;
            if drain {
                health.start_draining().await.expect("the report runs");
            }
            let case = format!("{answer:?}, draining {drain}");
            assert_eq!(health.check().await, expected, "{case}");
            for name in ["", "users.v1.UserService"] {
                let request = tonic::Request::new(HealthCheckRequest {
                    service: name.to_owned(),
                });
                let reported = service
                    .check(request)
                    .await
                    .expect("a reported service")
                    .into_inner();
                assert_eq!(reported.status(), expected_status, "{case}, service {name:?}");
            }
        }
    }

    #[test]
    fn only_serving_has_no_reason() {
        for readiness in [
            Readiness::Serving,
            Readiness::Draining,
            Readiness::StoreUnavailable,
        ] {
            assert_eq!(
                readiness.reason().is_none(),
                readiness == Readiness::Serving,
                "{readiness:?}"
            );
        }
    }
}
