//! Bearer tokens for the auth tests: a [`TokenIssuer`] makes fresh keys (an
//! HS256 secret, and Ed25519, P-256 and RSA key pairs published in a JWKS
//! file under their `kid`s), writes the key files the server reads, and
//! signs tokens with any of them. [`KeyFiles::rotate`] swaps the JWKS file
//! for new keys, as an operator rotating keys would.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use gateway::config::Config;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rsa::pkcs1::EncodeRsaPrivateKey as _;
use serde_json::{Value, json};

/// A signing key, its algorithm and the `kid` the JWKS gives it.
pub struct SigningKey {
    pub kid: String,
    pub algorithm: Algorithm,
    encoding: EncodingKey,
    /// The raw public key, where the JWK is built from it (Ed25519).
    raw_public: Option<Vec<u8>>,
}

impl SigningKey {
    fn ed25519(kid: &str) -> SigningKey {
        let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519).expect("an Ed25519 key");
        SigningKey {
            kid: kid.to_owned(),
            algorithm: Algorithm::EdDSA,
            encoding: EncodingKey::from_ed_der(&pair.serialize_der()),
            raw_public: Some(pair.public_key_raw().to_vec()),
        }
    }

    fn p256(kid: &str) -> SigningKey {
        let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("a P-256 key");
        SigningKey {
            kid: kid.to_owned(),
            algorithm: Algorithm::ES256,
            encoding: EncodingKey::from_ec_der(&pair.serialize_der()),
            raw_public: None,
        }
    }

    fn rsa(kid: &str) -> SigningKey {
        let key = rsa::PrivateKey::new(&mut getrandom::SysRng, 2048).expect("an RSA key");
        let der = key.to_pkcs1_der().expect("PKCS#1 DER");
        SigningKey {
            kid: kid.to_owned(),
            algorithm: Algorithm::RS256,
            encoding: EncodingKey::from_rsa_der(der.as_bytes()),
            raw_public: None,
        }
    }

    /// Its public half, as a JWKS entry.
    fn public_jwk(&self) -> Jwk {
        let Some(raw) = &self.raw_public else {
            let mut jwk = Jwk::from_encoding_key(&self.encoding, self.algorithm).expect("a public JWK");
            jwk.common.key_id = Some(self.kid.clone());
            return jwk;
        };
        let x = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw);
        serde_json::from_value(json!({"kty": "OKP", "crv": "Ed25519", "kid": self.kid, "x": x}))
            .expect("a JWK")
    }
}

/// The key files a server reads, in a directory of their own.
pub struct KeyFiles {
    _dir: tempfile::TempDir,
    pub secret_file: PathBuf,
    pub jwks_file: PathBuf,
}

impl KeyFiles {
    /// Points `config` at these files.
    pub fn configure(&self, config: &mut Config) {
        config.auth.jwt_hs256_secret_file = Some(self.secret_file.clone());
        config.auth.jwks_file = Some(self.jwks_file.clone());
    }

    /// Replaces the JWKS file with one holding `keys` (written aside, then
    /// renamed over it, as deployment tools do).
    pub fn rotate(&self, keys: &[&SigningKey]) {
        write_jwks(&self.jwks_file, keys);
    }

    /// Rewrites the JWKS file with `keys` in place, then gives it back its
    /// old modification time: to a watcher of the file, nothing changed
    /// (same inode, time and, for keys of the same sizes, length).
    pub fn rewrite_unnoticed(&self, keys: &[&SigningKey]) {
        let modified = std::fs::metadata(&self.jwks_file)
            .and_then(|m| m.modified())
            .expect("mtime");
        let set = JwkSet {
            keys: keys.iter().map(|key| key.public_jwk()).collect(),
        };
        std::fs::write(&self.jwks_file, serde_json::to_vec(&set).unwrap()).expect("rewrite the JWKS");
        let file = std::fs::File::options()
            .write(true)
            .open(&self.jwks_file)
            .expect("open the JWKS");
        file.set_modified(modified).expect("restore the mtime");
    }
}

fn write_jwks(path: &Path, keys: &[&SigningKey]) {
    let set = JwkSet {
        keys: keys.iter().map(|key| key.public_jwk()).collect(),
    };
    let aside = path.with_extension("new");
    std::fs::write(&aside, serde_json::to_vec(&set).unwrap()).expect("write the JWKS");
    std::fs::rename(&aside, path).expect("move the JWKS into place");
}

/// Keys, and tokens signed with them.
pub struct TokenIssuer {
    pub secret: Vec<u8>,
    pub ed25519: SigningKey,
    pub p256: SigningKey,
    pub rsa: SigningKey,
}

impl TokenIssuer {
    pub fn new() -> TokenIssuer {
        let mut secret = vec![0u8; 32];
        getrandom::fill(&mut secret).expect("random bytes");
        TokenIssuer {
            secret: secret.iter().map(|byte| b'a' + byte % 26).collect(),
            ed25519: SigningKey::ed25519("ed-1"),
            p256: SigningKey::p256("ec-1"),
            rsa: SigningKey::rsa("rsa-1"),
        }
    }

    /// A new Ed25519 key (for rotations).
    pub fn new_key(kid: &str) -> SigningKey {
        SigningKey::ed25519(kid)
    }

    /// Writes the secret and a JWKS of the three public keys.
    pub fn key_files(&self) -> KeyFiles {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let secret_file = dir.path().join("secret");
        std::fs::write(&secret_file, &self.secret).expect("write the secret");
        let jwks_file = dir.path().join("jwks.json");
        write_jwks(&jwks_file, &[&self.ed25519, &self.p256, &self.rsa]);
        KeyFiles {
            _dir: dir,
            secret_file,
            jwks_file,
        }
    }

    /// An HS256 token for `subject` with `roles`, valid for a minute.
    pub fn token(&self, subject: &str, roles: &[&str]) -> String {
        self.hs256(&claims(subject, roles))
    }

    pub fn hs256(&self, claims: &Value) -> String {
        let key = EncodingKey::from_secret(&self.secret).expect("an HMAC key");
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &key).expect("signed")
    }

    /// `claims` signed with `key`, its `kid` in the header.
    pub fn signed_with(key: &SigningKey, claims: &Value) -> String {
        let mut header = Header::new(key.algorithm);
        header.kid = Some(key.kid.clone());
        jsonwebtoken::encode(&header, claims, &key.encoding).expect("signed")
    }
}

/// `sub`, `roles` and an `exp` a minute away.
pub fn claims(subject: &str, roles: &[&str]) -> Value {
    json!({"sub": subject, "roles": roles, "exp": now() + 60})
}

/// Seconds since the epoch.
pub fn now() -> i64 {
    jsonwebtoken::get_current_timestamp() as i64
}
