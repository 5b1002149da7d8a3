//! Bearer tokens, checked in the policy chain for both faces: each good and
//! bad token is tried over REST (`GET /v1/users`) and over gRPC
//! (`ListUsers`) against a server with an HS256 secret and a JWKS of
//! Ed25519, P-256 and RSA keys; a rotated JWKS is picked up without a
//! restart; a public bind without keys refuses to start.

mod common;

use base64::Engine as _;
use common::{GatewayProcess, KeyFiles, TestServer, TokenIssuer, claims, now};
use gateway::config::Config;
use gateway::proto::users::v1::ListUsersRequest;
use reqwest::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use serde_json::{Value, json};
use tonic::Code;

/// How long a test waits for a rotated JWKS to be picked up.
const RELOAD_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

async fn server_with(keys: &KeyFiles, configure: impl FnOnce(&mut Config)) -> TestServer {
    TestServer::start_configured(|config| {
        keys.configure(config);
        configure(config);
    })
    .await
}

/// `GET /v1/users` with `authorization`: the status, the challenge and the body.
async fn rest_list(server: &TestServer, authorization: Option<&str>) -> (u16, Option<String>, Value) {
    let mut request = server.http.get(server.url("/v1/users"));
    if let Some(value) = authorization {
        request = request.header(AUTHORIZATION, value);
    }
    let response = request.send().await.expect("send");
    let status = response.status().as_u16();
    let challenge = response
        .headers()
        .get(WWW_AUTHENTICATE)
        .map(|value| value.to_str().unwrap().to_owned());
    (status, challenge, response.json().await.unwrap_or(Value::Null))
}

/// `ListUsers` over gRPC with `authorization`: its code and message.
async fn grpc_list(server: &TestServer, authorization: Option<&str>) -> (Code, String) {
    let mut request = tonic::Request::new(ListUsersRequest::default());
    if let Some(value) = authorization {
        request
            .metadata_mut()
            .insert("authorization", value.parse().expect("ASCII metadata"));
    }
    match server.grpc().await.list_users(request).await {
        Ok(_) => (Code::Ok, String::new()),
        Err(status) => (status.code(), status.message().to_owned()),
    }
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// An unsigned token (`alg: none`) for `claims`.
fn unsigned(claims: &Value) -> String {
    let part = |value: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value.to_string());
    format!(
        "{}.{}.",
        part(&json!({"alg": "none", "typ": "JWT"})),
        part(claims)
    )
}

