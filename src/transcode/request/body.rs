//! The HTTP request body, read before the weave: whole, under the size
//! limit (413 past it, whether declared by `Content-Length` or found while
//! reading) and within the in-flight body budget (503 past it, see
//! `body_budget`), with its media type declared and checked against what
//! the binding reads and no `Content-Encoding` left (415 otherwise: a
//! server in front of the gateway decodes the encodings it accepts, and
//! the limit then counts the decoded bytes). [`check_content_type`] is the
//! one rule, for streamed bodies (NDJSON) too.
//!
//! The limit is `http_body_util::Limited`; this module adds the early
//! `Content-Length` check, the budget and the gateway's own error bodies.

use axum::body::Body;
use bytes::{Bytes, BytesMut};
use http::{HeaderMap, header};
use http_body_util::{BodyExt as _, LengthLimitError, Limited};

use super::body_budget::{BodyBudget, BodyShare};
use crate::transcode::binding::BodySelector;
use crate::transcode::error::HttpError;

/// Reads the whole body under the size limit and the budget, checking that
/// a body the binding reads is JSON. The share of the budget is held until
/// dropped (when the call is answered).
pub(crate) async fn collect_body(
    body: Body,
    headers: &HeaderMap,
    selector: &BodySelector,
    limit: usize,
    budget: &BodyBudget,
) -> Result<(Bytes, BodyShare), HttpError> {
    let declared_length = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared_length.is_some_and(|length| length > limit as u64) {
        return Err(HttpError::payload_too_large(limit));
    }
    let mut share = BodyShare::default();
    // A declared length (at most `limit`) is taken before reading; HTTP
    // holds the body to it.
    let declared_length = declared_length.map(|length| length as usize);
    if let Some(length) = declared_length {
        budget.take(&mut share, length)?;
    }
    let mut body = Limited::new(body, limit);
    let mut read = Read::Empty;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|error| {
            if error.downcast_ref::<LengthLimitError>().is_some() {
                HttpError::payload_too_large(limit)
            } else {
                HttpError::body_read_failed(&*error)
            }
        })?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        if declared_length.is_none() {
            budget.take(&mut share, data.len())?;
        }
        read = read.append(data, declared_length);
    }
    let bytes = read.into_bytes();
    if !matches!(selector, BodySelector::None) {
        check_content_type(headers, BodyKind::Json, bytes.is_empty())?;
    }
    Ok((bytes, share))
}

/// A body read so far: one frame is kept as it came; more are joined.
enum Read {
    Empty,
    One(Bytes),
    Joined(BytesMut),
}

impl Read {
    fn append(self, data: Bytes, declared_length: Option<usize>) -> Read {
        match self {
            Read::Empty => Read::One(data),
            Read::One(first) => {
                let mut joined = BytesMut::with_capacity(declared_length.unwrap_or(first.len() + data.len()));
                joined.extend_from_slice(&first);
                joined.extend_from_slice(&data);
                Read::Joined(joined)
            }
            Read::Joined(mut joined) => {
                joined.extend_from_slice(&data);
                Read::Joined(joined)
            }
        }
    }

    fn into_bytes(self) -> Bytes {
        match self {
            Read::Empty => Bytes::new(),
            Read::One(bytes) => bytes,
            Read::Joined(joined) => joined.freeze(),
        }
    }
}

/// What an HTTP request body holds: one JSON message, or one per line.
#[derive(Debug, Clone, Copy)]
pub(crate) enum BodyKind {
    Json,
    Ndjson,
}

impl BodyKind {
    /// Whether a media type (without parameters, lower case) fits.
    fn accepts(self, essence: &str) -> bool {
        let json = essence == "application/json"
            || (essence.starts_with("application/") && essence.ends_with("+json"));
        match self {
            BodyKind::Json => json,
            BodyKind::Ndjson => {
                json || matches!(
                    essence,
                    "application/x-ndjson" | "application/jsonl" | "application/jsonlines"
                )
            }
        }
    }

