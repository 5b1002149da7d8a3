//! The documentation and operations paths the front serves itself, never
//! transcoded: `/openapi.json`, `/openapi.yaml`, Swagger UI at `/docs/`,
//! `/metrics` and the health endpoints.

use axum::routing::get;
use http::{HeaderValue, header};
use utoipa_swagger_ui::{Config as SwaggerConfig, SwaggerUi};

use crate::health;
use crate::metrics::METRICS_PATH;
use crate::transcode::openapi;

/// Where [`docs_routes`] serves the document and Swagger UI.
const OPENAPI_JSON_PATH: &str = "/openapi.json";
const OPENAPI_YAML_PATH: &str = "/openapi.yaml";
const SWAGGER_UI_PATH: &str = "/docs";

/// The paths [`docs_routes`] serves, `/metrics` and the health endpoints
/// (never transcoded).
pub(super) fn is_docs_path(path: &str) -> bool {
    path == METRICS_PATH
        || path == health::LIVENESS_PATH
        || path == health::READINESS_PATH
        || path == OPENAPI_JSON_PATH
        || path == OPENAPI_YAML_PATH
        || path
            .strip_prefix(SWAGGER_UI_PATH)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// `/openapi.json`, `/openapi.yaml` and Swagger UI at `/docs/` (its assets
/// are compiled in; it loads nothing from elsewhere, and "Try it out" calls
/// this same server).
pub(super) fn docs_routes(document: &utoipa::openapi::OpenApi) -> axum::Router {
    let json = openapi::to_json(document);
    let yaml = openapi::to_yaml(document);
    let swagger = SwaggerUi::new(SWAGGER_UI_PATH).config(
        SwaggerConfig::new([OPENAPI_JSON_PATH])
            .validator_url("none")
            .try_it_out_enabled(true)
            .display_operation_id(true),
    );
    axum::Router::new()
        .route(
            OPENAPI_JSON_PATH,
            get(move || {
                std::future::ready((
                    [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))],
                    json.clone(),
                ))
            }),
        )
        .route(
            OPENAPI_YAML_PATH,
            get(move || {
                std::future::ready((
                    [(header::CONTENT_TYPE, HeaderValue::from_static("application/yaml"))],
                    yaml.clone(),
                ))
            }),
        )
        .merge(swagger)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_documentation_paths_go_to_the_docs_routes() {
        let cases = [
            ("/openapi.json", true),
            ("/openapi.yaml", true),
            ("/docs", true),
            ("/docs/", true),
            ("/docs/index.html", true),
            ("/metrics", true),
            ("/metrics/", false),
            ("/healthz", true),
            ("/readyz", true),
            ("/readyz/", false),
            ("/docsx", false),
            ("/openapi.jsonx", false),
            ("/v1/users", false),
            ("/", false),
        ];
        for (path, docs) in cases {
            assert_eq!(is_docs_path(path), docs, "{path}");
        }
    }
}
