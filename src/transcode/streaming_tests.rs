//! Tests of `streaming`, table-driven.

use super::*;

#[test]
fn framings_write_messages_and_errors() {
    let cases = [
        (Framing::Ndjson, "{\"a\":1}\n", "{\"error\":{\"code\":5}}\n"),
        (Framing::WebSocket, "{\"a\":1}", "{\"error\":{\"code\":5}}"),
        (
            Framing::ServerSentEvents,
            "data: {\"a\":1}\n\n",
            "event: error\ndata: {\"code\":5}\n\n",
        ),
    ];
    for (framing, message, error) in cases {
        assert_eq!(framing.message(br#"{"a":1}"#), message.as_bytes(), "{framing:?}");
        assert_eq!(framing.error(br#"{"code":5}"#), error.as_bytes(), "{framing:?}");
    }
}

#[test]
fn accept_headers_choose_the_framing() {
    let cases = [
        (None, Framing::Ndjson),
        (Some("application/x-ndjson"), Framing::Ndjson),
        (Some("text/event-stream"), Framing::ServerSentEvents),
        (
            Some("application/json, text/event-stream;q=0.9"),
            Framing::ServerSentEvents,
        ),
    ];
    for (accept, expected) in cases {
        let mut headers = HeaderMap::new();
        if let Some(accept) = accept {
            headers.insert(header::ACCEPT, HeaderValue::from_static(accept));
        }
        assert_eq!(Framing::from_accept(&headers), expected, "{accept:?}");
    }
}

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
                    Ok(Some((line, number))) => got.push((String::from_utf8(line.to_vec()).unwrap(), number)),
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
