//! CORS, so browser scripts on the configured origins may call the REST
//! routes, `/openapi.json` and gRPC-Web. tower-http's `CorsLayer` checks
//! the origin and writes the headers; this module adds what it cannot know:
//! which methods a path serves (from the server's route table), and that a
//! preflight is a `204`. Off unless `--cors-allow-origin` names an origin.
//!
//! A request from an origin not on the list gets no CORS headers (a plain
//! `OPTIONS`, or a preflight from such an origin, gets the server's own
//! `204` with `Allow`). Allowed request headers and exposed response headers
//! are fixed lists plus the configured names: browsers take no wildcard
//! there once credentials are allowed, and `Grpc-Metadata-*` names one
//! header per metadata key.
//!
//! ```text
//! OPTIONS /v1/users/42   Origin: https://app.example.com   Access-Control-Request-Method: PATCH
//! 204  access-control-allow-origin: https://app.example.com
//!      access-control-allow-methods: DELETE, GET, PATCH, PUT
//!      access-control-allow-headers: authorization,content-type,if-match,…
//! ```

use std::collections::HashSet;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use http::header::{self, HeaderName};
use http::{HeaderValue, Method, Request, Response, StatusCode};
use tower::ServiceExt as _;
use tower_http::cors::{AllowOrigin, CorsLayer};

use super::EdgeError;
use crate::config::Config;

/// What the server serves at a path: the methods a preflight may ask for
/// (empty where nothing is served).
pub(crate) type MethodsAt = Arc<dyn Fn(&str) -> Vec<Method> + Send + Sync>;

/// How long a browser may cache a preflight's answer.
const PREFLIGHT_MAX_AGE: Duration = Duration::from_secs(600);

/// The request headers browsers may always send: what the REST face reads
/// (`Authorization`, `Content-Type`, `If-Match`, `Grpc-Timeout`,
/// `X-Request-Id`, and a trace's `traceparent` and `tracestate`) and what
/// gRPC-Web clients send (`X-Grpc-Web`, `X-User-Agent`).
const ALLOWED_HEADERS: [&str; 9] = [
    "authorization",
    "content-type",
    "if-match",
    "grpc-timeout",
    "x-request-id",
    "traceparent",
    "tracestate",
    "x-grpc-web",
    "x-user-agent",
];

/// The response headers browser scripts may always read: the REST face's
/// and a gRPC-Web trailers-only answer's status (with its details).
const EXPOSED_HEADERS: [&str; 6] = [
    "etag",
    "location",
    "x-request-id",
    "grpc-status",
    "grpc-message",
    "grpc-status-details-bin",
];

/// The CORS policy from the configuration.
#[derive(Clone)]
pub(crate) struct Cors {
    layer: CorsLayer,
    origins: Arc<Origins>,
}

/// The origins allowed.
enum Origins {
    Any,
    Listed(HashSet<HeaderValue>),
}

impl Origins {
    fn allows(&self, origin: &HeaderValue) -> bool {
        match self {
            Origins::Any => true,
            Origins::Listed(listed) => listed.contains(origin),
        }
    }
}

impl Cors {
    /// The policy `config` asks for; `None` when it names no origin.
    pub(crate) fn from_config(config: &Config) -> Result<Option<Cors>, EdgeError> {
        if config.cors_allow_origins.is_empty() {
            return Ok(None);
        }
        let any = config.cors_allow_origins.iter().any(|origin| origin == "*");
        if any && config.cors_allow_credentials {
            return Err(EdgeError::WildcardWithCredentials);
        }
        let origins = Arc::new(if any {
            Origins::Any
        } else {
            Origins::Listed(
                config
                    .cors_allow_origins
                    .iter()
                    .filter_map(|origin| HeaderValue::from_str(origin).ok())
                    .collect(),
            )
        });
        let allow_origin = match *origins {
            Origins::Any => AllowOrigin::any(),
            Origins::Listed(_) => {
                let origins = origins.clone();
                AllowOrigin::predicate(move |origin, _| origins.allows(origin))
            }
        };
        let allowed = ALLOWED_HEADERS.map(HeaderName::from_static);
        let exposed = EXPOSED_HEADERS.map(HeaderName::from_static);
        let layer = CorsLayer::new()
            .allow_origin(allow_origin)
            .allow_headers(
                allowed
                    .into_iter()
                    .chain(config.cors_allow_headers.iter().cloned())
                    .collect::<Vec<_>>(),
            )
            .expose_headers(
                exposed
                    .into_iter()
                    .chain(config.cors_expose_headers.iter().cloned())
                    .collect::<Vec<_>>(),
            )
            .allow_credentials(config.cors_allow_credentials)
            .max_age(PREFLIGHT_MAX_AGE);
        Ok(Some(Cors { layer, origins }))
    }

    /// `inner` behind the policy; `methods_at` answers preflights.
    pub(crate) fn wrap<S>(&self, inner: S, methods_at: MethodsAt) -> CorsService<S>
    where
        S: Clone,
    {
        CorsService {
            cors: tower::Layer::layer(&self.layer, inner.clone()),
            plain: inner,
            origins: self.origins.clone(),
            methods_at,
        }
    }
}

/// A service behind the CORS policy.
#[derive(Clone)]
pub(crate) struct CorsService<S> {
    /// With the headers: every request but `OPTIONS`, and preflights.
    cors: tower_http::cors::Cors<S>,
    /// Without them: any other `OPTIONS`.
    plain: S,
    origins: Arc<Origins>,
    methods_at: MethodsAt,
}

