//! The flag values that need more than `FromStr`: durations with a unit
//! and OTLP collector URLs.

use std::time::Duration;

/// An `http://host:port` URL (plain gRPC: this build has no TLS for export).
pub(super) fn parse_otlp_endpoint(text: &str) -> Result<http::Uri, String> {
    let expected = "expected an OTLP/gRPC collector's URL such as http://127.0.0.1:4317";
    let uri: http::Uri = text
        .parse()
        .map_err(|error| format!("not a URL ({error}); {expected}"))?;
    match (uri.scheme_str(), uri.host()) {
        (Some("http"), Some(host)) if !host.is_empty() => Ok(uri),
        (Some("https"), _) => Err(format!(
            "https is not supported (traces go over plain gRPC); {expected}"
        )),
        _ => Err(expected.to_owned()),
    }
}

/// `250ms`, `30s`, `5m` or `1h`.
pub(super) fn parse_duration(text: &str) -> Result<Duration, String> {
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let amount: u64 = digits
        .parse()
        .map_err(|_| format!("{text:?} is not a duration: expected a number and ms, s, m or h, e.g. 30s"))?;
    match unit {
        "ms" => Ok(Duration::from_millis(amount)),
        "s" => Ok(Duration::from_secs(amount)),
        "m" => Ok(Duration::from_secs(amount * 60)),
        "h" => Ok(Duration::from_secs(amount * 3600)),
        _ => Err(format!("{text:?}: the unit must be ms, s, m or h, e.g. 30s")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_their_unit() {
        let cases = [
            ("250ms", Ok(Duration::from_millis(250))),
            ("30s", Ok(Duration::from_secs(30))),
            ("5m", Ok(Duration::from_secs(300))),
            ("1h", Ok(Duration::from_secs(3600))),
            ("30", Err(())),
            ("s", Err(())),
            ("1.5s", Err(())),
            ("-1s", Err(())),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_duration(text).map_err(|_| ()), expected, "{text}");
        }
    }

    #[test]
    fn otlp_endpoints_are_plain_http_urls_with_a_host() {
        let cases = [
            ("http://127.0.0.1:4317", true),
            ("http://collector:4317/", true),
            ("http://[::1]:4317", true),
            ("https://collector:4317", false),
            ("127.0.0.1:4317", false),
            ("collector", false),
            ("http://", false),
            ("grpc://collector:4317", false),
            ("http://a b", false),
            ("", false),
        ];
        for (text, accepted) in cases {
            assert_eq!(parse_otlp_endpoint(text).is_ok(), accepted, "{text:?}");
        }
    }
}
