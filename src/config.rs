//! Every knob of the server in one struct, with its defaults. The binary
//! fills it from flags and environment variables; tests build it directly.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::logging::LogFormat;

mod auth;
mod parsers;
mod tls;

use parsers::{parse_duration, parse_otlp_endpoint};

pub use auth::AuthConfig;
pub use tls::{ClientAuth, TlsOptions};

/// Where the server listens by default: loopback only.
pub const DEFAULT_ADDR: &str = "127.0.0.1:8080";
/// The embedded database used when no `--database` is given.
pub const DEFAULT_DATABASE: &str = "data/users.db";
/// The largest HTTP request body accepted (1 MiB).
pub const DEFAULT_MAX_BODY_BYTES: usize = crate::transcode::DEFAULT_MAX_BODY_BYTES;
/// The largest gRPC message accepted or sent (4 MiB, tonic's usual limit).
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 4 * 1024 * 1024;

/// Calls in flight at once, past which calls are shed.
pub const DEFAULT_MAX_CONCURRENT_CALLS: usize = 1024;
/// Streaming calls open at once, past which streams are shed.
pub const DEFAULT_MAX_OPEN_STREAMS: usize = 256;
/// The bytes of REST request bodies held at once (32 MiB).
pub const DEFAULT_MAX_IN_FLIGHT_BODY_BYTES: usize = crate::transcode::DEFAULT_MAX_IN_FLIGHT_BODY_BYTES;
/// The bytes of messages a stream buffers for a slow reader (256 KiB).
pub const DEFAULT_STREAM_SEND_BYTES: usize = 256 * 1024;
/// How long a stream waits on a reader that takes nothing.
pub const DEFAULT_STREAM_IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// The encoded size of a list page (4 MiB).
pub const DEFAULT_MAX_PAGE_BYTES: usize = 4 * 1024 * 1024;
/// The bytes of users the read cache keeps (64 MiB).
pub const DEFAULT_CACHE_BYTES: usize = 64 * 1024 * 1024;
/// The connection timeouts' defaults (the flags' defaults say the same).
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
pub const DEFAULT_BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);
pub const DEFAULT_HTTP2_KEEPALIVE_INTERVAL: Duration = Duration::from_secs(30);
pub const DEFAULT_HTTP2_KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(20);
pub const DEFAULT_DRAIN_TIMEOUT: Duration = Duration::from_secs(5);
/// The most concurrent streams per HTTP/2 connection (hyper's default).
pub const DEFAULT_MAX_CONCURRENT_STREAMS: u32 = 200;

/// The server's configuration.
#[derive(Debug, Clone, clap::Parser)]
#[command(
    version,
    about = "Serves users.v1.UserService over gRPC and, transcoded, over HTTP/JSON on one port."
)]
pub struct Config {
    /// The address to listen on, for REST and gRPC alike.
    #[arg(long, env = "GATEWAY_ADDR", default_value = DEFAULT_ADDR)]
    pub addr: SocketAddr,

    /// The SQLite database file; created, with its directory, if missing.
    #[arg(long, env = "GATEWAY_DATABASE", default_value = DEFAULT_DATABASE)]
    pub database: PathBuf,

    /// The largest HTTP request body, in bytes; larger bodies get 413.
    #[arg(long, env = "GATEWAY_MAX_BODY_BYTES", default_value_t = DEFAULT_MAX_BODY_BYTES)]
    pub max_body_bytes: usize,

    /// The largest gRPC message, in bytes, in either direction.
    #[arg(long, env = "GATEWAY_MAX_MESSAGE_BYTES", default_value_t = DEFAULT_MAX_MESSAGE_BYTES)]
    pub max_message_bytes: usize,

    /// How log lines are written: `text`, or `json` (one object per line).
    #[arg(long, env = "GATEWAY_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// The deadline of a call that sets none (gRPC `grpc-timeout`, REST
    /// `Grpc-Timeout`), e.g. `30s`; none by default.
    #[arg(long, env = "GATEWAY_DEFAULT_TIMEOUT", value_parser = parse_duration)]
    pub default_timeout: Option<Duration>,

