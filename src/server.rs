//! Builds and serves the whole process on one listener: the store, the
//! tonic services (users, health, reflection) and the transcoding gateway
//! in front of them, all behind the HTTP edge (Host, CORS, compression). Requests
//! with `content-type: application/grpc*` go to tonic (gRPC-Web translated
//! by tonic-web first); `GET /openapi.json`, `/openapi.yaml` and `/docs/`
//! serve the generated OpenAPI document and Swagger UI; `GET /metrics` the
//! metrics; `GET /healthz` and `/readyz` liveness and readiness; everything
//! else goes to the gateway. Shuts down gracefully, readiness off first.

use std::collections::HashSet;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use http::{Method, Request, Response};
use prost_reflect::DescriptorPool;
use tokio::net::TcpListener;
use tonic::server::NamedService;
use tonic::service::Routes;
use tonic_health::pb::health_server::HealthServer;
use tower::ServiceExt as _;
use tower_http::trace::TraceLayer;

use crate::config::Config;
use crate::edge::{self, AllowedHosts, Compression, Cors, EdgeError, GRPC_ENCODINGS, is_grpc};
use crate::health::{self, Health, Probe};
use crate::logging::CallLog;
use crate::metrics::Metrics;
use crate::proto::FILE_DESCRIPTOR_SET;
use crate::proto::users::v1::user_service_direct::UserServiceDirect;
use crate::proto::users::v1::user_service_server::UserServiceServer;
use crate::serving;
use crate::telemetry::TraceContext;
use crate::transcode::auth::KeyError;
use crate::transcode::interceptor::{Interceptor, grpc_path};
use crate::transcode::{Bindings, Gateway, SetupError, openapi};
use crate::users::{Budgets, SqliteStore, Store, UserDirectory};

mod auth;
mod docs;

use docs::{docs_routes, is_docs_path};

/// Why the server could not start (once started, it serves until told to
/// stop: a failed connection or accept is logged, not fatal).
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("opening the database failed: {0}")]
    Database(String),
    #[error("reading the service descriptors failed: {0}")]
    Descriptors(String),
    #[error(transparent)]
    Gateway(#[from] SetupError),
    #[error(transparent)]
    Edge(#[from] EdgeError),
    /// The TLS flags do not go together, or a TLS file is unusable.
    #[error("{0}")]
    Tls(String),
    #[error("reading the token keys failed: {0}")]
    Keys(KeyError),
    #[error(
        "{0} is not a loopback address and no token keys are configured: give --jwt-hs256-secret-file \
         or --jwks-file, or --allow-unauthenticated to serve it unchecked"
    )]
    Unauthenticated(SocketAddr),
}

/// Checks what `config` combines (the flags parse one by one), so a binary
/// can refuse to start before it listens; [`run`] checks it again.
pub fn check(config: &Config) -> Result<(), ServerError> {
    Cors::from_config(config)?;
    serving::tls::Tls::check(&config.tls).map_err(ServerError::Tls)?;
    auth::check_exposure(config, config.addr)?;
    auth::verifier(config)?;
    Ok(())
}

/// Serves REST and gRPC on `listener` until `shutdown` completes, then
/// drains (`--drain-timeout`: still serving), ends the calls still open
/// and closes the database.
pub async fn run(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    run_with(listener, config, Vec::new(), shutdown).await
}

