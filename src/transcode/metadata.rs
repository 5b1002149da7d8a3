//! HTTP headers ↔ gRPC metadata, one rule for every REST call.
//!
//! Request: `Authorization`, `X-Request-Id`, `traceparent` and
//! `tracestate` pass as they are; `Grpc-Metadata-<key>` passes as `<key>`
//! (never a `grpc-` key, which is the protocol's own); the gateway adds
//! `x-forwarded-for` (the client's `X-Forwarded-For`, if any, then the
//! peer's address), `x-forwarded-host` (the request's host) and
//! `x-forwarded-proto`. Nothing else is forwarded.
//!
//! Response: every key the service sets in its response headers (and, on a
//! unary call, its trailers) comes back as `Grpc-Metadata-<key>`, but the
//! protocol's own (`grpc-*`, `content-type`, hop-by-hop headers) and
//! `x-request-id` (the gateway answers that itself).
//!
//! Binary keys (`-bin`) carry base64 both ways, as gRPC metadata does: a
//! request value that is not base64 is INVALID_ARGUMENT.
//!
//! `Grpc-Metadata-Tenant: acme` arrives as `tenant: acme`; `Cookie` does not
//! arrive at all; a service's `x-served-by: a` comes back as
//! `Grpc-Metadata-X-Served-By: a`.

use std::net::{IpAddr, SocketAddr};

use base64::Engine as _;
use http::{HeaderMap, HeaderName, HeaderValue};

/// HTTP request headers passed on to the service as gRPC metadata as they are.
const FORWARDED_HEADERS: &[&str] = &["authorization", "x-request-id", "traceparent", "tracestate"];
const METADATA_PREFIX: &str = "grpc-metadata-";
const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");

/// Metadata keys that never come back as `Grpc-Metadata-` headers.
const NOT_RETURNED: &[&str] = &[
    // Answered as `Retry-After` and `WWW-Authenticate` themselves (see `error`).
    "retry-after",
    "www-authenticate",
    "content-type",
    "content-length",
    "te",
    "trailer",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "upgrade",
    "date",
    "x-request-id",
];

/// Where a REST request came from, for the `x-forwarded-*` metadata.
#[derive(Debug, Clone, Default)]
pub(crate) struct Origin {
    pub(crate) peer: Option<SocketAddr>,
    /// The request's `Host` (HTTP/1.1) or authority (HTTP/2).
    pub(crate) host: Option<HeaderValue>,
    /// Whether the request came over TLS (`x-forwarded-proto: https`).
    pub(crate) https: bool,
}

/// The gRPC metadata of a call from the HTTP request's headers and origin.
pub(crate) fn metadata_from(http_headers: &HeaderMap, origin: &Origin) -> Result<HeaderMap, tonic::Status> {
    let mut metadata = HeaderMap::new();
    forward_metadata(http_headers, &mut metadata)?;
    if let Some(value) = forwarded_for(http_headers, origin.peer) {
        metadata.insert(X_FORWARDED_FOR, value);
    }
    if let Some(host) = &origin.host {
        metadata.insert(X_FORWARDED_HOST, host.clone());
    }
    let proto = if origin.https { "https" } else { "http" };
    metadata.insert("x-forwarded-proto", HeaderValue::from_static(proto));
    Ok(metadata)
}

/// The client's `X-Forwarded-For` chain (its headers joined), then the peer.
fn forwarded_for(http_headers: &HeaderMap, peer: Option<SocketAddr>) -> Option<HeaderValue> {
    let mut chain = String::new();
    for value in http_headers.get_all(&X_FORWARDED_FOR) {
        if let Ok(value) = value.to_str() {
            if !chain.is_empty() {
                chain.push_str(", ");
            }
            chain.push_str(value);
        }
    }
    if let Some(peer) = peer {
        if !chain.is_empty() {
            chain.push_str(", ");
        }
        push_ip(&mut chain, peer.ip());
    }
    HeaderValue::from_str(&chain).ok().filter(|_| !chain.is_empty())
}

/// `ip` as `Display` writes it; an IPv4 address without the formatter
/// (this is once per REST call, and once per call line of the log).
pub(crate) fn push_ip(out: &mut String, ip: IpAddr) {
    match ip {
        IpAddr::V4(ip) => {
            let mut digits = itoa::Buffer::new();
            for (index, octet) in ip.octets().into_iter().enumerate() {
                if index > 0 {
                    out.push('.');
                }
                out.push_str(digits.format(octet));
            }
        }
        IpAddr::V6(ip) => {
            use std::fmt::Write as _;
            let _ = write!(out, "{ip}");
        }
    }
}

fn forward_metadata(http_headers: &HeaderMap, metadata: &mut HeaderMap) -> Result<(), tonic::Status> {
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
            if key.as_str().ends_with("-bin") && !is_base64(value) {
                return Err(tonic::Status::invalid_argument(format!(
                    "header Grpc-Metadata-{}: a -bin value must be base64",
                    key.as_str()
                )));
            }
            metadata.append(key, value.clone());
        }
    }
    Ok(())
}