impl<S> CorsService<S> {
    /// The methods to allow if `request` is a preflight from an allowed
    /// origin to a path the server serves; empty otherwise.
    fn preflight_methods(&self, request: &Request<Body>) -> Vec<Method> {
        let headers = request.headers();
        if !headers.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD) {
            return Vec::new();
        }
        match headers.get(header::ORIGIN) {
            Some(origin) if self.origins.allows(origin) => (self.methods_at)(request.uri().path()),
            _ => Vec::new(),
        }
    }
}

type BoxedResponse = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

impl<S> tower::Service<Request<Body>> for CorsService<S>
where
    S: tower::Service<Request<Body>, Response = Response<Body>, Error = Infallible>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
{
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = BoxedResponse;

    /// Always ready: each request goes to a clone, made ready on its own.
    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<Body>) -> BoxedResponse {
        if request.method() != Method::OPTIONS {
            let cors = self.cors.clone();
            return Box::pin(async move {
                let mut response = cors.oneshot(request).await?;
                // tower-http exposes headers to any origin; only an allowed
                // one gets CORS headers at all.
                let headers = response.headers_mut();
                if !headers.contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN) {
                    headers.remove(header::ACCESS_CONTROL_EXPOSE_HEADERS);
                }
                Ok(response)
            });
        }
        let methods = self.preflight_methods(&request);
        if methods.is_empty() {
            return Box::pin(self.plain.clone().oneshot(request));
        }
        let names: Vec<&str> = methods.iter().map(Method::as_str).collect();
        let allow_methods = HeaderValue::from_str(&names.join(", "));
        let cors = self.cors.clone();
        Box::pin(async move {
            let mut response = cors.oneshot(request).await?;
            *response.status_mut() = StatusCode::NO_CONTENT;
            if let Ok(value) = allow_methods {
                response
                    .headers_mut()
                    .insert(header::ACCESS_CONTROL_ALLOW_METHODS, value);
            }
            Ok(response)
        })
    }
}

/// An origin for `--cors-allow-origin`: `scheme://host[:port]` (http or
/// https, no path), lower-cased as browsers send it, or `*`.
pub(crate) fn parse_origin(text: &str) -> Result<String, String> {
    if text == "*" {
        return Ok(text.to_owned());
    }
    let expected =
        "expected an origin such as https://app.example.com (scheme, host, optional port, no path) or *";
    let uri: http::Uri = text
        .parse()
        .map_err(|error| format!("{text:?} is not an origin ({error}); {expected}"))?;
    match (uri.scheme_str(), uri.authority()) {
        // Nothing after the authority, not even `/`.
        (Some(scheme @ ("http" | "https")), Some(authority))
            if text.len() == scheme.len() + "://".len() + authority.as_str().len()
                && !authority.host().is_empty()
                && !authority.as_str().contains('@') =>
        {
            Ok(text.to_ascii_lowercase())
        }
        _ => Err(format!("{text:?} is not an origin; {expected}")),
    }
}

/// A header name for `--cors-allow-header` and `--cors-expose-header`.
pub(crate) fn parse_header_name(text: &str) -> Result<HeaderName, String> {
    if text == "*" {
        return Err("name each header: a wildcard is not accepted".to_owned());
    }
    HeaderName::from_bytes(text.as_bytes()).map_err(|_| format!("{text:?} is not a header name"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_scheme_host_and_port() {
        let cases = [
            ("*", Some("*")),
            ("https://app.example.com", Some("https://app.example.com")),
            ("http://localhost:3000", Some("http://localhost:3000")),
            ("HTTPS://App.Example.com", Some("https://app.example.com")),
            ("http://[::1]:8080", Some("http://[::1]:8080")),
            ("https://app.example.com/", None),
            ("https://app.example.com/path", None),
            ("app.example.com", None),
            ("ftp://app.example.com", None),
            ("https://user@app.example.com", None),
            ("https://", None),
            ("null", None),
            ("", None),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_origin(text).ok().as_deref(), expected, "{text:?}");
        }
    }

    #[test]
    fn header_names_are_checked() {
        let cases = [
            ("Grpc-Metadata-Tenant", Some("grpc-metadata-tenant")),
            ("x-tenant", Some("x-tenant")),
            ("*", None),
            ("bad name", None),
            ("", None),
        ];
        for (text, expected) in cases {
            let parsed = parse_header_name(text).ok();
            assert_eq!(parsed.as_ref().map(HeaderName::as_str), expected, "{text:?}");
        }
    }

    #[test]
    fn a_wildcard_origin_refuses_credentials() {
        let mut config = Config::with_database("unused.db");
        let cases = [
            (vec!["*"], false, Ok(true)),
            (vec!["*"], true, Err(())),
            (vec!["https://a.example"], true, Ok(true)),
            (vec![], true, Ok(false)),
        ];
        for (origins, credentials, expected) in cases {
            config.cors_allow_origins = origins.iter().map(|origin| (*origin).to_owned()).collect();
            config.cors_allow_credentials = credentials;
            let built = Cors::from_config(&config)
                .map(|cors| cors.is_some())
                .map_err(|_| ());
            assert_eq!(built, expected, "{origins:?} credentials {credentials}");
        }
    }
}
