//! Throwaway TLS files for trying `--tls-cert`/`--tls-key` (and mTLS) by
//! hand: a CA, a `localhost` server certificate and a client certificate
//! (`CN=billing,O=Example`), PEM, written into the directory given
//! (default `tls/`). For local use only; never for production.
//!
//! ```text
//! cargo run --example tls_certs -- tls
//! ```

use std::path::PathBuf;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "tls".to_owned()));
    std::fs::create_dir_all(&dir)?;
    let mut ca_params = CertificateParams::new(Vec::new())?;
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "gateway test CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let issuer = CertifiedIssuer::self_signed(ca_params, KeyPair::generate()?)?;
    std::fs::write(dir.join("ca.pem"), issuer.pem())?;

    let server_key = KeyPair::generate()?;
    let mut server_params = CertificateParams::new(vec!["localhost".to_owned()])?;
    server_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let server = server_params.signed_by(&server_key, &issuer)?;
    std::fs::write(dir.join("cert.pem"), server.pem())?;
    std::fs::write(dir.join("key.pem"), server_key.serialize_pem())?;

    let mut client_params = CertificateParams::new(Vec::new())?;
    client_params
        .distinguished_name
        .push(DnType::CommonName, "billing");
    client_params
        .distinguished_name
        .push(DnType::OrganizationName, "Example");
    client_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let client_key = KeyPair::generate()?;
    let client = client_params.signed_by(&client_key, &issuer)?;
    std::fs::write(dir.join("client.pem"), client.pem())?;
    std::fs::write(dir.join("client-key.pem"), client_key.serialize_pem())?;
    println!(
        "wrote ca.pem, cert.pem, key.pem, client.pem, client-key.pem in {}",
        dir.display()
    );
    Ok(())
}
