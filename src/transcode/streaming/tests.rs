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
