//! hyper answers an HTTP/1.1 request it cannot parse by itself, before any
//! service sees it: 400 for a bad request line, method, version or header,
//! 414 for a URL past its limit, 431 for a head past its buffer. Those
//! answers have an empty body. [`StatusBodies`] wraps a connection's socket
//! and gives exactly those answers a `google.rpc.Status` JSON body, like
//! every other error of the gateway.
//!
//! hyper's automatic answer has a fixed shape (the status line, then only
//! `connection: close`, `content-length: 0` and `date`, written in one
//! piece); a response of the server's own always has a `content-type` or a
//! body, so it never matches and passes through untouched.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// A socket whose writes of hyper's automatic error answers gain a body.
pub(crate) struct StatusBodies<IO> {
    inner: IO,
    /// An answer being written in place of the one hyper handed over.
    rewritten: Option<Rewritten>,
}

struct Rewritten {
    bytes: Vec<u8>,
    written: usize,
    /// How many bytes hyper handed over, which is what it is told were written.
    handed_over: usize,
}

impl<IO> StatusBodies<IO> {
    pub(crate) fn new(inner: IO) -> Self {
        StatusBodies {
            inner,
            rewritten: None,
        }
    }
}

impl<IO: AsyncWrite + Unpin> StatusBodies<IO> {
    /// Writes the rewritten answer out; hyper is told its bytes were written
    /// only once all of it is (until then it retries the same write).
    fn poll_rewritten(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let Some(rewritten) = self.rewritten.as_mut() else {
            return Poll::Ready(Ok(0));
        };
        while rewritten.written < rewritten.bytes.len() {
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &rewritten.bytes[rewritten.written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            rewritten.written += n;
        }
        let handed_over = rewritten.handed_over;
        self.rewritten = None;
        Poll::Ready(Ok(handed_over))
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for StatusBodies<IO> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for StatusBodies<IO> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        if self.rewritten.is_none() {
            match with_status_body(buf) {
                Some(bytes) => {
                    self.rewritten = Some(Rewritten {
                        bytes,
                        written: 0,
                        handed_over: buf.len(),
                    });
                }
                None => return Pin::new(&mut self.inner).poll_write(cx, buf),
            }
        }
        self.poll_rewritten(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if self.rewritten.is_none() {
            let mut non_empty = bufs.iter().filter(|buf| !buf.is_empty());
            let rewritten = match (non_empty.next(), non_empty.next()) {
                (Some(only), None) => with_status_body(only).map(|bytes| Rewritten {
                    bytes,
                    written: 0,
                    handed_over: only.len(),
                }),
                _ => None,
            };
            match rewritten {
                Some(rewritten) => self.rewritten = Some(rewritten),
                None => return Pin::new(&mut self.inner).poll_write_vectored(cx, bufs),
            }
        }
        self.poll_rewritten(cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// hyper's automatic answers, the gRPC code of each, and what its body says.
const AUTOMATIC_ANSWERS: [(&str, tonic::Code, &str); 3] = [
    (
        "HTTP/1.1 400 Bad Request",
        tonic::Code::InvalidArgument,
        "the request is not valid HTTP/1.1: check the request line (method, path, version) and the header lines",
    ),
    (
        "HTTP/1.1 414 URI Too Long",
        tonic::Code::InvalidArgument,
        "the request URL is longer than the server accepts",
    ),
    (
        "HTTP/1.1 431 Request Header Fields Too Large",
        // As the gateway's own 431 (`HttpError::headers_too_large`).
        tonic::Code::InvalidArgument,
        "the request's headers are larger than the server accepts",
    ),
];

/// The longest automatic answer hyper writes (its status line and three
/// short headers); every write longer than this passes untouched.
const MAX_AUTOMATIC_ANSWER: usize = 160;

/// `head` with a `google.rpc.Status` JSON body, if it is one of hyper's
/// automatic answers; `None` for anything else (checked by length and first
/// bytes before anything else: every write of the connection comes here).
fn with_status_body(head: &[u8]) -> Option<Vec<u8>> {
    if head.len() > MAX_AUTOMATIC_ANSWER || !head.starts_with(b"HTTP/1.1 4") {
        return None;
    }
    let head = std::str::from_utf8(head).ok()?.strip_suffix("\r\n\r\n")?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next()?;
    let (_, code, message) = AUTOMATIC_ANSWERS.iter().find(|(line, ..)| *line == status_line)?;
    let (mut closes, mut empty, mut date) = (false, false, None);
    for line in lines {
        match line {
            "connection: close" => closes = true,
            "content-length: 0" => empty = true,
            _ if line.starts_with("date: ") && date.is_none() => date = Some(line),
            _ => return None,
        }
    }
    if !(closes && empty) {
        return None;
    }
    // In the field order of every other error body of the gateway.
    let body = format!(
        r#"{{"code":{},"message":{},"details":[]}}"#,
        *code as i32,
        serde_json::Value::from(*message)
    );
    let mut answer = format!(
        "{status_line}\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: {}\r\n",
        body.len()
    );
    if let Some(date) = date {
        answer.push_str(date);
        answer.push_str("\r\n");
    }
    answer.push_str("\r\n");
    answer.push_str(&body);
    Some(answer.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt as _;

    const DATE: &str = "date: Wed, 02 Dec 2026 20:46:14 GMT";

    #[test]
    fn only_hypers_automatic_answers_get_a_body() {
        let cases = [
            (
                format!(
                    "HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n{DATE}\r\n\r\n"
                ),
                Some(3),
            ),
            (
                format!(
                    "HTTP/1.1 414 URI Too Long\r\nconnection: close\r\ncontent-length: 0\r\n{DATE}\r\n\r\n"
                ),
                Some(3),
            ),
            (
                format!(
                    "HTTP/1.1 431 Request Header Fields Too Large\r\nconnection: close\r\ncontent-length: 0\r\n{DATE}\r\n\r\n"
                ),
                Some(3),
            ),
            // The server's own answers: a content type, a body, other statuses, kept connections.
            (
                format!(
                    "HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: 0\r\n{DATE}\r\n\r\n"
                ),
                None,
            ),
            (
                format!("HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n{DATE}\r\n\r\n"),
                None,
            ),
            (
                format!("HTTP/1.1 404 Not Found\r\nconnection: close\r\ncontent-length: 0\r\n{DATE}\r\n\r\n"),
                None,
            ),
            (
                format!(
                    "HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 2\r\n{DATE}\r\n\r\n{{}}"
                ),
                None,
            ),
            (
                "HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n".to_owned(),
                None,
            ),
            (String::new(), None),
        ];
        for (head, code) in cases {
            let rewritten = with_status_body(head.as_bytes());
            let found = rewritten.as_ref().map(|answer| {
                let text = String::from_utf8(answer.clone()).expect("UTF-8");
                let (head_part, body) = text.split_once("\r\n\r\n").expect("a head and a body");
                let length = format!("content-length: {}", body.len());
                assert!(head_part.contains(&length) && head_part.contains(DATE), "{text}");
                let status: serde_json::Value = serde_json::from_str(body).expect("a JSON body");
                status["code"].as_i64().expect("a code")
            });
            assert_eq!(found, code, "{head:?}");
        }
    }

    #[tokio::test]
    async fn a_rewritten_answer_is_written_whole_and_reported_as_handed_over() {
        let head =
            format!("HTTP/1.1 414 URI Too Long\r\nconnection: close\r\ncontent-length: 0\r\n{DATE}\r\n\r\n");
        // A pipe smaller than the answer, so its write takes several rounds.
        let (client, mut server) = tokio::io::duplex(16);
        let mut socket = StatusBodies::new(client);
        let reader = tokio::spawn(async move {
            let mut all = Vec::new();
            tokio::io::AsyncReadExt::read_to_end(&mut server, &mut all)
                .await
                .map(|_| all)
        });
        let reported = socket.write(head.as_bytes()).await.expect("written");
        assert_eq!(reported, head.len());
        socket.write_all(b"after").await.expect("written");
        socket.shutdown().await.expect("shut down");
        drop(socket);
        let all = String::from_utf8(reader.await.expect("joined").expect("read")).expect("UTF-8");
        assert!(all.starts_with("HTTP/1.1 414 URI Too Long\r\n"), "{all}");
        assert!(all.ends_with("}after"), "{all}");
    }
}
