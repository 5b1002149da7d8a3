//! Reading the TLS files into a `rustls::ServerConfig`: the certificate
//! chain, its key, and for mTLS the client CAs. Every failure names the
//! file and what was wrong with it, never what it holds.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::RootCertStore;
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::ClientCertVerifier;
use rustls_pki_types::pem::{self, PemObject};
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::config::{ClientAuth, TlsOptions};

/// The TLS files, checked to go together.
#[derive(Debug, Clone)]
pub(crate) struct TlsFiles {
    pub(crate) cert: PathBuf,
    pub(crate) key: PathBuf,
    /// mTLS: the client CAs, and whether a client certificate is required.
    pub(crate) client_ca: Option<(PathBuf, ClientAuth)>,
}

impl TlsFiles {
    /// The files of `options`: none without TLS; an error for a lone
    /// certificate or key, or client options without TLS or a CA.
    pub(crate) fn of(options: &TlsOptions) -> Result<Option<TlsFiles>, String> {
        let (cert, key) = match (&options.tls_cert, &options.tls_key) {
            (Some(cert), Some(key)) => (cert.clone(), key.clone()),
            (None, None) if options.tls_client_ca.is_some() => {
                return Err("--tls-client-ca needs --tls-cert and --tls-key".to_owned());
            }
            (None, None) if options.tls_client_auth.is_some() => {
                return Err("--tls-client-auth needs --tls-cert, --tls-key and --tls-client-ca".to_owned());
            }
            (None, None) => return Ok(None),
            (Some(_), None) => {
                return Err("--tls-cert is given without --tls-key: give both or neither".to_owned());
            }
            (None, Some(_)) => {
                return Err("--tls-key is given without --tls-cert: give both or neither".to_owned());
            }
        };
        let client_ca = match (&options.tls_client_ca, options.tls_client_auth) {
            (Some(ca), auth) => Some((ca.clone(), auth.unwrap_or(ClientAuth::Required))),
            (None, Some(_)) => return Err("--tls-client-auth needs --tls-client-ca".to_owned()),
            (None, None) => None,
        };
        Ok(Some(TlsFiles { cert, key, client_ca }))
    }

    /// Every file, for the reload watcher.
    pub(crate) fn paths(&self) -> Vec<PathBuf> {
        let mut paths = vec![self.cert.clone(), self.key.clone()];
        paths.extend(self.client_ca.iter().map(|(ca, _)| ca.clone()));
        paths
    }

    /// Reads the files into a server configuration: TLS 1.2 and 1.3,
    /// ALPN `h2` then `http/1.1`, client certificates checked against the
    /// CAs where mTLS is on.
    pub(crate) fn load(&self) -> Result<Arc<rustls::ServerConfig>, String> {
        let chain = certificates(&self.cert, "TLS certificate")?;
        let key = private_key(&self.key)?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier = match &self.client_ca {
            Some((ca, auth)) => client_verifier(ca, *auth, provider.clone())?,
            None => WebPkiClientVerifier::no_client_auth(),
        };
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map_err(|error| format!("TLS: {error}"))?
            .with_client_cert_verifier(verifier)
            .with_single_cert(chain, key)
            .map_err(|error| {
                format!(
                    "TLS key {} does not go with certificate {}: {error}",
                    self.key.display(),
                    self.cert.display()
                )
            })?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

/// What went wrong reading a PEM file, without its contents.
fn pem_problem(error: &pem::Error) -> String {
    match error {
        pem::Error::Io(error) => format!("cannot be read: {error}"),
        pem::Error::NoItemsFound => "holds no PEM section of the expected kind".to_owned(),
        _ => "is not valid PEM".to_owned(),
    }
}

/// The certificates of a PEM file (at least one).
fn certificates(path: &Path, what: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let failed = |problem: String| format!("{what} {}: {problem}", path.display());
    let chain = CertificateDer::pem_file_iter(path)
        .map_err(|error| failed(pem_problem(&error)))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| failed(pem_problem(&error)))?;
    if chain.is_empty() {
        return Err(failed("holds no PEM certificate (BEGIN CERTIFICATE)".to_owned()));
    }
    Ok(chain)
}

fn private_key(path: &Path) -> Result<PrivateKeyDer<'static>, String> {
    PrivateKeyDer::from_pem_file(path).map_err(|error| {
        let problem = match error {
            pem::Error::NoItemsFound => "holds no PEM private key (PKCS#8, PKCS#1 or SEC1)".to_owned(),
            error => pem_problem(&error),
        };
        format!("TLS key {}: {problem}", path.display())
    })
}

fn client_verifier(
    path: &Path,
    auth: ClientAuth,
    provider: Arc<rustls::crypto::CryptoProvider>,
) -> Result<Arc<dyn ClientCertVerifier>, String> {
    let mut roots = RootCertStore::empty();
    for certificate in certificates(path, "TLS client CA")? {
        roots
            .add(certificate)
            .map_err(|error| format!("TLS client CA {}: {error}", path.display()))?;
    }
    let builder = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
    let builder = match auth {
        ClientAuth::Required => builder,
        ClientAuth::Optional => builder.allow_unauthenticated(),
    };
    builder
        .build()
        .map_err(|error| format!("TLS client CA {}: {error}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(cert: bool, key: bool, ca: bool, auth: bool) -> TlsOptions {
        TlsOptions {
            tls_cert: cert.then(|| "c.pem".into()),
            tls_key: key.then(|| "k.pem".into()),
            tls_client_ca: ca.then(|| "ca.pem".into()),
            tls_client_auth: auth.then_some(ClientAuth::Optional),
        }
    }

    #[test]
    fn the_files_go_together() {
        assert!(
            TlsFiles::of(&options(false, false, false, false))
                .unwrap()
                .is_none()
        );
        let files = TlsFiles::of(&options(true, true, true, false)).unwrap().unwrap();
        assert_eq!(files.client_ca.unwrap().1, ClientAuth::Required);
        for (cert, key, ca, auth, message) in [
            (true, false, false, false, "--tls-cert is given without --tls-key"),
            (false, true, false, false, "--tls-key is given without --tls-cert"),
            (false, false, true, false, "--tls-client-ca needs"),
            (true, true, false, true, "--tls-client-auth needs --tls-client-ca"),
        ] {
            let error = TlsFiles::of(&options(cert, key, ca, auth)).unwrap_err();
            assert!(error.contains(message), "{error}");
        }
    }

    #[test]
    fn a_bad_file_is_named_and_not_shown() {
        let dir = tempfile::tempdir().unwrap();
        let cert = dir.path().join("cert.pem");
        let key = dir.path().join("key.pem");
        std::fs::write(
            &cert,
            "-----BEGIN PRIVATE KEY-----\nc2VjcmV0\n-----END PRIVATE KEY-----\n",
        )
        .unwrap();
        std::fs::write(&key, "not pem at all: secret").unwrap();
        let files = TlsFiles {
            cert: cert.clone(),
            key: key.clone(),
            client_ca: None,
        };
        let error = files.load().unwrap_err();
        assert!(error.contains(&cert.display().to_string()), "{error}");
        assert!(error.contains("no PEM certificate"), "{error}");
        assert!(!error.contains("c2VjcmV0"), "{error}");
        std::fs::copy(&key, &cert).unwrap();
        let missing = TlsFiles {
            key: dir.path().join("missing.pem"),
            ..files
        };
        let error = missing.load().unwrap_err();
        assert!(
            error.contains("no PEM certificate") || error.contains("cert.pem"),
            "{error}"
        );
        assert!(!error.contains("secret"), "{error}");
    }
}
