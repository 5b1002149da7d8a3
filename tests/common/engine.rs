//! The engine alone in front of a service of the test's choosing (no
//! store, no tonic services on the port): for failures the real service
//! cannot be made to produce on demand.

use gateway::proto::users::v1::user_service_server::{UserService, UserServiceServer};
use gateway::transcode::Gateway;
use prost_reflect::DescriptorPool;
use tokio::net::TcpListener;

use super::endpoint::Endpoint;

/// Serves the real engine in front of `service` on `127.0.0.1:<ephemeral>`
/// until the test ends. The listener is bound before this returns, so the
/// endpoint is ready at once.
pub async fn serve_engine(service: impl UserService) -> Endpoint {
    let routes = tonic::service::Routes::new(UserServiceServer::new(service));
    let pool = DescriptorPool::decode(gateway::proto::FILE_DESCRIPTOR_SET).expect("the descriptors decode");
    let gateway = Gateway::builder(pool, routes)
        .max_body_bytes(1 << 20)
        .build()
        .expect("the engine builds");
    let app = axum::Router::new().fallback_service(gateway);
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
    let endpoint = Endpoint::new(listener.local_addr().expect("the listener's address"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    endpoint
}