/// [`run`], with `interceptors` added to the policy chain that every call,
/// REST or gRPC, passes.
pub async fn run_with(
    listener: TcpListener,
    config: Config,
    interceptors: Vec<Arc<dyn Interceptor>>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    // The bindings are read and checked once, before anything is opened;
    // the same ones feed the route table and the OpenAPI document.
    let bindings = Bindings::read(&descriptor_pool()?)?;
    let cors = Cors::from_config(&config)?;
    // A listener that cannot say its address counts as public.
    let local_addr = listener
        .local_addr()
        .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
    auth::check_exposure(&config, local_addr)?;
    let verifier = auth::verifier(&config)?;
    let tls = serving::tls::Tls::start(&config.tls).map_err(ServerError::Tls)?;
    let document = openapi::document_of(&bindings);
    let store = Arc::new(
        SqliteStore::open_with_cache_bytes(&config.database, config.cache_bytes)
            .map_err(|error| ServerError::Database(error.to_string()))?,
    );
    let directory = Arc::new(UserDirectory::new(store.clone()).with_budgets(budgets_of(&config)));
    let (health_reporter, health_service) = tonic_health::server::health_reporter();
    // Reflection only where the configuration allows it for this address
    // (an address that cannot be read counts as public).
    let reflection = config.reflection.served_on(local_addr.ip());
    let services = grpc_services(directory.clone(), health_service, reflection, &config)?;
    let health = Health::start(
        store_probe(store.clone()),
        READINESS_PROBE_TIMEOUT,
        health_reporter,
        vec![<UserServiceServer<UserDirectory> as NamedService>::NAME.to_owned()],
    )
    .await;
    // The metrics come first in the chain, so calls that a later
    // interceptor rejects are counted too.
    let served_elsewhere = served_elsewhere_pool()?;
    let grpc_paths = grpc_paths(&[&bindings.pool, &served_elsewhere]);
    let watched_keys = verifier.clone();
    let authenticator = verifier
        .map(|verifier| auth::authenticator(verifier, &bindings.pool, &served_elsewhere))
        .transpose()?;
    let mut metrics = Metrics::new(&bindings, &served_elsewhere);
    metrics.register_store(store.figures());
    // Set when the drain is over: the calls still open end.
    let stop = serving::Stop::new();
    // REST reaches the same service instance: unary methods directly, the
    // streaming ones through tonic.
    let mut builder = Gateway::builder_with_bindings(bindings, services.clone())
        .max_body_bytes(config.max_body_bytes)
        .default_timeout(config.default_timeout)
        .max_timeout(config.max_timeout)
        .call_limits(config.call_limits())
        .max_in_flight_body_bytes(config.max_in_flight_body_bytes)
        .body_read_timeout(serving::enabled(config.body_read_timeout))
        .shutdown(stop.watch())
        .websocket_origins(config.cors_allow_origins.iter().cloned())
        .direct(UserServiceDirect(directory))
        .interceptor_arc(metrics.interceptor());
    if config.otlp_endpoint.is_some() {
        // The call's span joins its trace before the interceptors after
        // it run (and log) in it.
        builder = builder.interceptor(TraceContext::default());
    }
    builder = builder.interceptor(CallLog);
    if let Some(authenticator) = authenticator {
        builder = builder.interceptor(authenticator);
    }
    if let Some(rate_limit) = auth::rate_limit(&config, &served_elsewhere) {
        builder = builder.interceptor(rate_limit);
    }
    for interceptor in interceptors {
        builder = builder.interceptor_arc(interceptor);
    }
    let gateway = builder.build()?;
    // The gRPC face passes the same chain, in a layer around tonic's routes
    // (the gateway's own calls through those routes do not: they passed it).
    let grpc_chain = gateway.grpc_layer().describe(&served_elsewhere);
    let front = Arc::new(Front {
        grpc: services
            .into_axum_router()
            .layer(grpc_chain)
            .layer(tonic_web::GrpcWebLayer::new()),
        grpc_paths,
        docs: docs_routes(&document)
            .merge(metrics.routes())
            .merge(health::routes(health.clone()))
            .layer(TraceLayer::new_for_http()),
        gateway,
    });
    let methods_at: edge::MethodsAt = {
        let front = front.clone();
        Arc::new(move |path| front.methods_at(path))
    };
    let front = tower::service_fn(move |request: Request<Body>| {
        let front = front.clone();
        async move { Ok::<_, Infallible>(front.serve(request).await) }
    });
    let hosts = AllowedHosts::for_listener(&config, listener.local_addr().ok());
    let edge = edge::wrap(
        front,
        methods_at,
        cors.as_ref(),
        Compression::from_config(&config),
        hosts.as_ref(),
    );
    // Each request carries its peer's address (`ConnectInfo`), for the chain.
    let handler = move |request: Request<Body>| {
        let edge = edge.clone();
        async move { edge.oneshot(request).await.unwrap_or_else(|never| match never {}) }
    };
    // The key files and the TLS files are read again when they change or on SIGHUP.
    let key_watcher = watched_keys.as_ref().map(auth::watch_keys);
    let tls_watcher = tls.as_ref().map(serving::tls::Tls::watch);
    let settings = serving::Settings::of(&config).with_tls(tls);
    serving::serve(listener, settings, stop, handler, shutdown, move || {
        // The drain begins: readiness turns NOT_SERVING on both faces first.
        drop(health.start_draining());
    })
    .await;
    for watcher in key_watcher.into_iter().chain(tls_watcher) {
        watcher.abort();
    }
    if let Err(error) = store.close().await {
        tracing::error!(%error, "closing the database failed");
    }
    Ok(())
}

