//! Checks a bearer token and says who it names: size first (over
//! [`MAX_TOKEN_BYTES`] is refused unread), then the key its header's `kid`
//! picks, which fixes the one algorithm allowed (so `alg: none`, an HS256
//! token signed with a public key, or an unknown `kid` fail), then the
//! signature, `exp` (required) and `nbf` with [`LEEWAY`], and the issuer and
//! audience when configured. The principal is `sub` and the roles claim.
//!
//! The client learns only "not valid", "expired" or "not valid yet"; the
//! exact reason is logged at `debug`.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use jsonwebtoken::Validation;
use jsonwebtoken::errors::ErrorKind;
use serde_json::{Map, Value};

use super::Principal;
use super::keys::{KeyError, KeySet, KeySources};

/// The largest token read (8 KiB).
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;
/// How far past `exp` (or before `nbf`) a token is still taken, for clocks
/// that disagree.
pub const LEEWAY: Duration = Duration::from_secs(30);
/// The claim that lists a caller's roles, unless configured otherwise.
pub const DEFAULT_ROLES_CLAIM: &str = "roles";

/// What tokens must say besides a good signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRules {
    /// The `iss` required, if any.
    pub issuer: Option<String>,
    /// An `aud` required, if any.
    pub audience: Option<String>,
    /// The claim holding the roles, an array of strings.
    pub roles_claim: String,
}

impl Default for TokenRules {
    fn default() -> Self {
        TokenRules {
            issuer: None,
            audience: None,
            roles_claim: DEFAULT_ROLES_CLAIM.to_owned(),
        }
    }
}

/// Why a token was refused, as the client is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the token is not valid")]
    Invalid,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet")]
    NotYetValid,
}

/// Checks tokens against the current keys; [`reload`](Self::reload)
/// swaps them for a fresh reading of the same files.
pub struct TokenVerifier {
    sources: KeySources,
    rules: TokenRules,
    base: Validation,
    keys: RwLock<Arc<KeySet>>,
}

impl TokenVerifier {
    pub fn new(sources: KeySources, rules: TokenRules) -> Result<Self, KeyError> {
        let keys = KeySet::read(&sources)?;
        let mut base = Validation::new(jsonwebtoken::Algorithm::HS256);
        base.leeway = LEEWAY.as_secs();
        base.validate_nbf = true;
        let mut required = vec!["exp"];
        match &rules.issuer {
            Some(issuer) => {
                base.set_issuer(&[issuer]);
                required.push("iss");
            }
            None => base.iss = None,
        }
        match &rules.audience {
            Some(audience) => {
                base.set_audience(&[audience]);
                required.push("aud");
            }
            None => base.validate_aud = false,
        }
        base.set_required_spec_claims(&required);
        Ok(TokenVerifier {
            sources,
            rules,
            base,
            keys: RwLock::new(Arc::new(keys)),
        })
    }

    /// The files the keys come from.
    pub fn sources(&self) -> &KeySources {
        &self.sources
    }

    /// Reads the key files again; on failure the keys in use stay.
    pub fn reload(&self) -> Result<(), KeyError> {
        let keys = Arc::new(KeySet::read(&self.sources)?);
        *self.keys.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = keys;
        Ok(())
    }

    /// The caller `token` names, if it passes every check.
    pub fn verify(&self, token: &str) -> Result<Principal, TokenError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(refused("longer than the limit"));
        }
        let header = jsonwebtoken::decode_header(token).map_err(|error| refused(error.kind()))?;
        let keys = self
            .keys
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone();
        let key = keys
            .key_for(header.kid.as_deref())
            .ok_or_else(|| refused("no key of that kid"))?;
        if header.alg != key.algorithm {
            return Err(refused("alg differs from the key's"));
        }
        let mut validation = self.base.clone();
        validation.algorithms = vec![key.algorithm];
        let claims = jsonwebtoken::decode::<Map<String, Value>>(token, &key.key, &validation)
            .map_err(|error| match error.kind() {
                ErrorKind::ExpiredSignature => TokenError::Expired,
                ErrorKind::ImmatureSignature => TokenError::NotYetValid,
                kind => refused(kind),
            })?
            .claims;
        self.principal_of(&claims)
    }

    fn principal_of(&self, claims: &Map<String, Value>) -> Result<Principal, TokenError> {
        let subject = match claims.get("sub") {
            Some(Value::String(subject)) if !subject.is_empty() => subject.as_str(),
            _ => return Err(refused("no sub")),
        };
        let roles = match claims.get(&self.rules.roles_claim) {
            None => Vec::new(),
            Some(Value::Array(roles)) => roles
                .iter()
                .map(|role| role.as_str().map(Arc::from))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| refused("a role that is not a string"))?,
            Some(_) => return Err(refused("roles that are not an array")),
        };
        Ok(Principal::new(subject, roles))
    }
}

/// [`TokenError::Invalid`], its real reason logged for the operator.
fn refused(reason: impl std::fmt::Debug) -> TokenError {
    tracing::debug!(?reason, "bearer token refused");
    TokenError::Invalid
}

