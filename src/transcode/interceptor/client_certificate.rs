//! What a TLS connection tells of a request, for the policy chain. The
//! serving layer inserts these into each HTTP request's extensions; they
//! reach the chain's `extensions` on both faces (gRPC: the request's own;
//! REST: copied by the call path), and `OverTls` makes REST calls tell the
//! service `x-forwarded-proto: https`.
//!
//! ```
//! # use gateway::transcode::ClientCertificate;
//! # let extensions = http::Extensions::new();
//! let caller = extensions.get::<ClientCertificate>().map(|cert| cert.subject.clone());
//! # assert!(caller.is_none());
//! ```

use std::sync::Arc;

/// The client certificate the server verified (mTLS): its subject, as
/// RFC 4514 writes it but in the certificate's order, e.g.
/// `CN=billing,O=Example`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientCertificate {
    pub subject: Arc<str>,
}

/// Marks a request that came over TLS (HTTPS, or gRPC over TLS).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OverTls;
