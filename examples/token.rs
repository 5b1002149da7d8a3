//! Makes an HS256 bearer token for a gateway started with
//! `--jwt-hs256-secret-file`, for trying the API by hand:
//!
//! ```text
//! cargo run --example token -- --secret-file /tmp/jwt-secret --sub ada --role admin
//! ```
//!
//! Prints the token. A real deployment gets its tokens from its identity
//! provider (and usually publishes public keys with `--jwks-file`).

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::Parser;
use jsonwebtoken::{Algorithm, EncodingKey, Header};

/// Signs a token with the gateway's HS256 secret.
#[derive(Parser)]
struct Args {
    /// The file the gateway reads its secret from.
    #[arg(long)]
    secret_file: PathBuf,
    /// The caller's name (`sub`).
    #[arg(long)]
    sub: String,
    /// A role (`admin`, `editor`, `viewer`), repeatable.
    #[arg(long = "role")]
    roles: Vec<String>,
    /// How long the token is valid, in seconds.
    #[arg(long, default_value_t = 3600)]
    valid_for: u64,
    /// The `iss`, when the gateway requires one (`--jwt-issuer`).
    #[arg(long)]
    issuer: Option<String>,
    /// The `aud`, when the gateway requires one (`--jwt-audience`).
    #[arg(long)]
    audience: Option<String>,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let secret = std::fs::read(&args.secret_file)?;
    let expires = SystemTime::now().duration_since(UNIX_EPOCH)? + Duration::from_secs(args.valid_for);
    let mut claims = serde_json::json!({
        "sub": args.sub,
        "roles": args.roles,
        "exp": expires.as_secs(),
    });
    if let Some(issuer) = args.issuer {
        claims["iss"] = issuer.into();
    }
    if let Some(audience) = args.audience {
        claims["aud"] = audience.into();
    }
    let key = EncodingKey::from_secret(secret.trim_ascii())?;
    println!(
        "{}",
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &key)?
    );
    Ok(())
}
