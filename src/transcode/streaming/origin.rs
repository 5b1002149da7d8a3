//! Which web pages may open a WebSocket. Browsers send no CORS preflight
//! for an upgrade, and a socket's frames are read whatever page opened it,
//! so the gateway checks the `Origin` itself, before the upgrade:
//!
//! - no `Origin` (a client that is not a browser): allowed;
//! - the request's own origin (its host and port are those of `Host`, or of
//!   HTTP/2's `:authority`): allowed;
//! - an origin on the list the gateway was built with
//!   ([`GatewayBuilder::websocket_origins`](crate::transcode::GatewayBuilder::websocket_origins);
//!   `*` allows any): allowed;
//! - anything else, `null` included: 403 PERMISSION_DENIED, and no socket.
//!
//! ```text
//! GET /v1/users:sync  Host: 127.0.0.1:8080  Origin: http://evil.example  Upgrade: websocket
//! 403 {"code":7,"message":"origin \"http://evil.example\" may not open a WebSocket here: …"}
//! ```

use std::collections::HashSet;

use http::HeaderMap;
use http::header;
use http::uri::{Authority, Uri};

use crate::transcode::error::HttpError;

/// The origins allowed to open a WebSocket besides the request's own.
#[derive(Debug, Default, Clone)]
pub(crate) struct SocketOrigins {
    any: bool,
    /// Lower case, as browsers send them.
    listed: HashSet<String>,
}

impl SocketOrigins {
    /// `origins` (`scheme://host[:port]`, or `*` for any).
    pub(crate) fn new(origins: impl IntoIterator<Item = String>) -> Self {
        let mut allowed = SocketOrigins::default();
        for origin in origins {
            if origin == "*" {
                allowed.any = true;
            } else {
                allowed.listed.insert(origin.to_ascii_lowercase());
            }
        }
        allowed
    }

    /// Whether the upgrade with `headers`, sent to `host` (its `Host` or
    /// `:authority`), may open a socket; PERMISSION_DENIED naming the
    /// origin if not.
    pub(crate) fn check(&self, headers: &HeaderMap, host: Option<&str>) -> Result<(), HttpError> {
        let Some(origin) = headers.get(header::ORIGIN) else {
            return Ok(());
        };
        let origin = String::from_utf8_lossy(origin.as_bytes());
        if self.allows(&origin, host) {
            return Ok(());
        }
        Err(tonic::Status::permission_denied(format!(
            "origin {origin:?} may not open a WebSocket here: only pages of this server's own \
             origin and of the allowed origins (--cors-allow-origin) may"
        ))
        .into())
    }

    fn allows(&self, origin: &str, host: Option<&str>) -> bool {
        self.any
            || self.listed.contains(&origin.to_ascii_lowercase())
            || host.is_some_and(|host| same_origin(origin, host))
    }
}

/// Whether `origin` names `host` (with the origin scheme's default port
/// where either leaves the port out).
fn same_origin(origin: &str, host: &str) -> bool {
    let Ok(origin) = origin.parse::<Uri>() else {
        return false;
    };
    let default_port = match origin.scheme_str() {
        Some("http") => 80,
        Some("https") => 443,
        _ => return false,
    };
    let (Some(origin), Ok(host)) = (origin.authority(), host.parse::<Authority>()) else {
        return false;
    };
    origin.host().eq_ignore_ascii_case(host.host())
        && origin.port_u16().unwrap_or(default_port) == host.port_u16().unwrap_or(default_port)
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    #[test]
    fn origins_are_checked_against_the_host_and_the_list() {
        let listed = || vec!["https://app.example.com".to_owned()];
        let host = Some("127.0.0.1:8080");
        let cases = [
            // (allowed origins, Origin, Host, allowed)
            (listed(), None, host, true),
            (listed(), Some("http://127.0.0.1:8080"), host, true),
            (listed(), Some("https://app.example.com"), host, true),
            (listed(), Some("HTTPS://App.Example.com"), host, true),
            (listed(), Some("http://evil.example"), host, false),
            (listed(), Some("http://127.0.0.1:8081"), host, false),
            (listed(), Some("http://127.0.0.1"), host, false),
            (listed(), Some("null"), host, false),
            (listed(), Some("http://127.0.0.1:8080"), None, false),
            (vec![], Some("http://localhost"), Some("localhost:80"), true),
            (vec![], Some("https://localhost"), Some("LOCALHOST:443"), true),
            (vec![], Some("https://localhost"), Some("localhost:80"), false),
            (vec![], Some("http://[::1]:8080"), Some("[::1]:8080"), true),
            (vec![], Some("ftp://127.0.0.1:8080"), host, false),
            (vec!["*".to_owned()], Some("http://evil.example"), host, true),
            (vec!["*".to_owned()], Some("null"), host, true),
        ];
        for (allowed, origin, host, expected) in cases {
            let mut headers = HeaderMap::new();
            if let Some(origin) = origin {
                headers.insert(header::ORIGIN, HeaderValue::from_static(origin));
            }
            let checked = SocketOrigins::new(allowed.clone()).check(&headers, host);
            assert_eq!(checked.is_ok(), expected, "{allowed:?} {origin:?} {host:?}");
        }
    }

    #[test]
    fn a_refusal_is_permission_denied_naming_the_origin() {
        let mut headers = HeaderMap::new();
        headers.insert(header::ORIGIN, HeaderValue::from_static("http://evil.example"));
        let refused = SocketOrigins::default()
            .check(&headers, Some("127.0.0.1:8080"))
            .unwrap_err();
        assert_eq!(refused.http_status(), http::StatusCode::FORBIDDEN);
        assert_eq!(refused.code(), tonic::Code::PermissionDenied);
        assert!(
            refused.message().contains("\"http://evil.example\""),
            "{refused:?}"
        );
    }
}
