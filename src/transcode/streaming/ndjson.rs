//! NDJSON request bodies: a client stream's or bidi call's HTTP body as
//! request payloads, one per non-blank line, read only when the service asks
//! for the next message. A line longer than the limit, or a body that fails
//! to arrive, ends the payloads with INVALID_ARGUMENT naming the line.
//!
//! `{"a":1}\n\n{"a":2}` gives `({"a":1}, 1)` and `({"a":2}, 3)`: blank lines
//! are skipped but counted, so errors name the line a client sees.

use axum::body::{Body, BodyDataStream};
use bytes::{Bytes, BytesMut};
use futures_util::{Stream, StreamExt as _};

use crate::transcode::error::HttpError;

/// The non-blank lines of `body` with their 1-based numbers, each at most
/// `max_line_bytes`.
pub(crate) fn lines(
    body: Body,
    max_line_bytes: usize,
) -> impl Stream<Item = Result<(Bytes, usize), HttpError>> + Send + 'static {
    let lines = NdjsonLines {
        data: body.into_data_stream(),
        buffer: BytesMut::new(),
        line_number: 0,
        ended: false,
        max_line_bytes,
    };
    futures_util::stream::unfold(lines, |mut lines| async move {
        let next = lines.next_line().await.transpose()?;
        Some((next, lines))
    })
}

/// Splits a body into non-blank lines, each at most `max_line_bytes`.
struct NdjsonLines {
    data: BodyDataStream,
    buffer: BytesMut,
    line_number: usize,
    ended: bool,
    max_line_bytes: usize,
}

impl NdjsonLines {
    /// The next non-blank line and its 1-based number.
    async fn next_line(&mut self) -> Result<Option<(Bytes, usize)>, HttpError> {
        loop {
            if let Some(newline) = self.buffer.iter().position(|&byte| byte == b'\n') {
                let mut line = self.buffer.split_to(newline + 1).freeze();
                // Without its terminator, so JSON errors point into the line itself.
                let content = line
                    .strip_suffix(b"\r\n")
                    .or_else(|| line.strip_suffix(b"\n"))
                    .map(<[u8]>::len);
                line.truncate(content.unwrap_or(line.len()));
                self.line_number += 1;
                if !line.iter().all(u8::is_ascii_whitespace) {
                    return Ok(Some((line, self.line_number)));
                }
                continue;
            }
            if self.buffer.len() > self.max_line_bytes {
                let number = self.line_number + 1;
                let limit = self.max_line_bytes;
                return Err(tonic::Status::invalid_argument(format!(
                    "line {number}: longer than the limit of {limit} bytes"
                ))
                .into());
            }
            if self.ended {
                if self.buffer.iter().all(u8::is_ascii_whitespace) {
                    return Ok(None);
                }
                self.line_number += 1;
                let line = self.buffer.split().freeze();
                return Ok(Some((line, self.line_number)));
            }
            match self.data.next().await {
                Some(Ok(chunk)) => self.buffer.extend_from_slice(&chunk),
                Some(Err(error)) => return Err(HttpError::body_read_failed(&error)),
                None => self.ended = true,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_split_into_numbered_non_blank_lines() {
        /// (body chunks, line limit, the numbered lines or the error)
        type Case = (
            &'static [&'static str],
            usize,
            Result<Vec<(&'static str, usize)>, &'static str>,
        );
        let cases: [Case; 4] = [
            (
                &["{\"a\":1}\n\n{\"a\":", "2}\n  \n{\"a\":3}"],
                64,
                Ok(vec![("{\"a\":1}", 1), ("{\"a\":2}", 3), ("{\"a\":3}", 5)]),
            ),
            (&["\n\n", ""], 64, Ok(vec![])),
            (&["x\r\n", "y"], 64, Ok(vec![("x", 1), ("y", 2)])),
            (
                &["ok\n", "0123456789"],
                8,
                Err("line 2: longer than the limit of 8 bytes"),
            ),
        ];
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        for (chunks, limit, expected) in cases {
            let owned: Vec<Result<Bytes, std::io::Error>> = chunks
                .iter()
                .map(|chunk| Ok(Bytes::copy_from_slice(chunk.as_bytes())))
                .collect();
            let body = Body::from_stream(futures_util::stream::iter(owned));
            let mut lines = NdjsonLines {
                data: body.into_data_stream(),
                buffer: BytesMut::new(),
                line_number: 0,
                ended: false,
                max_line_bytes: limit,
            };
            let got = runtime.block_on(async {
                let mut got = Vec::new();
                loop {
                    match lines.next_line().await {
                        Ok(Some((line, number))) => {
                            got.push((String::from_utf8(line.to_vec()).unwrap(), number))
                        }
                        Ok(None) => return Ok(got),
                        Err(error) => return Err(error.message().to_owned()),
                    }
                }
            });
            let expected = expected
                .map(|lines| {
                    lines
                        .into_iter()
                        .map(|(line, number)| (line.to_owned(), number))
                        .collect::<Vec<_>>()
                })
                .map_err(str::to_owned);
            assert_eq!(got, expected, "{chunks:?}");
        }
    }
}
