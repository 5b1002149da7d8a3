//! Who may call an operation, as the document shows it: one `bearerAuth`
//! scheme (HTTP bearer, JWT) and per operation the `security` its
//! `gateway.v1.access` option implies: one requirement per allowed role
//! (OpenAPI 3.1 role names; any one of them will do) and the 401/403
//! answers it may give; nothing for a public method, nor for one that
//! declares no access (a service that does not use tokens).
//!
//! ```text
//! security: [{bearerAuth: [editor]}, {bearerAuth: [admin]}]
//! ```

use http::StatusCode;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};

use crate::transcode::auth::Access;

/// The name of the document's one security scheme.
pub(crate) const BEARER_AUTH: &str = "bearerAuth";

/// The scheme every guarded operation names.
pub(crate) fn bearer_scheme() -> SecurityScheme {
    SecurityScheme::Http(
        HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .bearer_format("JWT")
            .description(Some(
                "A JWT in `Authorization: Bearer <token>`; its `roles` claim lists the caller's roles. \
                 Checked only when the gateway runs with token keys.",
            ))
            .build(),
    )
}

/// The operation's `security`: `None` for a public method.
pub(crate) fn requirements(access: &Access) -> Option<Vec<SecurityRequirement>> {
    match access {
        Access::Public => None,
        Access::Roles(roles) => Some(
            roles
                .iter()
                .map(|role| SecurityRequirement::new(BEARER_AUTH, [&**role]))
                .collect(),
        ),
        Access::Undeclared => None,
    }
}

/// The sentence the operation's description ends with, if any.
pub(crate) fn describe(access: &Access) -> Option<String> {
    match access {
        Access::Public => Some("Access: anyone.".to_owned()),
        Access::Roles(roles) => {
            let roles: Vec<String> = roles.iter().map(|role| format!("`{role}`")).collect();
            Some(format!(
                "Access: a bearer token with one of the roles {}.",
                roles.join(", ")
            ))
        }
        Access::Undeclared => None,
    }
}

/// The 401 and 403 answers of a guarded operation.
pub(crate) fn error_responses(access: &Access) -> Vec<(String, String)> {
    if !matches!(access, Access::Roles(_)) {
        return Vec::new();
    }
    vec![
        (
            StatusCode::UNAUTHORIZED.as_str().to_owned(),
            "Unauthenticated: no bearer token, or one that is not valid or has expired \
             (UNAUTHENTICATED); `WWW-Authenticate` says which."
                .to_owned(),
        ),
        (
            StatusCode::FORBIDDEN.as_str().to_owned(),
            "Permission denied: the token's roles do not allow this call (PERMISSION_DENIED).".to_owned(),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn each_kind_of_access_has_its_security_and_answers() {
        let roles = Access::Roles(vec![Arc::from("editor"), Arc::from("admin")].into());
        let json = |access: &Access| serde_json::to_value(requirements(access)).unwrap();
        let cases = [
            (Access::Public, serde_json::json!(null), 0),
            (
                roles,
                serde_json::json!([{"bearerAuth": ["editor"]}, {"bearerAuth": ["admin"]}]),
                2,
            ),
            (Access::Undeclared, serde_json::json!(null), 0),
        ];
        for (access, security, answers) in cases {
            assert_eq!(json(&access), security, "{access:?}");
            assert_eq!(error_responses(&access).len(), answers, "{access:?}");
            assert_eq!(describe(&access).is_some(), access != Access::Undeclared);
        }
    }
}
