//! The DNS-rebinding guard. A hostile page can point a name of its own
//! (`evil.example`) at `127.0.0.1` and then drive, from the browser, a
//! gateway that listens only on loopback: the browser thinks it talks to
//! `evil.example`, and says so in `Host`. So on a loopback address only
//! requests that name a loopback host are served, on every path (the
//! probes, `/metrics` and `/docs` too: they are reached as `localhost` or
//! `127.0.0.1` anyway):
//!
//! - `localhost` and `*.localhost`, `127.x.y.z`, `[::1]`, with any port;
//! - the names given with `--allowed-host` (any port);
//! - the host is HTTP/2's `:authority` (or an absolute-form target), else
//!   `Host`; a request naming none (HTTP/1.0) is refused too.
//!
//! Anything else is answered **421 Misdirected Request** with a
//! `google.rpc.Status` body (PERMISSION_DENIED), or for gRPC with a
//! trailers-only PERMISSION_DENIED. 421 rather than 403: nothing about the
//! caller is refused, the request reached a server that does not answer
//! for that name (RFC 9110 §15.5.20), and the fix is on the server's side
//! (`--allowed-host`). On any other address every host is served: the
//! operator puts the gateway behind names of their own.
//!
//! ```text
//! GET /v1/users  Host: evil.example:8080
//! 421 {"code":7,"message":"host \"evil.example\" is not served here: …","details":[]}
//! ```

use std::collections::HashSet;
use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Body;
use futures_util::future::{Either, Ready, ready};
use http::uri::Authority;
use http::{HeaderValue, Request, Response, StatusCode, header};
use tower::ServiceExt as _;
use tower::util::Oneshot;

use super::is_grpc;
use crate::config::Config;

/// The hosts a loopback listener serves.
#[derive(Debug, Clone)]
pub(crate) struct AllowedHosts {
    /// The `--allowed-host` names, lower case.
    names: Arc<HashSet<String>>,
}

impl AllowedHosts {
    /// The guard for a listener bound to `address`: `None` (every host
    /// served) unless it is loopback; an address that cannot be read
    /// counts as loopback.
    pub(crate) fn for_listener(config: &Config, address: Option<SocketAddr>) -> Option<AllowedHosts> {
        if address.is_some_and(|address| !address.ip().is_loopback()) {
            return None;
        }
        let names = config.allowed_hosts.iter().map(|name| name.to_ascii_lowercase());
        Some(AllowedHosts {
            names: Arc::new(names.collect()),
        })
    }

    /// `inner` behind the guard.
    pub(crate) fn wrap<S>(&self, inner: S) -> HostCheck<S> {
        HostCheck {
            inner,
            hosts: self.clone(),
        }
    }

    /// Whether `host` (an authority: host, optional port) is served.
    fn allows(&self, host: &str) -> bool {
        let Ok(authority) = host.parse::<Authority>() else {
            return false;
        };
        if host.contains('@') {
            return false;
        }
        let name = authority.host().trim_end_matches('.').to_ascii_lowercase();
        is_loopback_name(&name) || self.names.contains(&name)
    }

    /// Why `request` is refused, if it is.
    fn refusal(&self, request: &Request<Body>) -> Option<String> {
        let host = match request.uri().authority() {
            Some(authority) => authority.as_str().to_owned(),
            None => match request.headers().get(header::HOST) {
                Some(host) => String::from_utf8_lossy(host.as_bytes()).into_owned(),
                None => return Some(NO_HOST.to_owned()),
            },
        };
        (!self.allows(&host)).then(|| {
            format!(
                "host {host:?} is not served here: this server listens on a loopback address and \
                 answers only for localhost, 127.0.0.1 and [::1] (any port), and for names given \
                 with --allowed-host"
            )
        })
    }
}

const NO_HOST: &str =
    "the request names no host: send Host (or use HTTP/1.1 or HTTP/2), e.g. Host: localhost";

/// `localhost`, a name under it, or a loopback address (IPv6 in brackets).
fn is_loopback_name(name: &str) -> bool {
    if name == "localhost" || name.ends_with(".localhost") {
        return true;
    }
    let address = match name.strip_prefix('[').and_then(|rest| rest.strip_suffix(']')) {
        Some(v6) => v6.parse::<Ipv6Addr>().map(IpAddr::V6),
        None => name.parse::<Ipv4Addr>().map(IpAddr::V4),
    };
    address.is_ok_and(|address| address.is_loopback())
}

/// The answer to a refused request: gRPC trailers-only, or 421 JSON.
fn refused(request: &Request<Body>, message: String) -> Response<Body> {
    if is_grpc(request.headers()) {
        let mut response = tonic::Status::permission_denied(message).into_http::<Body>();
        // A gRPC-Web client reads the status from the headers of its own type.
        if let Some(content_type) = request.headers().get(header::CONTENT_TYPE) {
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, content_type.clone());
        }
        return response;
    }
    // In the field order of every other error body of the gateway.
    let body = format!(
        r#"{{"code":{},"message":{},"details":[]}}"#,
        tonic::Code::PermissionDenied as i32,
        serde_json::Value::from(message)
    );
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = StatusCode::MISDIRECTED_REQUEST;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// A service behind the guard.
#[derive(Clone)]
pub(crate) struct HostCheck<S> {
    inner: S,
    hosts: AllowedHosts,
}

