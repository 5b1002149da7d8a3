//! Deadlines, on every call kind and both faces: the caller's
//! `grpc-timeout` (REST: the `Grpc-Timeout` header, same syntax: up to 8
//! digits and a unit, `H` `M` `S` `m` `u` `n`, e.g. `250m`), else the
//! gateway's default, never more than its maximum. When it passes, the call
//! ends with DEADLINE_EXCEEDED (REST: 504; in-band once a stream started)
//! and the service's future is dropped, which cancels its work.
//!
//! `grpc-timeout: 1n` is a deadline one nanosecond away; `10S` ten seconds.

use std::time::Duration;

use http::{HeaderMap, HeaderName, HeaderValue};

/// The header (and metadata key) that carries a timeout.
pub(crate) const GRPC_TIMEOUT: HeaderName = HeaderName::from_static("grpc-timeout");

/// The gateway's default and maximum timeouts; `None` is no limit.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Deadlines {
    pub(crate) default: Option<Duration>,
    pub(crate) max: Option<Duration>,
}

impl Deadlines {
    /// The timeout of a call with these request `headers`: the requested
    /// one, else the default, at most the maximum. A malformed
    /// `grpc-timeout` is INVALID_ARGUMENT.
    pub(crate) fn timeout(&self, headers: &HeaderMap) -> Result<Option<Duration>, tonic::Status> {
        let requested = match headers.get(&GRPC_TIMEOUT) {
            Some(value) => Some(parse(value).ok_or_else(|| {
                tonic::Status::invalid_argument(
                    "malformed grpc-timeout: expected up to 8 digits and a unit (H, M, S, m, u or n), e.g. 250m",
                )
            })?),
            None => None,
        };
        Ok(match (requested.or(self.default), self.max) {
            (Some(timeout), Some(max)) => Some(timeout.min(max)),
            (None, Some(max)) => Some(max),
            (timeout, None) => timeout,
        })
    }
}

/// What a call whose deadline passed answers.
pub(crate) fn deadline_exceeded() -> tonic::Status {
    tonic::Status::deadline_exceeded("the call's deadline passed before it finished")
}

/// `250m` → 250 ms; `None` unless 1 to 8 digits and one unit.
pub(crate) fn parse(value: &HeaderValue) -> Option<Duration> {
    let text = value.to_str().ok()?;
    let (digits, unit) = text.split_at(text.len().checked_sub(1)?);
    if digits.is_empty() || digits.len() > 8 || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    let amount: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(amount * 3600),
        "M" => Duration::from_secs(amount * 60),
        "S" => Duration::from_secs(amount),
        "m" => Duration::from_millis(amount),
        "u" => Duration::from_micros(amount),
        "n" => Duration::from_nanos(amount),
        _ => return None,
    })
}

/// `duration` as a `grpc-timeout` value (in the finest unit that fits in
/// 8 digits), for the service to see how long it has.
pub(crate) fn encode(duration: Duration) -> HeaderValue {
    let nanos = duration.as_nanos();
    let (amount, unit) = [(1, 'n'), (1_000, 'u'), (1_000_000, 'm'), (1_000_000_000, 'S')]
        .into_iter()
        .map(|(per, unit)| (nanos.div_ceil(per), unit))
        .find(|(amount, _)| *amount < 100_000_000)
        .unwrap_or(((nanos / 3_600_000_000_000).min(99_999_999), 'H'));
    HeaderValue::from_str(&format!("{amount}{unit}")).expect("digits and a unit are a valid header value")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_timeouts_parse_by_the_spec() {
        let cases = [
            ("1n", Some(Duration::from_nanos(1))),
            ("250m", Some(Duration::from_millis(250))),
            ("10S", Some(Duration::from_secs(10))),
            ("2M", Some(Duration::from_secs(120))),
            ("1H", Some(Duration::from_secs(3600))),
            ("99999999u", Some(Duration::from_micros(99_999_999))),
            ("123456789m", None),
            ("m", None),
            ("10", None),
            ("10s", None),
            ("-1S", None),
            ("1.5S", None),
            ("", None),
        ];
        for (text, expected) in cases {
            assert_eq!(parse(&HeaderValue::from_static(text)), expected, "{text:?}");
        }
    }

    #[test]
    fn encoded_timeouts_round_trip() {
        for duration in [
            Duration::from_nanos(1),
            Duration::from_millis(250),
            Duration::from_secs(10),
            Duration::from_secs(200_000),
        ] {
            let parsed = parse(&encode(duration)).expect("parses");
            assert!(
                parsed >= duration && parsed - duration < duration / 1000 + Duration::from_nanos(1),
                "{duration:?} → {parsed:?}"
            );
        }
    }

    #[test]
    fn the_default_and_the_maximum_apply() {
        let second = Duration::from_secs(1);
        let cases = [
            (None, None, None, Ok(None)),
            (Some("250m"), None, None, Ok(Some(Duration::from_millis(250)))),
            (None, Some(second), None, Ok(Some(second))),
            (Some("5S"), Some(second), Some(second * 2), Ok(Some(second * 2))),
            (None, None, Some(second), Ok(Some(second))),
            (Some("later"), None, None, Err(tonic::Code::InvalidArgument)),
        ];
        for (header, default, max, expected) in cases {
            let mut headers = HeaderMap::new();
            if let Some(header) = header {
                headers.insert(GRPC_TIMEOUT, HeaderValue::from_static(header));
            }
            let got = Deadlines { default, max }
                .timeout(&headers)
                .map_err(|status| status.code());
            assert_eq!(got, expected, "{header:?} {default:?} {max:?}");
        }
    }
}
