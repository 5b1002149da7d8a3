//! The request head's own limits, checked before routing so that a URL or
//! a header section too large gets 414 or 431 with a `google.rpc.Status`
//! body like every other error. (The HTTP server's own hard limits are far
//! above these; what it answers itself gets its body in the server's
//! connection layer: see the README's "Limits and timeouts".)

use http::request::Parts;

use crate::transcode::error::HttpError;

/// The longest request target (path and query), in bytes.
pub(crate) const MAX_URI_BYTES: usize = 8 * 1024;
/// The largest header section (names, values and 32 bytes per field, as
/// HTTP/2 counts it), in bytes.
pub(crate) const MAX_HEADER_BYTES: usize = 16 * 1024;
/// The most header fields.
pub(crate) const MAX_HEADERS: usize = 100;

/// 414 for a long target, 431 for a large header section.
pub(crate) fn check_head(parts: &Parts) -> Result<(), HttpError> {
    let target = parts
        .uri
        .path_and_query()
        .map_or(0, |target| target.as_str().len());
    if target > MAX_URI_BYTES {
        return Err(HttpError::uri_too_long(MAX_URI_BYTES));
    }
    if parts.headers.len() > MAX_HEADERS {
        return Err(HttpError::headers_too_large(&format!(
            "more than {MAX_HEADERS} header fields"
        )));
    }
    let size: usize = parts
        .headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 32)
        .sum();
    if size > MAX_HEADER_BYTES {
        return Err(HttpError::headers_too_large(&format!(
            "a header section larger than {MAX_HEADER_BYTES} bytes"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_past_the_limits_get_414_or_431() {
        let long_header = "h".repeat(MAX_HEADER_BYTES);
        /// (target, headers, the status expected if refused)
        type Case<'a> = (String, Vec<(String, &'a str)>, Option<u16>);
        let cases: [Case<'_>; 5] = [
            ("/v1/users?page_size=2".to_owned(), vec![], None),
            (format!("/v1/{}", "a".repeat(MAX_URI_BYTES)), vec![], Some(414)),
            (format!("/{}", "a".repeat(MAX_URI_BYTES - 1)), vec![], None),
            (
                "/".to_owned(),
                vec![("x-big".to_owned(), long_header.as_str())],
                Some(431),
            ),
            (
                "/".to_owned(),
                (0..=MAX_HEADERS).map(|n| (format!("x-{n}"), "v")).collect(),
                Some(431),
            ),
        ];
        for (target, headers, expected) in cases {
            let mut request = http::Request::get(target.as_str());
            for (name, value) in &headers {
                request = request.header(name.as_str(), *value);
            }
            let (parts, ()) = request.body(()).unwrap().into_parts();
            let status = check_head(&parts).err().map(|error| error.http_status().as_u16());
            assert_eq!(
                status,
                expected,
                "{} bytes, {} headers",
                target.len(),
                headers.len()
            );
        }
    }
}
