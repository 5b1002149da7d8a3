//! Request ids: every call has one, whichever face it came through. A
//! client's `X-Request-Id` is kept when it is 1 to 128 visible ASCII
//! characters; otherwise (absent, empty, too long, spaces or control
//! characters) the gateway makes a new one, a UUIDv7. The service sees it
//! as `x-request-id` metadata, the client gets it back as a response header
//! (REST) or response metadata (gRPC), REST errors carry it as a
//! `google.rpc.RequestInfo` detail, and the call's log lines name it.
//!
//! `X-Request-Id: order-42` stays `order-42`; `X-Request-Id: a b` becomes
//! something like `019ada5e-7c4a-7b3e-9f0e-2d4c8e1a5b6f`.

use http::{HeaderMap, HeaderName, HeaderValue};

/// The header (and metadata key) that carries the id.
pub(crate) const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The longest client-chosen id kept.
const MAX_LEN: usize = 128;

/// The request's id: the client's if it is acceptable, else a new one,
/// which then replaces the client's header.
pub(crate) fn ensure(headers: &mut HeaderMap) -> HeaderValue {
    if let Some(given) = headers.get(&X_REQUEST_ID)
        && is_acceptable(given)
        && headers.get_all(&X_REQUEST_ID).iter().count() == 1
    {
        return given.clone();
    }
    let made = new_id();
    headers.insert(X_REQUEST_ID, made.clone());
    made
}

/// A new UUIDv7: the time in milliseconds, then random bits from the
/// thread's generator.
fn new_id() -> HeaderValue {
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| u64::try_from(since.as_millis()).unwrap_or(u64::MAX));
    let id = uuid::Builder::from_unix_timestamp_millis(millis, &rand::random()).into_uuid();
    let mut text = uuid::Uuid::encode_buffer();
    HeaderValue::from_str(id.hyphenated().encode_lower(&mut text)).expect("a UUID is a valid header value")
}

/// The span a call's work runs in, so its log lines name its id. It
/// declares `otel.name` and `otel.kind`, empty until an interceptor records
/// them for a trace exporter (`tracing-opentelemetry` reads them).
pub(crate) fn span(id: &HeaderValue) -> tracing::Span {
    tracing::info_span!(
        "request",
        request_id = id.to_str().unwrap_or(""),
        otel.name = tracing::field::Empty,
        otel.kind = tracing::field::Empty,
    )
}

fn is_acceptable(value: &HeaderValue) -> bool {
    let bytes = value.as_bytes();
    (1..=MAX_LEN).contains(&bytes.len()) && bytes.iter().all(|byte| (0x21..=0x7e).contains(byte))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acceptable_ids_are_kept_and_others_replaced() {
        let long = "x".repeat(MAX_LEN);
        let too_long = "x".repeat(MAX_LEN + 1);
        let cases: [(&[&[u8]], bool); 7] = [
            (&[b"order-42"], true),
            (&[long.as_bytes()], true),
            (&[], false),
            (&[b""], false),
            (&[b"a b"], false),
            (&[too_long.as_bytes()], false),
            (&[b"one", b"two"], false),
        ];
        for (given, kept) in cases {
            let mut headers = HeaderMap::new();
            for value in given {
                headers.append(X_REQUEST_ID, HeaderValue::from_bytes(value).unwrap());
            }
            let id = ensure(&mut headers);
            let all: Vec<&HeaderValue> = headers.get_all(&X_REQUEST_ID).iter().collect();
            assert_eq!(all, [&id], "{given:?}: one id travels on");
            if kept {
                assert_eq!(id.as_bytes(), given[0], "{given:?}");
            } else {
                let made = uuid::Uuid::parse_str(id.to_str().unwrap()).expect("a UUID");
                assert_eq!(made.get_version_num(), 7, "{given:?}");
            }
        }
    }
}
