//! The one call path. Every REST call, whatever its kind (unary, server,
//! client or bidi streaming) and whatever carries its messages (one woven
//! request, NDJSON lines, WebSocket frames), is started by
//! [`CallPath::start`] (policy chain, deadline, service) and read through
//! the [`Call`] it returns, within its deadline; the sinks (an HTTP
//! response, a streamed HTTP body, a socket) only render what it yields.
//!
//! A request source that breaks off (a bad line, a malformed frame) is
//! recorded once, here: that failure outranks the status the service
//! reports after its input stopped, so the client hears about line 3 rather
//! than "the stream ended early".

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::sync::watch;
use tokio::time::Instant;

use bytes::Bytes;
use futures_util::{Stream, StreamExt as _};
use http::{Extensions, HeaderMap, HeaderValue};
use tonic::metadata::MetadataMap;

use crate::transcode::backend::{Backend, Requests, Responses, Started};
use crate::transcode::binding::Binding;
use crate::transcode::deadline::{self, Deadlines, GRPC_TIMEOUT, deadline_exceeded};
use crate::transcode::error::HttpError;
use crate::transcode::interceptor::{CallGuard, CallInfo, Chain, ClientCertificate, Face, OverTls};
use crate::transcode::metadata::{Origin, metadata_from};
use crate::transcode::request::{self, HttpRequestParts};
use crate::transcode::request_id::X_REQUEST_ID;

/// Where a call's request messages come from.
pub(crate) enum RequestSource {
    /// One request, already woven and encoded (unary and server-streaming calls).
    One(Bytes),
    /// Payloads woven one by one as the service asks for them (client and
    /// bidi streaming): each item is a JSON message and its 1-based position.
    Payloads {
        weaver: Weaver,
        /// What a position counts, for error messages: `line`, `message`.
        unit: &'static str,
        payloads: futures_util::stream::BoxStream<'static, Result<(Bytes, usize), HttpError>>,
    },
}

/// What weaving a streamed request message needs of the HTTP request,
/// owned so that payloads can be woven while the call runs.
pub(crate) struct Weaver {
    pub(crate) binding: Arc<Binding>,
    pub(crate) segments: Vec<String>,
    pub(crate) query: Option<String>,
}

impl Weaver {
    /// One encoded request message (path, query and `body`); errors start
    /// with `position`, e.g. `line 3`.
    fn weave(&self, body: &[u8], position: &str) -> Result<Bytes, HttpError> {
        let segments: Vec<&str> = self.segments.iter().map(String::as_str).collect();
        let parts = HttpRequestParts {
            segments: &segments,
            query: self.query.as_deref(),
            body,
            if_match: None,
        };
        request::weave(&self.binding, &parts).map_err(|error| error.in_context(position))
    }
}

/// The first failure of the request side, shared by the source (which
/// records it) and the [`Call`] (which reports it).
type RequestFailure = Arc<Mutex<Option<HttpError>>>;

/// A started call: its response messages as the service sends them, and
/// the guard that tells the policy chain how it ended.
pub(crate) struct Call {
    responses: Responses,
    /// The metadata the service answered with (its response headers).
    metadata: HeaderMap,
    failure: RequestFailure,
    guard: CallGuard,
    /// Named by every failure the call reports.
    request_id: Option<HeaderValue>,
    /// When the call ends with DEADLINE_EXCEEDED if it has not ended.
    deadline: Option<Instant>,
    /// Reads true when the server stops: the call ends with UNAVAILABLE.
    shutdown: Option<watch::Receiver<bool>>,
}

/// Who calls, through which face, and the span the call runs in (the
/// caller has entered it: the call is started, the chain's `on_call`
/// included, inside it).
#[derive(Debug, Clone)]
pub(crate) struct Caller {
    pub(crate) face: Face,
    pub(crate) peer: Option<SocketAddr>,
    /// The request's host, for `x-forwarded-host`.
    pub(crate) host: Option<HeaderValue>,
    /// Whether the request came over TLS ([`OverTls`]), and the client
    /// certificate verified on its connection.
    pub(crate) over_tls: bool,
    pub(crate) client_certificate: Option<ClientCertificate>,
    pub(crate) span: tracing::Span,
}