/// Where a request goes: gRPC to tonic, the documentation and metrics paths
/// to their routes (both traced by tower-http), everything else to the gateway
/// (checked in that order, with no router in between: this is every REST
/// request's path; the gateway logs each request at `debug` level itself).
struct Front {
    grpc: axum::Router,
    /// The gRPC methods served, `/package.Service/Method`.
    grpc_paths: HashSet<Arc<str>>,
    /// The documentation and `/metrics`.
    docs: axum::Router,
    gateway: Gateway,
}

impl Front {
    async fn serve(&self, request: Request<Body>) -> Response<Body> {
        let routed = if is_grpc(request.headers()) {
            self.grpc.clone().oneshot(request).await
        } else if is_docs_path(request.uri().path()) {
            self.docs.clone().oneshot(request).await
        } else {
            return self.gateway.handle(request).await;
        };
        routed.unwrap_or_else(|never| match never {})
    }

    /// The methods served at `path`, for CORS preflights.
    fn methods_at(&self, path: &str) -> Vec<Method> {
        if is_docs_path(path) {
            vec![Method::GET, Method::HEAD]
        } else if self.grpc_paths.contains(path) {
            vec![Method::POST]
        } else {
            self.gateway.methods_at(path)
        }
    }
}

/// The gRPC path of every method in `pools`.
fn grpc_paths(pools: &[&DescriptorPool]) -> HashSet<Arc<str>> {
    let mut paths = HashSet::new();
    for service in pools.iter().flat_map(|pool| pool.services()) {
        paths.extend(service.methods().map(|method| grpc_path(&method)));
    }
    paths
}

/// The OpenAPI document of the embedded services, as served at `/openapi.json`.
pub fn openapi_document() -> Result<utoipa::openapi::OpenApi, ServerError> {
    Ok(openapi::document(&descriptor_pool()?)?)
}

fn descriptor_pool() -> Result<DescriptorPool, ServerError> {
    DescriptorPool::decode(FILE_DESCRIPTOR_SET).map_err(|error| ServerError::Descriptors(error.to_string()))
}

/// The services the gRPC face serves besides the annotated ones (health
/// and reflection), for the call kinds of their methods.
fn served_elsewhere_pool() -> Result<DescriptorPool, ServerError> {
    let mut pool = DescriptorPool::new();
    for set in [
        tonic_health::pb::FILE_DESCRIPTOR_SET,
        tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET,
        tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET,
    ] {
        pool.decode_file_descriptor_set(set)
            .map_err(|error| ServerError::Descriptors(error.to_string()))?;
    }
    Ok(pool)
}

/// How long the store has to answer the readiness probe.
const READINESS_PROBE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// The readiness probe: the store answers a trivial read.
fn store_probe(store: Arc<SqliteStore>) -> Probe {
    Box::new(move || {
        let store = store.clone();
        Box::pin(async move { store.ping().await.map_err(|error| error.to_string()) })
    })
}

fn grpc_services<H: tonic_health::pb::health_server::Health>(
    directory: Arc<UserDirectory>,
    mut health: HealthServer<H>,
    reflection: bool,
    config: &Config,
) -> Result<Routes, ServerError> {
    let mut users = UserServiceServer::from_arc(directory)
        .max_decoding_message_size(config.max_message_bytes)
        .max_encoding_message_size(config.max_message_bytes);
    for encoding in GRPC_ENCODINGS {
        users = users.accept_compressed(encoding);
        health = health.accept_compressed(encoding);
    }
    for &encoding in Compression::from_config(config).grpc_sent() {
        users = users.send_compressed(encoding);
        health = health.send_compressed(encoding);
    }
    let routes = Routes::new(users).add_service(health);
    if !reflection {
        return Ok(routes);
    }
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()
        .map_err(|error| ServerError::Descriptors(error.to_string()))?;
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()
        .map_err(|error| ServerError::Descriptors(error.to_string()))?;
    Ok(routes.add_service(reflection).add_service(reflection_v1alpha))
}

/// The domain's budgets, with pages that fit in a gRPC message.
fn budgets_of(config: &Config) -> Budgets {
    Budgets {
        max_page_bytes: config.max_page_bytes,
        stream_send_bytes: config.stream_send_bytes,
        stream_idle_timeout: config.stream_idle_timeout,
    }
    .fitting_messages_of(config.max_message_bytes)
}
