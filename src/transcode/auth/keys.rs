//! The keys bearer tokens are checked with, read from files: a shared
//! HS256 secret, and a JWKS document of public keys (RS256, ES256, EdDSA
//! and their kin), each with a `kid` and the one algorithm it is for.
//! Reading again gives a fresh [`KeySet`] (keys rotate without a restart);
//! errors name the file and never quote it.
//!
//! ```text
//! {"keys": [{"kty": "OKP", "crv": "Ed25519", "kid": "2026-12", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}
//! ```

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, JwkSet, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};

/// The shortest HS256 secret accepted: 256 bits, as RFC 7518 asks.
pub const MIN_SECRET_BYTES: usize = 32;
/// The largest key file read.
const MAX_KEY_FILE_BYTES: u64 = 1024 * 1024;

/// Where the keys are read from; either may be missing, not both.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeySources {
    /// A file holding the HS256 secret (surrounding whitespace trimmed).
    pub hs256_secret_file: Option<PathBuf>,
    /// A JWKS file of public keys, chosen by a token's `kid`.
    pub jwks_file: Option<PathBuf>,
}

impl KeySources {
    /// The files to watch for changes.
    pub fn files(&self) -> Vec<PathBuf> {
        self.hs256_secret_file
            .iter()
            .chain(&self.jwks_file)
            .cloned()
            .collect()
    }
}

/// Why the keys could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("no token keys: give an HS256 secret file, a JWKS file, or both")]
    NoSources,
    #[error("{path}: {reason}")]
    File { path: String, reason: String },
}

/// A key, and the one algorithm tokens signed with it may name.
pub(crate) struct VerifyingKey {
    pub(crate) algorithm: Algorithm,
    pub(crate) key: DecodingKey,
}

/// The keys of one reading of the sources.
pub(crate) struct KeySet {
    /// For tokens with no `kid`.
    pub(crate) secret: Option<VerifyingKey>,
    pub(crate) by_kid: HashMap<String, VerifyingKey>,
}

impl KeySet {
    pub(crate) fn read(sources: &KeySources) -> Result<KeySet, KeyError> {
        if sources.hs256_secret_file.is_none() && sources.jwks_file.is_none() {
            return Err(KeyError::NoSources);
        }
        let secret = match &sources.hs256_secret_file {
            Some(path) => Some(read_secret(path)?),
            None => None,
        };
        let by_kid = match &sources.jwks_file {
            Some(path) => read_jwks(path)?,
            None => HashMap::new(),
        };
        Ok(KeySet { secret, by_kid })
    }

    /// The key for a token with this header's `kid`: the JWKS key of that
    /// id, or with none the shared secret.
    pub(crate) fn key_for(&self, kid: Option<&str>) -> Option<&VerifyingKey> {
        match kid {
            Some(kid) => self.by_kid.get(kid),
            None => self.secret.as_ref(),
        }
    }
}

fn file_error(path: &Path, reason: impl Into<String>) -> KeyError {
    KeyError::File {
        path: path.display().to_string(),
        reason: reason.into(),
    }
}

fn read_bounded(path: &Path) -> Result<Vec<u8>, KeyError> {
    let metadata = std::fs::metadata(path).map_err(|error| file_error(path, error.kind().to_string()))?;
    if metadata.len() > MAX_KEY_FILE_BYTES {
        return Err(file_error(
            path,
            format!("larger than {MAX_KEY_FILE_BYTES} bytes"),
        ));
    }
    std::fs::read(path).map_err(|error| file_error(path, error.kind().to_string()))
}

fn read_secret(path: &Path) -> Result<VerifyingKey, KeyError> {
    let bytes = read_bounded(path)?;
    let secret = bytes.trim_ascii();
    if secret.len() < MIN_SECRET_BYTES {
        let reason = format!(
            "the secret has {} bytes; at least {MIN_SECRET_BYTES} are needed",
            secret.len()
        );
        return Err(file_error(path, reason));
    }
    let key = DecodingKey::from_secret(secret).map_err(|_| file_error(path, "not a usable secret"))?;
    Ok(VerifyingKey {
        algorithm: Algorithm::HS256,
        key,
    })
}

fn read_jwks(path: &Path) -> Result<HashMap<String, VerifyingKey>, KeyError> {
    let bytes = read_bounded(path)?;
    let set: JwkSet = serde_json::from_slice(&bytes)
        .map_err(|error| file_error(path, format!("not a JWKS document (line {})", error.line())))?;
    let mut keys = HashMap::new();
    for (index, jwk) in set.keys.iter().enumerate() {
        let at = |reason: &str| file_error(path, format!("key {index}: {reason}"));
        if matches!(jwk.common.public_key_use, Some(PublicKeyUse::Encryption)) {
            continue;
        }
        let kid = jwk.common.key_id.clone().ok_or_else(|| at("has no kid"))?;
        let algorithm = algorithm_of(jwk).map_err(&at)?;
        let key = DecodingKey::from_jwk(jwk).map_err(|_| at("not a usable public key"))?;
        if keys.insert(kid, VerifyingKey { algorithm, key }).is_some() {
            return Err(at("repeats the kid of an earlier key"));
        }
    }
    if keys.is_empty() {
        return Err(file_error(path, "holds no signing key"));
    }
    Ok(keys)
}