/// What every REST call passes through: the policy chain, the deadline,
/// the in-process backend.
pub(crate) struct CallPath {
    pub(crate) backend: Backend,
    pub(crate) chain: Chain,
    pub(crate) deadlines: Deadlines,
    /// See [`Call::shutdown`].
    pub(crate) shutdown: Option<watch::Receiver<bool>>,
}

impl CallPath {
    /// Starts the call of `binding` with the messages of `source`: the
    /// policy chain first (which may reject it), then the deadline, then
    /// the service. `headers` are the HTTP request's, of which the
    /// forwarded ones become metadata.
    pub(crate) async fn start(
        &self,
        binding: &Binding,
        caller: Caller,
        headers: &HeaderMap,
        source: RequestSource,
    ) -> Result<Call, HttpError> {
        let origin = Origin {
            peer: caller.peer,
            host: caller.host,
            https: caller.over_tls,
        };
        let info = CallInfo {
            grpc_path: binding.grpc_path.clone(),
            kind: binding.kind,
            face: caller.face,
            peer: caller.peer,
            route: Some(binding.route.clone()),
            http_method: Some(binding.http_method.clone()),
            request_id: headers.get(X_REQUEST_ID).cloned(),
            span: caller.span,
        };
        let request_id = info.request_id.clone();
        let tagged = |error: HttpError| match &request_id {
            Some(id) => error.with_request_id(id),
            None => error,
        };
        let forwarded = metadata_from(headers, &origin).map_err(|status| tagged(status.into()))?;
        let mut metadata = MetadataMap::from_headers(forwarded);
        let mut extensions = Extensions::new();
        if caller.over_tls {
            extensions.insert(OverTls);
        }
        if let Some(certificate) = caller.client_certificate {
            extensions.insert(certificate);
        }
        let mut guard = self
            .chain
            .start(info, &mut metadata, &mut extensions)
            .map_err(|status| tagged(status.into()))?;
        let timeout = match self.deadlines.timeout(headers) {
            Ok(timeout) => timeout,
            Err(status) => {
                guard.finish(status.code());
                return Err(tagged(status.into()));
            }
        };
        let deadline = timeout.map(|timeout| Instant::now() + timeout);
        let mut metadata = metadata.into_headers();
        if let Some(timeout) = timeout {
            // The service learns how long it has (tonic reads it too).
            metadata.insert(GRPC_TIMEOUT, deadline::encode(timeout));
        }
        let failure = RequestFailure::default();
        let requests = match source {
            RequestSource::One(message) => Requests::One(message),
            RequestSource::Payloads {
                weaver,
                unit,
                payloads,
            } => Requests::Stream(woven_messages(weaver, unit, payloads, failure.clone()).boxed()),
        };
        let started = self
            .backend
            .start(&binding.grpc_path, metadata, extensions, requests);
        let started = match deadline {
            Some(deadline) => tokio::time::timeout_at(deadline, started)
                .await
                .unwrap_or_else(|_| Err(deadline_exceeded())),
            None => started.await,
        };
        match started {
            Ok(Started { metadata, responses }) => Ok(Call {
                responses,
                metadata,
                failure,
                guard,
                request_id,
                deadline,
                shutdown: self.shutdown.clone(),
            }),
            Err(status) => {
                let error = tagged(take(&failure).unwrap_or_else(|| status.into()));
                guard.finish(error.code());
                Err(error)
            }
        }
    }
}

/// How a call still open when the server stops ends (the client may
/// retry elsewhere).
fn server_stopping() -> tonic::Status {
    tonic::Status::unavailable("the server is shutting down")
}

