//! The knobs of who may call: the token keys and what tokens must say,
//! the explicit opt-out of authentication on a public address, and the
//! per-caller rate limit. Part of [`Config`](super::Config), flattened.

use std::num::NonZeroU32;
use std::path::PathBuf;

use crate::transcode::auth::{DEFAULT_ROLES_CLAIM, KeySources, TokenRules};

/// Authentication, authorization and rate limits.
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct AuthConfig {
    /// A file holding the HS256 secret bearer tokens are signed with (at
    /// least 32 bytes). With it or `--jwks-file`, every call needs a token
    /// whose roles the method allows.
    #[arg(long, env = "GATEWAY_JWT_HS256_SECRET_FILE")]
    pub jwt_hs256_secret_file: Option<PathBuf>,

    /// A JWKS file of public keys (RS256, ES256, EdDSA), chosen by a token's
    /// `kid`; read again when it changes or on SIGHUP.
    #[arg(long, env = "GATEWAY_JWKS_FILE")]
    pub jwks_file: Option<PathBuf>,

    /// The `iss` every token must carry.
    #[arg(long, env = "GATEWAY_JWT_ISSUER")]
    pub jwt_issuer: Option<String>,

    /// An `aud` every token must carry.
    #[arg(long, env = "GATEWAY_JWT_AUDIENCE")]
    pub jwt_audience: Option<String>,

    /// The claim listing the caller's roles (an array of strings).
    #[arg(long, env = "GATEWAY_JWT_ROLES_CLAIM", default_value = DEFAULT_ROLES_CLAIM)]
    pub jwt_roles_claim: String,

    /// Serve a non-loopback address without checking tokens. Without it,
    /// such a bind with no token keys refuses to start.
    #[arg(long, env = "GATEWAY_ALLOW_UNAUTHENTICATED")]
    pub allow_unauthenticated: bool,

    /// Calls per second each caller (token subject, else client address)
    /// may make on average; unlimited when unset.
    #[arg(long, env = "GATEWAY_RATE_LIMIT_PER_SECOND")]
    pub rate_limit_per_second: Option<NonZeroU32>,

    /// How many calls a caller may make at once above the rate (defaults
    /// to the rate).
    #[arg(long, env = "GATEWAY_RATE_LIMIT_BURST", requires = "rate_limit_per_second")]
    pub rate_limit_burst: Option<NonZeroU32>,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            jwt_hs256_secret_file: None,
            jwks_file: None,
            jwt_issuer: None,
            jwt_audience: None,
            jwt_roles_claim: DEFAULT_ROLES_CLAIM.to_owned(),
            allow_unauthenticated: false,
            rate_limit_per_second: None,
            rate_limit_burst: None,
        }
    }
}

impl AuthConfig {
    /// The key files, when tokens are checked.
    pub fn key_sources(&self) -> Option<KeySources> {
        let sources = KeySources {
            hs256_secret_file: self.jwt_hs256_secret_file.clone(),
            jwks_file: self.jwks_file.clone(),
        };
        (sources != KeySources::default()).then_some(sources)
    }

    /// What tokens must say.
    pub fn token_rules(&self) -> TokenRules {
        TokenRules {
            issuer: self.jwt_issuer.clone(),
            audience: self.jwt_audience.clone(),
            roles_claim: self.jwt_roles_claim.clone(),
        }
    }
}
