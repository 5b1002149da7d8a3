//! TLS for the tests: certificates made with rcgen ([`Authority`],
//! [`Issued`]), the server in process with `--tls-cert`/`--tls-key` (and a
//! client CA for mTLS) on files in its temporary directory ([`TlsServer`]),
//! and clients that trust the test CA (reqwest, tonic, a bare rustls
//! handshake that reports the server's certificate).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use gateway::config::{ClientAuth, Config};
use gateway::proto::users::v1::user_service_client::UserServiceClient;
use gateway::server::{self, ServerError};
use gateway::transcode::interceptor::Interceptor;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use rustls_pki_types::CertificateDer;
use tempfile::TempDir;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::guard::guarded_for;
use super::server::database_in;

/// A certificate authority of the tests' own.
pub struct Authority {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

/// A certificate and its key, PEM.
pub struct Issued {
    pub cert: String,
    pub key: String,
    pub der: CertificateDer<'static>,
}

impl Authority {
    pub fn new(name: &str) -> Authority {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let key = KeyPair::generate().expect("a CA key");
        Authority {
            issuer: CertifiedIssuer::self_signed(params, key).expect("a CA certificate"),
        }
    }

    pub fn pem(&self) -> String {
        self.issuer.pem()
    }

    /// A server certificate for `localhost` and 127.0.0.1, named `name`.
    pub fn server(&self, name: &str) -> Issued {
        let mut params = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .expect("server parameters");
        params.distinguished_name.push(DnType::CommonName, name);
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        self.issue(params)
    }

    /// A client certificate whose subject is `CN=<common_name>,O=<organization>`.
    pub fn client(&self, common_name: &str, organization: &str) -> Issued {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("client parameters");
        params.distinguished_name.push(DnType::CommonName, common_name);
        params
            .distinguished_name
            .push(DnType::OrganizationName, organization);
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        self.issue(params)
    }

    fn issue(&self, params: CertificateParams) -> Issued {
        let key = KeyPair::generate().expect("a key");
        let cert = params
            .signed_by(&key, &self.issuer)
            .expect("a signed certificate");
        Issued {
            cert: cert.pem(),
            key: key.serialize_pem(),
            der: cert.der().clone(),
        }
    }
}

impl Issued {
    /// As a reqwest client identity.
    pub fn identity(&self) -> reqwest::Identity {
        reqwest::Identity::from_pem(format!("{}{}", self.cert, self.key).as_bytes())
            .expect("a client identity")
    }

    /// As a tonic client identity.
    pub fn grpc_identity(&self) -> tonic::transport::Identity {
        tonic::transport::Identity::from_pem(&self.cert, &self.key)
    }
}

/// The real server over TLS on `127.0.0.1:<ephemeral>`, its certificate
/// (for `localhost`) issued by `ca`, which is also its client CA when mTLS
/// is on.
pub struct TlsServer {
    pub addr: SocketAddr,
    pub ca: Authority,
    dir: TempDir,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), ServerError>>,
}

impl TlsServer {
    /// TLS without client certificates.
    pub async fn start() -> TlsServer {
        Self::start_with(None, Vec::new()).await
    }

    /// TLS, mTLS with `client_auth` (the CA is the server's own), and
    /// `interceptors` in the chain.
    pub async fn start_with(
        client_auth: Option<ClientAuth>,
        interceptors: Vec<Arc<dyn Interceptor>>,
    ) -> TlsServer {
        let dir = tempfile::tempdir().expect("create a temporary directory");
        let ca = Authority::new("Test CA");
        let server = ca.server("server-one");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("the listener's address");
        let mut config = Config::with_database(database_in(dir.path()));
        config.drain_timeout = Duration::ZERO;
        let path = |name: &str| dir.path().join(name);
        std::fs::write(path("cert.pem"), &server.cert).expect("write the certificate");
        std::fs::write(path("key.pem"), &server.key).expect("write the key");
        std::fs::write(path("ca.pem"), ca.pem()).expect("write the CA");
        config.tls.tls_cert = Some(path("cert.pem"));
        config.tls.tls_key = Some(path("key.pem"));
        if client_auth.is_some() {
            config.tls.tls_client_ca = Some(path("ca.pem"));
            config.tls.tls_client_auth = client_auth;
        }
        server::check(&config).expect("the TLS configuration is good");
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(server::run_with(listener, config, interceptors, async {
            let _ = rx.await;
        }));
        TlsServer {
            addr,
            ca,
            dir,
            shutdown: Some(tx),
            task,
        }
    }

    /// The certificate and key files the server reads.
    pub fn cert_path(&self) -> PathBuf {
        self.dir.path().join("cert.pem")
    }

    pub fn key_path(&self) -> PathBuf {
        self.dir.path().join("key.pem")
    }

    /// `https://localhost:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("https://localhost:{}{path}", self.addr.port())
    }

    /// A reqwest client that trusts the test CA and reaches `localhost`
    /// here, over HTTP/2 (ALPN `h2` only) or HTTP/1.1, with `identity`.
    pub fn https_client(&self, http2: bool, identity: Option<reqwest::Identity>) -> reqwest::Client {
        let ca = reqwest::Certificate::from_pem(self.ca.pem().as_bytes()).expect("the CA certificate");
        let mut builder = reqwest::Client::builder()
            .use_rustls_tls()
            .tls_built_in_root_certs(false)
            .add_root_certificate(ca)
            .resolve("localhost", self.addr)
            .timeout(Duration::from_secs(10));
        builder = if http2 {
            builder.http2_prior_knowledge()
        } else {
            builder.http1_only()
        };
        if let Some(identity) = identity {
            builder = builder.identity(identity);
        }
        builder.build().expect("an HTTPS client")
    }

    /// A gRPC client over TLS that trusts the test CA, with `identity`.
    pub async fn grpc(
        &self,
        identity: Option<tonic::transport::Identity>,
    ) -> Result<UserServiceClient<tonic::transport::Channel>, tonic::transport::Error> {
        let mut tls = tonic::transport::ClientTlsConfig::new()
            .ca_certificate(tonic::transport::Certificate::from_pem(self.ca.pem()))
            .domain_name("localhost");
        if let Some(identity) = identity {
            tls = tls.identity(identity);
        }
        let channel =
            tonic::transport::Channel::from_shared(format!("https://127.0.0.1:{}", self.addr.port()))
                .expect("a gRPC URL")
                .tls_config(tls)?
                .connect()
                .await?;
        Ok(UserServiceClient::new(channel))
    }

    /// The leaf certificate a new handshake gets.
    pub async fn presented_certificate(&self) -> CertificateDer<'static> {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(self.ca.issuer.der().clone()).expect("the CA is a root");
        let config =
            rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .expect("TLS versions")
                .with_root_certificates(roots)
                .with_no_client_auth();
        let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
        let tcp = TcpStream::connect(self.addr).await.expect("connect");
        let name = rustls_pki_types::ServerName::try_from("localhost").expect("a server name");
        let stream = connector.connect(name, tcp).await.expect("a TLS handshake");
        let chain = stream
            .get_ref()
            .1
            .peer_certificates()
            .expect("the server's certificates");
        chain[0].clone().into_owned()
    }

    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let joined = guarded_for(Duration::from_secs(30), "the server to shut down", self.task).await;
        let result = joined.expect("the server task panicked");
        assert!(result.is_ok(), "server::run returned an error: {result:?}");
    }
}
