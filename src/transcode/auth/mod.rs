//! Who may call what: bearer tokens checked and access rules applied in
//! the policy chain, so a REST caller and a gRPC caller meet the same
//! rules. The [`Authenticator`] is one interceptor: for a call to a method
//! of an open service it does nothing; otherwise it reads the
//! `authorization` metadata (REST forwards the header), verifies the token
//! ([`TokenVerifier`]), puts the [`Principal`] in the call's extensions and
//! checks the method's [`Access`] (declared in the proto, `access`).
//!
//! - no token where one is needed, or a bad one: UNAUTHENTICATED, with a
//!   `www-authenticate` challenge (RFC 6750) that REST answers as the
//!   `WWW-Authenticate` header of its 401;
//! - a good token without a role the method allows, or a method that
//!   declares no access: PERMISSION_DENIED (REST 403).
//!
//! The [`RateLimit`] step after it counts calls per caller.
//!
//! ```ignore
//! let verifier = Arc::new(TokenVerifier::new(sources, TokenRules::default())?);
//! let rules = AccessRules::read(&pool)?.open("grpc.health.v1.Health");
//! builder.interceptor(Authenticator::new(verifier, rules))
//! ```

mod access;
mod keys;
mod principal;
mod rate_limit;
mod tokens;

use std::sync::Arc;

use http::Extensions;
use tonic::metadata::{MetadataMap, MetadataValue};

use access::Rule;
pub(crate) use access::access_of;
pub use access::{Access, AccessRules};
pub use keys::{KeyError, KeySources, MIN_SECRET_BYTES};
pub use principal::Principal;
pub use rate_limit::RateLimit;
pub use tokens::{DEFAULT_ROLES_CLAIM, LEEWAY, MAX_TOKEN_BYTES, TokenError, TokenRules, TokenVerifier};

use crate::transcode::interceptor::{CallInfo, Interceptor};

/// The metadata key of the challenge a REST 401 answers as `WWW-Authenticate`.
pub(crate) const WWW_AUTHENTICATE: &str = "www-authenticate";

/// The chain's authentication and authorization step.
pub struct Authenticator {
    verifier: Arc<TokenVerifier>,
    rules: AccessRules,
}

impl Authenticator {
    pub fn new(verifier: Arc<TokenVerifier>, rules: AccessRules) -> Self {
        Authenticator { verifier, rules }
    }

    /// The caller the call's `authorization` names: `None` when it has
    /// none, an UNAUTHENTICATED status when it is not a good bearer token.
    fn caller(&self, metadata: &MetadataMap) -> Result<Option<Principal>, tonic::Status> {
        let Some(value) = metadata.get("authorization") else {
            return Ok(None);
        };
        let token = value
            .to_str()
            .ok()
            .and_then(|value| value.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim());
        let Some(token) = token else {
            return Err(unauthenticated("the authorization is not a bearer token", true));
        };
        self.verifier
            .verify(token)
            .map(Some)
            .map_err(|error| unauthenticated(&error.to_string(), true))
    }
}

impl Interceptor for Authenticator {
    fn on_call(
        &self,
        call: &CallInfo,
        metadata: &mut MetadataMap,
        extensions: &mut Extensions,
    ) -> Result<(), tonic::Status> {
        let access = match self.rules.rule(&call.grpc_path) {
            Rule::Open => return Ok(()),
            Rule::Declared(access) => access,
        };
        let caller = self.caller(metadata)?;
        let allowed = match (access, &caller) {
            (Access::Public, _) => true,
            (_, None) => return Err(unauthenticated("this method needs a bearer token", false)),
            (Access::Roles(roles), Some(caller)) => caller.has_any_role(roles),
            (Access::Undeclared, Some(_)) => false,
        };
        if !allowed {
            return Err(permission_denied(call, access));
        }
        if let Some(caller) = caller {
            extensions.insert(caller);
        }
        Ok(())
    }
}

/// UNAUTHENTICATED with its challenge: `invalid` says a token was sent
/// and refused (RFC 6750's `invalid_token`, with `message` as its
/// description).
fn unauthenticated(message: &str, invalid: bool) -> tonic::Status {
    let mut status = tonic::Status::unauthenticated(message);
    let challenge = if invalid {
        format!(r#"Bearer error="invalid_token", error_description="{message}""#)
    } else {
        "Bearer".to_owned()
    };
    if let Ok(value) = MetadataValue::try_from(challenge) {
        status.metadata_mut().insert(WWW_AUTHENTICATE, value);
    }
    status
}

fn permission_denied(call: &CallInfo, access: &Access) -> tonic::Status {
    let message = match access {
        Access::Roles(roles) => {
            let roles: Vec<&str> = roles.iter().map(|role| &**role).collect();
            format!("{} needs one of the roles: {}", call.method(), roles.join(", "))
        }
        _ => format!("{} is not open to any caller", call.method()),
    };
    tonic::Status::permission_denied(message)
}