/// Standard base64, padded or not (as gRPC accepts either).
const BINARY_VALUES: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    base64::engine::GeneralPurposeConfig::new()
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
);

fn is_base64(value: &HeaderValue) -> bool {
    BINARY_VALUES.decode(value.as_bytes()).is_ok()
}

/// Adds the service's `metadata` to an HTTP response's headers as
/// `Grpc-Metadata-<key>` (binary values stay base64).
pub(crate) fn add_response_headers(metadata: &HeaderMap, response: &mut HeaderMap) {
    for (key, value) in metadata {
        let key = key.as_str();
        if key.starts_with("grpc-") || NOT_RETURNED.contains(&key) {
            continue;
        }
        if let Ok(name) = HeaderName::from_bytes(format!("{METADATA_PREFIX}{key}").as_bytes()) {
            response.append(name, value.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A header's name and value.
    type Pair = (&'static str, &'static str);

    fn headers(pairs: &[Pair]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    fn pairs(map: &HeaderMap) -> Vec<(String, String)> {
        let mut pairs: Vec<_> = map
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_str().unwrap().to_owned()))
            .collect();
        pairs.sort();
        pairs
    }

    #[test]
    fn only_chosen_headers_become_metadata() {
        let peer: SocketAddr = "10.0.0.7:5000".parse().unwrap();
        let host = Some(HeaderValue::from_static("api.example.com"));
        let cases: [(&[Pair], Origin, &[Pair]); 4] = [
            (
                &[
                    ("authorization", "Bearer t"),
                    ("grpc-metadata-tenant", "acme"),
                    ("grpc-metadata-grpc-status", "0"),
                    ("grpc-metadata-trace-bin", "AAEC"),
                    ("cookie", "secret"),
                ],
                Origin {
                    peer: Some(peer),
                    host: host.clone(),
                    https: false,
                },
                &[
                    ("authorization", "Bearer t"),
                    ("tenant", "acme"),
                    ("trace-bin", "AAEC"),
                    ("x-forwarded-for", "10.0.0.7"),
                    ("x-forwarded-host", "api.example.com"),
                    ("x-forwarded-proto", "http"),
                ],
            ),
            // A proxy's chain is kept, the peer appended.
            (
                &[
                    ("x-forwarded-for", "203.0.113.9"),
                    ("x-forwarded-for", "198.51.100.2"),
                ],
                Origin {
                    peer: Some(peer),
                    host: None,
                    https: true,
                },
                &[
                    ("x-forwarded-for", "203.0.113.9, 198.51.100.2, 10.0.0.7"),
                    ("x-forwarded-proto", "https"),
                ],
            ),
            (
                &[("x-forwarded-for", "203.0.113.9")],
                Origin::default(),
                &[("x-forwarded-for", "203.0.113.9"), ("x-forwarded-proto", "http")],
            ),
            // Unpadded base64 is base64 too.
            (
                &[("grpc-metadata-id-bin", "AAE")],
                Origin::default(),
                &[("id-bin", "AAE"), ("x-forwarded-proto", "http")],
            ),
        ];
        for (given, origin, expected) in cases {
            let metadata = metadata_from(&headers(given), &origin).unwrap();
            let expected: Vec<_> = expected
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect();
            assert_eq!(pairs(&metadata), expected, "{given:?}");
        }
    }

    #[test]
    fn addresses_are_written_as_display_writes_them() {
        for ip in [
            "0.0.0.0",
            "10.0.0.7",
            "127.0.0.1",
            "192.168.100.255",
            "::1",
            "2001:db8::8a2e:370:7334",
        ] {
            let mut text = String::new();
            push_ip(&mut text, ip.parse().unwrap());
            assert_eq!(text, ip);
        }
    }

    #[test]
    fn a_binary_value_must_be_base64() {
        for value in ["not base64!", "AA=A", "@@@@"] {
            let given = HeaderMap::from_iter([(
                HeaderName::from_static("grpc-metadata-id-bin"),
                HeaderValue::from_str(value).unwrap(),
            )]);
            let status = metadata_from(&given, &Origin::default()).expect_err(value);
            assert_eq!(status.code(), tonic::Code::InvalidArgument, "{value}");
            assert!(
                status.message().contains("Grpc-Metadata-id-bin"),
                "{}",
                status.message()
            );
        }
    }

    #[test]
    fn the_services_own_metadata_comes_back_prefixed() {
        let metadata = headers(&[
            ("x-served-by", "a"),
            ("checksum-bin", "AAEC"),
            ("content-type", "application/grpc"),
            ("grpc-status", "0"),
            ("grpc-accept-encoding", "gzip"),
            ("x-request-id", "r-1"),
            ("date", "now"),
        ]);
        let mut response = HeaderMap::new();
        add_response_headers(&metadata, &mut response);
        assert_eq!(
            pairs(&response),
            [
                ("grpc-metadata-checksum-bin".to_owned(), "AAEC".to_owned()),
                ("grpc-metadata-x-served-by".to_owned(), "a".to_owned()),
            ]
        );
    }
}