impl Call {
    /// The next response message; the call's failure; `None` at a
    /// successful end.
    pub(crate) async fn next(&mut self) -> Option<Result<Bytes, HttpError>> {
        let (responses, deadline, shutdown) = (&mut self.responses, self.deadline, &mut self.shutdown);
        let ended = async {
            let deadline = async {
                match deadline {
                    Some(deadline) => tokio::time::sleep_until(deadline).await,
                    None => std::future::pending().await,
                }
            };
            let shutdown = async {
                let stopped = match shutdown {
                    Some(shutdown) => shutdown.wait_for(|stopping| *stopping).await.is_ok(),
                    None => false,
                };
                if !stopped {
                    std::future::pending::<()>().await;
                }
            };
            tokio::select! {
                () = deadline => deadline_exceeded(),
                () = shutdown => server_stopping(),
            }
        };
        // The responses first: a message that is ready (a unary call
        // answered at once) is taken without arming the deadline's timer or
        // the shutdown's watch.
        let polled = tokio::select! {
            biased;
            polled = responses.next() => Ok(polled),
            status = ended => Err(status),
        };
        let polled = polled.unwrap_or_else(|status| {
            // Dropping the responses cancels the service's work.
            self.responses = Responses::Direct(None);
            Some(Err(status))
        });
        let next = match polled {
            Some(Ok(message)) => return Some(Ok(message)),
            Some(Err(status)) => Some(Err(take(&self.failure).unwrap_or_else(|| status.into()))),
            None => take(&self.failure).map(Err),
        };
        let next = match (next, &self.request_id) {
            (Some(Err(error)), Some(id)) => Some(Err(error.with_request_id(id))),
            (next, _) => next,
        };
        match &next {
            Some(Err(error)) => self.guard.finish(error.code()),
            _ => self.guard.finish(tonic::Code::Ok),
        }
        next
    }

    /// The metadata the service answered with, before its messages.
    pub(crate) fn metadata(&self) -> &HeaderMap {
        &self.metadata
    }

    /// The one response message of a call whose responses do not stream,
    /// and the service's metadata: its headers, then its trailers.
    pub(crate) async fn single(mut self) -> Result<(Bytes, HeaderMap), HttpError> {
        let message = match self.next().await {
            Some(answer) => answer?,
            None => return Err(tonic::Status::internal("the service sent no response message").into()),
        };
        match self.next().await {
            None => {
                let mut metadata = std::mem::take(&mut self.metadata);
                if let Some(trailers) = self.responses.trailers() {
                    for (key, value) in trailers {
                        metadata.append(key, value.clone());
                    }
                }
                Ok((message, metadata))
            }
            Some(Err(error)) => Err(error),
            Some(Ok(_)) => {
                Err(tonic::Status::internal("the service sent more than one response message").into())
            }
        }
    }
}

fn take(failure: &RequestFailure) -> Option<HttpError> {
    failure
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .take()
}

/// The payloads woven into request messages. The first failure is
/// recorded and ends the stream, with INVALID_ARGUMENT for the service.
fn woven_messages(
    weaver: Weaver,
    unit: &'static str,
    payloads: impl Stream<Item = Result<(Bytes, usize), HttpError>> + Send + Unpin + 'static,
    failure: RequestFailure,
) -> impl Stream<Item = Result<Bytes, tonic::Status>> + Send + 'static {
    futures_util::stream::unfold(
        (payloads, weaver, failure, false),
        move |(mut payloads, weaver, failure, stopped)| async move {
            if stopped {
                return None;
            }
            let message = match payloads.next().await? {
                Ok((payload, position)) => weaver.weave(&payload, &format!("{unit} {position}")),
                Err(error) => Err(error),
            };
            match message {
                Ok(message) => Some((Ok(message), (payloads, weaver, failure, false))),
                Err(error) => {
                    let reported = tonic::Status::invalid_argument(error.message().to_owned());
                    *failure.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(error);
                    Some((Err(reported), (payloads, weaver, failure, true)))
                }
            }
        },
    )
}
