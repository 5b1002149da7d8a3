//! `GET /healthz` and `GET /readyz`: small JSON answers for load balancers
//! and orchestrators. Neither is a call: no interceptor, metric or call
//! line sees them, and no limit sheds them.

use std::sync::Arc;

use axum::Json;
use axum::routing::get;
use http::StatusCode;
use serde_json::json;

use super::Health;

/// Liveness: 200 while the process serves HTTP at all.
pub(crate) const LIVENESS_PATH: &str = "/healthz";
/// Readiness: 200 when the process should get traffic, 503 when not.
pub(crate) const READINESS_PATH: &str = "/readyz";

/// The liveness and readiness endpoints over `health`.
pub(crate) fn routes(health: Arc<Health>) -> axum::Router {
    axum::Router::new()
        .route(
            LIVENESS_PATH,
            get(|| async { Json(json!({"status": "SERVING"})) }),
        )
        .route(
            READINESS_PATH,
            get(move || {
                let health = health.clone();
                async move {
                    match health.check().await.reason() {
                        None => (StatusCode::OK, Json(json!({"status": "SERVING"}))),
                        Some(reason) => (
                            StatusCode::SERVICE_UNAVAILABLE,
                            Json(json!({"status": "NOT_SERVING", "reason": reason})),
                        ),
                    }
                }
            }),
        )
}
