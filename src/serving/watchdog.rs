//! When a connection that is doing nothing useful is closed: a socket that
//! sends nothing (or an HTTP/1.1 head too slowly, as slowloris does) within
//! the header read timeout, a connection with no open request for the idle
//! timeout, and, while the connection cap is reached and a new client
//! waits, any connection idle for [`PRESSURE_GRACE`]. Open requests and
//! upgraded connections (WebSocket) are never timed here: request bodies
//! have their own timeout, and HTTP/2 streams their keep-alive pings.

use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use crate::serving::activity::{Activity, Protocol, Snapshot};

/// How long an idle connection may stay while a new client waits for a
/// place under the connection cap.
pub(crate) const PRESSURE_GRACE: Duration = Duration::from_millis(500);

/// The connection timeouts (`None`: off).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timeouts {
    pub(crate) header_read: Option<Duration>,
    pub(crate) idle: Option<Duration>,
}

/// Why a connection is closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Closing {
    /// No request (or no complete HTTP/1.1 head) within the header read
    /// timeout: closed at once.
    SlowHead,
    /// No open request for the idle timeout: closed gracefully (HTTP/2
    /// sends GOAWAY).
    Idle,
}

/// What the watchdog does next for a connection in `state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// Look again at this instant (or when something changes).
    WaitUntil(Option<Instant>),
    Close(Closing),
}

fn verdict(state: &Snapshot, now: Instant, timeouts: Timeouts, under_pressure: bool) -> Verdict {
    if state.upgraded || state.open_requests > 0 {
        return Verdict::WaitUntil(None);
    }
    let shortened = |timeout: Option<Duration>| match (timeout, under_pressure) {
        (Some(timeout), true) => Some(timeout.min(PRESSURE_GRACE)),
        (None, true) => Some(PRESSURE_GRACE),
        (timeout, false) => timeout,
    };
    let header_read = shortened(timeouts.header_read);
    let idle = shortened(timeouts.idle);
    let (from, timeout, closing) = match (state.protocol, state.head_started) {
        (Protocol::Unknown, _) => (state.accepted, header_read, Closing::SlowHead),
        (Protocol::Http1, Some(started)) => (started, header_read, Closing::SlowHead),
        (Protocol::Http1 | Protocol::Http2, _) => (state.idle_since, idle, Closing::Idle),
    };
    match timeout.map(|timeout| from + timeout) {
        Some(deadline) if deadline <= now => Verdict::Close(closing),
        deadline => Verdict::WaitUntil(deadline),
    }
}

/// Completes when the connection should be closed, and says why.
pub(crate) async fn watch(
    activity: &Activity,
    timeouts: Timeouts,
    mut pressure: watch::Receiver<bool>,
) -> Closing {
    // One timer for the connection's life, moved only when the deadline
    // changes: the watchdog looks again at every request's start and end,
    // and most of those leave the deadline as it was (none while a request
    // is open).
    let sleep = tokio::time::sleep(Duration::ZERO);
    let mut sleep = std::pin::pin!(sleep);
    let mut armed: Option<Instant> = None;
    loop {
        let changed = activity.changed.notified();
        let under_pressure = *pressure.borrow_and_update();
        let deadline = match verdict(&activity.snapshot(), Instant::now(), timeouts, under_pressure) {
            Verdict::Close(closing) => return closing,
            Verdict::WaitUntil(deadline) => deadline,
        };
        if deadline != armed {
            if let Some(deadline) = deadline {
                sleep.as_mut().reset(deadline);
            }
            armed = deadline;
        }
        let pressure_changed = async {
            if pressure.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        };
        tokio::select! {
            biased;
            () = changed => {}
            () = &mut sleep, if armed.is_some() => armed = None,
            () = pressure_changed => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_doing_nothing_useful_are_closed_in_time() {
        let accepted = Instant::now();
        let second = Duration::from_secs(1);
        let timeouts = Timeouts {
            header_read: Some(10 * second),
            idle: Some(60 * second),
        };
        let fresh = Snapshot {
            accepted,
            protocol: Protocol::Unknown,
            open_requests: 0,
            idle_since: accepted,
            head_started: None,
            upgraded: false,
        };
        let http1 = Snapshot {
            protocol: Protocol::Http1,
            ..fresh
        };
        let http2 = Snapshot {
            protocol: Protocol::Http2,
            ..fresh
        };
        let at = |seconds: u64| accepted + Duration::from_secs(seconds);
        let wait = |seconds: u64| Verdict::WaitUntil(Some(at(seconds)));
        let cases = [
            ("silent socket, early", fresh, 5, false, wait(10)),
            (
                "silent socket, late",
                fresh,
                10,
                false,
                Verdict::Close(Closing::SlowHead),
            ),
            (
                "silent socket, under pressure",
                fresh,
                1,
                true,
                Verdict::Close(Closing::SlowHead),
            ),
            (
                "head started",
                Snapshot {
                    head_started: Some(at(30)),
                    ..http1
                },
                35,
                false,
                wait(40),
            ),
            (
                "head too slow",
                Snapshot {
                    head_started: Some(at(30)),
                    ..http1
                },
                40,
                false,
                Verdict::Close(Closing::SlowHead),
            ),
            ("HTTP/1.1 idle", http1, 30, false, wait(60)),
            (
                "HTTP/1.1 idle too long",
                http1,
                60,
                false,
                Verdict::Close(Closing::Idle),
            ),
            (
                "HTTP/2 idle too long",
                http2,
                61,
                false,
                Verdict::Close(Closing::Idle),
            ),
            (
                "a request open",
                Snapshot {
                    open_requests: 1,
                    ..http2
                },
                3600,
                false,
                Verdict::WaitUntil(None),
            ),
            (
                "upgraded",
                Snapshot {
                    upgraded: true,
                    ..http1
                },
                3600,
                true,
                Verdict::WaitUntil(None),
            ),
            (
                "idle under pressure",
                http2,
                1,
                true,
                Verdict::Close(Closing::Idle),
            ),
            (
                "busy under pressure",
                Snapshot {
                    open_requests: 2,
                    ..http1
                },
                1,
                true,
                Verdict::WaitUntil(None),
            ),
        ];
        for (what, state, now, under_pressure, expected) in cases {
            let verdict = verdict(&state, at(now), timeouts, under_pressure);
            assert_eq!(verdict, expected, "{what}");
        }
        let off = Timeouts {
            header_read: None,
            idle: None,
        };
        assert_eq!(
            verdict(&http1, at(1_000_000), off, false),
            Verdict::WaitUntil(None)
        );
        assert_eq!(
            verdict(&http1, accepted + PRESSURE_GRACE, off, true),
            Verdict::Close(Closing::Idle)
        );
    }
}
