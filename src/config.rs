//! Every knob of the server in one struct, with its defaults. The binary
//! fills it from flags and environment variables; tests build it directly.

use std::net::SocketAddr;
use std::path::PathBuf;

/// Where the server listens by default: loopback only.
pub const DEFAULT_ADDR: &str = "127.0.0.1:8080";
/// The embedded database used when no `--database` is given.
pub const DEFAULT_DATABASE: &str = "data/users.db";
/// The largest HTTP request body accepted (1 MiB).
pub const DEFAULT_MAX_BODY_BYTES: usize = crate::transcode::DEFAULT_MAX_BODY_BYTES;
/// The largest gRPC message accepted or sent (4 MiB, tonic's usual limit).
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 4 * 1024 * 1024;

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
}

impl Config {
    /// The defaults, with the database at `database`.
    pub fn with_database(database: impl Into<PathBuf>) -> Self {
        Config {
            addr: DEFAULT_ADDR.parse().expect("the default address parses"),
            database: database.into(),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
        }
    }
}