/// The algorithm a public key is for: its `alg`, or else the usual one of
/// its type. Symmetric keys do not belong in a JWKS file.
fn algorithm_of(jwk: &Jwk) -> Result<Algorithm, &'static str> {
    let inferred = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => Algorithm::RS256,
        AlgorithmParameters::EllipticCurve(parameters) => match parameters.curve {
            EllipticCurve::P256 => Algorithm::ES256,
            EllipticCurve::P384 => Algorithm::ES384,
            _ => return Err("an unsupported curve"),
        },
        AlgorithmParameters::OctetKeyPair(parameters) if parameters.curve == EllipticCurve::Ed25519 => {
            Algorithm::EdDSA
        }
        AlgorithmParameters::OctetKey(_) => return Err("a symmetric key (use the secret file)"),
        _ => return Err("an unsupported key type"),
    };
    let Some(declared) = jwk.common.key_algorithm else {
        return Ok(inferred);
    };
    let algorithm = match declared {
        KeyAlgorithm::RS256 => Algorithm::RS256,
        KeyAlgorithm::RS384 => Algorithm::RS384,
        KeyAlgorithm::RS512 => Algorithm::RS512,
        KeyAlgorithm::PS256 => Algorithm::PS256,
        KeyAlgorithm::PS384 => Algorithm::PS384,
        KeyAlgorithm::PS512 => Algorithm::PS512,
        KeyAlgorithm::ES256 => Algorithm::ES256,
        KeyAlgorithm::ES384 => Algorithm::ES384,
        KeyAlgorithm::EdDSA => Algorithm::EdDSA,
        _ => return Err("an alg that is not a public-key signature"),
    };
    if algorithm.family() != inferred.family() {
        return Err("an alg that does not fit its key type");
    }
    Ok(algorithm)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(contents: &str) -> tempfile::NamedTempFile {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), contents).unwrap();
        file
    }

    const ED_KEY: &str = r#"{"kty": "OKP", "crv": "Ed25519", "kid": "k1", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#;

    #[test]
    fn reads_good_keys_and_names_what_is_wrong_with_bad_ones() {
        let cases: [(&str, Option<&str>); 9] = [
            (&format!(r#"{{"keys": [{ED_KEY}]}}"#), None),
            ("not json", Some("not a JWKS document")),
            (r#"{"keys": []}"#, Some("holds no signing key")),
            (
                r#"{"keys": [{"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}"#,
                Some("key 0: has no kid"),
            ),
            (
                &format!(r#"{{"keys": [{ED_KEY}, {ED_KEY}]}}"#),
                Some("key 1: repeats the kid"),
            ),
            (
                r#"{"keys": [{"kty": "oct", "kid": "s", "k": "c2VjcmV0"}]}"#,
                Some("a symmetric key"),
            ),
            (
                r#"{"keys": [{"kty": "OKP", "crv": "Ed25519", "kid": "k", "alg": "RS256", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}"#,
                Some("does not fit its key type"),
            ),
            (
                r#"{"keys": [{"kty": "OKP", "crv": "Ed25519", "kid": "k", "alg": "HS256", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}"#,
                Some("not a public-key signature"),
            ),
            (
                r#"{"keys": [{"kty": "OKP", "crv": "Ed25519", "kid": "k", "use": "enc", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}"#,
                Some("holds no signing key"),
            ),
        ];
        for (contents, expected) in cases {
            let file = written(contents);
            let sources = KeySources {
                jwks_file: Some(file.path().to_owned()),
                ..KeySources::default()
            };
            match (KeySet::read(&sources), expected) {
                (Ok(keys), None) => assert_eq!(keys.key_for(Some("k1")).unwrap().algorithm, Algorithm::EdDSA),
                (Err(error), Some(reason)) => {
                    let message = error.to_string();
                    assert!(message.contains(reason), "{contents}: {message}");
                    assert!(
                        message.starts_with(&file.path().display().to_string()),
                        "{message}"
                    );
                }
                (Ok(_), Some(reason)) => panic!("{contents}: read, expected {reason}"),
                (Err(error), None) => panic!("{contents}: {error}"),
            }
        }
    }

    #[test]
    fn a_secret_must_be_long_enough_and_is_never_quoted() {
        let short = written("  tooshort-secret\n");
        let sources = KeySources {
            hs256_secret_file: Some(short.path().to_owned()),
            ..KeySources::default()
        };
        let message = KeySet::read(&sources).err().unwrap().to_string();
        assert!(message.contains("has 15 bytes; at least 32"), "{message}");
        assert!(!message.contains("tooshort"), "{message}");

        let long = written(&format!("{}\n", "s".repeat(32)));
        let sources = KeySources {
            hs256_secret_file: Some(long.path().to_owned()),
            ..KeySources::default()
        };
        let keys = KeySet::read(&sources).unwrap();
        assert_eq!(keys.key_for(None).unwrap().algorithm, Algorithm::HS256);
        assert!(keys.key_for(Some("k1")).is_none());
        assert_eq!(
            KeySet::read(&KeySources::default()).err(),
            Some(KeyError::NoSources)
        );
    }
}
