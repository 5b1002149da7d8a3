//! The streaming framings read back whole: NDJSON lines and SSE events,
//! each checked for correct termination as it is parsed.

use serde_json::Value;

/// Every line of an NDJSON body, parsed; the body must end with a newline.
pub fn ndjson(text: &str) -> Vec<Value> {
    assert!(
        text.is_empty() || text.ends_with('\n'),
        "unterminated NDJSON: {text:?}"
    );
    text.lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|error| panic!("{error}: {line:?}")))
        .collect()
}

/// The events of an SSE body as (event name, parsed data).
pub fn sse(text: &str) -> Vec<(Option<String>, Value)> {
    assert!(
        text.is_empty() || text.ends_with("\n\n"),
        "unterminated SSE: {text:?}"
    );
    text.split_terminator("\n\n")
        .map(|event| {
            let mut name = None;
            let mut data = None;
            for line in event.lines() {
                if let Some(value) = line.strip_prefix("event: ") {
                    name = Some(value.to_owned());
                } else if let Some(value) = line.strip_prefix("data: ") {
                    assert!(data.is_none(), "one data line per event: {event:?}");
                    data = Some(
                        serde_json::from_str(value).unwrap_or_else(|error| panic!("{error}: {value:?}")),
                    );
                } else {
                    panic!("unexpected SSE line {line:?} in {event:?}");
                }
            }
            (
                name,
                data.unwrap_or_else(|| panic!("an event without data: {event:?}")),
            )
        })
        .collect()
}
