//! Who may call each method, as the proto declares it with this gateway's
//! `gateway.v1.access` method option, read once at start:
//!
//! ```text
//! option (gateway.v1.access) = {roles: ["editor", "admin"]};   any one of these roles
//! option (gateway.v1.access) = {public: true};                 anyone, token or not
//! (no option)                                                  nobody, when auth is on
//! ```
//!
//! Services the gateway serves besides the annotated ones (health checks,
//! server reflection) are named [`AccessRules::open`]: open to anyone.

use std::collections::HashMap;
use std::sync::Arc;

use prost_reflect::{DescriptorPool, MethodDescriptor};

use crate::transcode::interceptor::{grpc_path, service_of};
use crate::transcode::proto::gateway::v1::Access as AccessOption;
use crate::transcode::setup_error::SetupError;

const ACCESS_EXTENSION: &str = "gateway.v1.access";

/// Who may call one method.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    /// Anyone: a token, if sent, is still checked.
    Public,
    /// A caller holding any one of these roles.
    Roles(Arc<[Arc<str>]>),
    /// The proto says nothing: nobody, when auth is on.
    Undeclared,
}

/// The access the proto declares for `method`; a contradictory option
/// (public with roles, or neither) is a [`SetupError`] naming the method.
pub(crate) fn access_of(method: &MethodDescriptor) -> Result<Access, SetupError> {
    let options = method.options();
    let Some(extension) = method.parent_pool().get_extension_by_name(ACCESS_EXTENSION) else {
        return Ok(Access::Undeclared);
    };
    if !options.has_extension(&extension) {
        return Ok(Access::Undeclared);
    }
    let bad = |reason: &str| SetupError::BadOption {
        method: method.full_name().to_owned(),
        option: ACCESS_EXTENSION.to_owned(),
        reason: reason.to_owned(),
    };
    let option: AccessOption = options
        .get_extension(&extension)
        .as_message()
        .ok_or_else(|| bad("not a message"))?
        .transcode_to()
        .map_err(|error| bad(&format!("unreadable: {error}")))?;
    match (option.public, option.roles.is_empty()) {
        (true, true) => Ok(Access::Public),
        (true, false) => Err(bad("a public method needs no roles")),
        (false, true) => Err(bad("names no role and is not public")),
        (false, false) => {
            if option.roles.iter().any(|role| role.trim().is_empty()) {
                return Err(bad("a role name is empty"));
            }
            Ok(Access::Roles(option.roles.into_iter().map(Arc::from).collect()))
        }
    }
}

/// The access of every method the gateway serves, by gRPC path.
#[derive(Debug, Clone, Default)]
pub struct AccessRules {
    by_path: HashMap<Arc<str>, Access>,
    /// Services open to anyone (`grpc.health.v1.Health`, say).
    open_services: Vec<String>,
}

/// How a call to a path is let through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rule<'a> {
    /// A service open to anyone: no token is looked at.
    Open,
    Declared(&'a Access),
}

impl AccessRules {
    /// Reads the option of every method of every service in `pool`.
    pub fn read(pool: &DescriptorPool) -> Result<Self, SetupError> {
        let mut by_path = HashMap::new();
        for service in pool.services() {
            for method in service.methods() {
                by_path.insert(grpc_path(&method), access_of(&method)?);
            }
        }
        Ok(AccessRules {
            by_path,
            open_services: Vec::new(),
        })
    }

    /// Opens every method of `service` (a full name) to anyone.
    pub fn open(mut self, service: impl Into<String>) -> Self {
        self.open_services.push(service.into());
        self
    }

    /// The methods that declare no access: nobody may call them.
    pub fn undeclared(&self) -> Vec<&str> {
        let mut paths: Vec<&str> = self
            .by_path
            .iter()
            .filter(|(path, access)| **access == Access::Undeclared && !self.is_open(path))
            .map(|(path, _)| &**path)
            .collect();
        paths.sort_unstable();
        paths
    }

    /// The rule for a call to `grpc_path`; a path no service declares
    /// is [`Access::Undeclared`].
    pub(crate) fn rule(&self, grpc_path: &str) -> Rule<'_> {
        if self.is_open(grpc_path) {
            return Rule::Open;
        }
        Rule::Declared(self.by_path.get(grpc_path).unwrap_or(&Access::Undeclared))
    }

    fn is_open(&self, grpc_path: &str) -> bool {
        let service = service_of(grpc_path);
        self.open_services.iter().any(|open| open == service)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool_with(options: &str) -> Result<DescriptorPool, String> {
        let source = format!(
            r#"syntax = "proto3";
            package t;
            import "gateway/v1/annotations.proto";
            message M {{}}
            service S {{ rpc Call(M) returns (M) {{ {options} }} }}"#
        );
        crate::transcode::test_support::compile(&source)
    }

    #[test]
    fn reads_the_declared_access_or_names_the_mistake() {
        let roles = |names: &[&str]| Ok(Access::Roles(names.iter().map(|name| Arc::from(*name)).collect()));
        let cases: [(&str, Result<Access, &str>); 6] = [
            ("", Ok(Access::Undeclared)),
            ("option (gateway.v1.access) = {public: true};", Ok(Access::Public)),
            (
                r#"option (gateway.v1.access) = {roles: ["editor", "admin"]};"#,
                roles(&["editor", "admin"]).map_err(|_: ()| ""),
            ),
            (
                r#"option (gateway.v1.access) = {public: true, roles: ["admin"]};"#,
                Err("a public method needs no roles"),
            ),
            (
                "option (gateway.v1.access) = {};",
                Err("names no role and is not public"),
            ),
            (
                r#"option (gateway.v1.access) = {roles: [" "]};"#,
                Err("a role name is empty"),
            ),
        ];
        for (options, expected) in cases {
            let pool = pool_with(options).expect("the test proto compiles");
            let method = pool.get_service_by_name("t.S").unwrap().methods().next().unwrap();
            let got = access_of(&method).map_err(|error| error.to_string());
            match expected {
                Ok(access) => assert_eq!(got, Ok(access), "{options}"),
                Err(reason) => {
                    let message = got.expect_err(options);
                    assert!(
                        message.contains("t.S.Call") && message.contains(reason),
                        "{message}"
                    );
                }
            }
        }
    }

    #[test]
    fn open_services_skip_the_rules_and_unknown_paths_are_undeclared() {
        let pool = pool_with(r#"option (gateway.v1.access) = {roles: ["admin"]};"#).unwrap();
        let rules = AccessRules::read(&pool).unwrap().open("grpc.health.v1.Health");
        assert_eq!(rules.rule("/grpc.health.v1.Health/Check"), Rule::Open);
        assert!(matches!(
            rules.rule("/t.S/Call"),
            Rule::Declared(Access::Roles(_))
        ));
        assert_eq!(rules.rule("/t.S/Other"), Rule::Declared(&Access::Undeclared));
        assert_eq!(rules.rule("garbage"), Rule::Declared(&Access::Undeclared));
        assert!(rules.undeclared().is_empty());
        let undeclared = AccessRules::read(&pool_with("").unwrap()).unwrap();
        assert_eq!(undeclared.undeclared(), ["/t.S/Call"]);
    }
}
