//! Who is calling, as the domain sees it: the [`Principal`] the chain's
//! authenticator left in the call's extensions (none when tokens are not
//! checked), and what it may do beyond what the method's access allowed.

use http::Extensions;

use crate::transcode::auth::Principal;

/// The role that may change a user's `role`.
const ADMIN_ROLE: &str = "admin";

/// The caller of one call.
#[derive(Debug, Clone, Default)]
pub(crate) struct Caller(Option<Principal>);

impl Caller {
    pub(crate) fn of(extensions: &Extensions) -> Self {
        Caller(extensions.get::<Principal>().cloned())
    }

    /// Whether the caller may change a user's role: an admin, or anyone
    /// when tokens are not checked.
    pub(crate) fn may_change_roles(&self) -> bool {
        self.0
            .as_ref()
            .is_none_or(|principal| principal.has_role(ADMIN_ROLE))
    }

    /// The token's subject, `-` when there is none.
    pub(crate) fn subject(&self) -> &str {
        self.0.as_ref().map_or("-", Principal::subject)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn only_admins_or_unchecked_callers_change_roles() {
        let with = |roles: &[&str]| {
            let mut extensions = Extensions::new();
            extensions.insert(Principal::new("ada", roles.iter().map(|role| Arc::from(*role))));
            Caller::of(&extensions)
        };
        let cases = [
            (Caller::of(&Extensions::new()), true, "-"),
            (with(&["admin"]), true, "ada"),
            (with(&["viewer", "admin"]), true, "ada"),
            (with(&["editor"]), false, "ada"),
            (with(&[]), false, "ada"),
        ];
        for (caller, may, subject) in cases {
            assert_eq!(caller.may_change_roles(), may, "{caller:?}");
            assert_eq!(caller.subject(), subject);
        }
    }
}
