//! The gRPC length-prefixed message framing: a flag byte (0: uncompressed),
//! a 4-byte big-endian length, then the message. `FrameDecoder` takes body
//! chunks of any size and yields whole messages.
//!
//! `encode_frame(b"\x08\x01")` is `[0, 0, 0, 0, 2, 8, 1]`.

use bytes::{Buf, BufMut, Bytes, BytesMut};

const HEADER_LEN: usize = 5;

/// One message as a gRPC frame.
pub(crate) fn encode_frame(message: &[u8]) -> Result<Bytes, tonic::Status> {
    let length =
        u32::try_from(message.len()).map_err(|_| tonic::Status::resource_exhausted("message too large"))?;
    let mut frame = BytesMut::with_capacity(HEADER_LEN + message.len());
    frame.put_u8(0);
    frame.put_u32(length);
    frame.put_slice(message);
    Ok(frame.freeze())
}

/// Reassembles messages from body chunks.
#[derive(Default)]
pub(crate) struct FrameDecoder {
    buffer: BytesMut,
}

impl FrameDecoder {
    pub(crate) fn push(&mut self, chunk: &[u8]) {
        self.buffer.extend_from_slice(chunk);
    }

    /// The next whole message, if one has arrived.
    pub(crate) fn next_message(&mut self) -> Result<Option<Bytes>, tonic::Status> {
        if self.buffer.len() < HEADER_LEN {
            return Ok(None);
        }
        if self.buffer[0] != 0 {
            return Err(tonic::Status::internal("the service sent a compressed message"));
        }
        let length = u32::from_be_bytes([self.buffer[1], self.buffer[2], self.buffer[3], self.buffer[4]]);
        let total = HEADER_LEN + length as usize;
        if self.buffer.len() < total {
            return Ok(None);
        }
        let mut frame = self.buffer.split_to(total);
        frame.advance(HEADER_LEN);
        Ok(Some(frame.freeze()))
    }

    /// Whether bytes of an unfinished frame are left.
    pub(crate) fn has_partial_frame(&self) -> bool {
        !self.buffer.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_of_any_size_give_whole_messages() {
        let stream: Vec<u8> = [
            encode_frame(b"ab").unwrap(),
            encode_frame(b"").unwrap(),
            encode_frame(b"c").unwrap(),
        ]
        .concat();
        for chunk_size in 1..=stream.len() {
            let mut decoder = FrameDecoder::default();
            let mut messages = Vec::new();
            for chunk in stream.chunks(chunk_size) {
                decoder.push(chunk);
                while let Some(message) = decoder.next_message().unwrap() {
                    messages.push(message);
                }
            }
            assert_eq!(messages, [&b"ab"[..], b"", b"c"], "chunks of {chunk_size}");
            assert!(!decoder.has_partial_frame());
        }
    }

    #[test]
    fn compressed_and_partial_frames_are_reported() {
        let cases: [(&[u8], &str); 3] = [
            (&[1, 0, 0, 0, 1, 7], "error"),
            (&[0, 0, 0, 0, 3, 8, 1], "partial"),
            (&[0, 0], "partial"),
        ];
        for (bytes, expected) in cases {
            let mut decoder = FrameDecoder::default();
            decoder.push(bytes);
            let got = match decoder.next_message() {
                Err(_) => "error",
                Ok(None) if decoder.has_partial_frame() => "partial",
                Ok(_) => "message",
            };
            assert_eq!(got, expected, "{bytes:?}");
        }
    }
}
