//! The engine alone in front of a service of the test's choosing (no
//! store): for failures the real service cannot be made to produce on
//! demand. [`serve_engine`] serves REST only; [`serve_both_faces`] mounts it
//! as a library user would, gRPC and REST on one port.

use std::sync::Arc;

use gateway::proto::users::v1::user_service_direct::UserServiceDirect;
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
    let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, app).await });
    endpoint
}

/// Serves `service` on both faces as the library's README shows: tonic's
/// routes behind the gateway's gRPC layer (and gRPC-Web's translation, as
/// the server has it), unary REST calls direct, every other request to the
/// gateway.
pub async fn serve_both_faces<S: UserService>(service: Arc<S>) -> Endpoint {
    let routes = tonic::service::Routes::new(UserServiceServer::from_arc(service.clone()));
    let pool = DescriptorPool::decode(gateway::proto::FILE_DESCRIPTOR_SET).expect("the descriptors decode");
    let gateway = Gateway::builder(pool, routes.clone())
        .direct(UserServiceDirect(service))
        .build()
        .expect("the engine builds");
    let app = routes
        .into_axum_router()
        .layer(gateway.grpc_layer())
        .layer(tonic_web::GrpcWebLayer::new())
        .fallback_service(gateway);
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
    let endpoint = Endpoint::new(listener.local_addr().expect("the listener's address"));
    let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, app).await });
    endpoint
}
