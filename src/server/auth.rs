//! Who may call, as the server sets it up: the chain's [`Authenticator`]
//! when token keys are configured (the annotated services' access rules,
//! health and reflection open), its [`RateLimit`] when asked for, and the
//! refusal to serve a non-loopback
//! address with nobody checked unless `--allow-unauthenticated` says so.

use std::net::SocketAddr;
use std::sync::Arc;

use prost_reflect::DescriptorPool;
use tokio::task::JoinHandle;

use super::ServerError;
use crate::config::Config;
use crate::reloading;
use crate::transcode::auth::{AccessRules, Authenticator, RateLimit, TokenVerifier};

/// The token verifier, when the configuration names keys.
pub(super) fn verifier(config: &Config) -> Result<Option<Arc<TokenVerifier>>, ServerError> {
    let Some(sources) = config.auth.key_sources() else {
        return Ok(None);
    };
    let verifier = TokenVerifier::new(sources, config.auth.token_rules()).map_err(ServerError::Keys)?;
    Ok(Some(Arc::new(verifier)))
}

/// Reloads `verifier`'s keys when their files change or on SIGHUP.
pub(super) fn watch_keys(verifier: &Arc<TokenVerifier>) -> JoinHandle<()> {
    let files = verifier.sources().files();
    let verifier = verifier.clone();
    reloading::watch("the token keys", files, move || verifier.reload())
}

/// The chain's step for `verifier`: the access of every method of
/// `annotated`, every service of `open` open to anyone. Methods that
/// declare no access are listed in a warning: nobody may call them.
pub(super) fn authenticator(
    verifier: Arc<TokenVerifier>,
    annotated: &DescriptorPool,
    open: &DescriptorPool,
) -> Result<Authenticator, ServerError> {
    let mut rules = AccessRules::read(annotated)?;
    for service in open.services() {
        rules = rules.open(service.full_name());
    }
    let undeclared = rules.undeclared();
    if !undeclared.is_empty() {
        tracing::warn!(
            methods = %undeclared.join(", "),
            "these methods declare no (gateway.v1.access) and are refused to every caller"
        );
    }
    Ok(Authenticator::new(verifier, rules))
}

/// The chain's rate limit, when configured; `open` services are not counted.
pub(super) fn rate_limit(config: &Config, open: &DescriptorPool) -> Option<RateLimit> {
    let per_second = config.auth.rate_limit_per_second?;
    let burst = config.auth.rate_limit_burst.unwrap_or(per_second);
    let mut limit = RateLimit::new(per_second, burst);
    for service in open.services() {
        limit = limit.exempt(service.full_name());
    }
    Some(limit)
}

/// Refuses to serve `addr` when it is not loopback, no token keys are
/// configured and unauthenticated service was not asked for.
pub(super) fn check_exposure(config: &Config, addr: SocketAddr) -> Result<(), ServerError> {
    let checked = config.auth.key_sources().is_some();
    if addr.ip().is_loopback() || checked || config.auth.allow_unauthenticated {
        return Ok(());
    }
    Err(ServerError::Unauthenticated(addr))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_may_go_unchecked_unless_asked() {
        let with = |secret: bool, allow: bool| {
            let mut config = Config::with_database("unused.db");
            config.auth.jwt_hs256_secret_file = secret.then(|| "secret".into());
            config.auth.allow_unauthenticated = allow;
            config
        };
        let cases = [
            ("127.0.0.1:8080", false, false, true),
            ("[::1]:8080", false, false, true),
            ("0.0.0.0:8080", false, false, false),
            ("192.0.2.7:8080", false, false, false),
            ("0.0.0.0:8080", true, false, true),
            ("0.0.0.0:8080", false, true, true),
        ];
        for (addr, secret, allow, serves) in cases {
            let checked = check_exposure(&with(secret, allow), addr.parse().unwrap());
            assert_eq!(checked.is_ok(), serves, "{addr} secret={secret} allow={allow}");
            if let Err(error) = checked {
                assert!(error.to_string().contains("--allow-unauthenticated"), "{error}");
            }
        }
    }
}
