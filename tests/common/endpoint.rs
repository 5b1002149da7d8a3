//! Where a server under test listens, and clients for both of its faces:
//! an HTTP client for REST (see `rest.rs` for the requests) and tonic
//! channels for gRPC.

use std::net::SocketAddr;

use gateway::proto::users::v1::user_service_client::UserServiceClient;
use tonic::transport::Channel;

/// A server's address and the HTTP client the tests talk to it with.
pub struct Endpoint {
    addr: SocketAddr,
    pub http: reqwest::Client,
}

impl Endpoint {
    pub fn new(addr: SocketAddr) -> Endpoint {
        Endpoint {
            addr,
            http: reqwest::Client::new(),
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `base_url()` followed by `path` (which starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url())
    }

    /// A gRPC client on a new HTTP/2 connection to this server.
    pub async fn grpc(&self) -> UserServiceClient<Channel> {
        UserServiceClient::connect(self.base_url())
            .await
            .expect("connect the gRPC client")
    }

    /// A raw channel to this server, for other gRPC clients (health).
    pub async fn channel(&self) -> Channel {
        Channel::from_shared(self.base_url())
            .expect("a valid URI")
            .connect()
            .await
            .expect("connect the gRPC channel")
    }
}