    /// The longest deadline any call gets, whatever it asks for, e.g. `5m`;
    /// no limit by default.
    #[arg(long, env = "GATEWAY_MAX_TIMEOUT", value_parser = parse_duration)]
    pub max_timeout: Option<Duration>,

    /// The OTLP/gRPC collector to export traces to, e.g.
    /// `http://127.0.0.1:4317`; no traces are exported by default.
    #[arg(long, env = "OTEL_EXPORTER_OTLP_ENDPOINT", value_parser = parse_otlp_endpoint)]
    pub otlp_endpoint: Option<http::Uri>,

    /// A browser origin allowed to call the REST routes, `/openapi.json`
    /// and gRPC-Web (CORS), e.g. `https://app.example.com`; repeatable (in
    /// the variable, comma-separated). `*` allows any origin, but not with
    /// `--cors-allow-credentials`. CORS is off when none is given.
    #[arg(long = "cors-allow-origin", env = "GATEWAY_CORS_ALLOW_ORIGIN", value_delimiter = ',', value_parser = crate::edge::parse_origin)]
    pub cors_allow_origins: Vec<String>,

    /// A request header browsers may send besides the built-in ones, e.g.
    /// `Grpc-Metadata-Tenant`; repeatable.
    #[arg(long = "cors-allow-header", env = "GATEWAY_CORS_ALLOW_HEADER", value_delimiter = ',', value_parser = crate::edge::parse_header_name)]
    pub cors_allow_headers: Vec<http::HeaderName>,

    /// A response header browser scripts may read besides the built-in
    /// ones, e.g. `Grpc-Metadata-Served-By`; repeatable.
    #[arg(long = "cors-expose-header", env = "GATEWAY_CORS_EXPOSE_HEADER", value_delimiter = ',', value_parser = crate::edge::parse_header_name)]
    pub cors_expose_headers: Vec<http::HeaderName>,

    /// Lets browsers send credentials (cookies) cross-origin
    /// (`Access-Control-Allow-Credentials: true`); needs listed origins.
    #[arg(long, env = "GATEWAY_CORS_ALLOW_CREDENTIALS")]
    pub cors_allow_credentials: bool,

    /// On a loopback address, a host name served besides `localhost`,
    /// `127.0.0.1` and `[::1]` (any port), e.g. `gateway.internal`; other
    /// names get 421 (against DNS rebinding). Repeatable (in the variable,
    /// comma-separated); on any other address every name is served.
    #[arg(long = "allowed-host", env = "GATEWAY_ALLOWED_HOST", value_delimiter = ',', value_parser = crate::edge::parse_allowed_host)]
    pub allowed_hosts: Vec<String>,

    /// Sends every response uncompressed (REST bodies and gRPC messages),
    /// say behind a proxy that compresses; compressed requests are still
    /// accepted.
    #[arg(long, env = "GATEWAY_NO_RESPONSE_COMPRESSION")]
    pub no_response_compression: bool,
    /// Calls in flight at once, REST and gRPC (a stream counts until it
    /// ends); past it calls are shed with UNAVAILABLE (REST 503 with
    /// `Retry-After`). Health and reflection are never shed; 0 is no cap.
    #[arg(long, env = "GATEWAY_MAX_CONCURRENT_CALLS", default_value_t = DEFAULT_MAX_CONCURRENT_CALLS)]
    pub max_concurrent_calls: usize,

    /// Streaming calls open at once; past it streams are shed like calls.
    /// 0 is no cap.
    #[arg(long, env = "GATEWAY_MAX_OPEN_STREAMS", default_value_t = DEFAULT_MAX_OPEN_STREAMS)]
    pub max_open_streams: usize,

    /// The bytes of REST request bodies held at once, across requests; a
    /// body that does not fit gets 503 with `Retry-After`.
    #[arg(long, env = "GATEWAY_MAX_IN_FLIGHT_BODY_BYTES", default_value_t = DEFAULT_MAX_IN_FLIGHT_BODY_BYTES)]
    pub max_in_flight_body_bytes: usize,

    /// The bytes of messages one stream buffers ahead of a slow reader;
    /// past it the stream waits for the reader.
    #[arg(long, env = "GATEWAY_STREAM_SEND_BYTES", default_value_t = DEFAULT_STREAM_SEND_BYTES)]
    pub stream_send_bytes: usize,