    fn expected(self) -> &'static str {
        match self {
            BodyKind::Json => "application/json",
            BodyKind::Ndjson => "application/x-ndjson (one JSON message per line)",
        }
    }
}

/// The one rule for a request body the binding reads, whole or streamed:
/// an `empty` one is not checked; any other needs a `Content-Type` that
/// fits `kind` (415 without one: a browser sends a body with no type, or
/// a form's, cross-site without asking first, so JSON must be declared)
/// and no `Content-Encoding` but `identity` (415 otherwise).
pub(crate) fn check_content_type(headers: &HeaderMap, kind: BodyKind, empty: bool) -> Result<(), HttpError> {
    if empty {
        return Ok(());
    }
    if let Some(encoding) = headers.get(header::CONTENT_ENCODING)
        && !encoding.as_bytes().eq_ignore_ascii_case(b"identity")
    {
        return Err(HttpError::unsupported_content_encoding(&String::from_utf8_lossy(
            encoding.as_bytes(),
        )));
    }
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Err(HttpError::unsupported_media_type(None, kind.expected()));
    };
    let text = value.to_str().unwrap_or("");
    let essence = text.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    if kind.accepts(&essence) {
        Ok(())
    } else {
        Err(HttpError::unsupported_media_type(
            Some(&String::from_utf8_lossy(value.as_bytes())),
            kind.expected(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoded_bodies_are_refused() {
        let cases = [
            (None, true),
            (Some("identity"), true),
            (Some("Identity"), true),
            (Some("gzip"), false),
            (Some("br"), false),
            (Some("compress"), false),
        ];
        for (encoding, accepted) in cases {
            let mut headers = HeaderMap::new();
            headers.insert(
                header::CONTENT_TYPE,
                http::HeaderValue::from_static("application/json"),
            );
            if let Some(encoding) = encoding {
                headers.insert(header::CONTENT_ENCODING, http::HeaderValue::from_static(encoding));
            }
            let checked = check_content_type(&headers, BodyKind::Json, false);
            assert_eq!(checked.is_ok(), accepted, "{encoding:?}");
        }
    }

    #[test]
    fn content_types_are_checked_per_body_kind() {
        let cases = [
            (None, false, false),
            (Some("application/json"), true, true),
            (Some("application/json; charset=utf-8"), true, true),
            (Some("Application/JSON"), true, true),
            (Some("application/merge-patch+json"), true, true),
            (Some("application/x-ndjson"), false, true),
            (Some("application/jsonl"), false, true),
            (Some("text/plain"), false, false),
            (Some("application/x-www-form-urlencoded"), false, false),
            (Some("application/jsonx"), false, false),
        ];
        for (content_type, json, ndjson) in cases {
            let mut headers = HeaderMap::new();
            if let Some(content_type) = content_type {
                headers.insert(header::CONTENT_TYPE, http::HeaderValue::from_static(content_type));
            }
            assert_eq!(
                check_content_type(&headers, BodyKind::Json, false).is_ok(),
                json,
                "{content_type:?}"
            );
            assert_eq!(
                check_content_type(&headers, BodyKind::Ndjson, false).is_ok(),
                ndjson,
                "{content_type:?}"
            );
        }
    }

    #[test]
    fn an_empty_body_needs_no_content_type() {
        let cases = [
            None,
            Some("text/plain"),
            Some("application/x-www-form-urlencoded"),
        ];
        for content_type in cases {
            let mut headers = HeaderMap::new();
            if let Some(content_type) = content_type {
                headers.insert(header::CONTENT_TYPE, http::HeaderValue::from_static(content_type));
            }
            for kind in [BodyKind::Json, BodyKind::Ndjson] {
                assert!(
                    check_content_type(&headers, kind, true).is_ok(),
                    "{content_type:?}"
                );
            }
        }
        let refused = check_content_type(&HeaderMap::new(), BodyKind::Json, false).unwrap_err();
        assert_eq!(refused.http_status(), http::StatusCode::UNSUPPORTED_MEDIA_TYPE);
    }
}
