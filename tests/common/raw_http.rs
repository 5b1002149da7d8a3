//! HTTP/1.1 by hand on a raw socket, for what a client library hides: a
//! response read incrementally (head, then each chunk of a chunked body)
//! while the request body is still being written, and closing mid-stream.

use serde_json::Value;
use tokio::io::AsyncReadExt as _;
use tokio::net::TcpStream;

use super::guard::guarded;

/// One chunk of a chunked request body.
pub fn body_chunk(data: &str) -> Vec<u8> {
    format!("{:x}\r\n{data}\r\n", data.len()).into_bytes()
}

/// A raw HTTP/1.1 response read incrementally: the head, then the chunks of
/// a chunked body. `stream` stays writable for the rest of the request.
pub struct RawResponse {
    pub stream: TcpStream,
    buffer: Vec<u8>,
    body: Vec<u8>,
}

impl RawResponse {
    pub fn new(stream: TcpStream) -> Self {
        RawResponse {
            stream,
            buffer: Vec::new(),
            body: Vec::new(),
        }
    }

    /// Reads more bytes into the buffer; false at end of stream.
    async fn fill(&mut self) -> bool {
        let mut chunk = [0_u8; 4096];
        let read = guarded("bytes from the server", self.stream.read(&mut chunk))
            .await
            .expect("read from the socket");
        self.buffer.extend_from_slice(&chunk[..read]);
        read > 0
    }

    /// Takes the buffer up to and including `delimiter`, reading as needed.
    async fn take_through(&mut self, delimiter: &[u8]) -> Vec<u8> {
        loop {
            if let Some(at) = self.buffer.windows(delimiter.len()).position(|w| w == delimiter) {
                return self.buffer.drain(..at + delimiter.len()).collect();
            }
            assert!(
                self.fill().await,
                "the connection closed before {delimiter:?}; got {:?}",
                String::from_utf8_lossy(&self.buffer)
            );
        }
    }

    /// The status line and headers (lower-cased), without the blank line.
    pub async fn head(&mut self) -> String {
        let head = self.take_through(b"\r\n\r\n").await;
        String::from_utf8(head).unwrap().trim_end().to_ascii_lowercase()
    }

    /// The next `length` bytes of the body (a `Content-Length` body).
    pub async fn bytes(&mut self, length: usize) -> Vec<u8> {
        while self.buffer.len() < length {
            assert!(self.fill().await, "the connection closed inside the body");
        }
        self.buffer.drain(..length).collect()
    }

    /// The status line and headers, then the `Content-Length` body as JSON.
    pub async fn json(&mut self) -> (String, Value) {
        let head = self.head().await;
        let length = head
            .lines()
            .find_map(|line| line.strip_prefix("content-length:"))
            .and_then(|value| value.trim().parse().ok())
            .unwrap_or_else(|| panic!("no content-length in {head:?}"));
        let body = self.bytes(length).await;
        let json = serde_json::from_slice(&body)
            .unwrap_or_else(|error| panic!("{error}: {:?}", String::from_utf8_lossy(&body)));
        (head, json)
    }

    /// Reads until the server closes the connection (or resets it).
    pub async fn closed(&mut self) {
        while self.fill_or_reset().await {}
    }

    /// [`RawResponse::fill`], a reset counting as the end.
    async fn fill_or_reset(&mut self) -> bool {
        let mut chunk = [0_u8; 4096];
        match guarded("the server to close the connection", self.stream.read(&mut chunk)).await {
            Ok(read) => {
                self.buffer.extend_from_slice(&chunk[..read]);
                read > 0
            }
            Err(_) => false,
        }
    }

    /// What was read and not taken yet.
    pub fn unread(&self) -> &[u8] {
        &self.buffer
    }

    /// The next chunk of a chunked body; `None` after the last one.
    pub async fn chunk(&mut self) -> Option<Vec<u8>> {
        let size_line = self.take_through(b"\r\n").await;
        let size_text = String::from_utf8(size_line).unwrap();
        let size_text = size_text.trim_end().split(';').next().unwrap().to_owned();
        let size =
            usize::from_str_radix(&size_text, 16).unwrap_or_else(|_| panic!("chunk size {size_text:?}"));
        while self.buffer.len() < size + 2 {
            assert!(self.fill().await, "the connection closed inside a chunk");
        }
        let data: Vec<u8> = self.buffer.drain(..size).collect();
        assert_eq!(
            self.buffer.drain(..2).collect::<Vec<u8>>(),
            b"\r\n",
            "chunk terminator"
        );
        // (the last chunk's "\r\n" is the end of an empty trailer section)
        (size > 0).then_some(data)
    }

    /// The next NDJSON line of the chunked body; `None` at its end.
    pub async fn line(&mut self) -> Option<Value> {
        loop {
            if let Some(newline) = self.body.iter().position(|&byte| byte == b'\n') {
                let line: Vec<u8> = self.body.drain(..=newline).collect();
                return Some(
                    serde_json::from_slice(&line)
                        .unwrap_or_else(|error| panic!("{error}: {:?}", String::from_utf8_lossy(&line))),
                );
            }
            match self.chunk().await {
                Some(data) => self.body.extend_from_slice(&data),
                None => {
                    assert!(self.body.is_empty(), "a partial last line: {:?}", self.body);
                    return None;
                }
            }
        }
    }
}