    /// How long a stream waits on a reader that takes nothing before it
    /// is ended with RESOURCE_EXHAUSTED, e.g. `30s`.
    #[arg(long, env = "GATEWAY_STREAM_IDLE_TIMEOUT", value_parser = parse_duration, default_value = "30s")]
    pub stream_idle_timeout: Duration,

    /// The encoded size of a `ListUsers` page, in bytes: a page stops
    /// before the user that would pass it (and gives a `next_page_token`);
    /// never more than `--max-message-bytes` allows.
    #[arg(long, env = "GATEWAY_MAX_PAGE_BYTES", default_value_t = DEFAULT_MAX_PAGE_BYTES)]
    pub max_page_bytes: usize,

    /// The bytes of users the read cache keeps (protobuf-encoded); 0
    /// disables it.
    #[arg(long, env = "GATEWAY_CACHE_BYTES", default_value_t = DEFAULT_CACHE_BYTES)]
    pub cache_bytes: usize,

    /// How long a client may take to send a request's head: from accepting
    /// the connection, or from the first byte of a later HTTP/1.1 request;
    /// a connection that takes longer is closed (`0s`: no limit).
    #[arg(long, env = "GATEWAY_HEADER_READ_TIMEOUT", value_parser = parse_duration, default_value = "10s")]
    pub header_read_timeout: Duration,

    /// How long a connection with no request open stays open, HTTP/1.1
    /// (keep-alive) or HTTP/2 (then closed with GOAWAY); `0s`: forever.
    #[arg(long, env = "GATEWAY_IDLE_TIMEOUT", value_parser = parse_duration, default_value = "60s")]
    pub idle_timeout: Duration,

    /// How long a REST request body may go without sending anything
    /// before the call fails with 408 (`0s`: no limit). gRPC streams are
    /// not subject to it (see the HTTP/2 keep-alive).
    #[arg(long, env = "GATEWAY_BODY_READ_TIMEOUT", value_parser = parse_duration, default_value = "30s")]
    pub body_read_timeout: Duration,

    /// The most streams (calls) a client may have open at once on one
    /// HTTP/2 connection.
    #[arg(
        long,
        env = "GATEWAY_MAX_CONCURRENT_STREAMS",
        default_value_t = DEFAULT_MAX_CONCURRENT_STREAMS,
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    pub max_concurrent_streams: u32,

    /// How often an HTTP/2 connection is pinged, so a peer that vanished
    /// during a long stream is noticed (`0s`: never).
    #[arg(long, env = "GATEWAY_HTTP2_KEEPALIVE_INTERVAL", value_parser = parse_duration, default_value = "30s")]
    pub http2_keepalive_interval: Duration,

    /// How long an HTTP/2 ping may go unanswered before the connection is
    /// closed.
    #[arg(long, env = "GATEWAY_HTTP2_KEEPALIVE_TIMEOUT", value_parser = parse_duration, default_value = "20s")]
    pub http2_keepalive_timeout: Duration,

    /// The most connections open at once; past it, new clients wait (in the
    /// kernel's backlog) while idle connections are closed to make room.
    /// By default the open-files limit less 64, at most 10000.
    #[arg(long, env = "GATEWAY_MAX_CONNECTIONS", value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub max_connections: Option<usize>,

    /// On SIGTERM or Ctrl-C, how long the server keeps serving (new calls
    /// too) before it stops accepting, ends the streams still open and exits.
    #[arg(long, env = "GATEWAY_DRAIN_TIMEOUT", value_parser = parse_duration, default_value = "5s")]
    pub drain_timeout: Duration,

    /// gRPC server reflection (what `grpcurl list` and `describe` read):
    /// `auto` serves it only on a loopback address, `on` and `off` always
    /// and never.
    #[arg(long, env = "GATEWAY_REFLECTION", value_enum, default_value_t = Reflection::Auto)]
    pub reflection: Reflection,

    /// TLS on the one port (`--tls-cert`, `--tls-key`, mTLS).
    #[command(flatten)]
    pub tls: TlsOptions,

    /// Who may call: token keys, the opt-out, rate limits.
    #[command(flatten)]
    pub auth: AuthConfig,
}