#[cfg(test)]
mod tests {
    use jsonwebtoken::{EncodingKey, Header, encode};
    use serde_json::json;

    use super::*;

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    /// A case's name, its token, and the roles it grants or why it fails.
    type Case = (&'static str, String, Result<&'static [&'static str], TokenError>);

    fn verifier(rules: TokenRules) -> (TokenVerifier, tempfile::NamedTempFile) {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), SECRET).unwrap();
        let sources = KeySources {
            hs256_secret_file: Some(file.path().to_owned()),
            jwks_file: None,
        };
        (TokenVerifier::new(sources, rules).unwrap(), file)
    }

    fn now() -> i64 {
        jsonwebtoken::get_current_timestamp() as i64
    }

    fn signed(header: &Header, claims: &Value) -> String {
        encode(
            header,
            claims,
            &EncodingKey::from_secret(SECRET.as_bytes()).unwrap(),
        )
        .unwrap()
    }

    fn hs256(claims: Value) -> String {
        signed(&Header::default(), &claims)
    }

    #[test]
    fn every_check_refuses_what_it_should() {
        let (verifier, _file) = verifier(TokenRules {
            issuer: Some("https://issuer.example".to_owned()),
            audience: Some("gateway".to_owned()),
            roles_claim: "roles".to_owned(),
        });
        let good = |extra: Value| {
            let mut claims = json!({"sub": "ada", "exp": now() + 60, "iss": "https://issuer.example", "aud": "gateway", "roles": ["admin"]});
            for (key, value) in extra.as_object().unwrap() {
                if value.is_null() {
                    claims.as_object_mut().unwrap().remove(key);
                } else {
                    claims[key] = value.clone();
                }
            }
            hs256(claims)
        };
        let unsigned = {
            use base64::Engine as _;
            let part =
                |value: Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value.to_string());
            format!(
                "{}.{}.",
                part(json!({"alg": "none", "typ": "JWT"})),
                part(json!({"sub": "ada", "exp": now() + 60}))
            )
        };
        let with_kid = signed(
            &Header {
                kid: Some("other".to_owned()),
                ..Header::default()
            },
            &json!({"sub": "ada", "exp": now() + 60, "iss": "https://issuer.example", "aud": "gateway"}),
        );
        let cases: [Case; 14] = [
            ("good", good(json!({})), Ok(&["admin"])),
            ("no roles", good(json!({"roles": null})), Ok(&[])),
            (
                "expired inside the leeway",
                good(json!({"exp": now() - 10})),
                Ok(&["admin"]),
            ),
            (
                "expired",
                good(json!({"exp": now() - 60})),
                Err(TokenError::Expired),
            ),
            ("no exp", good(json!({"exp": null})), Err(TokenError::Invalid)),
            (
                "not yet valid",
                good(json!({"nbf": now() + 120})),
                Err(TokenError::NotYetValid),
            ),
            (
                "wrong issuer",
                good(json!({"iss": "https://evil.example"})),
                Err(TokenError::Invalid),
            ),
            ("no issuer", good(json!({"iss": null})), Err(TokenError::Invalid)),
            (
                "wrong audience",
                good(json!({"aud": "other"})),
                Err(TokenError::Invalid),
            ),
            ("no subject", good(json!({"sub": null})), Err(TokenError::Invalid)),
            (
                "roles not strings",
                good(json!({"roles": [1]})),
                Err(TokenError::Invalid),
            ),
            ("alg none", unsigned, Err(TokenError::Invalid)),
            ("unknown kid", with_kid, Err(TokenError::Invalid)),
            (
                "too long",
                good(json!({"pad": "x".repeat(MAX_TOKEN_BYTES)})),
                Err(TokenError::Invalid),
            ),
        ];
        for (case, token, expected) in cases {
            let verified = verifier.verify(&token);
            match expected {
                Ok(roles) => {
                    let principal = verified.unwrap_or_else(|error| panic!("{case}: {error}"));
                    assert_eq!(principal.subject(), "ada", "{case}");
                    let held: Vec<&str> = principal.roles().iter().map(|role| &**role).collect();
                    assert_eq!(held, roles, "{case}");
                }
                Err(error) => assert_eq!(verified, Err(error), "{case}"),
            }
        }
        let tampered = {
            let token = good(json!({}));
            let (rest, _signature) = token.rsplit_once('.').unwrap();
            format!("{rest}.AAAA")
        };
        assert_eq!(verifier.verify(&tampered), Err(TokenError::Invalid));
        assert_eq!(verifier.verify("not a token"), Err(TokenError::Invalid));
    }

    #[test]
    fn the_roles_claim_can_be_renamed() {
        let (verifier, _file) = verifier(TokenRules {
            roles_claim: "https://example.com/roles".to_owned(),
            ..TokenRules::default()
        });
        let token = hs256(
            json!({"sub": "ada", "exp": now() + 60, "https://example.com/roles": ["viewer"], "roles": ["admin"]}),
        );
        assert_eq!(verifier.verify(&token).unwrap().roles(), [Arc::from("viewer")]);
    }
}