#[tokio::test]
async fn every_kind_of_bad_token_is_refused_on_both_faces_and_good_ones_pass() {
    let issuer = TokenIssuer::new();
    let keys = issuer.key_files();
    let server = server_with(&keys, |config| {
        config.auth.jwt_issuer = Some("https://issuer.example".to_owned());
        config.auth.jwt_audience = Some("users-api".to_owned());
    })
    .await;
    let valid = |extra: Value| {
        let mut claims = claims("ada", &["viewer"]);
        claims["iss"] = json!("https://issuer.example");
        claims["aud"] = json!("users-api");
        for (key, value) in extra.as_object().unwrap() {
            claims[key] = value.clone();
        }
        claims
    };
    // An HS256 token signed with the RSA key's public modulus as the
    // secret, under the RSA key's kid: the algorithm-confusion attack.
    let confused = {
        let modulus = "the RSA key's public modulus, as an attacker would use it";
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
        header.kid = Some(issuer.rsa.kid.clone());
        let key = jsonwebtoken::EncodingKey::from_secret(modulus.as_bytes()).unwrap();
        jsonwebtoken::encode(&header, &valid(json!({})), &key).unwrap()
    };
    let unknown_kid = {
        let stranger = TokenIssuer::new_key("not-published");
        TokenIssuer::signed_with(&stranger, &valid(json!({})))
    };
    let tampered = {
        let token = TokenIssuer::signed_with(&issuer.ed25519, &valid(json!({})));
        let (signed, _) = token.rsplit_once('.').unwrap();
        let other = TokenIssuer::signed_with(&issuer.ed25519, &valid(json!({"sub": "eve"})));
        format!("{signed}.{}", other.rsplit_once('.').unwrap().1)
    };
    let invalid = "the token is not valid";
    let cases: Vec<(&str, Option<String>, Option<&str>)> = vec![
        ("HS256", Some(bearer(&issuer.hs256(&valid(json!({}))))), None),
        (
            "EdDSA",
            Some(bearer(&TokenIssuer::signed_with(
                &issuer.ed25519,
                &valid(json!({})),
            ))),
            None,
        ),
        (
            "ES256",
            Some(bearer(&TokenIssuer::signed_with(&issuer.p256, &valid(json!({}))))),
            None,
        ),
        (
            "RS256",
            Some(bearer(&TokenIssuer::signed_with(&issuer.rsa, &valid(json!({}))))),
            None,
        ),
        ("missing", None, Some("this method needs a bearer token")),
        (
            "not bearer",
            Some("Basic YWRhOnB3".to_owned()),
            Some("the authorization is not a bearer token"),
        ),
        ("malformed", Some(bearer("not.a.token")), Some(invalid)),
        (
            "expired",
            Some(bearer(&issuer.hs256(&valid(json!({"exp": now() - 120}))))),
            Some("the token has expired"),
        ),
        (
            "not yet valid",
            Some(bearer(&issuer.hs256(&valid(json!({"nbf": now() + 120}))))),
            Some("the token is not valid yet"),
        ),
        (
            "wrong issuer",
            Some(bearer(
                &issuer.hs256(&valid(json!({"iss": "https://evil.example"}))),
            )),
            Some(invalid),
        ),
        (
            "wrong audience",
            Some(bearer(&issuer.hs256(&valid(json!({"aud": "other-api"}))))),
            Some(invalid),
        ),
        (
            "alg none",
            Some(bearer(&unsigned(&valid(json!({}))))),
            Some(invalid),
        ),
        ("HS/RS confusion", Some(bearer(&confused)), Some(invalid)),
        ("unknown kid", Some(bearer(&unknown_kid)), Some(invalid)),
        ("tampered", Some(bearer(&tampered)), Some(invalid)),
        (
            "over 8 KiB",
            Some(bearer(&issuer.hs256(&valid(json!({"pad": "x".repeat(9000)}))))),
            Some(invalid),
        ),
    ];
    for (case, authorization, refusal) in cases {
        let (status, challenge, body) = rest_list(&server, authorization.as_deref()).await;
        let (code, message) = grpc_list(&server, authorization.as_deref()).await;
        match refusal {
            None => {
                assert_eq!(status, 200, "{case}: {body}");
                assert_eq!(code, Code::Ok, "{case}: {message}");
            }
            Some(reason) => {
                assert_eq!(status, 401, "{case}: {body}");
                assert_eq!(body["code"], 16, "{case}: {body}");
                assert_eq!(body["message"], reason, "{case}");
                let challenge = challenge.unwrap_or_else(|| panic!("{case}: no WWW-Authenticate"));
                if authorization.is_none() {
                    assert_eq!(challenge, "Bearer", "{case}");
                } else {
                    let expected = format!(r#"Bearer error="invalid_token", error_description="{reason}""#);
                    assert_eq!(challenge, expected, "{case}");
                }
                assert_eq!(
                    (code, message.as_str()),
                    (Code::Unauthenticated, reason),
                    "{case}"
                );
            }
        }
    }
    server.shutdown().await;
}

#[tokio::test]
async fn health_reflection_and_the_documents_stay_open() {
    let issuer = TokenIssuer::new();
    let keys = issuer.key_files();
    let server = server_with(&keys, |_| {}).await;
    for path in ["/openapi.json", "/docs/", "/healthz", "/readyz"] {
        let response = server.http.get(server.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
    }
    let mut health = tonic_health::pb::health_client::HealthClient::new(server.channel().await);
    let answer = health
        .check(tonic_health::pb::HealthCheckRequest {
            service: "users.v1.UserService".to_owned(),
        })
        .await
        .expect("health is open");
    assert_eq!(answer.into_inner().status, 1, "SERVING");
    let (code, _) = grpc_list(&server, None).await;
    assert_eq!(code, Code::Unauthenticated, "the service itself is not open");
    server.shutdown().await;
}

#[tokio::test]
async fn a_rotated_jwks_is_used_without_a_restart() {
    let issuer = TokenIssuer::new();
    let keys = issuer.key_files();
    let server = server_with(&keys, |_| {}).await;
    let old = bearer(&TokenIssuer::signed_with(
        &issuer.ed25519,
        &claims("ada", &["viewer"]),
    ));
    assert_eq!(rest_list(&server, Some(&old)).await.0, 200);

    let rotated = TokenIssuer::new_key("ed-2");
    keys.rotate(&[&rotated]);
    let new = bearer(&TokenIssuer::signed_with(&rotated, &claims("ada", &["viewer"])));
    let deadline = tokio::time::Instant::now() + RELOAD_WAIT;
    while rest_list(&server, Some(&new)).await.0 != 200 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the new key was never picked up"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(grpc_list(&server, Some(&new)).await.0, Code::Ok);
    assert_eq!(rest_list(&server, Some(&old)).await.0, 401, "the old key is gone");
    assert_eq!(grpc_list(&server, Some(&old)).await.0, Code::Unauthenticated);

    // A broken file keeps the keys in use.
    std::fs::write(&keys.jwks_file, "{ not json").unwrap();
    tokio::time::sleep(gateway_poll() * 3).await;
    assert_eq!(
        rest_list(&server, Some(&new)).await.0,
        200,
        "the last good keys stay"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn sighup_reads_the_keys_again_even_when_the_file_looks_unchanged() {
    let issuer = TokenIssuer::new();
    let keys = issuer.key_files();
    let dir = tempfile::tempdir().unwrap();
    let flags = ["--jwks-file", keys.jwks_file.to_str().unwrap()];
    let process = GatewayProcess::start_with(&dir.path().join("users.db"), &flags).await;
    let list = |token: String| {
        process
            .http
            .get(process.url("/v1/users"))
            .header(AUTHORIZATION, bearer(&token))
            .send()
    };
    let old = TokenIssuer::signed_with(&issuer.ed25519, &claims("ada", &["viewer"]));
    assert_eq!(list(old.clone()).await.unwrap().status(), 200);

    // A new key under the same kid, of the same size: the poll sees nothing.
    let rotated = TokenIssuer::new_key(&issuer.ed25519.kid);
    let new = TokenIssuer::signed_with(&rotated, &claims("ada", &["viewer"]));
    keys.rewrite_unnoticed(&[&rotated, &issuer.p256, &issuer.rsa]);
    tokio::time::sleep(gateway_poll() * 3).await;
    assert_eq!(list(old.clone()).await.unwrap().status(), 200, "not reloaded yet");

    process.send_sighup();
    let deadline = tokio::time::Instant::now() + RELOAD_WAIT;
    while list(new.clone()).await.unwrap().status() != 200 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "SIGHUP did not reload the keys"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(list(old).await.unwrap().status(), 401, "the replaced key is gone");
    process.kill();
}

/// How often the server looks at the key files (one second).
fn gateway_poll() -> std::time::Duration {
    std::time::Duration::from_secs(1)
}

#[tokio::test]
async fn a_public_address_without_keys_refuses_to_start_unless_told() {
    let listener = tokio::net::TcpListener::bind("0.0.0.0:0").await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = Config::with_database(dir.path().join("users.db"));
    let refused = gateway::server::run(listener, config.clone(), async {}).await;
    let message = refused.expect_err("refused").to_string();
    assert!(message.contains("--allow-unauthenticated"), "{message}");
    assert!(
        !dir.path().join("users.db").exists(),
        "refused before opening anything"
    );

    let mut allowed = config;
    allowed.auth.allow_unauthenticated = true;
    let listener = tokio::net::TcpListener::bind("0.0.0.0:0").await.unwrap();
    gateway::server::run(listener, allowed, async {})
        .await
        .expect("--allow-unauthenticated serves it");
}

#[tokio::test]
async fn unreadable_keys_refuse_to_start_without_quoting_them() {
    let dir = tempfile::tempdir().unwrap();
    let short = dir.path().join("secret");
    std::fs::write(&short, "hunter2").unwrap();
    let mut config = Config::with_database(dir.path().join("users.db"));
    config.auth.jwt_hs256_secret_file = Some(short);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let message = gateway::server::run(listener, config, async {})
        .await
        .expect_err("refused")
        .to_string();
    assert!(message.contains("at least 32"), "{message}");
    assert!(!message.contains("hunter2"), "{message}");
}