/// Whether the server describes its services to any caller who asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Reflection {
    /// On when listening on a loopback address, off otherwise.
    Auto,
    On,
    Off,
}

impl Reflection {
    /// Whether reflection is served on a listener bound to `ip`.
    pub fn served_on(self, ip: std::net::IpAddr) -> bool {
        match self {
            Reflection::Auto => ip.is_loopback(),
            Reflection::On => true,
            Reflection::Off => false,
        }
    }
}

impl Config {
    /// The caps on calls and streams, for the gateway's chain.
    pub fn call_limits(&self) -> crate::transcode::CallLimits {
        let cap = |limit: usize| (limit > 0).then_some(limit);
        crate::transcode::CallLimits {
            max_concurrent_calls: cap(self.max_concurrent_calls),
            max_open_streams: cap(self.max_open_streams),
            ..crate::transcode::CallLimits::default()
        }
    }

    /// The defaults, with the database at `database`.
    pub fn with_database(database: impl Into<PathBuf>) -> Self {
        Config {
            addr: DEFAULT_ADDR.parse().expect("the default address parses"),
            database: database.into(),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            log_format: LogFormat::Text,
            default_timeout: None,
            max_timeout: None,
            otlp_endpoint: None,
            cors_allow_origins: Vec::new(),
            cors_allow_headers: Vec::new(),
            cors_expose_headers: Vec::new(),
            cors_allow_credentials: false,
            allowed_hosts: Vec::new(),
            no_response_compression: false,
            max_concurrent_calls: DEFAULT_MAX_CONCURRENT_CALLS,
            max_open_streams: DEFAULT_MAX_OPEN_STREAMS,
            max_in_flight_body_bytes: DEFAULT_MAX_IN_FLIGHT_BODY_BYTES,
            stream_send_bytes: DEFAULT_STREAM_SEND_BYTES,
            stream_idle_timeout: DEFAULT_STREAM_IDLE_TIMEOUT,
            max_page_bytes: DEFAULT_MAX_PAGE_BYTES,
            cache_bytes: DEFAULT_CACHE_BYTES,
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            body_read_timeout: DEFAULT_BODY_READ_TIMEOUT,
            max_concurrent_streams: DEFAULT_MAX_CONCURRENT_STREAMS,
            http2_keepalive_interval: DEFAULT_HTTP2_KEEPALIVE_INTERVAL,
            http2_keepalive_timeout: DEFAULT_HTTP2_KEEPALIVE_TIMEOUT,
            max_connections: None,
            drain_timeout: DEFAULT_DRAIN_TIMEOUT,
            reflection: Reflection::Auto,
            tls: TlsOptions::default(),
            auth: AuthConfig::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reflection_is_served_where_it_is_asked_for() {
        let loopback: std::net::IpAddr = "127.0.0.1".parse().unwrap();
        let loopback6: std::net::IpAddr = "::1".parse().unwrap();
        let public: std::net::IpAddr = "0.0.0.0".parse().unwrap();
        let cases = [
            (Reflection::Auto, loopback, true),
            (Reflection::Auto, loopback6, true),
            (Reflection::Auto, public, false),
            (Reflection::On, public, true),
            (Reflection::Off, loopback, false),
        ];
        for (reflection, ip, served) in cases {
            assert_eq!(reflection.served_on(ip), served, "{reflection:?} on {ip}");
        }
    }

    #[test]
    fn the_flags_defaults_are_those_of_with_database() {
        use clap::Parser as _;
        let parsed = Config::try_parse_from(["gateway"]).expect("no flags parse");
        let built = Config::with_database(DEFAULT_DATABASE);
        let connection_knobs = |config: &Config| {
            (
                config.header_read_timeout,
                config.idle_timeout,
                config.body_read_timeout,
                config.max_concurrent_streams,
                config.http2_keepalive_interval,
                config.http2_keepalive_timeout,
                config.max_connections,
                config.drain_timeout,
            )
        };
        assert_eq!(connection_knobs(&parsed), connection_knobs(&built));
        assert_eq!(parsed.auth, built.auth);
        for zero in ["--max-connections=0", "--max-concurrent-streams=0"] {
            assert!(Config::try_parse_from(["gateway", zero]).is_err(), "{zero}");
        }
    }
}
