//! Who is calling: the subject and roles of a verified bearer token, put
//! in the call's extensions by the [`Authenticator`](super::Authenticator)
//! for the service to read.
//!
//! ```ignore
//! let caller = request.extensions().get::<Principal>();
//! let may = caller.is_none_or(|caller| caller.has_role("admin"));
//! ```

use std::sync::Arc;

/// A caller whose token was verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    subject: Arc<str>,
    roles: Arc<[Arc<str>]>,
}

impl Principal {
    pub fn new(subject: impl Into<Arc<str>>, roles: impl IntoIterator<Item = Arc<str>>) -> Self {
        Principal {
            subject: subject.into(),
            roles: roles.into_iter().collect(),
        }
    }

    /// The token's `sub`.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// The roles the token grants.
    pub fn roles(&self) -> &[Arc<str>] {
        &self.roles
    }

    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|held| &**held == role)
    }

    /// Whether the caller holds any of `roles`.
    pub fn has_any_role(&self, roles: &[Arc<str>]) -> bool {
        roles.iter().any(|role| self.has_role(role))
    }
}
