//! The HTTP request body, read before the weave: whole, under the size
//! limit (413 past it, whether declared by `Content-Length` or found while
//! reading), with its media type checked against what the binding reads
//! (415 otherwise).
//!
//! The limit is `http_body_util::Limited`; this module adds only the early
//! `Content-Length` check and the gateway's own error bodies.

use axum::body::Body;
use http::{HeaderMap, header};
use http_body_util::{BodyExt as _, LengthLimitError, Limited};

use crate::transcode::binding::BodySelector;
use crate::transcode::error::HttpError;

/// Reads the whole body under the size limit, checking that a body the
/// binding reads is JSON.
pub(crate) async fn collect_body(
    body: Body,
    headers: &HeaderMap,
    selector: &BodySelector,
    limit: usize,
) -> Result<bytes::Bytes, HttpError> {
    let declared_length = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared_length.is_some_and(|length| length > limit as u64) {
        return Err(HttpError::payload_too_large(limit));
    }
    let bytes = match Limited::new(body, limit).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(error) if error.downcast_ref::<LengthLimitError>().is_some() => {
            return Err(HttpError::payload_too_large(limit));
        }
        Err(error) => return Err(HttpError::body_read_failed(&*error)),
    };
    if !matches!(selector, BodySelector::None) && !bytes.is_empty() {
        check_content_type(headers, BodyKind::Json)?;
    }
    Ok(bytes)
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

/// A body without a `Content-Type` is taken as what the binding reads.
pub(crate) fn check_content_type(headers: &HeaderMap, kind: BodyKind) -> Result<(), HttpError> {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Ok(());
    };
    let text = value.to_str().unwrap_or("");
    let essence = text.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    if kind.accepts(&essence) {
        Ok(())
    } else {
        Err(HttpError::unsupported_media_type(
            &String::from_utf8_lossy(value.as_bytes()),
            kind.expected(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_are_checked_per_body_kind() {
        let cases = [
            (None, true, true),
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
                check_content_type(&headers, BodyKind::Json).is_ok(),
                json,
                "{content_type:?}"
            );
            assert_eq!(
                check_content_type(&headers, BodyKind::Ndjson).is_ok(),
                ndjson,
                "{content_type:?}"
            );
        }
    }
}