impl<S> tower::Service<Request<Body>> for HostCheck<S>
where
    S: tower::Service<Request<Body>, Response = Response<Body>, Error = Infallible> + Clone,
{
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Either<Ready<Result<Response<Body>, Infallible>>, Oneshot<S, Request<Body>>>;

    /// Always ready: each request goes to a clone, made ready on its own.
    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        match self.hosts.refusal(&request) {
            Some(message) => Either::Left(ready(Ok(refused(&request, message)))),
            None => Either::Right(self.inner.clone().oneshot(request)),
        }
    }
}

/// A name for `--allowed-host`: a host name or IP address (IPv6 in
/// brackets), without scheme or port; lower-cased.
pub(crate) fn parse_allowed_host(text: &str) -> Result<String, String> {
    let expected = "expected a host name such as gateway.internal (no scheme, no port)";
    match text.parse::<Authority>() {
        Ok(authority)
            if authority.port().is_none()
                && !authority.host().is_empty()
                && !text.contains('@')
                && authority.as_str() == text =>
        {
            Ok(text.to_ascii_lowercase())
        }
        _ => Err(format!("{text:?} is not a host name; {expected}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts(names: &[&str]) -> AllowedHosts {
        let mut config = Config::with_database("unused.db");
        config.allowed_hosts = names.iter().map(|name| (*name).to_owned()).collect();
        AllowedHosts::for_listener(&config, Some("127.0.0.1:8080".parse().unwrap())).unwrap()
    }

    #[test]
    fn loopback_names_and_allowed_names_are_served() {
        let cases = [
            ("localhost", true),
            ("localhost:8080", true),
            ("LocalHost:8080", true),
            ("localhost.:8080", true),
            ("app.localhost:3000", true),
            ("127.0.0.1", true),
            ("127.0.0.1:8080", true),
            ("127.1.2.3:8080", true),
            ("[::1]", true),
            ("[::1]:8080", true),
            ("gateway.internal:8080", true),
            ("Gateway.Internal", true),
            ("evil.example", false),
            ("evil.example:8080", false),
            ("localhost.evil.example", false),
            ("notlocalhost", false),
            ("128.0.0.1:8080", false),
            ("0.0.0.0:8080", false),
            ("[::2]:8080", false),
            ("10.0.0.1", false),
            ("user@localhost", false),
            ("", false),
            ("local host", false),
        ];
        let allowed = hosts(&["gateway.internal"]);
        for (host, served) in cases {
            assert_eq!(allowed.allows(host), served, "{host:?}");
        }
    }

    #[test]
    fn only_a_loopback_listener_is_guarded() {
        let config = Config::with_database("unused.db");
        let cases = [
            (Some("127.0.0.1:8080"), true),
            (Some("[::1]:8080"), true),
            (Some("0.0.0.0:8080"), false),
            (Some("192.0.2.7:8080"), false),
            (None, true),
        ];
        for (address, guarded) in cases {
            let address = address.map(|address| address.parse().unwrap());
            let guard = AllowedHosts::for_listener(&config, address);
            assert_eq!(guard.is_some(), guarded, "{address:?}");
        }
    }

    #[test]
    fn refused_requests_get_421_or_a_grpc_status() {
        let allowed = hosts(&[]);
        let cases = [
            // (host header, content type, refused, HTTP status)
            (Some("evil.example"), None, true, StatusCode::MISDIRECTED_REQUEST),
            (None, None, true, StatusCode::MISDIRECTED_REQUEST),
            (
                Some("evil.example"),
                Some("application/grpc"),
                true,
                StatusCode::OK,
            ),
            (Some("localhost:8080"), None, false, StatusCode::OK),
        ];
        for (host, content_type, refused_expected, status) in cases {
            let mut request = Request::new(Body::empty());
            if let Some(host) = host {
                request
                    .headers_mut()
                    .insert(header::HOST, HeaderValue::from_static(host));
            }
            if let Some(content_type) = content_type {
                let value = HeaderValue::from_static(content_type);
                request.headers_mut().insert(header::CONTENT_TYPE, value);
            }
            let refusal = allowed.refusal(&request);
            assert_eq!(refusal.is_some(), refused_expected, "{host:?}");
            let Some(message) = refusal else { continue };
            let response = refused(&request, message);
            assert_eq!(response.status(), status, "{host:?}");
            if content_type.is_some() {
                assert_eq!(response.headers()["grpc-status"], "7");
            } else {
                assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
            }
        }
    }

    #[test]
    fn the_authority_wins_over_host() {
        let mut request = Request::get("http://evil.example/v1/users")
            .body(Body::empty())
            .unwrap();
        request
            .headers_mut()
            .insert(header::HOST, HeaderValue::from_static("localhost"));
        assert!(hosts(&[]).refusal(&request).is_some());
    }

    #[test]
    fn allowed_hosts_are_bare_names() {
        let cases = [
            ("gateway.internal", Some("gateway.internal")),
            ("Gateway.Internal", Some("gateway.internal")),
            ("192.0.2.7", Some("192.0.2.7")),
            ("[2001:db8::1]", Some("[2001:db8::1]")),
            ("gateway.internal:8080", None),
            ("http://gateway.internal", None),
            ("gateway.internal/", None),
            ("user@gateway.internal", None),
            ("", None),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_allowed_host(text).ok().as_deref(), expected, "{text:?}");
        }
    }
}
