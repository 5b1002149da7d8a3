//! Which HTTP request headers reach the service as gRPC metadata: a fixed
//! list passed on as they are, and `Grpc-Metadata-<key>` headers passed on
//! as `<key>` (never a `grpc-` key, which is the protocol's own). Nothing
//! else is forwarded.
//!
//! `Grpc-Metadata-Tenant: acme` arrives as `tenant: acme`; `Cookie` does not
//! arrive at all.

use http::{HeaderMap, HeaderName, HeaderValue};

/// HTTP request headers passed on to the service as gRPC metadata as they are.
const FORWARDED_HEADERS: &[&str] = &["authorization", "x-request-id", "traceparent", "tracestate"];
const METADATA_PREFIX: &str = "grpc-metadata-";

/// The gRPC metadata of a call from the HTTP request's headers.
pub(crate) fn metadata_from(http_headers: &HeaderMap) -> HeaderMap {
    let mut metadata = HeaderMap::new();
    forward_metadata(http_headers, &mut metadata);
    metadata
}

fn forward_metadata(http_headers: &HeaderMap, metadata: &mut HeaderMap) {
    for (name, value) in http_headers {
        let name = name.as_str();
        if FORWARDED_HEADERS.contains(&name) {
            metadata.append(
                HeaderName::from_bytes(name.as_bytes()).expect("a known header name"),
                value.clone(),
            );
        } else if let Some(key) = name.strip_prefix(METADATA_PREFIX)
            && let Ok(key) = HeaderName::from_bytes(key.as_bytes())
            && !key.as_str().starts_with("grpc-")
        {
            metadata.append(key, value.clone());
        }
    }
    metadata.insert("x-forwarded-proto", HeaderValue::from_static("http"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_chosen_headers_become_metadata() {
        let mut headers = HeaderMap::new();
        headers.insert("authorization", HeaderValue::from_static("Bearer t"));
        headers.insert("grpc-metadata-tenant", HeaderValue::from_static("acme"));
        headers.insert("grpc-metadata-grpc-status", HeaderValue::from_static("0"));
        headers.insert("cookie", HeaderValue::from_static("secret"));
        let mut metadata = HeaderMap::new();
        forward_metadata(&headers, &mut metadata);
        let mut names: Vec<&str> = metadata.keys().map(HeaderName::as_str).collect();
        names.sort();
        assert_eq!(names, ["authorization", "tenant", "x-forwarded-proto"]);
    }
}
